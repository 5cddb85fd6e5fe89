"""Reports as documents the office files: an XLSX laid out for print and a 通报 in Word (公文 layout), plus the
Chinese file names they are downloaded and mailed under."""

from __future__ import annotations

import io
import re
from typing import Any

from scheduler.outcomes.exports import as_text_cells
from scheduler.reports.periods import REPORT_KIND_LABELS
from scheduler.reports.tables import Column, Report, Table, cell_value, display

NUMBER_FORMATS = {"int": "0", "money": "#,##0.00", "pct": "0.00", "pp": "+0.00;-0.00;0.00", "score": "0.00",
                  "qty": "#,##0.##"}
MAIN_RECIPIENT = "各县（市、区）科技局，各园区科技主管部门，市各有关部门、单位"  # 主送
ISSUER = "南通市科技招商推进领导小组办公室"
FONT_BODY = "Noto Serif CJK SC"  # the fonts installed with the service (fonts-noto-cjk): offline, no download
FONT_TITLE = "Noto Sans CJK SC"


def file_name(report: Report, ext: str) -> str:
    """Return the Chinese file name of a report: 2023年3月科技招商月度跟踪.xlsx (no path or control characters)."""
    return re.sub(r'[\x00-\x1f\x7f\\/:*?"<>|\s]+', "", report.title)[:80] + f".{ext}"


def ascii_name(report: Report, ext: str) -> str:
    """Return the ASCII fallback name (monthly-2023-03.xlsx) for clients that ignore `filename*`."""
    return f"{report.kind}-{report.period.replace('/', '-')}.{ext}"


def _width(value: Any) -> float:
    """Return a cell's display width in Excel character units: a CJK character counts as two."""
    text = "" if value is None else str(value)
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _units_line(report: Report, table: Table) -> str:
    kinds = {c.kind for c in table.columns}
    parts = [f"数据截至 {report.as_of}"]
    if "money" in kinds or any("万元" in c.label for c in table.columns):
        parts.append("金额单位：万元")
    if kinds & {"pct", "pp"}:
        parts.append("比率单位：%（超/欠进度为百分点）")
    return "；".join(parts)


def to_xlsx(report: Report) -> bytes:
    """Write one sheet per table, formatted for print: title, units, bold frozen header, widths, number formats,
    A4 landscape fitted to the page width; numbers stay numbers and text stays text (never a formula)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    thin = Side(style="thin", color="9AA5B1")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    for table in report.tables:
        ws = wb.create_sheet(_sheet_name(table, used))
        ncols = max(len(table.columns), 1)
        ws.append([f"{report.title} · {table.title}"])
        ws.append([_units_line(report, table)])
        ws.append([c.label for c in table.columns])
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=ncols)
        ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=ncols)
        ws["A1"].font = Font(bold=True, size=14)
        ws["A1"].alignment = Alignment(horizontal="center")
        ws["A2"].font = Font(size=10, color="616E7C")
        for cell in ws[3]:
            cell.font = Font(bold=True)
            cell.fill = PatternFill("solid", fgColor="EEF2F7")
            cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
            cell.border = border
        for r in (1, 2, 3):
            as_text_cells(ws[r])
        for row in table.rows:
            ws.append([cell_value(row.get(c.key), c.kind) for c in table.columns])
            as_text_cells(ws[ws.max_row])
            for cell, column in zip(ws[ws.max_row], table.columns, strict=False):
                cell.border = border
                if column.kind in NUMBER_FORMATS and isinstance(cell.value, int | float):
                    cell.number_format = NUMBER_FORMATS[column.kind]
        if table.note:
            ws.append([])
            ws.append([f"说明：{table.note}"])
            as_text_cells(ws[ws.max_row])
        _fit_columns(ws, table.columns, table.rows, get_column_letter)
        ws.freeze_panes = "B4" if ncols > 1 else "A4"  # header rows and the first (name) column stay in view
        ws.print_title_rows = "3:3"
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.print_options.horizontalCentered = True
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


def _fit_columns(ws: Any, columns: list[Column], rows: list[dict], letter: Any) -> None:
    for i, column in enumerate(columns, start=1):
        widest = max([_width(column.label) / 2 + 2, *(_width(r.get(column.key)) + 2 for r in rows[:500])])
        ws.column_dimensions[letter(i)].width = min(max(widest, 8), 48)


def to_docx(report: Report) -> bytes:
    """Write the report as a 通报 in the usual 公文 layout: title, 主送, body with the method, tables as 附件."""
    import docx
    from docx.enum.section import WD_ORIENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    document = docx.Document()
    normal = document.styles["Normal"]
    normal.font.name, normal.font.size = FONT_BODY, Pt(12)
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), FONT_BODY)  # Word picks CJK glyphs from eastAsia
    section = document.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)
    section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)

    def para(text: str, *, size: float = 16, bold: bool = False, center: bool = False, font: str = FONT_BODY,
             indent: bool = False) -> Any:
        p = document.add_paragraph()
        run = p.add_run(text)
        run.font.size, run.bold, run.font.name = Pt(size), bold, font
        run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), font)
        if center:
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        if indent:
            p.paragraph_format.first_line_indent = Pt(size * 2)
        return p

    kind = REPORT_KIND_LABELS.get(report.kind, "")
    para(f"关于{report.title}情况的通报", size=22, bold=True, center=True, font=FONT_TITLE)
    para(f"{MAIN_RECIPIENT}：")
    para(f"现将{report.title}情况通报如下（数据截至 {report.as_of}）。", indent=True)
    for n, table in enumerate(report.tables, start=1):
        summary = f"{_number(n)}、{table.title}：共 {len(table.rows)} 条，详见附件 {n}。"
        para(summary + (f"{table.note}" if table.note else ""), indent=True)
    for note in report.notes:
        if note:
            para("计算口径：", bold=True)
            for line in note.split("\n"):
                para(line, size=14, indent=True)
    para(f"附件：{'；'.join(f'{n}. {t.title}' for n, t in enumerate(report.tables, start=1))}", size=14)
    para(ISSUER, center=False).alignment = WD_ALIGN_PARAGRAPH.RIGHT
    para(f"{kind}（{report.period}）", size=14).alignment = WD_ALIGN_PARAGRAPH.RIGHT
    for n, table in enumerate(report.tables, start=1):
        landscape = document.add_section()
        landscape.orientation = WD_ORIENT.LANDSCAPE
        landscape.page_width, landscape.page_height = Cm(29.7), Cm(21.0)
        landscape.left_margin = landscape.right_margin = Cm(1.8)
        para(f"附件 {n}", size=14, bold=True, font=FONT_TITLE)
        para(table.title, size=16, bold=True, center=True, font=FONT_TITLE)
        grid = document.add_table(rows=1 + len(table.rows), cols=max(len(table.columns), 1))
        grid.style = "Table Grid"
        for cell, column in zip(grid.rows[0].cells, table.columns, strict=False):
            cell.paragraphs[0].add_run(column.label).bold = True
        grid.rows[0]._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))  # header repeats on each page
        for i, row in enumerate(table.rows, start=1):
            for cell, column in zip(grid.rows[i].cells, table.columns, strict=False):
                cell.text = display(row.get(column.key), column.kind)
                if column.kind != "text":
                    cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
        if not table.rows:
            para("（无）", size=12)
        document.add_paragraph().add_run().add_break(WD_BREAK.LINE)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _number(n: int) -> str:
    words = "一二三四五六七八九十"
    return words[n - 1] if n <= 10 else str(n)
