"""The office's plan table (XLSX/DOCX in the 附件4 layout) read into a PlanFile, and written back by the exporter.

Expected values come from the notice text (附件4) and the JSON seed, never from the reader: the shipped
`seeds/plan_2023.xlsx` must give the seed's plan field by field, and so must the seed exported and read back.
"""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from scheduler.config import PROJECT_ROOT
from scheduler.plan.export import write_docx, write_xlsx
from scheduler.plan.seed import PlanFile
from scheduler.plan.sheet import TableOptions, read_plan_path, read_plan_table
from scheduler.validation import InputInvalid
from tests.support.planbooks import document, rows_with, workbook

SHIPPED = PROJECT_ROOT / "seeds" / "plan_2023.xlsx"


def sessions(ev: Any) -> list[tuple[Any, ...]]:
    return [(s.key, s.title, s.location, s.date_text, s.start, s.end, str(s.precision)) for s in ev.sessions]


def event_fields(ev: Any) -> dict[str, Any]:
    fields = ev.model_dump(exclude={"sessions"})
    return {**fields, "type": str(ev.type), "sessions": sessions(ev)}


@pytest.fixture(scope="module")
def shipped() -> PlanFile:
    return read_plan_path(SHIPPED)


def test_the_shipped_xlsx_gives_the_json_seed(shipped: PlanFile, seed_doc: PlanFile) -> None:
    assert shipped.plan == seed_doc.plan
    assert {o.id: o for o in shipped.organizations} == {o.id: o for o in seed_doc.organizations}
    assert [e.seq for e in shipped.events] == list(range(1, 49))
    for got, want in zip(shipped.events, seed_doc.events, strict=True):
        assert event_fields(got) == event_fields(want), want.seq
    assert sum(len(e.sessions) for e in shipped.events) == 61
    assert shipped == seed_doc


def test_the_notices_hard_rows_read_as_the_seed_has_them(shipped: PlanFile) -> None:
    ev = {e.seq: e for e in shipped.events}
    # 16/27: two places printed on one line are one trip (the notice: 「赴日韩、欧美等发达国家」)
    assert sessions(ev[16]) == [("16-1", "境外科技招商活动", "日韩、欧美", "二季度", date(2023, 4, 1),
                                 date(2023, 6, 30), "quarter")]
    assert ev[27].locations == ["德国", "沙特"] and [s.location for s in ev[27].sessions] == ["德国、沙特"]
    # 31: each dated part carries the partner 内容 names
    assert [(s.title, s.location, s.date_text) for s in ev[31].sessions] == [
        ("科创项目专题推介会（上海·复旦大学微电子学院）", "上海", "2023年7-9月"),
        ("科创项目专题推介会（南京·江苏科技大学海工船舶服务平台）", "南京", "2023年7-9月"),
    ]
    assert ev[31].date_text == "2023年7-9月"
    # chains named by alias: 生命健康, 海上风电, 船舶与海洋工程, 微电子 + 海工船舶
    assert [ev[4].chains, ev[5].chains, ev[9].chains, ev[31].chains] == [
        ["生物医药"], ["新能源"], ["船舶海工"], ["新一代信息技术", "船舶海工"]]
    assert ev[38].content == "西安交通大学（新一代信息技术） 东部中心（高端装备）"  # two printed lines, as rows 2/14/26


def test_the_seed_exported_and_read_back_is_the_seed(seed_doc: PlanFile) -> None:
    for write, name in ((write_xlsx, "seed.xlsx"), (write_docx, "seed.docx")):
        data, warnings = write(seed_doc)
        assert warnings == []
        back = read_plan_table(data, source=name)
        for got, want in zip(back.events, seed_doc.events, strict=True):
            assert event_fields(got) == event_fields(want), (name, want.seq)
        assert back == seed_doc, name
    ws = load_workbook(io.BytesIO(write_xlsx(seed_doc)[0]))["附件4"]
    dates = [row[4].value for row in ws.iter_rows() if row[0].value == 31]
    assert dates == ["上海·复旦大学微电子学院：2023年7-9月\n南京·江苏科技大学海工船舶服务平台：2023年7-9月"]


def test_the_shipped_xlsx_is_the_printed_table() -> None:
    ws = load_workbook(SHIPPED)["附件4"]
    values = [[c.value for c in row] for row in ws.iter_rows()]
    assert values[0][0] == "2023 年科技招商活动安排表"
    assert sum(row[0] == "序号" for row in values) == 6  # the header repeated after five page breaks
    quarters = [row[0] for row in values if str(row[0]).startswith("第")]
    assert quarters == ["第一季度", "第二季度", "第三季度", "第四季度"]
    by_seq = {row[0]: i + 1 for i, row in enumerate(values) if isinstance(row[0], int)}
    merged = {str(m) for m in ws.merged_cells.ranges}
    assert f"H{by_seq[4]}:H{by_seq[9]}" in merged  # 板块招商活动 once for 序号 4-9, as printed
    assert values[by_seq[2] - 1][4] == "2023 年 2 月 2023 年 3 月"
    assert values[by_seq[9] - 1][5] == "南通市科技局"


