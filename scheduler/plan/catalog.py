"""Read the stored plan: events with their hosts, co-organizers and occurrences; group expansion."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from scheduler.plan.models import Event, EventOrganization, Occurrence, Organization, Plan, Role


@dataclass
class EventView:
    """One event with its organizations (in plan order) and its occurrences."""

    event: Event
    hosts: list[Organization] = field(default_factory=list)
    co_organizers: list[Organization] = field(default_factory=list)
    occurrences: list[Occurrence] = field(default_factory=list)

    @property
    def organization_keys(self) -> set[str]:
        return {o.key for o in self.hosts + self.co_organizers}


def get_plan(*, session: Session, key: str | None = None) -> Plan | None:
    """Return the plan with `key`, or the newest plan when no key is given."""
    query = select(Plan)
    query = query.where(Plan.key == key) if key else query.order_by(col(Plan.year).desc(), col(Plan.id).desc())
    return session.exec(query).first()


def get_organizations(*, session: Session) -> dict[str, Organization]:
    """Return every organization by key."""
    return {o.key: o for o in session.exec(select(Organization))}


def list_event_views(*, session: Session, plan: Plan, include_withdrawn: bool = False) -> list[EventView]:
    """Return the plan's events in 序号 order with organizations and occurrences (three queries in all)."""
    query = select(Event).where(Event.plan_id == plan.id).order_by(col(Event.seq))
    if not include_withdrawn:
        query = query.where(col(Event.withdrawn).is_(False))
    views = {e.id: EventView(e) for e in session.exec(query)}
    orgs_by_id = {o.id: o for o in session.exec(select(Organization))}
    links = session.exec(
        select(EventOrganization)
        .where(col(EventOrganization.event_id).in_(list(views)))
        .order_by(col(EventOrganization.position))
    )
    for link in links:
        view = views[link.event_id]
        (view.hosts if link.role == Role.HOST else view.co_organizers).append(orgs_by_id[link.organization_id])
    occ_query = select(Occurrence).where(Occurrence.plan_id == plan.id).order_by(col(Occurrence.position))
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
