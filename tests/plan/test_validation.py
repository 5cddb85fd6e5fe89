"""Bad seed files through the real CLI: every problem located by JSON path, exit 2, the database untouched."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from scheduler.cli import app
from scheduler.config import DEFAULT_SEED
from scheduler.plan.seed import MAX_SEED_BYTES
from tests.support.dbstate import dump_database, row_count

SEED_TEXT = DEFAULT_SEED.read_text(encoding="utf-8")
SEED = json.loads(SEED_TEXT)
ORG_INDEX = {o["id"]: i for i, o in enumerate(SEED["organizations"])}


def edited(change: Callable[[dict[str, Any]], None]) -> Callable[[], bytes]:
    """Build a file maker: the real seed with one change applied."""

    def make() -> bytes:
        doc = copy.deepcopy(SEED)
        change(doc)
        return json.dumps(doc, ensure_ascii=False, indent=2).encode()

    return make


def setter(*path: Any, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        target = doc
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return change


def deleter(*path: Any) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        target = doc
        for part in path[:-1]:
            target = target[part]
        del target[path[-1]]

    return change


def both(*changes: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        for c in changes:
            c(doc)

    return change


def raw_text(text: str) -> Callable[[], bytes]:
    return lambda: text.encode()


def first_non_ascii_line(text: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if not line.isascii())


def _dup_json_key() -> bytes:
    # events[0] written with "seq" twice; json.loads alone would silently keep the last one
    return SEED_TEXT.replace('"seq": 1,', '"seq": 1,\n      "seq": 1,', 1).encode()


MALFORMED = '{\n  "plan": {\n    "id": "nantong-2023",,\n'
ALL_DISTRICTS = ORG_INDEX["all-districts"]

# (case id, file maker, JSON path of the error, text the message must contain: the offending value or what is wrong)
CASES: list[tuple[str, Callable[[], bytes], str, str]] = [
    ("malformed-json", raw_text(MALFORMED), "", "JSON 格式错误：第 3 行第 26 列"),
    ("top-level-array", raw_text("[]"), "", "顶层应为对象，收到 list"),
    ("non-utf8", lambda: SEED_TEXT.encode("gb18030"), "", f"不是 UTF-8 编码：第 {first_non_ascii_line(SEED_TEXT)} 行"),
    ("duplicate-json-key", _dup_json_key, "events[0].seq", "对象中重复的键 'seq'"),
    ("unknown-key", edited(setter("events", 12, "venue", value="会展中心")), "events[12].venue",
     "未知字段，收到 \"会展中心\""),
    ("missing-key", edited(deleter("events", 5, "title")), "events[5].title", "缺少必填字段"),
    ("missing-top-key", edited(deleter("organizations")), "organizations", "缺少必填字段"),
    ("duplicate-seq", edited(setter("events", 7, "seq", value=7)), "events[7].seq", "序号 7 重复"),
    ("duplicate-org-id", edited(setter("organizations", 1, "id", value="kjj")), "organizations[1].id",
     "机构 id 'kjj' 重复"),
    ("duplicate-session-key", edited(setter("events", 3, "sessions", 0, "key", value="02-1")),
     "events[3].sessions[0].key", "场次 key '02-1' 重复"),
    ("unknown-host", edited(setter("events", 4, "hosts", 0, value="ghost-org")), "events[4].hosts[0]",
     "未知机构 id 'ghost-org'"),
    ("unknown-co-organizer", edited(setter("events", 0, "co_organizers", 0, value="ghost-org")),
     "events[0].co_organizers[0]", "未知机构 id 'ghost-org'"),
    ("unknown-member", edited(setter("organizations", ALL_DISTRICTS, "members", 2, value="ghost-org")),
     f"organizations[{ALL_DISTRICTS}].members[2]", "未知机构 id 'ghost-org'"),
    ("window-outside-year", edited(setter("events", 10, "sessions", 0, "end", value="2024-03-31")),
     "events[10].sessions[0]", "窗口 2023-03-01–2024-03-31 超出计划年度 2023"),
    ("inverted-window", edited(both(setter("events", 12, "sessions", 0, "start", value="2023-03-01"),
                                    setter("events", 12, "sessions", 0, "end", value="2023-02-01"))),
     "events[12].sessions[0]", "结束 2023-02-01 早于开始 2023-03-01"),
    ("date-text-disagrees", edited(both(setter("events", 4, "sessions", 0, "start", value="2023-04-01"),
                                        setter("events", 4, "sessions", 0, "end", value="2023-04-30"))),
     "events[4].sessions[0]", "日期 '2023 年 3 月' 对应 2023-03-01–2023-03-31"),
    ("unreadable-date-text", edited(setter("events", 6, "sessions", 0, "date_text", value="明年春天")),
     "events[6].sessions[0].date_text", "无法识别的日期 '明年春天'"),
    ("theme-missing", edited(setter("events", 0, "theme", value=None)), "events[0].theme", "季度主题活动必须填写主题"),
    ("theme-on-wrong-type", edited(setter("events", 1, "theme", value="科技成果")), "events[1].theme",
     "收到 '科技成果'"),
    ("wrong-theme-for-quarter", edited(setter("events", 12, "theme", value="科技成果")), "events[12].theme",
     "第 2 季度的主题应为 '科创项目'，收到 '科技成果'"),
    ("two-theme-activities", edited(both(setter("events", 1, "type", value="quarterly_theme"),
                                         setter("events", 1, "theme", value="科技成果"))),
     "events[1].type", "第 1 季度有 2 个季度主题活动"),
    ("empty-sessions", edited(setter("events", 20, "sessions", value=[])), "events[20].sessions", "至少需要一个场次"),
    ("bad-timezone", edited(setter("plan", "timezone", value="Mars/Olympus")), "plan.timezone",
     "未知时区 'Mars/Olympus'"),
    ("naive-start-at", edited(setter("events", 5, "sessions", 0, "start_at", value="2023-03-10T09:00:00")),
     "events[5].sessions[0].start_at", "时间必须带时区（如 +08:00），收到 \"2023-03-10T09:00:00\""),
    ("start-at-outside-window",
     edited(setter("events", 5, "sessions", 0, "start_at", value="2023-04-10T09:00:00+08:00")),
     "events[5].sessions[0].start_at", "不在窗口 2023-03-01–2023-03-31 之内"),
    ("unknown-chain", edited(setter("events", 1, "chains", 1, value="量子信息")), "events[1].chains[1]",
     "未知产业链 '量子信息'"),
    ("series-month-outside-quarter", edited(both(setter("events", 2, "sessions", 0, "start", value="2023-04-01"),
                                                 setter("events", 2, "sessions", 0, "end", value="2023-04-30"),
                                                 setter("events", 2, "sessions", 0, "date_text", value="2023年4月"))),
     "events[2].sessions[0]", "每两月系列的场次应为第 1 季度内的某一个月，收到 2023-04-01–2023-04-30"),
    ("bad-enum", edited(setter("events", 8, "type", value="party")), "events[8].type",
     "未知活动类型 'party'（本计划的活动类型：季度主题活动（quarterly_theme）、市级统筹活动"),
    ("bad-date", edited(setter("events", 9, "sessions", 0, "end", value="2023-02-30")), "events[9].sessions[0].end",
     "不是 YYYY-MM-DD 日期，收到 \"2023-02-30\""),
    ("bad-slug", edited(setter("events", 10, "hosts", 0, value="Bad Org")), "events[10].hosts[0]", "收到 \"Bad Org\""),
]


def cli(args: list[str], env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(app, args, env=env, catch_exceptions=False)


def expect_error(errors: list[dict[str, str]], path: str, needle: str) -> None:
    assert any(e["path"] == path and needle in e["message"] for e in errors), (path, needle, errors)


@pytest.mark.parametrize(("make", "path", "needle"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_validate_reports_location_and_value(tmp_path: Path, make: Callable[[], bytes], path: str, needle: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(make())
    result = cli(["plan", "validate", str(bad), "--json"])
    assert result.exit_code == 2, result.output
    body = json.loads(result.stdout)
    assert body["ok"] is False and body["source"] == str(bad)
    expect_error(body["errors"], path, needle)


@pytest.mark.parametrize(("make", "path", "needle"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_import_refuses_and_leaves_the_database_unchanged(
    tmp_path: Path, db_url: str, seeded_engine: Engine, make: Callable[[], bytes], path: str, needle: str
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(make())
    before = dump_database(seeded_engine)
    assert row_count(before) > 100
    result = cli(["plan", "import", str(bad)], env={"SCHEDULER_DATABASE_URL": db_url})
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"计划文件 {bad} 有 ") and lines[0].endswith("处错误，未写入任何数据：")
    prefix = f"  {path}: " if path else "  "
    assert any(line.startswith(prefix) and needle in line for line in lines[1:]), result.stderr
    assert result.stdout == ""
    assert dump_database(seeded_engine) == before


def test_at_least_twenty_distinct_cases() -> None:
    assert len({c[0] for c in CASES}) == len(CASES) >= 20


def test_every_problem_is_listed_not_just_the_first(tmp_path: Path) -> None:
    change = both(
        setter("events", 4, "hosts", 0, value="ghost-org"),
        setter("events", 20, "sessions", value=[]),
        setter("plan", "timezone", value="Mars/Olympus"),
    )
    bad = tmp_path / "bad.json"
    bad.write_bytes(edited(change)())
    result = cli(["plan", "validate", str(bad), "--json"])
    paths = [e["path"] for e in json.loads(result.stdout)["errors"]]
    assert paths == ["plan.timezone", "events[4].hosts[0]", "events[20].sessions"]


def test_duplicate_json_keys_are_located_anywhere(tmp_path: Path) -> None:
    text = SEED_TEXT.replace('"timezone": "Asia/Shanghai",', '"timezone": "Asia/Shanghai",\n    "timezone": "UTC",', 1)
    bad = tmp_path / "bad.json"
    bad.write_text(text, encoding="utf-8")
    errors = json.loads(cli(["plan", "validate", str(bad), "--json"]).stdout)["errors"]
    assert errors == [{"path": "plan.timezone", "message": "对象中重复的键 'timezone'"}]


def test_fifty_megabytes_of_garbage_is_refused_by_size_before_reading(
    tmp_path: Path, db_url: str, seeded_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "garbage.json"
    with bad.open("wb") as f:
        for _ in range(50):
            f.write(os.urandom(1024 * 1024))
    assert bad.stat().st_size == 50 * 1024 * 1024 > MAX_SEED_BYTES
    # The size check comes first: reading the file at all would be a failure.
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail(f"read {self} despite its size"))
    before = dump_database(seeded_engine)
    for args in (["plan", "validate", str(bad)], ["plan", "import", str(bad)]):
        result = cli(args, env={"SCHEDULER_DATABASE_URL": db_url})
        assert result.exit_code == 2
        assert f"  文件过大（{50 * 1024 * 1024} 字节，上限 {MAX_SEED_BYTES} 字节）" in result.stderr.splitlines()
    assert dump_database(seeded_engine) == before


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    result = cli(["plan", "validate", str(tmp_path / "nope.json")])
    assert result.exit_code == 2
    assert "无法读取文件" in result.stderr


def test_valid_seed_validates(tmp_path: Path) -> None:
    result = cli(["plan", "validate", str(DEFAULT_SEED)])
    assert result.exit_code == 0
    assert result.stdout.strip() == "计划文件有效：48 项活动，61 个场次，34 个单位。"


def test_import_json_lists_errors_for_machines(tmp_path: Path, db_url: str, seeded_engine: Engine) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(edited(setter("events", 12, "sessions", 0, "end", value="2023-02-01"))())
    before = dump_database(seeded_engine)
    result = cli(["plan", "import", str(bad), "--json"], env={"SCHEDULER_DATABASE_URL": db_url})
    assert result.exit_code == 2
    body = json.loads(result.stdout)
    assert body["ok"] is False
    assert {"path": "events[12].sessions[0]", "message": "结束 2023-02-01 早于开始 2023-05-01"} in body["errors"]
    assert dump_database(seeded_engine) == before
