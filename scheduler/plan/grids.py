"""Office table files as plain grids of located cells: XLSX sheets (openpyxl) and DOCX tables (python-docx).

A merged cell is spread over every cell it covers (`Cell.merged` marks the copies), so the layout reader sees a
value on each row a merge spans and can still tell a merge from a value typed again. Legacy `.xls`/`.doc`, PDFs and
other files renamed to `.xlsx` are refused here with a Chinese error that says what the file really is.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from scheduler.validation import FileKind, InputInvalid

MAX_TABLE_BYTES = 5 * 1024 * 1024
MAX_UNPACKED_BYTES = 60 * 1024 * 1024  # a zip bomb is refused before openpyxl inflates it
MAX_ROWS = 5000
MAX_COLS = 40
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@dataclass(frozen=True)
class Cell:
    """One cell: its text (stripped, lines kept), raw value and whether it is the copy of a merge."""

    text: str
    row: int  # 1-based, in its sheet or table
    col: int  # 1-based
    value: Any = None
    number_format: str = "General"
    merged: bool = False


@dataclass
class Grid:
    """One sheet or one Word table: rows of cells (all rows as long as the widest), merges and a label."""

    name: str  # sheet title, or 表格N for a Word table
    word: bool  # True for a DOCX table: places read 「表格1 第14行 日期」 instead of `Sheet1!E14`
    rows: list[list[Cell]]
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)  # min_row, min_col, max_row, max_col
    title: str = ""  # DOCX: the paragraph text just before the table

    def where(self, row: int, col: int | None = None, header: str | None = None) -> str:
        """Name a cell the way the office sees it: `附件4!E14`, or 「表格1 第14行 日期」."""
        if self.word:
            column = f" {header}" if header else (f" 第{col}列" if col else "")
            return f"{self.name} 第{row}行{column}"
        if col is None:
            return f"{self.name}!{row}:{row}"
        from openpyxl.utils import get_column_letter

        return f"{self.name}!{get_column_letter(col)}{row}"

    def span(self, merge: tuple[int, int, int, int]) -> str:
        """Name a merged range: `附件4!H5:H9`, or 「表格1 第5-9行」."""
        r1, c1, r2, c2 = merge
        if self.word:
            return f"{self.name} 第{r1}-{r2}行" if r2 > r1 else f"{self.name} 第{r1}行 第{c1}-{c2}列"
        from openpyxl.utils import get_column_letter

        return f"{self.name}!{get_column_letter(c1)}{r1}:{get_column_letter(c2)}{r2}"


def _refuse(source: str, message: str) -> InputInvalid:
    return InputInvalid(source, message, kind=FileKind.PLAN)


def table_format(data: bytes, *, name: str) -> str | None:
    """Tell an office file by its content: 'xlsx', 'docx', None for anything else (JSON); refuse what cannot be read."""
    ext = name.lower().rsplit(".", 1)[-1] if "." in name else ""
    if data.startswith(_OLE2):
        kind = "Word 97-2003（.doc）" if ext == "doc" else "Excel 97-2003（.xls）"
        advice = "请在 Excel 或 WPS 中“另存为” .xlsx（Word 表格存为 .docx）后再导入"
        raise _refuse(name, f"这是旧版 {kind}文件，无法读取：{advice}")
    if data.startswith(b"%PDF"):
        advice = "请使用通知附件的 Excel（.xlsx）或 Word（.docx）原件，或把表格录入 Excel"
        raise _refuse(name, f"这是 PDF 文件，不是表格：{advice}")
    if not data.startswith(b"PK\x03\x04"):
        if ext in ("xlsx", "xlsm", "docx"):
            raise _refuse(name, f"文件扩展名是 .{ext}，但内容不是 Excel/Word 文件（可能是改了扩展名的其他文件）")
        if ext in ("xls", "doc"):
            raise _refuse(name, f"无法读取 .{ext} 文件：请另存为 .xlsx（或 .docx）后再导入")
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise _refuse(name, "文件已损坏：不是完整的 .xlsx/.docx 压缩包") from None
    if unpacked > MAX_UNPACKED_BYTES:
        raise _refuse(name, f"表格解压后过大（{unpacked} 字节，上限 {MAX_UNPACKED_BYTES} 字节）")
    if "xl/workbook.xml" in names:
        return "xlsx"
    if "word/document.xml" in names:
        return "docx"
    raise _refuse(name, "这是一个压缩包，但不是 Excel（.xlsx）或 Word（.docx）文件")


def _text(value: Any, number_format: str) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        day = value.date() if isinstance(value, datetime) else value
        if "d" in number_format.lower():
            return f"{day.year}年{day.month}月{day.day}日"
        return f"{day.year}年{day.month}月"  # a cell formatted yyyy"年"m"月" holds the 1st of that month
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "\n".join(line.strip() for line in str(value).replace("\r\n", "\n").replace("\r", "\n").split("\n")).strip()


def read_xlsx(data: bytes, *, source: str) -> list[Grid]:
    """Read every worksheet of a workbook into grids, merges spread over the cells they cover."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), data_only=True)
    except Exception as exc:  # openpyxl raises many kinds (KeyError, InvalidFileException, XML errors)
        raise _refuse(source, f"无法打开 Excel 文件：{type(exc).__name__}") from None
    grids = []
    for sheet in book.worksheets:
        height, width = min(sheet.max_row, MAX_ROWS), min(sheet.max_column, MAX_COLS)
        if sheet.max_row > MAX_ROWS or sheet.max_column > MAX_COLS:
            raise _refuse(source, f"工作表 {sheet.title} 过大（上限 {MAX_ROWS} 行、{MAX_COLS} 列）")
        values = {}
        for row in sheet.iter_rows(min_row=1, max_row=height, max_col=width):
            for c in row:
                if c.value is not None:
                    values[c.row, c.column] = (c.value, c.number_format or "General")
        merges = [(m.min_row, m.min_col, m.max_row, m.max_col) for m in sheet.merged_cells.ranges]
        copies = {}
        for r1, c1, r2, c2 in merges:
            for r in range(r1, r2 + 1):
                for c in range(c1, c2 + 1):
                    if (r, c) != (r1, c1):
                        copies[r, c] = (r1, c1)
        rows = []
        for r in range(1, height + 1):
            cells = []
            for c in range(1, width + 1):
                origin = copies.get((r, c))
                value, fmt = values.get(origin or (r, c), (None, "General"))
                cells.append(Cell(_text(value, fmt), r, c, value, fmt, merged=origin is not None))
            rows.append(cells)
        grids.append(Grid(sheet.title, False, rows, merges))
    return grids


