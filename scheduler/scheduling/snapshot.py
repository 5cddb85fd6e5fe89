"""Build the checker's `PlanSnapshot` of one plan from the database: sessions with expanded units and destinations,
the working-day calendar, blackouts and the configured limits."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, col, select

from scheduler.clock import local_date
from scheduler.plan.catalog import expand_members, get_organizations, list_event_views
from scheduler.plan.models import BANKUAI_KINDS, Occurrence, Organization, Plan
from scheduler.scheduling.checker import Blackout, Finding, PlanSnapshot, Rules, Slot, check
from scheduler.scheduling.models import ScheduleBlackout, ScheduleRules
from scheduler.workdays import load_calendar

CITY_NAMES = ("南通",)  # a place naming the city itself is not a trip


def local_place_names(orgs: dict[str, Organization]) -> set[str]:
    """Return the names that mark a place inside the city: the city and its 板块 (with and without 市/区/县)."""
    names = set(CITY_NAMES)
    for org in orgs.values():
        if org.kind in BANKUAI_KINDS:
            names.add(org.short_name)
            if len(org.short_name) > 2 and org.short_name[-1] in "市区县":
                names.add(org.short_name[:-1])
            names.update(org.aliases)
    return names


def destination_of(location: str, local_names: set[str]) -> str | None:
    """Return the trip's destination, or None when `location` is inside the city (or blank)."""
    text = location.strip()
    if not text or any(name in text for name in local_names):
        return None
    return text


def load_rules(*, session: Session) -> Rules:
    """Return the configured limits (defaults until the office sets them)."""
    row = session.get(ScheduleRules, 1)
    return Rules() if row is None else Rules(row.travel_buffer_days, row.away_cap)


def load_blackouts(*, session: Session) -> list[Blackout]:
    """Return every declared blackout, by unit and start."""
    rows = session.exec(select(ScheduleBlackout).order_by(col(ScheduleBlackout.organization_key),
                                                          col(ScheduleBlackout.start)))
    return [Blackout(r.organization_key, r.start, r.end, r.reason, r.id) for r in rows]


def load_snapshot(*, session: Session, plan: Plan) -> PlanSnapshot:
    """Read one plan as the checker sees it (active sessions only)."""
    orgs = get_organizations(session=session)
    local_names = local_place_names(orgs)
    slots: list[Slot] = []
    for view in list_event_views(session=session, plan=plan):
        hosts = tuple(expand_members([o.key for o in view.hosts], orgs))
        units = frozenset(hosts) | frozenset(expand_members([o.key for o in view.co_organizers], orgs))
        for occ in view.occurrences:
            if not occ.is_active:
                continue
            days = None
            if occ.start_at is not None:
                first = local_date(occ.start_at)
                days = (first, max(first, local_date(occ.end_at)) if occ.end_at else first)
            slots.append(Slot(key=occ.key, seq=view.event.seq, title=occ.title, event_type=view.event.type,
                              quarter=view.event.quarter, window=(occ.window_start, occ.window_end), hosts=hosts,
                              units=units, destination=destination_of(occ.location, local_names),
                              series=view.event.series, days=days))
    bankuai = frozenset(plan.bankuai) if plan.bankuai else frozenset(k for k, o in orgs.items() if o.is_bankuai)
    return PlanSnapshot(year=plan.year, slots=slots, calendar=load_calendar(session=session),
                        names={k: o.short_name for k, o in orgs.items()}, bankuai=bankuai,
                        blackouts=load_blackouts(session=session), rules=load_rules(session=session))


def check_occurrence(*, session: Session, occurrence: Occurrence, start: date,
                     end: date | None = None) -> list[Finding]:
    """Run the checker for setting one stored occurrence to `start`…`end` (its plan read fresh)."""
    plan = session.get(Plan, occurrence.plan_id)
    if plan is None or not occurrence.is_active:
        return []
    snap = load_snapshot(session=session, plan=plan)
    if occurrence.key not in {s.key for s in snap.slots}:
        return []
    return check(snap, occurrence.key, start, end)
