"""Goal sets as data: the shipped 2025 file, located errors, several sets side by side, the set covering a report's
day (none: the table says so instead of a pace), and `scheduler goals import`."""

from __future__ import annotations

import json
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from scheduler.cli import app
from scheduler.clock import SHANGHAI
from scheduler.config import PROJECT_ROOT
from scheduler.db import make_engine, session_scope
from scheduler.migrate import upgrade
from scheduler.reports.build import build_report
from scheduler.reports.goals import add_entry
from scheduler.reports.goalsets import goal_set_for, import_goal_set, parse_goals_bytes, read_goals_file
from scheduler.validation import InputInvalid
from tests.factories.cities import GOALS_2030, write_goals
from tests.factories.plans import import_year
from tests.support.instants import NOTICE_DATE

SHIPPED = PROJECT_ROOT / "seeds" / "goals_2025.toml"


def at(day: date) -> datetime:
    return datetime.combine(day, time(9), tzinfo=SHANGHAI)


def errors(text: str) -> list[str]:
    with pytest.raises(InputInvalid) as info:
        parse_goals_bytes(text.encode(), source="g.toml")
    return [str(e) for e in info.value.errors]


def test_the_shipped_file_holds_the_notices_twelve_goals() -> None:
    doc = read_goals_file(SHIPPED)
    assert (doc.set.key, doc.set.starts_on, doc.set.ends_on) == ("nantong-2025", date(2023, 1, 1), date(2025, 12, 31))
    # 通政办发〔2023〕11号 一/（二）: 3300 projects, 4300 高企, 600 培育企业, 20 listed, 100/400/300 talents,
    # 5000 产学研, 1200 亿元 technology contracts, 3000 patents, 50 platforms, 200 incubators.
    targets = {g.key: g.target for g in doc.goals}
    assert targets == {"projects": 3300, "hightech": 4300, "gazelle": 600, "listed": 20, "top_talent": 100,
                       "talent": 400, "foreign_talent": 300, "iur": 5000, "tech_contracts": 1200, "patents": 3000,
                       "institute_platforms": 50, "incubators": 200}


def test_a_bad_file_is_refused_whole_with_every_problem_located() -> None:
    bad = GOALS_2030.replace("ends_on = 2030-12-31", "ends_on = 2025-12-31").replace(
        'key = "hightech"', 'key = "projects"').replace('derive = "科创项目"', 'derive = "火箭"')
    bad += '\n[[goals]]\nkey = "x"\nlabel = "x"\ntarget = -1\nunit = "个"\n'
    bad += 'semantics = "cumulative"\nsource = "manual"\n'
    got = errors(bad)
    assert got == ["goals[2].target: 应大于 0，收到 -1"]  # the schema first; the rest once it holds
    fixed = bad.replace("target = -1", "target = 1")
    got = errors(fixed)
    assert "set.ends_on: 结束 2025-12-31 早于开始 2026-01-01" in got
    assert "goals[1].key: 目标代码 'projects' 重复" in got
    assert any(e.startswith("goals[0].derive: 由成效填报统计的目标需写明统计项") and "'火箭'" in e for e in got)
    assert len(got) == 4  # 'projects' twice: both rows are named
    assert errors("[set\n")[0].startswith("TOML 格式错误")
    assert errors(GOALS_2030.replace('semantics = "stock"', 'semantics = "flow"')) == [
        "goals[1].semantics: 取值无效（可选：'cumulative' or 'stock'），收到 \"flow\""]


