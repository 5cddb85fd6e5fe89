"""`scheduler schedule …`: check a plan or one proposed date, declare blackouts, set the limits; Chinese errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from scheduler.cli import app
from scheduler.db import session_scope
from scheduler.plan.occurrences import fix_occurrence, get_occurrence
from tests.support.instants import NOTICE_DATE


@pytest.fixture
def cli(seeded_engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SCHEDULER_DATABASE_URL", db_url)
    monkeypatch.setenv("SCHEDULER_CLOCK", "simulated:2023-02-01@1")
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def test_check_a_proposed_sunday_refuses_with_exit_1(cli) -> None:
    done = cli("schedule", "check", "--occurrence", "06-1", "--date", "2023-03-12")
    assert done.exit_code == 1, done.output
    assert "[不可选] 3月12日（星期日）是周末，不是工作日" in done.output
    ok = cli("schedule", "check", "--occurrence", "06-1", "--date", "2023-03-14")
    assert ok.exit_code == 0 and "未发现冲突" in ok.output


def test_check_the_fixed_sessions_of_the_plan(cli, seeded_engine: Engine) -> None:
    assert "已定档 0 场：未发现冲突" in cli("schedule", "check", "--plan", "nantong-2023").output
    with session_scope(seeded_engine, write=True) as session:
        for key, day in (("14-2", 16), ("13-1", 16)):
            occ = get_occurrence(session=session, key=key)
            assert occ is not None
            fix_occurrence(session=session, occurrence=occ, start_at=datetime(2023, 5, day, 1, tzinfo=UTC),
                           end_at=None, now=NOTICE_DATE)
    done = cli("schedule", "check", "--json")
    assert done.exit_code == 0, done.output
    findings = json.loads(done.stdout)["findings"]
    assert sorted(findings) == ["13-1", "14-2"]
    assert {f["rule"] for f in findings["13-1"]} == {"busy"} and "市科技局" in findings["13-1"][0]["reason"]


def test_bad_check_input_is_located(cli) -> None:
    done = cli("schedule", "check", "--occurrence", "06-1")
    assert done.exit_code == 2 and "--occurrence 与 --date 须同时给出" in done.output
    done = cli("schedule", "check", "--occurrence", "99-9", "--date", "2023-03-14")
    assert done.exit_code == 2 and "没有场次 '99-9'" in done.output
    done = cli("schedule", "check", "--occurrence", "06-1", "--date", "2023-13-01")
    assert done.exit_code == 2 and "--date '2023-13-01' 不是有效日期" in done.output
    done = cli("schedule", "check", "--plan", "nowhere")
    assert done.exit_code == 2 and "--plan：没有计划 'nowhere'" in done.output


def test_blackouts_add_list_check_remove(cli) -> None:
    done = cli("schedule", "blackout", "add", "启东市", "2023-03-13", "2023-03-17", "--reason", "全国两会")
    assert done.exit_code == 0, done.output
    listed = json.loads(cli("schedule", "blackout", "list", "--json").stdout)
    assert [(r["unit"], r["start"], r["end"], r["reason"]) for r in listed] == [
        ("qidong", "2023-03-13", "2023-03-17", "全国两会")]
    refused = cli("schedule", "check", "--occurrence", "06-1", "--date", "2023-03-14")
    assert refused.exit_code == 1 and "主办单位启东市已声明" in refused.output and "全国两会" in refused.output
    assert cli("schedule", "blackout", "remove", str(listed[0]["id"])).exit_code == 0
    assert cli("schedule", "check", "--occurrence", "06-1", "--date", "2023-03-14").exit_code == 0
    gone = cli("schedule", "blackout", "remove", str(listed[0]["id"]))
    assert gone.exit_code == 2 and "没有编号为" in gone.output


def test_bad_blackouts_name_every_field_and_store_nothing(cli) -> None:
    done = cli("schedule", "blackout", "add", "火星局", "2023-03-17", "2023-03-13")
    assert done.exit_code == 2
    assert "UNIT：单位“火星局”不在单位名录中" in done.output
    assert "END：结束日期 2023-03-13 早于开始日期 2023-03-17" in done.output
    assert "--reason：请填写原因" in done.output
    group = cli("schedule", "blackout", "add", "各县（市、区）", "2023-03-13", "2023-03-14", "--reason", "x")
    assert group.exit_code == 2 and "单位组合" in group.output
    assert "尚无单位声明" in cli("schedule", "blackout", "list").output


def test_rules_show_and_set(cli) -> None:
    assert "前后各留 1 天行程；全市同一天最多 3 个团组外出" in cli("schedule", "rules").output
    assert "前后各留 2 天行程；全市同一天最多 5 个" in cli("schedule", "rules", "--buffer", "2", "--cap", "5").output
    bad = cli("schedule", "rules", "--buffer", "9", "--cap", "0")
    assert bad.exit_code == 2 and "--buffer：行程缓冲天数须在 0–7 之间" in bad.output and "--cap：" in bad.output
    assert "前后各留 2 天" in cli("schedule", "rules").output


def test_propose_prints_dates_and_writes_nothing(cli, seeded_engine: Engine) -> None:
    from tests.support.dbstate import dump_database

    before = dump_database(seeded_engine)
    done = cli("schedule", "propose", "--json", "--time-limit", "3")
    assert done.exit_code == 0, done.output
    out = json.loads(done.stdout)
    assert len(out["sessions"]) == 61 and out["trips"] == 32
    first = out["sessions"][0]
    assert first["key"] == "01-1" and "2023-02-01" <= first["date"] <= "2023-03-31"
    assert first["why"].startswith("建议 ")
    assert dump_database(seeded_engine) == before


def test_propose_explains_an_impossible_plan(cli, seeded_engine: Engine) -> None:
    cli("schedule", "blackout", "add", "如皋市", "2023-03-01", "2023-03-31", "--reason", "全月封闭")
    done = cli("schedule", "propose", "--time-limit", "3")
    assert done.exit_code == 2
    assert "无法排期：序号 4 场次 04-1" in done.output
    assert "窗口 2023-03-01–2023-03-31 内没有可安排的工作日" in done.output


def test_propose_publish_records_a_version_and_keeps_occurrences(cli, seeded_engine: Engine) -> None:
    from sqlmodel import select

    from scheduler.plan.models import Occurrence
    from scheduler.scheduling.models import ScheduleProposal

    done = cli("schedule", "propose", "--publish", "--time-limit", "3")
    assert done.exit_code == 0, done.output
    assert "已发布为第 1 版" in done.output
    with session_scope(seeded_engine) as session:
        rows = session.exec(select(ScheduleProposal)).all()
        fixed = [o.key for o in session.exec(select(Occurrence)) if o.start_at is not None]
    assert len(rows) == 61 and {r.version for r in rows} == {1} and fixed == []
