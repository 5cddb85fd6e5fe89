"""Scheduling: the proposer on the 2023 plan and on a province-sized synthetic plan, and the checker per 定档.

Run: .venv/bin/python bench/schedule.py [--time-limit S] [--workers N]
Baselines in the same run: a greedy proposer (earliest free working day in each window, same hard rules) for
empty months and destination-weeks; the 2023 plan for how the times grow with size.
Targets: 2023 final proposal under 5 s; checker under 50 ms per 定档 at ~800 sessions.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import date, timedelta

from sqlmodel import SQLModel

import scheduler.metadata  # noqa: F401
from scheduler.config import DEFAULT_SEED
from scheduler.db import make_engine, session_scope
from scheduler.plan.catalog import get_plan
from scheduler.plan.importer import import_plan
from scheduler.plan.seed import read_plan_file
from scheduler.scheduling.checker import PlanSnapshot, Rules, Slot, check
from scheduler.scheduling.proposer import greedy_days, propose
from scheduler.scheduling.snapshot import load_snapshot
from scheduler.workdays import WorkCalendar
from tests.support.instants import NOTICE_DATE

DESTINATIONS = ("上海", "深圳", "北京", "西安", "杭州", "南京", "武汉", "合肥")


def plan_2023() -> PlanSnapshot:
    engine = make_engine("sqlite://")
    SQLModel.metadata.create_all(engine)
    with session_scope(engine, write=True) as session:
        import_plan(session=session, doc=read_plan_file(DEFAULT_SEED), now=NOTICE_DATE)
    with session_scope(engine) as session:
        plan = get_plan(session=session, key="nantong-2023")
        assert plan is not None
        return load_snapshot(session=session, plan=plan)


def synthetic(cities: int = 13, per_city: int = 62, units_per_city: int = 11, seed: int = 7) -> PlanSnapshot:
    """A province: each city's units host ~60 sessions with month, two-month and quarter windows; a third travel."""
    rng = random.Random(seed)
    slots: list[Slot] = []
    for c in range(cities):
        units = [f"c{c}u{u}" for u in range(units_per_city)]
        for i in range(per_city):
            kind = rng.random()
            month = rng.randint(1, 12)
            if kind < 0.5:
                lo, hi = date(2023, month, 1), _month_end(2023, month)
            elif kind < 0.8 and month < 12:
                lo, hi = date(2023, month, 1), _month_end(2023, month + 1)
            else:
                q = (month - 1) // 3
                lo, hi = date(2023, 3 * q + 1, 1), _month_end(2023, 3 * q + 3)
            host = rng.choice(units)
            co = frozenset(rng.sample(units, rng.randint(0, 2)))
            dest = rng.choice(DESTINATIONS) if rng.random() < 0.33 else None
            slots.append(Slot(key=f"c{c}-{i}", seq=i + 1, title=f"活动{c}-{i}", event_type="district",
                              quarter=(lo.month - 1) // 3 + 1, window=(lo, hi), hosts=(host,),
                              units=frozenset({host}) | co, destination=dest))
    return PlanSnapshot(year=2023, slots=slots, calendar=WorkCalendar(), rules=Rules(away_cap=3 * cities))


def _month_end(year: int, month: int) -> date:
    return (date(year + month // 12, month % 12 + 1, 1)) - timedelta(days=1)


def figures(snap: PlanSnapshot, days: dict[str, date]) -> tuple[int, int, int]:
    """Return (empty months, distinct destination-weeks, trips) of a full assignment."""
    months = {d.month for d in days.values()}
    trips = [s for s in snap.slots if s.away and s.key in days]
    weeks = {(s.destination, days[s.key] - timedelta(days=days[s.key].weekday())) for s in trips}
    return 12 - len(months), len(weeks), len(trips)


def run(name: str, snap: PlanSnapshot, time_limit: float, workers: int) -> float:
    base = greedy_days(snap)
    b_empty, b_weeks, trips = figures(snap, base)
    result = propose(snap, time_limit=time_limit, workers=workers)
    p_empty, p_weeks, _ = figures(snap, {k: p.day for k, p in result.days.items()})
    first = result.first_feasible_s or float("nan")
    print(f"{name}: {len(snap.slots)} sessions, {len({u for s in snap.slots for u in s.units})} units, {trips} trips")
    print(f"  proposer {result.status}: first feasible {first:.2f} s, final {result.final_s:.2f} s")
    print(f"  empty months: proposer {p_empty} vs greedy {b_empty} (greedy placed {len(base)}/{len(result.days)})")
    print(f"  destination-weeks: proposer {p_weeks} vs greedy {b_weeks} for {trips} trips "
          f"(ratio {p_weeks / max(b_weeks, 1):.2f}; {p_weeks / max(trips, 1):.2f} per trip)")
    return result.final_s


def checker_ms(snap: PlanSnapshot, samples: int = 200) -> float:
    rng = random.Random(3)
    times = []
    for _ in range(samples):
        s = rng.choice(snap.slots)
        day = s.window[0] + timedelta(days=rng.randint(0, (s.window[1] - s.window[0]).days))
        t = time.perf_counter()
        check(snap, s.key, day)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--time-limit", type=float, default=4.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    small = plan_2023()
    t_small = run("2023 plan", small, args.time_limit, args.workers)
    print(f"  final vs 5 s target: {t_small / 5:.2f}×")
    big = synthetic()
    t_big = run("synthetic province", big, max(args.time_limit, 30.0), args.workers)
    print(f"  growth: {len(big.slots) / len(small.slots):.1f}× sessions → {t_big / t_small:.1f}× time")
    c_small, c_big = checker_ms(small), checker_ms(big)
    print(f"checker per 定档 (median of 200): 2023 {c_small:.2f} ms, province {c_big:.2f} ms "
          f"({c_big / c_small:.1f}× for {len(big.slots) / len(small.slots):.1f}× sessions; "
          f"{c_big / 50:.2f}× the 50 ms target)")


if __name__ == "__main__":
    main()
