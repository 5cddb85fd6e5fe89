"""`scheduler plan import|validate|export` with the office's XLSX/DOCX tables: bad tables are refused with the cell
and 序号 named and the database left byte-identical; good ones import, export and import again with 0 changes."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from scheduler.cli import app
from scheduler.config import PROJECT_ROOT
from scheduler.plan.sheet import read_plan_table
from tests.support.dbstate import dump_database
from tests.support.planbooks import HEADER, ROWS, document, rows_with, workbook

SHIPPED = PROJECT_ROOT / "seeds" / "plan_2023.xlsx"
UNITS_HEADER = ["编号", "名称", "简称", "别名", "类别", "成员", "上级", "职责"]
UNITS_ONLY = [UNITS_HEADER, ["", "市数据局", "市数据局", "", "市级部门", "", "", ""]]


def cli(args: list[str], db_url: str) -> Any:
    return CliRunner().invoke(app, args, env={"SCHEDULER_DATABASE_URL": db_url})


def _zip_of(name: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, "x")
    return buffer.getvalue()


def _without_header_row() -> bytes:
    return workbook(header=["编号", "场所", "标题", "说明", "时间段", "单位", "配合", "分类"])


# (case, file name, builder, where the error is, what it says)
BAD: list[tuple[str, str, Callable[[], bytes], str, str]] = [
    ("unknown-unit-suggested", "p.xlsx", lambda: workbook(rows_with({(2, 5): "如皋县"})),
     "附件4!F5（序号 2）", "未知单位“如皋县”（是否指 如皋市？）"),
    ("unknown-unit", "p.xlsx", lambda: workbook(rows_with({(3, 6): "火星办"})),
     "附件4!G6（序号 3）", "未知单位“火星办”（请检查名称"),
    ("unknown-unit-in-list", "p.xlsx", lambda: workbook(rows_with({(4, 6): "各县（市、区）、沿江科创园"})),
     "附件4!G8（序号 4）", "未知单位“沿江科创园”（是否指 沿江科创带园区？）"),
    ("unreadable-date", "p.xlsx", lambda: workbook(rows_with({(2, 4): "下个月吧"})),
     "附件4!E5（序号 2）", "无法识别的日期 '下个月吧'（可用：2027年2月"),
    ("month-13", "p.xlsx", lambda: workbook(rows_with({(1, 4): "2027年13月"})),
     "附件4!E4（序号 1）", "月份 13 不在 1-12 之间"),
    ("empty-date", "p.xlsx", lambda: workbook(rows_with({(3, 4): None})), "附件4!E6（序号 3）", "日期为空"),
    ("outside-the-year", "p.xlsx", lambda: workbook(rows_with({(2, 4): "2029年3月"})),
     "附件4!E5（序号 2） 第 1 个场次", "超出计划年度 2027"),
    ("empty-seq", "p.xlsx", lambda: workbook(rows_with({(3, 0): None})),
     "附件4!A6（上一行为序号 2）", "序号为空（本行名称：“如东—南京对接会”）"),
    ("duplicate-seq", "p.xlsx", lambda: workbook(rows_with({(3, 0): 2})),
     "附件4!A6（序号 2）", "序号 2 重复（已在 附件4!A5）"),
    ("seq-not-a-number", "p.xlsx", lambda: workbook(rows_with({(3, 0): "三"})),
     "附件4!A6（上一行为序号 2）", "序号“三”不是 1-9999 的整数"),
    ("type-merged-across-quarter", "p.xlsx", lambda: workbook(rows_with({(4, 7): None}), merges=["H6:H8"]),
     "附件4!H7", "合并单元格 附件4!H6:H8 跨过了季度标题行「第二季度」"),
    ("date-merged-over-rows", "p.xlsx", lambda: workbook(rows_with({(3, 4): None}), merges=["E5:E6"]),
     "附件4!E5（序号 2）", "日期 的合并单元格 附件4!E5:E6 跨了 2 行"),
    ("seq-merged-over-rows", "p.xlsx", lambda: workbook(rows_with({(3, 0): None}), merges=["A5:A6"]),
     "附件4!A6（上一行为序号 2）", "序号单元格与上一行合并了"),
    ("host-merged-with-co", "p.xlsx", lambda: workbook(rows_with({(2, 6): None}), merges=["F5:G5"]),
     "附件4!F5（序号 2）", "把 主办单位、承办（配合）单位 合成了一格"),
    ("blank-type-at-quarter-start", "p.xlsx", lambda: workbook(rows_with({(4, 7): None})),
     "附件4!H8（序号 4）", "活动类型为空，本季度上方也没有可沿用的活动类型"),
    ("empty-host", "p.xlsx", lambda: workbook(rows_with({(2, 5): None})), "附件4!F5（序号 2）", "主办单位为空"),
    ("unknown-type", "p.xlsx", lambda: workbook(rows_with({(2, 7): "板块活动招商"})),
     "附件4!H5（序号 2）", "无法识别的活动类型“板块活动招商”（是否指 板块招商活动？"),
    ("theme-missing", "p.xlsx", lambda: workbook(rows_with({(1, 7): "季度主题活动"})),
     "附件4!H4（序号 1）", "季度主题活动需写明主题"),
    ("two-themes-in-a-quarter", "p.xlsx", lambda: workbook(rows_with({(2, 7): "季度主题活动（科技成果）"})),
     "附件4!H6（序号 3）", "第 1 季度有 3 个季度主题活动，只能有一个"),  # 序号 3 inherits the blank type
    ("names-do-not-match-dates", "p.xlsx",
     lambda: workbook(rows_with({(2, 2): "甲会\n乙会", (2, 4): "2027年1月\n2027年2月\n2027年3月"})),
     "附件4!C5（序号 2）", "名称有 2 行，而本行有 3 个场次"),
    ("row-before-any-quarter", "p.xlsx", lambda: workbook(ROWS[1:]),
     "附件4!A3（序号 1）", "活动行之前没有季度标题行"),
    ("quarter-row-with-content", "p.xlsx", lambda: workbook([["第一季度", "南通"], *ROWS[1:]]),
     "附件4!B3", "季度标题行「第一季度」中还有其他内容“南通”"),
    ("missing-header", "p.xlsx", _without_header_row, "", "没有找到活动安排表：「附件4」 中都没有表头行"),
    ("header-without-date", "p.xlsx", lambda: workbook(header=[*HEADER[:4], "备注", *HEADER[5:]]),
     "附件4!2:2", "表头缺少列：日期"),
    ("wrong-sheet", "p.xlsx", lambda: workbook(header=["说明"], rows=[], extra={"单位": UNITS_ONLY}),
     "", "「附件4」、「单位」 中都没有表头行"),
    ("unknown-unit-kind", "p.xlsx",
     lambda: workbook(extra={"单位": [UNITS_HEADER, ["", "甲", "甲", "", "街道", "", "", ""]]}),
     "单位!E2", "未知单位类别“街道”"),
    ("legacy-xls", "p.xls", lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600),
     "", "这是旧版 Excel 97-2003（.xls）文件"),
    ("renamed-pdf", "p.xlsx", lambda: b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n", "", "这是 PDF 文件，不是表格"),
    ("renamed-text", "p.xlsx", lambda: "序号,地点\n1,南通\n".encode(), "", "内容不是 Excel/Word 文件"),
    ("zip-not-office", "p.xlsx", lambda: _zip_of("readme.txt"), "", "不是 Excel（.xlsx）或 Word（.docx）文件"),
    ("truncated-xlsx", "p.xlsx", lambda: workbook()[:2000], "", "文件已损坏"),
    ("docx-without-table", "p.docx", lambda: document(table=False), "", "文档中没有表格"),
    ("docx-unknown-unit", "p.docx", lambda: document(rows_with({(3, 5): "如东市"})),
     "表格1 第5行 主办单位（序号 3）", "未知单位“如东市”（是否指 如东县？）"),
    ("docx-bad-date", "p.docx", lambda: document(rows_with({(1, 4): "2027年二月"})),
     "表格1 第3行 日期（序号 1）", "无法识别的日期"),
]


@pytest.mark.parametrize(("name", "filename", "build", "where", "message"), BAD, ids=[c[0] for c in BAD])
def test_a_bad_table_names_the_cell_and_writes_nothing(
    tmp_path: Path, db_url: str, seeded_engine: Engine, name: str, filename: str, build: Callable[[], bytes],
    where: str, message: str,
) -> None:
    path = tmp_path / filename
    path.write_bytes(build())
    before = dump_database(seeded_engine)
    result = cli(["plan", "import", str(path)], db_url)
    assert result.exit_code == 2, result.output
    assert f"计划文件 {path} 有" in result.stderr and "未写入任何数据" in result.stderr
    lines = [line.strip() for line in result.stderr.splitlines()[1:]]
    assert any(line.startswith(f"{where}：" if where else "") and message in line for line in lines), result.stderr
    assert dump_database(seeded_engine) == before


def test_json_output_lists_located_errors(tmp_path: Path, db_url: str, seeded_engine: Engine) -> None:
    path = tmp_path / "p.xlsx"
    path.write_bytes(workbook(rows_with({(2, 5): "如皋县"})))
    result = cli(["plan", "validate", str(path), "--json"], db_url)
    assert result.exit_code == 2
    out = json.loads(result.stdout)
    assert out["ok"] is False and out["errors"] == [
        {"path": "附件4!F5（序号 2）", "message": "未知单位“如皋县”（是否指 如皋市？）"}
    ]


def test_validate_and_import_the_shipped_table_then_export_and_import_again(
    tmp_path: Path, db_url: str, engine: Engine
) -> None:
    result = cli(["plan", "validate", str(SHIPPED)], db_url)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "计划文件有效：48 项活动，61 个场次，34 个单位。"
    result = cli(["plan", "import", str(SHIPPED)], db_url)
    assert result.exit_code == 0, result.output
    for fmt in ("xlsx", "docx"):
        out = tmp_path / f"back.{fmt}"
        result = cli(["plan", "export", "--format", fmt, "--plan", "nantong-2023", "--out", str(out)], db_url)
        assert result.exit_code == 0, result.output
        assert result.stdout.strip() == f"已导出计划 nantong-2023（48 项活动，61 个场次）到 {out}"
        assert read_plan_table(out.read_bytes(), source=str(out)) == read_plan_table(SHIPPED.read_bytes(), source="s")
        again = cli(["plan", "import", str(out), "--json"], db_url)
        assert again.exit_code == 0, again.output
        assert json.loads(again.stdout)["changes"] == 0


def test_a_next_year_table_imports_beside_the_current_plan(tmp_path: Path, db_url: str, seeded_engine: Engine) -> None:
    path = tmp_path / "plan_2027.xlsx"
    path.write_bytes(workbook())
    result = cli(["plan", "import", str(path), "--published", "2026-12-20", "--json"], db_url)
    assert result.exit_code == 0, result.output
    counts = json.loads(result.stdout)["counts"]
    assert (counts["plan.created"], counts["event.created"], counts["occurrence.created"]) == (1, 4, 4)
    assert "organization.withdrawn" not in counts  # the directory came from the database: nothing dropped
    shown = cli(["plan", "export", "--format", "xlsx", "--out", str(tmp_path / "x.xlsx"), "--json"], db_url)
    assert json.loads(shown.stdout)["plan"] == "nantong-2027"


def test_export_of_the_json_seed_warns_and_table_options_are_refused_for_json(
    tmp_path: Path, db_url: str, seeded_engine: Engine
) -> None:
    result = cli(["plan", "export", "--out", str(tmp_path / "p.xlsx")], db_url)
    assert result.exit_code == 0 and "注意" not in result.stdout  # every session name of the seed has a cell
    json_seed = PROJECT_ROOT / "seeds" / "events_2023.json"
    edited = json.loads(json_seed.read_text(encoding="utf-8"))
    session = next(e for e in edited["events"] if e["seq"] == 25)["sessions"][0]
    session["title"] = "北京大院大所专场"  # neither a line of 名称/内容 nor 「名称（…）」
    (tmp_path / "edited.json").write_text(json.dumps(edited, ensure_ascii=False), encoding="utf-8")
    assert cli(["plan", "import", str(tmp_path / "edited.json")], db_url).exit_code == 0
    result = cli(["plan", "export", "--out", str(tmp_path / "p.xlsx")], db_url)
    assert result.exit_code == 0 and "注意：序号 25 的场次名称（北京大院大所专场、" in result.stdout
    refused = cli(["plan", "import", str(json_seed), "--year", "2027"], db_url)
    assert refused.exit_code == 2 and "--year 只用于 Excel/Word 表格" in refused.stderr
    missing = cli(["plan", "export", "--plan", "nantong-2031", "--out", str(tmp_path / "q.xlsx")], db_url)
    assert missing.exit_code == 2 and "数据库中没有计划 nantong-2031" in missing.stderr
