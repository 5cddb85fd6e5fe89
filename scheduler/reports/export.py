"""Write a report (cadence, monthly, bimonthly, quarterly, goals) as HTML, CSV, XLSX, DOCX or JSON; formulas stay
text (the print-ready XLSX and the Word 通报 are laid out in `reports.documents`)."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from scheduler.config import PROJECT_ROOT
from scheduler.outcomes.exports import neutralize
from scheduler.reports.documents import to_docx, to_xlsx
from scheduler.reports.tables import Report, cell_value, display

FORMATS = {
    "html": "text/html; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


class FormatInvalid(ValueError):
    """An export format that does not exist."""


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
    writers = {"html": to_html, "csv": to_csv, "xlsx": to_xlsx, "json": to_json, "docx": to_docx}
    if fmt not in writers:
        raise FormatInvalid(f"未知格式 {fmt!r}（可选：{'、'.join(writers)}）")
    return writers[fmt](report)


__all__ = ["FORMATS", "FormatInvalid", "cell_value", "display", "display_quantity", "export", "quantity", "to_csv",
           "to_docx", "to_html", "to_json", "to_xlsx"]
