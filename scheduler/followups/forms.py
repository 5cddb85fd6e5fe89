"""Parse and validate link-form input (定档, 成效填报, 洽谈, 线索, 筹备) into clean data with located Chinese errors,
and turn stored data back into field values."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from decimal import Decimal
from typing import Any

from scheduler.outcomes.models import (
    COUNT_FIELDS,
    EXIT_STAGES,
    LEAD_STAGE_LABELS,
    PROJECT_CATEGORIES,
    REPORT_STATUS_LABELS,
    SIGN_FORMS,
    TALENT_LEVELS,
    LeadStage,
    ReportStatus,
)
from scheduler.validation import MAX_ID, ValueRefused, parse_decimal, parse_int, text_problem

SHORT = 200  # characters in a one-line field
LONG = 2000  # characters in a free-text field
NARRATIVE_MAX = 500  # 成效简述 ≤ 500 字
MAX_ROWS = 100  # project, talent or negotiation rows per form
MAX_COUNT = 1_000_000
MAX_AMOUNT = Decimal("999999999999.99")  # 万元; the column is Numeric(14, 2)
BLANK_PROJECT_ROWS = 3
PROJECT_FIELDS = ("name", "partner", "category", "sign_form", "amount", "chain", "origin", "bankuai", "contact",
                  "on_site", "lead")
TALENT_FIELDS = ("level", "name", "project")
ENTRY_FIELDS = ("project", "partner", "note")


class FormTooLarge(ValueError):
    """More rows or characters than any real answer needs."""


@dataclass
class Parsed:
    """Clean data plus errors by field name (shown next to the field)."""

    data: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def _text(form: Mapping[str, str], name: str, label: str, out: Parsed, *, limit: int = SHORT,
          required: bool = False) -> str:
    value = (form.get(name) or "").strip().replace("\r\n", "\n")
    if (problem := text_problem(value, limit=limit, multiline=limit > SHORT)) is not None:
        out.errors[name] = f"{label}{problem}"
    elif required and not value:
        out.errors[name] = f"请填写{label}"
    return value


def _date(form: Mapping[str, str], name: str, label: str, out: Parsed, *, required: bool = False) -> date | None:
    value = (form.get(name) or "").strip()
    if not value:
        if required:
            out.errors[name] = f"请填写{label}"
        return None
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value, re.ASCII):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        out.errors[name] = f"{label}“{value[:20]}”不是有效日期（格式 2023-05-18）"
        return None


def _time(form: Mapping[str, str], name: str, label: str, out: Parsed, *, required: bool = False) -> time | None:
    value = (form.get(name) or "").strip()
    if not value:
        if required:
            out.errors[name] = f"请填写{label}"
        return None
    if not re.fullmatch(r"[0-9]{1,2}:[0-9]{2}", value, re.ASCII):
        out.errors[name] = f"{label}“{value[:20]}”不是有效时间（格式 14:30）"
        return None
    hh, mm = (int(x) for x in value.split(":"))
    if hh > 23 or mm > 59:
        out.errors[name] = f"{label}“{value}”不是有效时间"
        return None
    return time(hh, mm)


def _int(form: Mapping[str, str], name: str, label: str, out: Parsed, *, required: bool = False) -> int | None:
    value = (form.get(name) or "").strip()
    if not value:
        if required:
            out.errors[name] = f"请填写{label}（没有请填 0）"
        return None
    try:
        return parse_int(value, label=label, low=0, high=MAX_COUNT)
    except ValueRefused as exc:
        out.errors[name] = str(exc)
        return None


def _choice(form: Mapping[str, str], name: str, label: str, choices: tuple[str, ...], out: Parsed,
            *, required: bool = True) -> str:
    value = (form.get(name) or "").strip()
    if not value and not required:
        return ""
    if value not in choices:
        out.errors[name] = f"请选择{label}" if not value else f"{label}“{value[:20]}”不在可选范围内"
    return value


def _id(text: str) -> int | None:
    """Return a row id or index written in ASCII digits (1 … MAX_ID), else None."""
    try:
        return parse_int(text, label="编号", low=1, high=MAX_ID)
    except ValueRefused:
        return None


def row_count(form: Mapping[str, str], prefix: str, fields: tuple[str, ...]) -> int:
    """Return how many rows of `prefix` the form carries (highest index with any field + 1)."""
    pattern = re.compile(rf"^{prefix}-([0-9]+)-({'|'.join(fields)})$", re.ASCII)
    highest = -1
    for key in form:
        m = pattern.match(key)
        if m:
            index = int(m.group(1)) if len(m.group(1)) <= 4 else MAX_ROWS
            if index >= MAX_ROWS:
                raise FormTooLarge(f"行数过多：最多 {MAX_ROWS} 行")
            highest = max(highest, index)
    return highest + 1


def check_rows(form: Mapping[str, str]) -> None:
    """Raise FormTooLarge when the form carries more project, talent or 洽谈 rows than allowed."""
    for prefix, fields in (("p", PROJECT_FIELDS), ("t", TALENT_FIELDS), ("n", ENTRY_FIELDS)):
        row_count(form, prefix, fields)


def field_values(data: Mapping[str, Any]) -> dict[str, str]:
    """Turn stored (clean) form data back into field values to pre-fill the form."""
    out: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, list | dict):
            continue
        out[key] = "" if value is None else ("1" if value is True else str(value))
    for i, row in enumerate(data.get("projects", [])):
        for f in PROJECT_FIELDS:
            v = row.get(f)
            out[f"p-{i}-{f}"] = "" if v is None or v is False else ("1" if v is True else str(v))
    for i, row in enumerate(data.get("talents", [])):
        for f in TALENT_FIELDS:
            out[f"t-{i}-{f}"] = "" if row.get(f) is None else str(row.get(f))
    for i, row in enumerate(data.get("entries", [])):
        for f in ENTRY_FIELDS:
            out[f"n-{i}-{f}"] = str(row.get(f) or "")
    for row in data.get("leads", []):
        for f in ("stage", "evidence", "reason"):
            out[f"l-{row['lead_id']}-{f}"] = str(row.get(f) or "")
    return out


def parse_fix(form: Mapping[str, str]) -> Parsed:
    """Parse the 定档 form: date, start time, optional end time, place."""
    out = Parsed()
    day = _date(form, "date", "活动日期", out, required=True)
    start = _time(form, "start_time", "开始时间", out, required=True)
    end = _time(form, "end_time", "结束时间", out)
    place = _text(form, "place", "活动地点", out, required=True)
    if start and end and end <= start:
        out.errors["end_time"] = "结束时间应晚于开始时间"
    out.data = {"date": day.isoformat() if day else None, "start_time": start.strftime("%H:%M") if start else None,
                "end_time": end.strftime("%H:%M") if end else None, "place": place}
    return out


def _project_rows(form: Mapping[str, str], out: Parsed, lead_ids: set[int]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for i in range(row_count(form, "p", PROJECT_FIELDS)):
        p = f"p-{i}-"
        if not any((form.get(p + f) or "").strip() for f in PROJECT_FIELDS if f != "on_site"):
            continue
        n = len(rows) + 1
        row: dict[str, Any] = {
            "name": _text(form, p + "name", f"项目第 {n} 行的项目名称", out, required=True),
            "partner": _text(form, p + "partner", f"项目第 {n} 行的投资主体/合作单位", out),
            "category": _choice(form, p + "category", f"项目第 {n} 行的类别", PROJECT_CATEGORIES, out),
            "sign_form": _choice(form, p + "sign_form", f"项目第 {n} 行的签约形式", SIGN_FORMS, out),
            "chain": _text(form, p + "chain", f"项目第 {n} 行的产业链", out, limit=100),
            "origin": _text(form, p + "origin", f"项目第 {n} 行的来源地", out, limit=100),
            "bankuai": _text(form, p + "bankuai", f"项目第 {n} 行的拟落地板块", out, limit=64),
            "contact": _text(form, p + "contact", f"项目第 {n} 行的对接人", out, limit=100),
            "on_site": (form.get(p + "on_site") or "") in ("1", "on", "yes", "true"),
            "amount": None,
            "lead": None,
            "index": i,
        }
        amount = (form.get(p + "amount") or "").strip()
        if amount:
            try:
                value = parse_decimal(amount, label=f"项目第 {n} 行的计划投资额（万元）", low=Decimal(0),
                                      high=MAX_AMOUNT)
                row["amount"] = str(value.quantize(Decimal("0.01")))
            except ValueRefused as exc:
                out.errors[p + "amount"] = str(exc)
        lead = (form.get(p + "lead") or "").strip()
        if lead:
            lead_id = _id(lead)
            if lead_id is None or lead_id not in lead_ids:
                out.errors[p + "lead"] = (f"项目第 {n} 行关联的线索编号 {lead[:12]} 不存在，或不属于本场活动"
                                          "（只能关联本场产生的线索或主办/承办单位的线索）")
            else:
                row["lead"] = lead_id
        rows.append(row)
    return rows


def parse_outcome(form: Mapping[str, str], *, lead_ids: set[int], bankuai_keys: set[str]) -> Parsed:
    """Parse the 成效填报 form: header, counts, project and talent rows, narrative, next steps."""
    out = Parsed()
    status = _choice(form, "status", "活动状态", tuple(str(s) for s in ReportStatus), out)
    data: dict[str, Any] = {"status": status, "status_label": REPORT_STATUS_LABELS.get(status, "")}  # type: ignore[call-overload]
    data["status_reason"] = _text(form, "status_reason", "原因", out, limit=LONG,
                                  required=status in (ReportStatus.POSTPONED, ReportStatus.CANCELLED))
    held = status == ReportStatus.HELD
    actual = _date(form, "actual_date", "实际举办日期", out, required=held)
    data["actual_date"] = actual.isoformat() if actual else None
    data["actual_place"] = _text(form, "actual_place", "实际举办地点", out, required=held)
    data["filer_name"] = _text(form, "filer_name", "填报人", out, limit=100, required=True)
    data["filer_contact"] = _text(form, "filer_contact", "联系电话", out, limit=100)
    for name, label, required in COUNT_FIELDS:
        data[name] = _int(form, name, label, out, required=required and held)
    narrative = _text(form, "narrative", "成效简述", out, limit=LONG)
    if len(narrative) > NARRATIVE_MAX:
        out.errors["narrative"] = f"成效简述最多 {NARRATIVE_MAX} 字（现有 {len(narrative)} 字）"
    data["narrative"] = narrative
    data["next_steps"] = _text(form, "next_steps", "下一步工作", out, limit=LONG)
    if status == ReportStatus.POSTPONED:
        new_start = _date(form, "new_start", "新的开始日期", out, required=True)
        new_end = _date(form, "new_end", "新的结束日期", out)
        if new_start and new_end and new_end < new_start:
            out.errors["new_end"] = "新的结束日期不能早于开始日期"
        data["new_start"] = new_start.isoformat() if new_start else None
        data["new_end"] = (new_end or new_start).isoformat() if new_start else None
    projects = _project_rows(form, out, lead_ids)
    for prow in projects:
        if prow["bankuai"] and prow["bankuai"] not in bankuai_keys:
            out.errors[f"p-{prow['index']}-bankuai"] = f"拟落地板块“{prow['bankuai'][:20]}”不在可选范围内"
    talents: list[dict[str, Any]] = []
    for i in range(row_count(form, "t", TALENT_FIELDS)):
        t = f"t-{i}-"
        if not any((form.get(t + f) or "").strip() for f in TALENT_FIELDS):
            continue
        n = len(talents) + 1
        trow: dict[str, Any] = {"level": _choice(form, t + "level", f"人才第 {n} 行的层次", TALENT_LEVELS, out),
                               "name": _text(form, t + "name", f"人才第 {n} 行的姓名", out, limit=100),
                               "project": None}
        project = (form.get(t + "project") or "").strip()
        if project:
            index = _id(project)
            if index is None or not 1 <= index <= len(projects):
                out.errors[t + "project"] = (f"人才第 {n} 行关联的项目序号 {project[:8]} 不存在"
                                             f"（1–{len(projects)}）")
            else:
                trow["project"] = index
        talents.append(trow)
    data["projects"], data["talents"] = projects, talents
    out.data = data
    return out


def parse_negotiation(form: Mapping[str, str]) -> Parsed:
    """Parse the weekly 洽谈 check-in: the count (0 is an answer) and short entries."""
    out = Parsed()
    count = _int(form, "count", "本周洽谈场次", out, required=True)
    entries: list[dict[str, Any]] = []
    for i in range(row_count(form, "n", ENTRY_FIELDS)):
        p = f"n-{i}-"
        if not any((form.get(p + f) or "").strip() for f in ENTRY_FIELDS):
            continue
        n = len(entries) + 1
        entries.append({"project": _text(form, p + "project", f"第 {n} 条洽谈的项目", out, required=True),
                        "partner": _text(form, p + "partner", f"第 {n} 条洽谈的对象", out),
                        "note": _text(form, p + "note", f"第 {n} 条洽谈的说明", out, limit=500)})
    if count is not None and count < len(entries):
        out.errors["count"] = f"本周洽谈场次（{count}）少于所列条目数（{len(entries)}）"
    out.data = {"count": count, "entries": entries}
    return out


def parse_lead_checkin(form: Mapping[str, str], *, lead_ids: list[int]) -> Parsed:
    """Parse the monthly lead check-in: a stage (and evidence, reason for exits) per lead."""
    out = Parsed()
    stages = tuple(str(s) for s in LeadStage)
    rows = []
    for lead_id in lead_ids:
        p = f"l-{lead_id}-"
        stage = _choice(form, p + "stage", f"线索 {lead_id} 的阶段", stages, out)
        reason = _text(form, p + "reason", f"线索 {lead_id} 的中止/暂缓原因", out, limit=500,
                       required=stage in EXIT_STAGES)
        rows.append({"lead_id": lead_id, "stage": stage, "stage_label": LEAD_STAGE_LABELS.get(stage, ""),  # type: ignore[call-overload]
                     "evidence": _text(form, p + "evidence", f"线索 {lead_id} 的进展说明", out, limit=500),
                     "reason": reason})
    wanted = {str(i) for i in lead_ids}
    foreign = sorted({m.group(1)[:12] for key in form
                      if (m := re.fullmatch(r"l-([0-9]+)-(?:stage|evidence|reason)", key, re.ASCII))
                      and m.group(1) not in wanted})
    if foreign:
        out.errors["leads"] = f"线索 {'、'.join(foreign)} 不属于本板块或已不需要更新，不能在此填报"
    if not lead_ids:
        out.errors["leads"] = "本板块暂无需要更新的项目线索"
    out.data = {"leads": rows}
    return out


def parse_checklist(form: Mapping[str, str]) -> Parsed:
    """Parse a checklist item: confirmed done, with an optional note."""
    out = Parsed()
    if (form.get("done") or "") not in ("1", "on"):
        out.errors["done"] = "请勾选“已完成”后提交"
    out.data = {"done": True, "note": _text(form, "note", "说明", out, limit=500)}
    return out
