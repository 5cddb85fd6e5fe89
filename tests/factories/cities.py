"""A second city's plan, made from the 2023 seed: its own key, title, office unit (xx-kjj), industry chains and a
2026–2030 goal set; the rows, sessions and hosts stay the 2023 seed's (moved to the plan's year)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import Engine

from scheduler.config import DEFAULT_SEED
from scheduler.contacts import Person, read_contacts_file, replace_contacts
from scheduler.db import session_scope
from scheduler.plan.catalog import get_organizations
from scheduler.plan.importer import import_plan
from scheduler.plan.seed import PlanFile, parse_plan_bytes
from scheduler.reports.goalsets import import_goal_set, parse_goals_bytes
from tests.factories.mail import EXAMPLE_CONTACTS

OFFICE = "xx-kjj"
OFFICE_EMAIL = "xx.office@example.org"
CHAINS = ["集成电路", "生物医药", "海洋经济"]
OFFICE_UNIT = {"id": OFFICE, "name": "某某市科学技术局", "short_name": "某某市科技局", "kind": "city_department"}
GOALS_2030 = """
[set]
key = "xx-2030"
title = "2030 年某某市科技创新目标"
starts_on = 2026-01-01
ends_on = 2030-12-31
basis = "累计类目标统计 2026 年以来的新增数。"
source = "某某市人民政府 十五五科技创新规划"

[[goals]]
key = "projects"
label = "新招引科创项目"
target = 5000
unit = "个"
semantics = "cumulative"
source = "derived"
derive = "科创项目"

[[goals]]
key = "hightech"
label = "高新技术企业总数"
target = 6000
unit = "家"
semantics = "stock"
source = "manual"
"""


def second_city_raw(year: int = 2027, *, office: str | None = OFFICE) -> dict:
    """Return the second city's plan file as JSON data (office None: the header names none)."""
    raw = json.loads(DEFAULT_SEED.read_text(encoding="utf-8").replace("2023", str(year)))
    raw["plan"] |= {"id": f"xx-{year}", "title": f"{year}年某某市科技招商活动安排表", "chains": CHAINS}
    raw["plan"].pop("office", None)
    if office is not None:
        raw["plan"]["office"] = office
    raw["organizations"].append(dict(OFFICE_UNIT))
    for ev in raw["events"]:
        ev["chains"] = [c for c in ev.get("chains", []) if c in CHAINS]
    raw["events"][0]["chains"] = ["集成电路"]
    return raw


def second_city_plan(year: int = 2027) -> PlanFile:
    """Return the second city's plan, validated as any plan file is."""
    data = json.dumps(second_city_raw(year), ensure_ascii=False).encode()
    return parse_plan_bytes(data, source=f"xx_{year}.json")


def import_second_city(engine: Engine, now: datetime, year: int = 2027) -> None:
    """Import the second city's plan and its 2026–2030 goal set at `now`."""
    with session_scope(engine, write=True) as session:
        import_plan(session=session, doc=second_city_plan(year), now=now)
        import_goal_set(session=session, doc=parse_goals_bytes(GOALS_2030.encode()), now=now)


def load_contacts(engine: Engine, now: datetime, *, second_city: bool = True) -> None:
    """Load the example contacts (市科技局 as kjj), plus the second city's office when it is imported."""
    with session_scope(engine, write=True) as session:
        people = read_contacts_file(EXAMPLE_CONTACTS, organizations=get_organizations(session=session))
        if second_city:
            people.append(Person(OFFICE, "某某市办公室", OFFICE_EMAIL, "联络员"))
        replace_contacts(session=session, people=people, now=now)


def write_goals(tmp: Path) -> Path:
    """Write the 2026–2030 goal set file into `tmp` and return its path."""
    path = tmp / "goals_2030.toml"
    path.write_text(GOALS_2030, encoding="utf-8")
    return path
