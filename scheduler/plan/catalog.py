"""Read the stored plans: which are running, their events with hosts, co-organizers and occurrences; groups.

Several plans live side by side (one per city and year). A plan *runs* — its reminders, tasks and feeds are
live — from 1 October of the year before (offices publish next year's plan in November–December, and 定档
requests go out a month ahead) until 31 March after its year (outcome reports and late 延期 are still followed
up). Anything that acts on "the plan" acts on every running plan; pages and reports choose one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlmodel import Session, col, select

from scheduler.plan.models import Event, EventOrganization, Occurrence, Organization, Plan, Role
from scheduler.plan.models import type_label as label_of_type


@dataclass
class EventView:
    """One event with its organizations (in plan order) and its occurrences."""

    event: Event
    hosts: list[Organization] = field(default_factory=list)
    co_organizers: list[Organization] = field(default_factory=list)
    occurrences: list[Occurrence] = field(default_factory=list)
    types: dict[str, str] = field(default_factory=dict)  # the plan's activity types (key → label)

    @property
    def type_label(self) -> str:
        """Return the event's activity type label in its own plan's vocabulary."""
        return label_of_type(self.event.type, self.types)

    @property
    def organization_keys(self) -> set[str]:
        return {o.key for o in self.hosts + self.co_organizers}


RUN_FROM = (10, 1)  # (month, day) of the year before: a plan starts running on 1 October
RUN_UNTIL = (3, 31)  # (month, day) of the year after: and keeps running until the end of March


class PlanNotFound(LookupError):
    """A plan key that names no stored plan; the message lists the keys there are (Chinese)."""


def get_plan(*, session: Session, key: str | None = None) -> Plan | None:
    """Return the plan with `key`, or the newest plan when no key is given."""
    query = select(Plan)
    query = query.where(Plan.key == key) if key else query.order_by(col(Plan.year).desc(), col(Plan.id).desc())
    return session.exec(query).first()


def list_plans(*, session: Session) -> list[Plan]:
    """Return every stored plan, newest year first."""
    return list(session.exec(select(Plan).order_by(col(Plan.year).desc(), col(Plan.id).desc())))


def run_span(year: int) -> tuple[date, date]:
    """Return the first and the last day a plan of `year` runs."""
    # Calendar dates rather than day counts: 31 Dec + 90 days is 30 March when the next year is a leap year.
    return date(year - 1, *RUN_FROM), date(year + 1, *RUN_UNTIL)


def plan_runs_on(plan: Plan, today: date) -> bool:
    """Tell whether a plan's reminders, tasks and feeds are live on `today` (Asia/Shanghai date)."""
    first, last = run_span(plan.year)
    return first <= today <= last


def running_plans(*, session: Session, today: date) -> list[Plan]:
    """Return the plans that run on `today`, oldest year first (so last year's December comes before next year's)."""
    return sorted((p for p in list_plans(session=session) if plan_runs_on(p, today)), key=lambda p: (p.year, p.id or 0))


def plans_for_year(*, session: Session, year: int) -> list[Plan]:
    """Return the plans of one year (one per city), in the order they were created."""
    return list(session.exec(select(Plan).where(Plan.year == year).order_by(col(Plan.id))))


def current_plan(*, session: Session, today: date) -> Plan | None:
    """Return the plan a page shows by default: this year's, else the nearest running one, else the newest."""
    plans = list_plans(session=session)
    this_year = [p for p in plans if p.year == today.year]
    if this_year:
        return this_year[0]
    running = [p for p in plans if plan_runs_on(p, today)]
    if running:
        return min(running, key=lambda p: abs(p.year - today.year))
    return plans[0] if plans else None


def choose_plan(*, session: Session, key: str | None, today: date) -> Plan | None:
    """Return the plan a page or command asked for by `key`, else the current one; None when no plan is stored."""
    if not key:
        return current_plan(session=session, today=today)
    plan = get_plan(session=session, key=key)
    if plan is None:
        known = "、".join(p.key for p in list_plans(session=session)) or "（尚未导入任何计划）"
        raise PlanNotFound(f"没有计划 {key!r}（已有：{known}）")
    return plan


def get_organizations(*, session: Session) -> dict[str, Organization]:
    """Return every organization by key."""
    return {o.key: o for o in session.exec(select(Organization))}


def list_event_views(
    *, session: Session, plan: Plan | None = None, plans: list[Plan] | None = None, include_withdrawn: bool = False
) -> list[EventView]:
    """Return the events of `plan` (or of every plan in `plans`, plan by plan) in 序号 order, with organizations
    and occurrences (three queries in all)."""
    chosen = [plan] if plan is not None else list(plans or [])
    if not chosen:
        return []
    plan_ids = [p.id for p in chosen]
    order = {pid: i for i, pid in enumerate(plan_ids)}
    query = select(Event).where(col(Event.plan_id).in_(plan_ids))
    if not include_withdrawn:
        query = query.where(col(Event.withdrawn).is_(False))
    events = sorted(session.exec(query), key=lambda e: (order[e.plan_id], e.seq))
    types = {p.id: dict(p.types) for p in chosen}
    views = {e.id: EventView(e, types=types.get(e.plan_id, {})) for e in events}
    orgs_by_id = {o.id: o for o in session.exec(select(Organization))}
    links = session.exec(
        select(EventOrganization)
        .where(col(EventOrganization.event_id).in_(list(views)))
        .order_by(col(EventOrganization.position))
    )
    for link in links:
        view = views[link.event_id]
        (view.hosts if link.role == Role.HOST else view.co_organizers).append(orgs_by_id[link.organization_id])
    occ_query = select(Occurrence).where(col(Occurrence.plan_id).in_(plan_ids)).order_by(col(Occurrence.position))
    if not include_withdrawn:
        occ_query = occ_query.where(col(Occurrence.withdrawn).is_(False))
    for occ in session.exec(occ_query):
        if occ.event_id in views:
            views[occ.event_id].occurrences.append(occ)
    return list(views.values())


def expand_members(keys: list[str], orgs: dict[str, Organization]) -> list[str]:
    """Expand group keys into their member keys (recursively), keeping order and dropping repeats."""
    out: list[str] = []
    stack = list(reversed(keys))
    seen: set[str] = set()
    while stack:
        key = stack.pop()
        if key in seen:
            continue
        seen.add(key)
        org = orgs.get(key)
        if org is not None and org.members:
            stack.extend(reversed(org.members))
        else:
            out.append(key)
    return out


def occurrence_org_keys(*, session: Session, occurrence_id: int, role: str | None = None) -> set[str]:
    """Return the hosts and co-organizers (or only `role`) of an occurrence's event, groups expanded to members."""
    occ = session.get(Occurrence, occurrence_id)
    if occ is None:
        return set()
    keys = list(session.exec(select(Organization.key).join(
        EventOrganization, col(EventOrganization.organization_id) == col(Organization.id))
        .where(EventOrganization.event_id == occ.event_id, *([EventOrganization.role == role] if role else [])))
        .all())
    orgs = {o.key: o for o in session.exec(select(Organization))}
    return set(keys) | set(expand_members(keys, orgs))
