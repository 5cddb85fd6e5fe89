"""The proposer on the 2023 plan, re-verified independently: the seed file and the State Council calendar (via the
`holidays` package, not chinesecalendar) are read here, not through the proposer's snapshot; plus infeasible and
empty plans explained in Chinese, fixed dates kept, nothing written."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import holidays
import pytest
from sqlalchemy.engine import Engine

from scheduler.config import DEFAULT_SEED
from scheduler.db import session_scope
from scheduler.plan.catalog import get_plan
from scheduler.plan.occurrences import fix_occurrence, get_occurrence
from scheduler.scheduling.checker import PlanSnapshot, Rules, Slot
from scheduler.scheduling.proposer import ProposalImpossible, propose
from scheduler.scheduling.snapshot import load_snapshot
from scheduler.workdays import WorkCalendar
from tests.support.dbstate import dump_database
from tests.support.instants import NOTICE_DATE

LOCAL = ("南通", "海门", "开发区", "海安", "如皋", "如东", "启东", "崇川", "通州", "苏锡通园区")
CN = holidays.country_holidays("CN", years=2023)
# 2023 调休 working weekends (国办发明电〔2022〕16号), written out by hand.
SWAPPED = {date(2023, 1, 28), date(2023, 1, 29), date(2023, 4, 23), date(2023, 5, 6), date(2023, 6, 25),
           date(2023, 10, 7), date(2023, 10, 8)}


def works(day: date) -> bool:
    return day in SWAPPED or (day.weekday() < 5 and day not in CN)


def seed_sessions() -> tuple[dict[str, dict], dict[str, set[str]]]:
    """Sessions from the seed file with their units (groups expanded by hand from the organizations list)."""
    doc = json.loads(DEFAULT_SEED.read_text(encoding="utf-8"))
    members = {o["id"]: o["members"] for o in doc["organizations"]}
    sessions, units = {}, {}
    for e in doc["events"]:
        keys = set()
        for k in e["hosts"] + e["co_organizers"]:
            keys |= set(members[k]) if members[k] else {k}
        for s in e["sessions"]:
            sessions[s["key"]] = s | {"type": e["type"], "quarter": e["quarter"]}
            units[s["key"]] = keys
    return sessions, units


def proposal_2023(engine: Engine, **kw):
    with session_scope(engine) as session:
        plan = get_plan(session=session, key="nantong-2023")
        assert plan is not None
        snap = load_snapshot(session=session, plan=plan)
    return snap, propose(snap, time_limit=60.0, workers=1, work_limit=0.5, **kw)


def test_2023_proposal_holds_every_hard_constraint(seeded_engine: Engine) -> None:
    with session_scope(seeded_engine, write=True) as session:  # 启东市 fixed its 上海 trip: pinned, never moved
        occ = get_occurrence(session=session, key="06-1")
        assert occ is not None
        fix_occurrence(session=session, occurrence=occ, start_at=datetime(2023, 3, 14, 1, 30, tzinfo=UTC),
                       end_at=None, now=NOTICE_DATE)
    before = dump_database(seeded_engine)
    _, result = proposal_2023(seeded_engine)
    assert dump_database(seeded_engine) == before  # a proposal writes nothing
    sessions, units = seed_sessions()
    assert "06-1" not in result.days and set(result.days) == set(sessions) - {"06-1"}
    day = {k: p.day for k, p in result.days.items()} | {"06-1": date(2023, 3, 14)}
    for key, d in day.items():
        s = sessions[key]
        assert date.fromisoformat(s["start"]) <= d <= date.fromisoformat(s["end"]), key
        assert works(d), (key, d)
    # No unit in two places: trips keep one day either side (the default rule), in-town events only their day.
    busy: dict[str, dict[date, str]] = defaultdict(dict)
    for key, d in day.items():
        away = not any(p in sessions[key]["location"] for p in LOCAL)
        for offset in (-1, 0, 1) if away else (0,):
            for u in units[key]:
                t = d + timedelta(days=offset)
                assert t not in busy[u], (u, t, key, busy[u].get(t))
                busy[u][t] = key
    # City cap: at most three delegations away on any day.
    away_days = [d for k, d in day.items() if not any(p in sessions[k]["location"] for p in LOCAL)]
    assert max(away_days.count(d) for d in set(away_days)) <= 3
    # Every month has an activity; each 主题活动 sits in its quarter.
    assert {d.month for d in day.values()} == set(range(1, 13))
    for key, d in day.items():
        if sessions[key]["type"] == "quarterly_theme":
            assert (d.month - 1) // 3 + 1 == sessions[key]["quarter"], key
    # Q1 上海: 启东市 (pinned 3-14), 崇川区 (2月 only), 通州区 and 南通创新区 — at most two distinct weeks.
    shanghai_q1 = {k: d for k, d in day.items() if sessions[k]["location"] == "上海" and d.month <= 3}
    assert len(shanghai_q1) == 4
    assert len({d - timedelta(days=d.weekday()) for d in shanghai_q1.values()}) <= 2
    assert result.empty_months == [] and result.trips == 32


def test_same_input_same_proposal(seeded_engine: Engine) -> None:
    _, a = proposal_2023(seeded_engine)
    _, b = proposal_2023(seeded_engine)
    assert {k: p.day for k, p in a.days.items()} == {k: p.day for k, p in b.days.items()}


def slot(key: str, lo: str, hi: str, hosts: tuple[str, ...] = ("kjj",), **kw) -> Slot:
    return Slot(key=key, seq=int(key[1:]) if key[1:].isdigit() else 1, title=f"活动{key}", event_type="district",
                quarter=2, window=(date.fromisoformat(lo), date.fromisoformat(hi)), hosts=hosts,
                units=frozenset(hosts), **kw)


def small(*slots: Slot, rules: Rules = Rules()) -> PlanSnapshot:
    return PlanSnapshot(year=2023, slots=list(slots), calendar=WorkCalendar(), names={"kjj": "市科技局"},
                        rules=rules)


def test_a_window_without_working_days_is_named() -> None:
    with pytest.raises(ProposalImpossible) as err:
        propose(small(slot("a1", "2023-10-01", "2023-10-06"), slot("a2", "2023-05-08", "2023-05-12")))
    assert err.value.reasons == ["序号 1 场次 a1「活动a1」的窗口 2023-10-01–2023-10-06 内没有可安排的工作日"
                                 "（已扣除节假日和单位不可安排日期）"]


def test_conflicting_constraints_are_named() -> None:
    # Two 市科技局 sessions whose windows hold one working day, the same one (Friday 2023-05-12).
    with pytest.raises(ProposalImpossible) as err:
        propose(small(slot("a1", "2023-05-12", "2023-05-14"), slot("a2", "2023-05-12", "2023-05-12")))
    [reason] = err.value.reasons
    assert reason.startswith("以下约束无法同时满足：") and "市科技局同一天只能参加一场活动" in reason


def test_cap_conflict_is_named() -> None:
    trips = [slot(f"a{i}", "2023-05-12", "2023-05-12", hosts=(f"u{i}",), destination="上海") for i in range(3)]
    with pytest.raises(ProposalImpossible) as err:
        propose(small(*trips, rules=Rules(away_cap=2)))
    assert "全市同一天外出团组不超过 2 个" in err.value.reasons[0]


def test_nothing_to_propose() -> None:
    with pytest.raises(ProposalImpossible) as err:
        propose(small())
    assert err.value.reasons == ["计划中没有任何场次"]


def test_previous_proposal_and_preferred_dates_are_followed_when_free() -> None:
    a = slot("a1", "2023-05-01", "2023-05-31")
    assert propose(small(a), preferred={"a1": [date(2023, 5, 18)]}).days["a1"].day == date(2023, 5, 18)
    moved = propose(small(a), previous={"a1": date(2023, 5, 23)})
    assert moved.days["a1"].day == date(2023, 5, 23) and not moved.days["a1"].moved