def read_docx(data: bytes, *, source: str) -> list[Grid]:
    """Read every table of a Word document into grids (gridSpan and vMerge spread like Excel merges)."""
    import docx
    from docx.oxml.ns import qn

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises KeyError, ValueError or XML errors on damaged files
        raise _refuse(source, f"无法打开 Word 文件：{type(exc).__name__}") from None
    grids: list[Grid] = []
    last_text = ""
    for block in document.element.body.iterchildren():
        if block.tag == qn("w:p"):
            text = _paragraph_text(block)
            last_text = text or last_text
        elif block.tag == qn("w:tbl"):
            grids.append(_docx_grid(block, f"表格{len(grids) + 1}", last_text))
            last_text = ""
    return grids


def _docx_grid(tbl: Any, name: str, title: str) -> Grid:
    texts: dict[tuple[int, int], str] = {}
    copies: dict[tuple[int, int], tuple[int, int]] = {}
    merges: list[tuple[int, int, int, int]] = []
    width = 0
    for r, tr in enumerate(tbl.tr_lst[:MAX_ROWS], start=1):
        c = 1 + (tr.grid_before or 0)
        for tc in tr.tc_lst:
            span = max(tc.grid_span, 1)
            text = "\n".join(_paragraph_text(p) for p in tc.p_lst).strip()
            if tc.vMerge == "continue" and (r - 1, c) in texts:
                origin = copies.get((r - 1, c), (r - 1, c))
                copies[r, c] = origin
                texts[r, c] = texts[origin]
                _extend_merge(merges, origin, r)
            else:
                texts[r, c] = text
            for extra in range(1, span):
                copies[r, c + extra] = copies.get((r, c), (r, c))
                texts[r, c + extra] = texts[r, c]
            if span > 1:
                merges.append((r, c, r, c + span - 1))
            c += span
        width = max(width, c - 1)
    width = min(width, MAX_COLS)
    height = min(len(tbl.tr_lst), MAX_ROWS)
    rows = [
        [Cell(texts.get((r, c), ""), r, c, texts.get((r, c)), merged=(r, c) in copies) for c in range(1, width + 1)]
        for r in range(1, height + 1)
    ]
    return Grid(name, True, rows, merges, title)


def _extend_merge(merges: list[tuple[int, int, int, int]], origin: tuple[int, int], row: int) -> None:
    for i, (r1, c1, _, c2) in enumerate(merges):
        if (r1, c1) == origin and c1 == c2:
            merges[i] = (r1, c1, row, c2)
            return
    merges.append((origin[0], origin[1], row, origin[1]))


def _paragraph_text(p: Any) -> str:
    """Return a Word paragraph's text; a manual line break (Shift+Enter) is a new line, a tab a space."""
    from docx.oxml.ns import qn

    parts = []
    for node in p.iter(qn("w:t"), qn("w:br"), qn("w:tab")):
        parts.append(node.text or "" if node.tag == qn("w:t") else "\n" if node.tag == qn("w:br") else " ")
    return "\n".join(line.strip() for line in "".join(parts).split("\n")).strip()