def test_reports_read_the_set_covering_their_day_and_say_when_none_does(seeded_engine: Engine) -> None:
    import_year(seeded_engine, 2026, at(date(2026, 1, 22)))
    with session_scope(seeded_engine) as session:
        none = build_report(session=session, kind="targets", period="2026", now=at(date(2026, 6, 30)))
    table = none.table("goals")
    assert table.rows == [] and "没有覆盖 2026-06-30 的发展目标" in table.note and "100" not in table.note
    assert none.svg == ""
    with session_scope(seeded_engine, write=True) as session:
        import_goal_set(session=session, doc=parse_goals_bytes(GOALS_2030.encode()), now=NOTICE_DATE)
    with session_scope(seeded_engine) as session:
        assert goal_set_for(session=session, day=date(2023, 6, 30)).goal_set.key == "nantong-2025"  # type: ignore[union-attr]
        assert goal_set_for(session=session, day=date(2026, 1, 1)).goal_set.key == "xx-2030"  # type: ignore[union-attr]
        assert goal_set_for(session=session, day=date(2031, 1, 1)) is None
        old = build_report(session=session, kind="targets", period="2023", now=at(date(2027, 6, 30)))
    # A 2023 report read in 2027 is as of 2023-12-31: 365 of the 1,096 days of 2023–2025, 33.30 %.
    assert old.table("goals").rows[0]["pace"] == 33.3 and len(old.table("goals").rows) == 12


def test_values_are_entered_for_any_stored_sets_goal(seeded_engine: Engine) -> None:
    with session_scope(seeded_engine, write=True) as session, pytest.raises(ValueError, match="未知目标 'rockets'"):
        add_entry(session=session, goal_key="rockets", as_of=date(2023, 6, 30), value=Decimal(1), source="x",
                  by="office", now=NOTICE_DATE)


def test_cli_imports_a_goal_set_into_a_migrated_database(db_url: str, tmp_path: Path) -> None:
    env = {"SCHEDULER_DATABASE_URL": db_url, "SCHEDULER_CLOCK": "simulated:2026-12-01T09:00+08:00@1"}
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"], env=env).exit_code == 0
    done = runner.invoke(app, ["goals", "import", str(SHIPPED)], env=env)
    assert done.exit_code == 0 and done.stdout.strip() == (
        "已导入目标集 nantong-2025（2025 年科技招商发展目标，2023-01-01 至 2025-12-31，12 项目标）。")
    again = runner.invoke(app, ["goals", "import", str(write_goals(tmp_path)), "--json"], env=env)
    assert json.loads(again.stdout) == {"ok": True, "set": "xx-2030", "goals": 2}
    listed = runner.invoke(app, ["goals", "list"], env=env).stdout.splitlines()
    assert [line.split()[0] for line in listed] == ["xx-2030", "nantong-2025"]
    bad = tmp_path / "bad.toml"
    bad.write_text(GOALS_2030.replace("starts_on = 2026-01-01", "starts_on = 2031-01-01"), encoding="utf-8")
    refused = runner.invoke(app, ["goals", "import", str(bad)], env=env)
    assert refused.exit_code == 2
    assert f"发展目标文件 {bad} 有 1 处错误，未写入任何数据" in refused.stderr
    assert "set.ends_on: 结束 2030-12-31 早于开始 2031-01-01" in refused.stderr


def test_the_upgrade_gives_stored_sets_their_keys_city_and_plans_no_types_of_their_own(db_url: str) -> None:
    upgrade(db_url, "0012_clock_state")
    eng = make_engine(db_url)
    try:
        with eng.begin() as conn:
            conn.execute(text("INSERT INTO goal_set (key, title, starts_on, ends_on, basis, source, updated_at) "
                              "VALUES ('nantong-2025', 't', '2023-01-01', '2025-12-31', 'b', 's', "
                              "'2023-01-22 01:00:00+00:00')"))
            conn.execute(text("INSERT INTO plan (key, year, title, source, published, timezone, themes, office, "
                              "chains, bankuai, imported, created_at, updated_at) VALUES ('nantong-2023', 2023, 't', "
                              "'s', '2023-01-22', 'Asia/Shanghai', '{}', 'kjj', '[]', '[]', '{}', "
                              "'2023-01-22 01:00:00+00:00', '2023-01-22 01:00:00+00:00')"))
        upgrade(db_url)
        with eng.connect() as conn:
            assert conn.execute(text("SELECT key, city FROM goal_set")).all() == [("nantong-2025", "nantong")]
            types = conn.execute(text("SELECT types FROM plan")).scalar_one()
    finally:
        eng.dispose()
    assert types in ({}, "{}")  # the 2023 notice's four types, as before the upgrade
