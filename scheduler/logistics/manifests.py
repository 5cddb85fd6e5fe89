"""What the suppliers need, built from the roster: rooming list, transport manifest and per-unit participant lists,
each as a table that becomes an XLSX (title, widths, frozen bold header, print setup) or a CSV; formulas never run."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from scheduler.logistics.models import NOMINEE_STATUS_LABELS, ROLE_LABELS, NomineeRole, NomineeStatus
from scheduler.logistics.roster import Roster
from scheduler.outcomes.exports import FORMULA_STARTS, neutralize


@dataclass(frozen=True)
class Column:
    """One manifest column: header, width in characters, and how a person's value is read."""

    header: str
    width: int
    value: Callable[[Any], Any]


@dataclass(frozen=True)
class Sheet:
    """One table of a manifest: sheet name, title line, columns and rows."""

    name: str
    title: str
    columns: tuple[Column, ...]
    rows: list[list[Any]]


def _day(value: date | None) -> str:
    return value.isoformat() if value else ""


def _nights(p: Any) -> int | str:
    return (p.checkout_on - p.checkin_on).days if p.checkin_on and p.checkout_on else ""


def _role(p: Any) -> str:
    return ROLE_LABELS.get(NomineeRole(p.role), p.role) if p.role in ROLE_LABELS else p.role


BASE = (Column("单位", 14, lambda p: p.org), Column("姓名", 10, lambda p: p.name),
        Column("职务", 16, lambda p: p.title), Column("手机", 14, lambda p: p.mobile or ""))
ROOMING = (*BASE, Column("入住", 12, lambda p: _day(p.checkin_on)), Column("退房", 12, lambda p: _day(p.checkout_on)),
           Column("晚数", 6, _nights), Column("单住/合住", 9, lambda p: p.room or ""),
           Column("饮食需求", 16, lambda p: p.diet or ""))
TRANSPORT = (*BASE, Column("出发日期", 12, lambda p: _day(p.depart_on)),
             Column("交通方式", 10, lambda p: p.transport or ""),
             Column("车次/航班", 10, lambda p: p.train_no or ""), Column("返回日期", 12, lambda p: _day(p.return_on)))
PARTICIPANTS = (*BASE, Column("角色", 10, _role), Column("邮箱", 24, lambda p: p.email or ""),
                Column("状态", 8, lambda p: NOMINEE_STATUS_LABELS.get(NomineeStatus(p.status), p.status)))
MANIFESTS = {"rooming": "住宿名单", "transport": "交通名单", "participants": "参会人员名单"}


def _going(roster: Roster) -> list[tuple[str, list[Any]]]:
    """Return (unit name, people not declined) per unit, in the roster's order."""
    return [(r.unit.org_name, [p for p in r.people if p.status != NomineeStatus.DECLINED]) for r in roster.rows]


def build_manifest(roster: Roster, kind: str, *, title: str) -> list[Sheet]:
    """Return the sheets of one manifest (`rooming`, `transport` or `participants`); KeyError for another kind."""
    label = MANIFESTS[kind]
    if kind == "participants":
        return [Sheet(name=unit[:31], title=f"{title} {label}（{unit}）", columns=(Column("序号", 6, lambda p: 0),
                      *PARTICIPANTS), rows=[[i, *(c.value(p) for c in PARTICIPANTS)] for i, p in enumerate(people, 1)])
                for unit, people in _going(roster) if people] or [Sheet(name=label, title=f"{title} {label}",
                                                                       columns=PARTICIPANTS, rows=[])]
    columns = ROOMING if kind == "rooming" else TRANSPORT
    people = [p for _unit, ps in _going(roster) for p in ps]
    return [Sheet(name=label, title=f"{title} {label}", columns=(Column("序号", 6, lambda p: 0), *columns),
                  rows=[[i, *(c.value(p) for c in columns)] for i, p in enumerate(people, 1)])]


def manifest_xlsx(sheets: list[Sheet]) -> bytes:
    """Return the sheets as an XLSX workbook formatted for print (A4 landscape, one page wide, header repeated)."""
    book = Workbook()
    book.remove(book.active)
    for sheet in sheets:
        ws = book.create_sheet(sheet.name)
        ws.append([sheet.title])
        ws.cell(row=1, column=1).font = Font(bold=True, size=14)
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(sheet.columns))
        ws.append([c.header for c in sheet.columns])
        for cell in ws[2]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(horizontal="center")
        for r, row in enumerate(sheet.rows, 3):
            # Cells by position: ws[ws.max_row] rescans the sheet on every row (quadratic in the row count).
            for c, value in enumerate(row, 1):
                cell = ws.cell(row=r, column=c, value=value)
                if isinstance(value, str):
                    cell.data_type = "s"  # never a formula, whatever it starts with
                    if value.startswith(FORMULA_STARTS):
                        cell.quotePrefix = True  # shown as typed (a style: set only where needed, styles are costly)
        for i, column in enumerate(sheet.columns, 1):
            ws.column_dimensions[get_column_letter(i)].width = column.width
        ws.freeze_panes = "A3"
        ws.print_title_rows = "2:2"
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def manifest_csv(sheets: list[Sheet]) -> bytes:
    """Return the sheets as one UTF-8 (BOM) CSV: header once, formula-like text neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.header for c in sheets[0].columns])
    for sheet in sheets:
        for row in sheet.rows:
            writer.writerow([neutralize(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
