"""Located errors: one record, one exception, one CLI printer — the same shape for every kind of file."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from scheduler.cli import app
from scheduler.clock import FixedClock
from scheduler.config import PROJECT_ROOT, Settings
from scheduler.followups.checklists import parse_checklists
from scheduler.runtime import Runtime
from scheduler.validation import FileKind, InputInvalid, LocatedError, located_errors
from tests.conftest import NOTICE_DATE
from tests.factories.mail import EXAMPLE_CONTACTS
from tests.support.dbstate import dump_database

runner = CliRunner()


def test_the_separator_follows_the_script_of_the_place() -> None:
    assert str(LocatedError(where="events[3].seq", message="序号 3 重复")) == "events[3].seq: 序号 3 重复"
    assert str(LocatedError(where="第 3 行", message="未知板块 '火星'")) == "第 3 行：未知板块 '火星'"
    assert str(LocatedError(where="", message="JSON 嵌套过深")) == "JSON 嵌套过深"


def test_an_invalid_file_names_its_kind_and_lists_every_problem() -> None:
    errors = [LocatedError(where="第 2 行", message="甲"), LocatedError(where="第 3 行", message="乙")]
    exc = InputInvalid("t.csv", errors, kind=FileKind.TARGETS)
    assert str(exc) == "目标文件 t.csv 有 2 处错误，未写入任何数据：\n  第 2 行：甲\n  第 3 行：乙"
    assert exc.as_dict() == {
        "ok": False,
        "kind": "targets",
        "source": "t.csv",
        "errors": [{"path": "第 2 行", "message": "甲"}, {"path": "第 3 行", "message": "乙"}],
    }
    whole = InputInvalid("p.json", "JSON 嵌套过深", kind=FileKind.PLAN)
    assert whole.errors == [LocatedError(where="", message="JSON 嵌套过深")]


class _Color(StrEnum):
    RED = "red"
    BLUE = "blue"


class _Item(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seq: int
    color: _Color


class _Doc(BaseModel):
    items: list[_Item]


def test_pydantic_errors_become_located_chinese_errors() -> None:
    with pytest.raises(ValidationError) as exc:
        _Doc.model_validate({"items": [{"seq": 1, "color": "red"}, {"seq": "x", "color": "green", "size": 3}, {}]})
    got = {e.where: e.message for e in located_errors(exc.value.errors(include_url=False))}
    assert got["items[1].seq"] == '不是整数，收到 "x"'
    assert got["items[1].color"].startswith("取值无效（可选：") and got["items[1].color"].endswith('收到 "green"')
    assert got["items[1].size"] == "未知字段，收到 3"
    assert got["items[2].seq"] == got["items[2].color"] == "缺少必填字段"


@pytest.fixture
def rt(seeded_engine: Engine, tmp_path: Path) -> Runtime:
    settings = Settings(var_dir=tmp_path, secret_keys=["v" * 32], contacts_file=EXAMPLE_CONTACTS)
    return Runtime(settings, engine=seeded_engine, clock=FixedClock(NOTICE_DATE))


BAD_PLAN = '{"plan": 1, "organizations": [], "events": []}'
BAD_CONTACTS = '[[nope]]\nname = "Y"\nemail = "y@example.org"\n'
BAD_TARGETS = "年度,板块,指标,目标值,来源\n2023,火星,签约项目数,3,\n"
REPLAY = ["replay", "--start", "2023-01-22", "--end", "2023-01-23"]

# (case, file name, content, command before the path, option after, kind, where, text the message contains)
CASES = [
    ("plan-validate", "p.json", BAD_PLAN, ["plan", "validate"], [], "plan", "plan", "应为对象，收到 1"),
    ("plan-import", "p.json", BAD_PLAN, ["plan", "import"], [], "plan", "plan", "应为对象"),
    ("contacts-import", "c.toml", BAD_CONTACTS, ["contacts", "import"], [], "contacts", "nope[0].org", "未知单位"),
    ("targets-import", "t.csv", BAD_TARGETS, ["targets", "import"], [], "targets", "第 2 行", "未知板块 '火星'"),
    ("replay-plan", "p.json", BAD_PLAN, [*REPLAY, "--plan"], [], "plan", "plan", "应为对象"),
    ("replay-contacts", "c.toml", BAD_CONTACTS, [*REPLAY, "--contacts"], [], "contacts", "nope[0].org", "未知单位"),
]
LABELS = {"plan": "计划文件", "contacts": "联系人文件", "targets": "目标文件"}


@pytest.mark.parametrize(("name", "text", "before", "after", "kind", "where", "needle"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_every_command_that_reads_a_file_refuses_it_the_same_way(
    rt: Runtime, seeded_engine: Engine, tmp_path: Path,
    name: str, text: str, before: list[str], after: list[str], kind: str, where: str, needle: str,
) -> None:
    bad = tmp_path / name
    bad.write_text(text, encoding="utf-8")
    stored = dump_database(seeded_engine)
    machine = runner.invoke(app, [*before, str(bad), *after, "--json"], obj=rt)
    assert machine.exit_code == 2, machine.output
    body = json.loads(machine.stdout)
    assert set(body) == {"ok", "kind", "source", "errors"}
    assert (body["ok"], body["kind"], body["source"]) == (False, kind, str(bad))
    [error] = body["errors"]
    assert set(error) == {"path", "message"} and error["path"] == where and needle in error["message"]
    human = runner.invoke(app, [*before, str(bad), *after], obj=rt)
    assert human.exit_code == 2 and human.stdout == ""
    lines = human.stderr.splitlines()
    assert lines[0] == f"{LABELS[kind]} {bad} 有 1 处错误，未写入任何数据："
    assert lines[1].startswith(f"  {where}") and needle in lines[1]
    assert dump_database(seeded_engine) == stored


def test_targets_import_speaks_json_when_asked(rt: Runtime, tmp_path: Path) -> None:
    done = runner.invoke(app, ["targets", "import", str(PROJECT_ROOT / "seeds" / "targets_2023.example.csv"),
                               "--json"], obj=rt)
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == {"ok": True, "targets": 33}
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes(BAD_TARGETS.encode("gb18030"))
    refused = runner.invoke(app, ["targets", "import", str(gbk), "--json"], obj=rt)
    assert refused.exit_code == 2
    assert json.loads(refused.stdout)["errors"] == [
        {"path": "第 1 行", "message": "不是 UTF-8 编码（字节偏移 0 处的 b'\\xc4'），请另存为 UTF-8 后重试"}
    ]


def test_scoring_settings_list_every_problem_with_its_field(rt: Runtime, tmp_path: Path) -> None:
    weights = tmp_path / "w.toml"
    weights.write_text('method = "median"\n[weights]\nprojects = 90\n', encoding="utf-8")
    result = runner.invoke(app, ["report", "quarterly", "--period", "2023Q1", "--weights", str(weights)], obj=rt)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        f"计分设置文件 {weights} 有 2 处错误，未写入任何数据：",
        "  method: 未知计分方法 'median'（可选：rate 完成率法、efficacy 功效系数法）",
        "  weights: 权重须为非负数且合计 100，现合计 160",
    ]
    weights.write_text('satisfactory = "high"\n[weights]\nprojects = "many"\n', encoding="utf-8")
    result = runner.invoke(app, ["report", "quarterly", "--period", "2023Q1", "--weights", str(weights)], obj=rt)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[1:] == ["  weights.projects: 应为数字，收到 'many'",
                                              "  satisfactory: 应为数字，收到 'high'"]


def test_a_checklist_item_that_is_not_a_table_is_located() -> None:
    with pytest.raises(InputInvalid) as exc:
        parse_checklists("default = [1, 2]\n")
    assert exc.value.kind is FileKind.CHECKLISTS
    assert [str(e) for e in exc.value.errors] == ["default: 应为 [[default]] 表格数组"]
