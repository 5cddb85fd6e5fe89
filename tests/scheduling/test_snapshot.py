"""The checker on the stored 2023 plan: destinations, group expansion, fixed dates read as Shanghai days, blackouts
and rules from the database (both backends)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.engine import Engine

from scheduler.db import session_scope
from scheduler.plan.catalog import get_plan
from scheduler.plan.occurrences import fix_occurrence, get_occurrence
from scheduler.scheduling.blackouts import add_blackout, set_rules
from scheduler.scheduling.checker import Rule, Severity, check
from scheduler.scheduling.snapshot import destination_of, load_snapshot
from tests.support.instants import NOTICE_DATE


def fix(engine: Engine, key: str, start: datetime) -> None:
    with session_scope(engine, write=True) as session:
        occ = get_occurrence(session=session, key=key)
        assert occ is not None
        fix_occurrence(session=session, occurrence=occ, start_at=start, end_at=None, now=NOTICE_DATE)


def snapshot(engine: Engine):
    with session_scope(engine) as session:
        plan = get_plan(session=session, key="nantong-2023")
        assert plan is not None
        return load_snapshot(session=session, plan=plan)


def test_destinations_of_the_2023_rows(seeded_engine: Engine) -> None:
    snap = snapshot(seeded_engine)
    dest = {s.key: s.destination for s in snap.slots}
    assert dest["06-1"] == dest["07-1"] == dest["08-1"] == dest["11-1"] == "上海"
    # Held in the city or one of its 板块: not trips.
    assert dest["01-1"] is dest["09-1"] is dest["10-1"] is dest["18-1"] is dest["47-1"] is None
    assert dest["16-1"] == "日韩、欧美"
    assert destination_of("  ", {"南通"}) is None
    # 各县（市、区） co-organizes 序号 13: its seven members are units of the row.
    assert {"qidong", "chongchuan", "haimen", "kjj"} <= snap.slot("13-1").units
    assert len(snap.slots) == 61  # sessions per quarter in the seed, counted by hand: 13 + 15 + 18 + 15


def test_joint_trip_advice_for_q1_shanghai(seeded_engine: Engine) -> None:
    fix(seeded_engine, "08-1", datetime(2023, 3, 16, 1, 30, tzinfo=UTC))  # 通州区 to 上海, Thursday 09:30 Shanghai
    found = check(snapshot(seeded_engine), "06-1", date(2023, 3, 14))  # 启东市 to 上海 the Tuesday before
    assert [(f.rule, f.severity) for f in found] == [(Rule.JOINT_TRIP, Severity.ADVICE)]
    assert "可与通州区联合组团" in found[0].reason


def test_a_fixed_time_late_in_the_day_utc_is_its_shanghai_day(seeded_engine: Engine) -> None:
    # 2023-05-15 17:30 UTC is 5-16 01:30 in Shanghai: 市科技局 is busy on the 16th, not the 15th.
    fix(seeded_engine, "14-2", datetime(2023, 5, 15, 17, 30, tzinfo=UTC))
    snap = snapshot(seeded_engine)
    assert snap.slot("14-2").days == (date(2023, 5, 16), date(2023, 5, 16))
    busy = [f for f in check(snap, "13-1", date(2023, 5, 16)) if f.rule == Rule.BUSY]
    assert len(busy) == 1 and "市科技局" in busy[0].reason and "序号 14" in busy[0].reason


def test_group_member_busy_and_blackouts_and_rules_from_the_database(seeded_engine: Engine) -> None:
    fix(seeded_engine, "21-1", datetime(2023, 5, 18, 1, 0, tzinfo=UTC))  # 崇川区 to 上海 on Thursday 5-18
    with session_scope(seeded_engine, write=True) as session:
        add_blackout(session=session, unit="市科技局", start=date(2023, 5, 22), end=date(2023, 5, 26),
                     reason="市人代会", by="test", now=NOTICE_DATE)
        set_rules(session=session, travel_buffer_days=2, away_cap=3, now=NOTICE_DATE)
    snap = snapshot(seeded_engine)
    assert snap.rules.travel_buffer_days == 2
    # 5-16 is two days before 崇川区's trip: inside the two-day buffer; 崇川区 is a member of 各县（市、区）.
    busy = [f for f in check(snap, "13-1", date(2023, 5, 16)) if f.rule == Rule.BUSY]
    assert len(busy) == 1 and "崇川区" in busy[0].reason and "留出 2 天" in busy[0].reason
    blocked = [f for f in check(snap, "13-1", date(2023, 5, 24)) if f.severity == Severity.BLOCK]
    assert [f.rule for f in blocked] == [Rule.BLACKOUT] and "市人代会" in blocked[0].reason
