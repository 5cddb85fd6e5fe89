"""Test helper: small plan tables in the 附件4 layout, built with openpyxl and python-docx, to break on purpose."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

HEADER = ["序号", "地点", "名称", "内容", "日期", "主办单位", "承办（配合）单位", "活动类型"]
TITLE = "2027年科技招商活动安排表"
# Sheet rows 3-8 (row 1 is the title, row 2 the header): 序号 1 is on row 4, 序号 4 on row 8.
ROWS: list[list[Any]] = [
    ["第一季度"],
    [1, "南通", "东部中心成果对接会", "科技成果对接", "2027年3月", "市科技局", "东部中心", "季度主题活动（科技成果）"],
    [2, "上海", "如皋—上海推介会", "推介如皋科创环境", "2027年2月", "如皋市", "—", "板块招商活动"],
    [3, "南京", "如东—南京对接会", "对接南京高校", "2027年3月", "如东县", "—", ""],
    ["第二季度"],
    [4, "深圳", "沿江科创带（深圳）恳谈会", "推介沿江科创带", "2027年5月", "市科技局", "各县（市、区）、沿江科创带园区",
     "季度主题活动（科创项目）"],
]


def rows_with(changes: dict[tuple[int, int], Any]) -> list[list[Any]]:
    """Return ROWS with cells replaced: {(序号, column index): value}."""
    out = [list(r) for r in ROWS]
    for (seq, col), value in changes.items():
        row = next(r for r in out if r[0] == seq)
        row[col] = value
    return out


def workbook(
    rows: Sequence[Sequence[Any]] = ROWS,
    *,
    header: Sequence[str] = HEADER,
    title: str | None = TITLE,
    merges: Sequence[str] = (),
    sheet: str = "附件4",
    extra: dict[str, list[list[Any]]] | None = None,
) -> bytes:
    """Build an XLSX plan table: title row, header row, `rows` (quarter rows merged across), extra sheets."""
    from openpyxl import Workbook

    book = Workbook()
    ws = book.active
    ws.title = sheet
    if title is not None:
        ws.append([title])
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
        if len(row) == 1 and str(row[0]).startswith("第"):
            ws.merge_cells(start_row=ws.max_row, start_column=1, end_row=ws.max_row, end_column=len(header))
    for span in merges:
        ws.merge_cells(span)
    for name, sheet_rows in (extra or {}).items():
        other = book.create_sheet(name)
        for row in sheet_rows:
            other.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def document(rows: Sequence[Sequence[Any]] = ROWS, *, title: str = TITLE, table: bool = True) -> bytes:
    """Build a DOCX plan: a title paragraph and the table (quarter rows merged across), or no table at all."""
    import docx

    doc = docx.Document()
    doc.add_paragraph(title)
    if table:
        grid = doc.add_table(rows=1 + len(rows), cols=len(HEADER))
        for j, text in enumerate(HEADER):
            grid.cell(0, j).text = text
        for i, row in enumerate(rows, start=1):
            if len(row) == 1:
                grid.cell(i, 0).merge(grid.cell(i, len(HEADER) - 1)).text = str(row[0])
                continue
            for j, value in enumerate(row):
                grid.cell(i, j).text = str(value)
    else:
        doc.add_paragraph("（表格见附件）")
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()
