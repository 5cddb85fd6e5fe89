"""Annual targets per 板块 (签约项目数, 签约金额, 引进人才): read, set, and import from CSV with located errors."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import partial
from pathlib import Path

from sqlmodel import Session, select

from scheduler.plan.models import BANKUAI_KINDS, Organization
from scheduler.reports.models import AnnualTarget
from scheduler.validation import FileKind, InputInvalid, LocatedError

METRICS = {
    "signed_projects": ("签约项目数", "个"),
    "signed_amount": ("签约金额", "万元"),
    "talents": ("引进人才", "名"),
}
METRIC_BY_LABEL = {label: key for key, (label, _unit) in METRICS.items()}
CSV_HEADER = ("年度", "板块", "指标", "目标值", "来源")

Targets = dict[str, dict[str, Decimal]]  # unit key → metric → annual value


_invalid = partial(InputInvalid, kind=FileKind.TARGETS)


@dataclass(frozen=True)
class TargetRow:
    year: int
    unit: str
    metric: str
    value: Decimal
    source: str


def load_targets(*, session: Session, year: int) -> Targets:
    """Return the stored annual targets of `year` by unit and metric."""
    out: Targets = {}
    for t in session.exec(select(AnnualTarget).where(AnnualTarget.year == year)):
        out.setdefault(t.organization_key, {})[t.metric] = Decimal(t.value)
    return out


def parse_targets_csv(text: str, *, source: str, units: dict[str, Organization]) -> list[TargetRow]:
    """Parse a targets CSV (年度,板块,指标,目标值,来源); 板块 by key or short name, 指标 by key or label."""
    by_name = {o.short_name: o.key for o in units.values()} | {o.name: o.key for o in units.values()}
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(reader, None)
    if header is None or tuple(h.strip() for h in header[:4]) != CSV_HEADER[:4]:
        message = f"表头应为 {','.join(CSV_HEADER)}，收到 {','.join(header or [])!r}"
        raise _invalid(source, [LocatedError(where="第 1 行", message=message)])
    rows: list[TargetRow] = []
    errors: list[LocatedError] = []
    seen: set[tuple[int, str, str]] = set()
    for line_no, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        cells = [c.strip() for c in cells] + [""] * 5
        year_text, unit_text, metric_text, value_text, src = cells[:5]
        where = f"第 {line_no} 行"
        try:
            year = int(year_text)
        except ValueError:
            errors.append(LocatedError(where=where, message=f"年度 {year_text!r} 不是整数"))
            continue
        unit = unit_text if unit_text in units else by_name.get(unit_text)
        if unit is None:
            errors.append(
                LocatedError(
                    where=where,
                    message=f"未知板块 {unit_text!r}（可用板块：{'、'.join(o.short_name for o in units.values())}）",
                )
            )
            continue
        metric = metric_text if metric_text in METRICS else METRIC_BY_LABEL.get(metric_text)
        if metric is None:
            errors.append(
                LocatedError(where=where, message=f"未知指标 {metric_text!r}（可选：{'、'.join(METRIC_BY_LABEL)}）")
            )
            continue
        try:
            value = Decimal(value_text)
        except InvalidOperation:
            errors.append(LocatedError(where=where, message=f"目标值 {value_text!r} 不是数字"))
            continue
        if value < 0 or not value.is_finite():
            errors.append(LocatedError(where=where, message=f"目标值 {value_text!r} 应为非负数"))
            continue
        if (year, unit, metric) in seen:
            errors.append(LocatedError(where=where, message=f"{unit_text} 的 {METRICS[metric][0]}（{year}年）重复"))
            continue
        seen.add((year, unit, metric))
        rows.append(TargetRow(year, unit, metric, value, src or source))
    if errors:
        raise _invalid(source, errors)
    return rows


def bankuai_units(*, session: Session) -> dict[str, Organization]:
    """Return the 板块 organizations by key."""
    return {o.key: o for o in session.exec(select(Organization)) if o.kind in BANKUAI_KINDS}


def import_targets(*, session: Session, path: Path, now: datetime) -> int:
    """Validate a whole targets CSV, then upsert every row; return how many rows were stored."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _invalid(str(path), f"不是 UTF-8 编码（字节偏移 {exc.start}）") from None
    rows = parse_targets_csv(text, source=str(path), units=bankuai_units(session=session))
    for row in rows:
        set_target(
            session=session,
            year=row.year,
            unit=row.unit,
            metric=row.metric,
            value=row.value,
            source=row.source,
            now=now,
        )
    return len(rows)


def set_target(
    *, session: Session, year: int, unit: str, metric: str, value: Decimal, source: str, now: datetime
) -> AnnualTarget:
    """Insert or update one annual target."""
    row = session.exec(
        select(AnnualTarget).where(
            AnnualTarget.year == year, AnnualTarget.organization_key == unit, AnnualTarget.metric == metric
        )
    ).first()
    if row is None:
        row = AnnualTarget(year=year, organization_key=unit, metric=metric, value=value, source=source, updated_at=now)
    else:
        row.value, row.source, row.updated_at = value, source, now
    session.add(row)
    session.flush()
    return row
