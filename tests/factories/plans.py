"""Plans of other years made from the 2023 seed: every '2023' (plan id, year, title, dates and date texts) becomes
the new year, so the 2026 and 2027 plans have the 2023 rows, sessions and hosts on the same month days."""

from __future__ import annotations

import json
from datetime import date, datetime

from sqlalchemy.engine import Engine

from scheduler.config import DEFAULT_SEED
from scheduler.db import session_scope
from scheduler.plan.importer import ImportReport, import_plan
from scheduler.plan.seed import PlanFile, parse_plan_bytes

SEED_YEAR = "2023"


def shifted_plan(year: int, *, published: date | None = None) -> PlanFile:
    """Return the 2023 seed moved to `year` (validated as any plan file is), optionally published on another day."""
    text = DEFAULT_SEED.read_text(encoding="utf-8")
    raw = json.loads(text.replace(SEED_YEAR, str(year)))
    if published is not None:
        raw["plan"]["published"] = published.isoformat()
    return parse_plan_bytes(json.dumps(raw, ensure_ascii=False).encode(), source=f"events_{year}.json")


def import_year(engine: Engine, year: int, now: datetime, *, published: date | None = None) -> ImportReport:
    """Import the shifted plan of `year` at `now` (the 2023 seed itself for 2023)."""
    doc = shifted_plan(year, published=published)
    with session_scope(engine, write=True) as session:
        return import_plan(session=session, doc=doc, now=now)
