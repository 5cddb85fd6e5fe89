"""Outcome exports (CSV, XLSX): one line per project row with its report header; spreadsheet formulas neutralized."""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import Workbook
from sqlmodel import Session, col, select

from scheduler.outcomes.models import REPORT_STATUS_LABELS, OutcomeReport, ProjectRow, ReportStatus
from scheduler.plan.catalog import get_organizations
from scheduler.plan.models import Occurrence

COLUMNS = ("场次", "活动", "状态", "原因", "实际日期", "实际地点", "填报人", "参会人数", "参会企业数", "项目名称",
           "投资主体/合作单位", "类别", "签约形式", "计划投资额（万元）", "产业链", "来源地", "拟落地板块", "对接人",
           "现场签约", "计入本场", "线索编号", "成效简述", "下一步工作", "版本")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def neutralize(value: Any) -> Any:
    """Prefix text a spreadsheet would read as a formula with an apostrophe (numbers stay numbers)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def as_text_cells(cells: Any) -> None:
    """Store an XLSX row's text cells as text; formula-like text gets quotePrefix (shown as typed, never run)."""
    for cell in cells:
        if isinstance(cell.value, str):
            cell.data_type = "s"  # openpyxl takes "=…" for a formula; stored as a plain string it is shown, not run
            cell.quotePrefix = True if cell.value.startswith(FORMULA_STARTS) else cell.quotePrefix


def outcome_rows(*, session: Session, spreadsheet_safe: bool = True) -> list[list[Any]]:
    """Return the export's rows: each project row, or the report alone when it has none."""
    orgs = get_organizations(session=session)
    occs = {o.id: o for o in session.exec(select(Occurrence))}
    projects: dict[int, list[ProjectRow]] = {}
    for p in session.exec(select(ProjectRow).order_by(col(ProjectRow.position))):
        projects.setdefault(p.report_id, []).append(p)
    out: list[list[Any]] = []
    for r in session.exec(select(OutcomeReport).order_by(col(OutcomeReport.occurrence_id))):
        occ = occs.get(r.occurrence_id)
        head = [occ.key if occ else r.occurrence_id, occ.title if occ else "",
                REPORT_STATUS_LABELS.get(ReportStatus(r.status), r.status), r.status_reason or "",
                r.actual_date.isoformat() if r.actual_date else "", r.actual_place or "", r.filer_name,
                r.attendees, r.companies]
        tail = [r.narrative, r.next_steps, r.revision]
        rows: list[ProjectRow | None] = list(projects.get(r.id or 0, [])) or [None]
        for row in rows:
            middle: list[Any] = [""] * 12 if row is None else [
                row.name, row.partner, row.category, row.sign_form,
                float(row.amount_wan) if row.amount_wan is not None else None, row.chain, row.origin,
                orgs[row.bankuai_key].short_name if row.bankuai_key in orgs else (row.bankuai_key or ""),
                row.contact, "是" if row.signed_on_site else "否", "是" if row.credited else "否", row.lead_id]
            out.append([neutralize(v) if spreadsheet_safe else v for v in head + middle + tail])
    return out


def outcomes_csv(*, session: Session) -> bytes:
    """Return the export as UTF-8 CSV with a BOM (Excel opens it as UTF-8)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    writer.writerows(["" if v is None else v for v in row] for row in outcome_rows(session=session))
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def outcomes_xlsx(*, session: Session) -> bytes:
    """Return the export as an XLSX workbook (text cells stored as text; formula-like text quote-prefixed)."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "活动成效"
    sheet.append(list(COLUMNS))
    for row in outcome_rows(session=session, spreadsheet_safe=False):
        sheet.append(row)
    for cells in sheet.iter_rows(min_row=2):
        as_text_cells(cells)
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()
