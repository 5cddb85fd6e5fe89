"""Bad input files through the real CLI (issue 15): each refused with a located Chinese error, exit 2, no
traceback, and the database byte-identical afterwards. Devices, FIFOs and directories are never read."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError
from typer.testing import CliRunner

from scheduler.cli import app
from scheduler.clock import FixedClock
from scheduler.config import DEFAULT_SEED, PROJECT_ROOT, Settings
from scheduler.runtime import Runtime
from tests.conftest import NOTICE_DATE
from tests.factories.mail import EXAMPLE_CONTACTS
from tests.support.dbstate import dump_database, row_count

runner = CliRunner()
Invoke = Callable[..., Result]
HEADER = "年度,板块,指标,目标值,来源\n"


@pytest.fixture
def cli(seeded_engine: Engine, tmp_path: Path) -> Invoke:
    settings = Settings(var_dir=tmp_path, secret_keys=["v" * 32], contacts_file=EXAMPLE_CONTACTS)
    rt = Runtime(settings, engine=seeded_engine, clock=FixedClock(NOTICE_DATE))
    return lambda *args: runner.invoke(app, [str(a) for a in args], obj=rt)


def refused_json(done: Result) -> dict:
    """Return the JSON refusal of a command; it must have exited 2 without a traceback."""
    assert done.exit_code == 2, done.output
    assert done.exception is None or isinstance(done.exception, SystemExit), done.exception
    assert "Traceback" not in done.output
    return json.loads(done.stdout)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("command", [["plan", "validate"], ["plan", "import"], ["contacts", "import"],
                                     ["targets", "import"], ["goals", "import"]],
                         ids=["plan-validate", "plan-import", "contacts", "targets", "goals"])
@pytest.mark.parametrize(("special", "what"), [("/dev/zero", "是字符设备"), ("/dev/urandom", "是字符设备"),
                                               ("FIFO", "是管道（FIFO）"), ("DIR", "是目录")],
                         ids=["dev-zero", "dev-urandom", "fifo", "directory"])
def test_devices_fifos_and_directories_are_refused_without_reading(
    cli: Invoke, seeded_engine: Engine, tmp_path: Path, command: list[str], special: str, what: str
) -> None:
    if special == "FIFO":  # nobody ever writes to it: reading it would hang the command forever
        path = tmp_path / "input.toml"
        os.mkfifo(path)
    else:
        path = tmp_path if special == "DIR" else Path(special)
    before = dump_database(seeded_engine)
    body = refused_json(cli(*command, path, "--json"))
    assert body["source"] == str(path)
    assert body["errors"] == [{"path": "", "message": f"{what}，不是普通文件，未读取"}]
    assert dump_database(seeded_engine) == before


def test_a_nul_in_a_plan_title_is_refused_before_import(cli: Invoke, seeded_engine: Engine, tmp_path: Path) -> None:
    doc = json.loads(DEFAULT_SEED.read_text(encoding="utf-8"))
    doc["events"][1]["title"] = "科技\x00成果"  # events 1 and 3 belong to no series
    doc["events"][3]["content"] = "说明\x1b[31m"
    path = tmp_path / "p.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    before = dump_database(seeded_engine)
    for command in ("validate", "import"):
        body = refused_json(cli("plan", command, path, "--json"))
        assert body["errors"] == [
            {"path": "events[1].title", "message": '含有不可见的控制字符，收到 "科技\\u0000成果"'},
            {"path": "events[3].content", "message": '含有不可见的控制字符，收到 "说明\\u001b[31m"'},
        ]
    assert dump_database(seeded_engine) == before


def test_a_plan_with_a_4301_digit_number_is_refused(cli: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text('{"plan": ' + "7" * 4301 + "}", encoding="utf-8")
    body = refused_json(cli("plan", "validate", path, "--json"))
    assert body["errors"] == [{"path": "", "message": "JSON 中的数字过长（超过 4300 位）"}]


def test_an_empty_contacts_file_is_refused_unless_allowed(cli: Invoke, seeded_engine: Engine, tmp_path: Path) -> None:
    empty = tmp_path / "c.toml"
    empty.write_text("# nobody\n", encoding="utf-8")
    assert cli("contacts", "import", EXAMPLE_CONTACTS).exit_code == 0
    before = dump_database(seeded_engine)
    assert len(before["contact"]) > 0
    body = refused_json(cli("contacts", "import", empty, "--json"))
    [error] = body["errors"]
    assert error["path"] == "" and "没有任何联系人" in error["message"] and "--allow-empty" in error["message"]
    assert dump_database(seeded_engine) == before
    done = cli("contacts", "import", empty, "--allow-empty", "--json")
    assert done.exit_code == 0 and json.loads(done.stdout) == {"ok": True, "contacts": 0, "organizations": 0}
    assert dump_database(seeded_engine)["contact"] == []


DEEP = "[[kjj]]\nname = \"甲\"\nemail = \"a@example.org\"\nrole = " + "[" * 2000 + "]" * 2000 + "\n"
LONG_INT = "[[kjj]]\nname = \"甲\"\nemail = \"a@example.org\"\nrole = " + "9" * 4301 + "\n"
CONTACT_CASES = [
    ("deep.toml", DEEP, "第 4 行", "嵌套过深（超过 32 层）"),
    ("long.toml", LONG_INT, "第 4 行", "数字过长（4301 位）"),
    ("wide.csv", "org,name,email,role\nkjj,甲,a@example.org,联络员,多余\n", "第 2 行", "多出 1 列（每行最多 4 列）"),
    ("field.csv", "org,name,email,role\nkjj,\"" + "长" * 131_073 + "\",a@example.org,联络员\n", "第 2 行",
     "单元格过长（最多 4096 字）"),
    ("gbk.csv", "org,name,email,role\nkjj,王芳,w@example.org,联络员\n", "第 2 行", "不是 UTF-8 编码"),
    ("nul.toml", "[[kjj]]\nname = \"王\\u0000芳\"\nemail = \"w@example.org\"\n", "kjj[0].name", "控制字符 U+0000"),
]


@pytest.mark.parametrize(("name", "content", "where", "needle"), CONTACT_CASES, ids=[c[0] for c in CONTACT_CASES])
def test_bad_contacts_files_get_located_errors(
    cli: Invoke, seeded_engine: Engine, tmp_path: Path, name: str, content: str, where: str, needle: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content.encode("gb18030" if name.startswith("gbk") else "utf-8"))
    before = dump_database(seeded_engine)
    [error] = refused_json(cli("contacts", "import", path, "--json"))["errors"]
    assert error["path"] == where and needle in error["message"], error
    assert dump_database(seeded_engine) == before


TARGET_CASES = [
    ("nan", "2023,如皋市,签约项目数,NaN,\n", "目标值 'NaN' 无效"),
    ("inf", "2023,如皋市,签约项目数,1e999999,\n", "目标值 '1e999999' 无效"),
    ("huge-year", "100000000000000000000,如皋市,签约项目数,3,\n", "应为 2000 到 2100 之间的整数"),
    ("superscript-year", "２０２３,如皋市,签约项目数,3,\n", "应为 2000 到 2100 之间的整数（半角数字）"),
    ("extra-column", "2023,如皋市,签约项目数,3,来源,多余\n", "多出 1 列（每行最多 5 列）"),
    ("big-field", "2023,如皋市,签约项目数,3,\"" + "x" * 131_073 + "\"\n", "单元格过长"),
    ("nul-source", "2023,如皋市,签约项目数,3,市\x00统计局\n", "来源含有不可见的控制字符（U+0000"),
]


@pytest.mark.parametrize(("row", "needle"), [c[1:] for c in TARGET_CASES], ids=[c[0] for c in TARGET_CASES])
def test_bad_targets_files_get_located_errors(
    cli: Invoke, seeded_engine: Engine, tmp_path: Path, row: str, needle: str
) -> None:
    path = tmp_path / "t.csv"
    path.write_text(HEADER + row, encoding="utf-8")
    before = dump_database(seeded_engine)
    [error] = refused_json(cli("targets", "import", path, "--json"))["errors"]
    assert error["path"] == "第 2 行" and needle in error["message"], error
    assert dump_database(seeded_engine) == before


def test_year_and_value_arguments_are_checked(cli: Invoke, seeded_engine: Engine) -> None:
    before = dump_database(seeded_engine)
    for year in ("100000000000000000000", "²⁰²³", "1999"):
        done = cli("targets", "show", "--year", year)
        assert done.exit_code == 2 and "应为 2000 到 2100 之间的整数" in done.stderr and "Traceback" not in done.output
    done = cli("targets", "goal", "hightech", "1e999999", "--as-of", "2023-06-30", "--source", "公报")
    assert done.exit_code == 2 and "数值 '1e999999' 无效" in done.stderr
    done = cli("targets", "goal", "hightech", "12", "--as-of", "2023-06-30", "--source", "公\x00报")
    assert done.exit_code == 2 and "数据来源含有不可见的控制字符" in done.stderr
    done = cli("outbox", "retry", "100000000000000000000")
    assert done.exit_code == 2 and "没有编号为 100000000000000000000 的邮件" in done.stderr
    assert dump_database(seeded_engine) == before


def test_a_target_stored_as_infinity_shows_as_invalid_and_breaks_no_report(cli: Invoke, seeded_engine: Engine,
                                                                            backend: str) -> None:
    """A row written before the checks existed (SQLite keeps 1e999999 as a float Inf) must not break reading.

    PostgreSQL's numeric(14,2) column cannot hold it at all: there the database itself refuses the write."""
    assert cli("targets", "import", PROJECT_ROOT / "seeds" / "targets_2023.example.csv").exit_code == 0
    overflow = text("UPDATE annual_target SET value = 1e999999 WHERE organization_key = 'rugao' "
                    "AND metric = 'signed_projects'")
    if backend == "postgresql":
        with pytest.raises(DataError), seeded_engine.begin() as conn:
            conn.execute(overflow)
        return
    with seeded_engine.begin() as conn:
        conn.execute(overflow)
    shown = cli("targets", "show", "--year", "2023")
    assert shown.exit_code == 0, shown.output
    assert "如皋市" in shown.output and "签约项目数 无效值" in shown.output
    for kind, period in (("monthly", "2023-03"), ("bimonthly", "2023-03/04")):
        done = cli("report", kind, "--period", period, "--format", "json")
        assert done.exit_code == 0, done.output
        rows = [r for t in json.loads(done.stdout)["tables"] for r in t["rows"] if r.get("unit") == "如皋市"]
        assert rows and all(r.get("target") is None for r in rows if "target" in r)
    assert row_count(dump_database(seeded_engine)) > 0