def test_a_table_takes_units_from_the_database_and_defaults_from_its_title(seed_doc: PlanFile) -> None:
    doc = read_plan_table(workbook(), source="plan_2027.xlsx", organizations=seed_doc.organizations,
                          options=TableOptions(key_prefix="nantong"))
    assert (doc.plan.id, doc.plan.year, doc.plan.title) == ("nantong-2027", 2027, "2027年科技招商活动安排表")
    assert doc.plan.published == date(2027, 1, 1) and doc.plan.themes == {"1": "科技成果", "2": "科创项目"}
    ev = {e.seq: e for e in doc.events}
    first = (ev[1].hosts, ev[1].co_organizers, str(ev[1].type), ev[1].theme)
    assert first == (["kjj"], ["dbzx"], "quarterly_theme", "科技成果")
    assert str(ev[3].type) == "district"  # a blank 活动类型 under 板块招商活动 in the same quarter
    assert ev[4].co_organizers == ["all-districts", "yanjiang-parks"] and ev[4].quarter == 2
    assert sessions(ev[2]) == [("02-1", "如皋—上海推介会", "上海", "2027年2月", date(2027, 2, 1), date(2027, 2, 28),
                                "month")]


def test_options_win_over_the_title_row(seed_doc: PlanFile) -> None:
    options = TableOptions(key="nantong-2027", year=2027, title="2027年计划", published=date(2026, 12, 20))
    doc = read_plan_table(workbook(title="科技招商活动安排表"), source="x.xlsx", organizations=seed_doc.organizations,
                          options=options)
    assert (doc.plan.id, doc.plan.title, doc.plan.published) == ("nantong-2027", "2027年计划", date(2026, 12, 20))


def test_series_and_month_lists_become_sessions(seed_doc: PlanFile) -> None:
    rows = rows_with({(2, 4): "每两月", (3, 4): "3、6、9月"})
    doc = read_plan_table(workbook(rows), source="x.xlsx", organizations=seed_doc.organizations)
    ev = {e.seq: e for e in doc.events}
    assert [s.start.month for s in ev[2].sessions] == [2, 4, 6, 8, 10, 12] and ev[2].series == "series-2"
    assert ev[2].sessions[0].title == "如皋—上海推介会（2027年2月）"
    assert [s.start.month for s in ev[3].sessions] == [3, 6, 9] and ev[3].series is None


def test_merged_type_and_host_cells_apply_to_the_rows_they_span(seed_doc: PlanFile) -> None:
    rows = rows_with({(3, 7): None, (3, 5): None})
    data = workbook(rows, merges=["H5:H6", "F5:F6"])
    ev = {e.seq: e for e in read_plan_table(data, source="x.xlsx", organizations=seed_doc.organizations).events}
    assert (ev[3].hosts, str(ev[3].type)) == (["rugao"], "district")


def test_units_sheet_adds_units_the_database_lacks(seed_doc: PlanFile) -> None:
    units = [["编号", "名称", "简称", "别名", "类别", "成员", "上级", "职责"],
             ["", "南通市数据局", "市数据局", "数据局", "市级部门", "", "", "负责数据要素"]]
    rows = rows_with({(2, 6): "市数据局"})
    doc = read_plan_table(workbook(rows, extra={"单位": units}), source="x.xlsx", organizations=seed_doc.organizations)
    new = next(o for o in doc.organizations if o.short_name == "市数据局")
    assert new.id.startswith("u-") and new.aliases == ["数据局"] and str(new.kind) == "city_department"
    assert next(e for e in doc.events if e.seq == 2).co_organizers == [new.id]


def test_exported_xlsx_reads_back_equal_and_has_a_frozen_bold_header(shipped: PlanFile) -> None:
    data, warnings = write_xlsx(shipped)
    assert warnings == []
    assert read_plan_table(data, source="back.xlsx") == shipped
    ws = load_workbook(io.BytesIO(data))["附件4"]
    assert ws.freeze_panes == "A3" and all(c.font.b for c in ws[2]) and ws["A2"].value == "序号"
    assert ws.print_title_rows == "$2:$2"
    assert (ws.page_setup.orientation, str(ws.page_setup.paperSize)) == ("landscape", "9")
    merged = {str(m) for m in ws.merged_cells.ranges}
    assert any(m.startswith("H") for m in merged) and any(m.startswith("F") for m in merged)


def test_exported_docx_reads_back_equal(shipped: PlanFile) -> None:
    import docx

    data, warnings = write_docx(shipped)
    assert warnings == [] and read_plan_table(data, source="back.docx") == shipped
    table = docx.Document(io.BytesIO(data)).tables[0]
    assert table.rows[0]._tr.trPr.find("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}tblHeader") \
        is not None


