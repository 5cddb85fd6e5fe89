"""Test helpers for feeds over several plans: the 2023 seed re-dated to another year and imported beside others.

The 2023 seed says "2023" only in dates, date texts and the plan key, so replacing the year gives a valid plan of
another year with the same 48 rows and 61 sessions (60 in a feed: the whole-year 金融惠企“下午茶” is no banner).
Neither 2023 nor 2026/2027 has a 29 February, so every date stays valid.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy.engine import Engine

from scheduler.clock import SHANGHAI
from scheduler.config import DEFAULT_SEED
from scheduler.db import session_scope
from scheduler.plan.importer import import_plan
from scheduler.plan.seed import PlanFile, parse_plan_bytes

FEED_EVENTS_PER_PLAN = 60  # 61 sessions in the seed, minus the undated whole-year item (row 47)
DEC_1_2026 = datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI)  # offices draft next year's plan; both plans run
IMPORTED = {
    2023: datetime(2023, 1, 22, 9, 0, tzinfo=SHANGHAI),
    2026: datetime(2026, 1, 22, 9, 0, tzinfo=SHANGHAI),
    2027: datetime(2026, 11, 20, 9, 0, tzinfo=SHANGHAI),  # the 2027 plan arrives in November 2026
}


def imported_at(year: int) -> datetime:
    """Return when the plan of `year` is imported in these tests (22 January of its year unless listed)."""
    return IMPORTED.get(year, datetime(year, 1, 22, 9, 0, tzinfo=SHANGHAI))


def shifted_seed(year: int) -> PlanFile:
    """Return the 2023 seed re-dated to `year` (plan key nantong-{year}), parsed and validated like a file."""
    text = DEFAULT_SEED.read_text(encoding="utf-8").replace("2023", str(year))
    raw = json.loads(text)
    raw["plan"]["published"] = imported_at(year).date().isoformat()
    return parse_plan_bytes(json.dumps(raw, ensure_ascii=False).encode(), source=f"events_{year}.json")


def import_year(engine: Engine, year: int, *, now: datetime | None = None) -> None:
    """Import the seed re-dated to `year` (at its usual import instant unless `now` is given)."""
    with session_scope(engine, write=True) as session:
        import_plan(session=session, doc=shifted_seed(year), now=now or imported_at(year))


def import_years(engine: Engine, *years: int) -> Engine:
    """Import the seed under each of `years`, in that order; return the engine."""
    for year in years:
        import_year(engine, year)
    return engine


def uid_years(uids: list[str]) -> dict[int, int]:
    """Count UIDs per plan year (UIDs read 'nantong-2027-14-1@kjzs-scheduler')."""
    counts: dict[int, int] = {}
    for uid in uids:
        year = int(uid.split("-")[1])
        counts[year] = counts.get(year, 0) + 1
    return counts
