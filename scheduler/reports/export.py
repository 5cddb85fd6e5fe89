"""Write a report (cadence, monthly, bimonthly, quarterly, goals) as HTML, CSV, XLSX or JSON; formulas stay text."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from scheduler.config import PROJECT_ROOT
from scheduler.outcomes.exports import as_text_cells, neutralize
from scheduler.reports.tables import NUMERIC_KINDS, Report, Table

FORMATS = {
    "html": "text/html; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}


class FormatInvalid(ValueError):
    """An export format that does not exist."""


def cell_value(value: Any, kind: str) -> Any:
    """Return what a cell holds: numbers for numeric columns, text otherwise (None stays empty)."""
    if value is None:
        return None
    if kind in NUMERIC_KINDS and isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return int(value) if kind == "int" or (kind == "qty" and isinstance(value, int)) else float(value)
    return str(value)


COUNT_UNITS = {"个", "家", "名", "项", "件", "场", "人"}  # counted things: whole numbers, never "3,300.00 个"


def quantity(value: Decimal | int | float, unit: str) -> Decimal | int:
    """Return a goal or target value as it should read: an int for counted units, 2 decimals for money."""
    if unit in COUNT_UNITS and Decimal(str(value)) == Decimal(str(value)).to_integral_value():
        return int(value)
    return Decimal(str(value)).quantize(Decimal("0.01"))


def display_quantity(value: Any, unit: str) -> str:
    """Format a value of the given unit for a page: 3,300 for 个/家/名/项/件, 1,200.00 for 亿元/万元."""
    if value is None or value == "":
        return "—"
    return display(quantity(value, unit), "qty")


def display(value: Any, kind: str) -> str:
    """Format a value for a printed page."""
    if value is None or value == "":
        return "—"
    if kind == "qty" and isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if kind in ("pct", "pp", "score", "money", "qty") and isinstance(value, int | float | Decimal):
        text = f"{float(value):,.2f}"
        return ("+" + text) if kind == "pp" and float(value) > 0 else text
    return str(value)


def to_csv(report: Report) -> bytes:
    """Write every table: a title line, the header, the rows, a blank line (UTF-8 with BOM for Excel)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([neutralize(report.title), f"截至 {report.as_of}"])
    for table in report.tables:
        w.writerow([])
        w.writerow([neutralize(table.title)])
        w.writerow([c.label for c in table.columns])
        for row in table.rows:
            cells = [cell_value(row.get(c.key), c.kind) for c in table.columns]
            w.writerow(["" if v is None else (neutralize(v) if isinstance(v, str) else v) for v in cells])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(report: Report) -> bytes:
    """Write one sheet per table; numbers as numbers, every text cell stored as text (never a formula)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    for table in report.tables:
        name = _sheet_name(table, used)
        ws = wb.create_sheet(name)
        ws.append([report.title, f"截至 {report.as_of}"])
        as_text_cells(ws[1])
        ws.append([c.label for c in table.columns])
        for cell in ws[2]:
            cell.font = Font(bold=True)
        as_text_cells(ws[2])
        for row in table.rows:
            ws.append([cell_value(row.get(c.key), c.kind) for c in table.columns])
            as_text_cells(ws[ws.max_row])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _sheet_name(table: Table, used: set[str]) -> str:
    base = "".join(ch for ch in table.title if ch not in "[]:*?/\\")[:28] or table.key
    name, n = base, 2
    while name in used:
        name, n = f"{base[:26]}_{n}", n + 1
    used.add(name)
    return name


def to_json(report: Report) -> bytes:
    """Write the report as indented JSON."""
    return json.dumps(report.to_dict(), ensure_ascii=False, indent=2).encode("utf-8")


def html_env() -> Environment:
    """Return the Jinja2 environment for report pages (autoescaped)."""
    env = Environment(
        loader=FileSystemLoader(str(PROJECT_ROOT / "templates" / "web")), autoescape=select_autoescape(["html"])
    )
    env.globals["display"] = display
    return env


def to_html(report: Report) -> bytes:
    """Write a standalone printable page."""
    return html_env().get_template("report_print.html").render(report=report).encode("utf-8")


def export(report: Report, fmt: str) -> bytes:
    """Export a report in `fmt`; raise FormatInvalid for an unknown format."""
    writers = {"html": to_html, "csv": to_csv, "xlsx": to_xlsx, "json": to_json}
    if fmt not in writers:
        raise FormatInvalid(f"未知格式 {fmt!r}（可选：{'、'.join(writers)}）")
    return writers[fmt](report)