def test_places_on_one_line_are_one_trip_and_on_separate_lines_one_session_each(seed_doc: PlanFile) -> None:
    rows = rows_with({(2, 1): "日韩 欧美", (3, 1): "北京\n深圳"})
    ev = {e.seq: e for e in read_plan_table(workbook(rows), source="x.xlsx",
                                            organizations=seed_doc.organizations).events}
    assert [(s.title, s.location) for s in ev[2].sessions] == [("如皋—上海推介会", "日韩、欧美")]
    assert ev[2].locations == ["日韩", "欧美"]
    assert [(s.title, s.location) for s in ev[3].sessions] == [("如东—南京对接会（北京）", "北京"),
                                                               ("如东—南京对接会（深圳）", "深圳")]
    rows = rows_with({(2, 1): "日韩、欧美\n德国"})
    ev = {e.seq: e for e in read_plan_table(workbook(rows), source="x.xlsx",
                                            organizations=seed_doc.organizations).events}
    assert [s.location for s in ev[2].sessions] == ["日韩、欧美", "德国"]
    assert ev[2].locations == ["日韩", "欧美", "德国"]


def test_a_dated_part_may_name_its_session(seed_doc: PlanFile) -> None:
    rows = rows_with({(2, 1): "上海\n苏州", (2, 4): "上海·交大：2027年2月\n苏州·西浦：2027年4月"})
    ev = {e.seq: e for e in read_plan_table(workbook(rows), source="x.xlsx",
                                            organizations=seed_doc.organizations).events}
    assert ev[2].date_text == "2027年2月 2027年4月"
    assert sessions(ev[2]) == [
        ("02-1", "如皋—上海推介会（上海·交大）", "上海", "2027年2月", date(2027, 2, 1), date(2027, 2, 28), "month"),
        ("02-2", "如皋—上海推介会（苏州·西浦）", "苏州", "2027年4月", date(2027, 4, 1), date(2027, 4, 30), "month"),
    ]


def test_chains_come_from_names_and_aliases_or_from_the_info_sheet(seed_doc: PlanFile) -> None:
    rows = rows_with({(2, 2): "如皋—上海生命健康推介会", (3, 3): "对接南京集成电路和海上风电企业"})
    ev = {e.seq: e for e in read_plan_table(workbook(rows), source="x.xlsx",
                                            organizations=seed_doc.organizations).events}
    assert (ev[2].chains, ev[3].chains, ev[1].chains) == (["生物医药"], ["新一代信息技术", "新能源"], [])
    info = [["项目", "值"], ["产业链别名", "新能源：海上风电；生物医药：大健康"]]
    rows = rows_with({(2, 2): "如皋—上海大健康推介会", (3, 3): "对接南京风电企业"})
    ev = {e.seq: e for e in read_plan_table(workbook(rows, extra={"计划信息": info}), source="x.xlsx",
                                            organizations=seed_doc.organizations).events}
    assert (ev[2].chains, ev[3].chains) == (["生物医药"], [])  # the sheet's aliases replace the defaults it names


def test_an_alias_row_naming_no_chain_of_the_plan_is_refused_at_its_cell(seed_doc: PlanFile) -> None:
    info = [["项目", "值"], ["产业链", "集成电路"], ["产业链别名", "生物医药：大健康"]]
    with pytest.raises(InputInvalid) as caught:
        read_plan_table(workbook(extra={"计划信息": info}), source="x.xlsx", organizations=seed_doc.organizations)
    assert [(e.where, e.message) for e in caught.value.errors] == [
        ("计划信息!B3", "产业链别名中的“生物医药”不是计划的产业链（集成电路）")]


def test_a_word_table_reads_like_the_workbook(seed_doc: PlanFile) -> None:
    from_word = read_plan_table(document(), source="plan.docx", organizations=seed_doc.organizations)
    from_excel = read_plan_table(workbook(), source="plan.xlsx", organizations=seed_doc.organizations)
    assert from_word.events == from_excel.events


def test_every_error_is_reported_at_once(seed_doc: PlanFile) -> None:
    rows = rows_with({(1, 4): "2027年13月", (2, 5): "如皋县", (3, 5): "火星办"})
    with pytest.raises(InputInvalid) as caught:
        read_plan_table(workbook(rows), source="x.xlsx", organizations=seed_doc.organizations)
    assert [e.where for e in caught.value.errors] == ["附件4!E4（序号 1）", "附件4!F5（序号 2）", "附件4!F6（序号 3）"]


def test_a_json_file_still_reads_as_json(tmp_path: Path, seed_doc: PlanFile) -> None:
    path = tmp_path / "plan.json"
    path.write_bytes((PROJECT_ROOT / "seeds" / "events_2023.json").read_bytes())
    assert read_plan_path(path) == seed_doc


def test_the_shipped_xlsx_is_what_its_script_builds(tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_plan", PROJECT_ROOT / "seeds" / "make_plan_2023_xlsx.py")
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    script.build(tmp_path / "plan.xlsx")
    built, shipped = load_workbook(tmp_path / "plan.xlsx"), load_workbook(SHIPPED)
    assert built.sheetnames == shipped.sheetnames == ["附件4", "单位", "计划信息"]
    for name in built.sheetnames:
        assert [[c.value for c in r] for r in built[name].iter_rows()] == [
            [c.value for c in r] for r in shipped[name].iter_rows()
        ]
        assert {str(m) for m in built[name].merged_cells.ranges} == {str(m) for m in shipped[name].merged_cells.ranges}
