"""Manifest files: formula-like text never runs (XLSX keeps it as text, CSV gets an apostrophe)."""

from __future__ import annotations

import csv
import io

import openpyxl

from scheduler.logistics.manifests import Column, Sheet, manifest_csv, manifest_xlsx

SHEET = Sheet(name="住宿名单", title="测试 住宿名单", columns=(Column("序号", 6, lambda p: 0), Column("姓名", 10, str)),
              rows=[[1, "=HYPERLINK(\"http://x\")"], [2, "@SUM(A1)"], [3, "张三"]])


def test_xlsx_stores_formula_like_text_as_text_with_title_header_and_print_setup() -> None:
    ws = openpyxl.load_workbook(io.BytesIO(manifest_xlsx([SHEET]))).active
    assert ws["A1"].value == "测试 住宿名单" and ws["A1"].font.b
    assert ws["B3"].value == "=HYPERLINK(\"http://x\")" and ws["B3"].data_type == "s" and ws["B3"].quotePrefix
    assert ws["B5"].value == "张三" and ws["A5"].value == 3
    assert ws.column_dimensions["B"].width == 10 and ws.freeze_panes == "A3"
    assert ws.print_title_rows == "$2:$2" and ws.page_setup.fitToWidth == 1


def test_csv_neutralises_formulas_and_opens_in_excel_as_utf8() -> None:
    data = manifest_csv([SHEET])
    assert data.startswith("\ufeff".encode())
    lines = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert lines == [["序号", "姓名"], ["1", "'=HYPERLINK(\"http://x\")"], ["2", "'@SUM(A1)"], ["3", "张三"]]
