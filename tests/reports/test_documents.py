"""The documents the office files, read back: the print-ready XLSX (openpyxl) and the Word 通报 (python-docx) hold
the numbers of the JSON report, and the monthly one lists what was held and what was signed."""

from __future__ import annotations

import io
from datetime import date

from docx import Document
from openpyxl import load_workbook
from sqlalchemy.engine import Engine

from scheduler.reports.documents import ascii_name, file_name, to_docx, to_xlsx
from tests.reports.test_build import build, by_unit, recorded  # noqa: F401  (recorded is a fixture)

RUGAO_EVENT = "如皋—江南大学校企对接活动"
CITY_EVENT = "东部中心 南通重点产业链科技成果对接洽谈会"


def test_the_monthly_report_lists_what_was_held_and_signed(recorded: Engine) -> None:  # noqa: F811
    report = build(recorded, "monthly", "2023-03", date(2023, 4, 3))
    held = [(r["date"], r["title"], r["units"]) for r in report.table("held").rows]
    # March: the city's 01-1 on 3-10 (hosted by 市科技局: no 板块) and 如皋's 04-1 on 3-15; 崇川's 07-1 was in February
    assert held == [("2023-03-10", CITY_EVENT, "市级"), ("2023-03-15", RUGAO_EVENT, "如皋市")]
    signed = [(r["name"], r["unit"], float(r["amount"]), r["event"]) for r in report.table("signed").rows]
    # P3 was an intent (not signed); C1, C2 were signed in February
    assert signed == [
        ("K1", "崇川区", 1000.0, CITY_EVENT),
        ("K2", "市级", 80.0, CITY_EVENT),
        ("P1", "如皋市", 300.0, RUGAO_EVENT),
        ("P2", "如皋市", 200.0, RUGAO_EVENT),
        ("P4", "海安市", 100.0, RUGAO_EVENT),
    ]


def test_xlsx_is_laid_out_for_print_with_the_reports_numbers(recorded: Engine) -> None:  # noqa: F811
    report = build(recorded, "monthly", "2023-03", date(2023, 4, 3))
    wb = load_workbook(io.BytesIO(to_xlsx(report)))
    ws = wb["各板块月度跟踪"]
    assert ws["A1"].value == "2023年3月科技招商月度跟踪 · 各板块月度跟踪" and ws["A1"].font.bold
    assert "A1:" in str(ws.merged_cells)
    assert "金额单位：万元" in ws["A2"].value and "数据截至 2023-03-31" in ws["A2"].value
    header = [c.value for c in ws[3]]
    assert header[:3] == ["板块", "本月计划活动", "本月已举办"] and all(c.font.bold for c in ws[3])
    assert ws.freeze_panes == "B4" and ws.print_title_rows == "$3:$3"
    setup = ws.page_setup
    assert (setup.orientation, str(setup.paperSize), setup.fitToWidth, setup.fitToHeight) == ("landscape", "9", 1, 0)
    assert ws.sheet_properties.pageSetUpPr.fitToPage is True
    assert ws.column_dimensions["A"].width >= 8 and ws.column_dimensions["B"].width >= 8
    json_rugao = by_unit(report.to_dict()["tables"][0]["rows"])["如皋市"]
    row = next(r for r in ws.iter_rows(min_row=4) if r[0].value == "如皋市")
    cells = dict(zip(header, row, strict=True))
    assert cells["累计签约项目"].value == json_rugao["signed_ytd"] == 2
    assert cells["完成率（%）"].value == json_rugao["rate"] == 16.67 and cells["完成率（%）"].number_format == "0.00"
    assert cells["累计签约额（万元）"].value == 500.0 and cells["累计签约额（万元）"].number_format == "#,##0.00"
    assert cells["超/欠进度（百分点）"].number_format == "+0.00;-0.00;0.00"
    signed = wb["本月签约项目"]
    names = [r[1].value for r in signed.iter_rows(min_row=4) if r[0].value]
    assert names[:5] == ["K1", "K2", "P1", "P2", "P4"]


def test_docx_is_a_tongbao_with_tables_as_attachments(recorded: Engine) -> None:  # noqa: F811
    report = build(recorded, "quarterly", "2023Q1", date(2023, 4, 3))
    document = Document(io.BytesIO(to_docx(report)))
    texts = [p.text for p in document.paragraphs if p.text]
    assert texts[0] == "关于2023年第一季度科技招商季度考核情况的通报"
    assert texts[1].endswith("：") and "科技局" in texts[1]  # 主送
    assert any("“不适用”" in t for t in texts)  # the method, in Chinese
    assert texts.index("附件 1") > texts.index("南通市科技招商推进领导小组办公室")
    assert len(document.tables) == len(report.tables)
    scores = document.tables[0]
    labels = [c.text for c in scores.rows[0].cells]
    haian = next(r for r in scores.rows if r.cells[1].text == "海安市")
    cells = dict(zip(labels, (c.text for c in haian.cells), strict=True))
    # the same figures as the JSON: 海安 15 + 25 + 0 + 4.17 = 44.17, 活动 and 成效 不适用
    json_haian = by_unit(report.to_dict()["tables"][0]["rows"])["海安市"]
    assert (cells["总分"], json_haian["total"]) == ("44.17", 44.17)
    assert cells["活动举办（加权得分）"] == "不适用" and cells["周周有洽谈（加权得分）"] == "4.17"
    assert document.sections[1].orientation == 1  # the attachments are landscape


def test_file_names_are_chinese_with_an_ascii_fallback(recorded: Engine) -> None:  # noqa: F811
    report = build(recorded, "bimonthly", "2023-03/04", date(2023, 5, 5))
    assert file_name(report, "xlsx") == "2023年3-4月科技招商双月点评.xlsx"
    assert ascii_name(report, "docx") == "bimonthly-2023-03-04.docx"
