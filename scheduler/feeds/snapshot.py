"""The plan as light read-only records for feeds (Core queries, no ORM objects), and its cheap data version."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from scheduler.plan.models import Event, EventOrganization, Occurrence, Organization, Plan, Role

DataVersion = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class OrgRec:
    """An organization as feeds need it."""

    key: str
    name: str
    short_name: str
    kind: str
    aliases: tuple[str, ...]
    members: tuple[str, ...]
    parent: str | None


@dataclass(frozen=True, slots=True)
class EventRec:
    """A plan row (序号) with its organizations in plan order."""

    id: int
    seq: int
    quarter: int
    type: str
    theme: str | None
    title: str
    content: str
    chains: tuple[str, ...]
    withdrawn: bool
    updated_at: datetime
    hosts: tuple[str, ...] = ()
    co_organizers: tuple[str, ...] = ()
    session_count: int = 0


@dataclass(frozen=True, slots=True)
class OccRec:
    """One occurrence (session) as feeds need it."""

    id: int
    event_id: int
    key: str
    uid: str
    position: int
    title: str
    location: str
    date_text: str
    window_start: date
    window_end: date
    precision: str
    start_at: datetime | None
    end_at: datetime | None
    status: str
    status_reason: str | None
    sequence: int
    withdrawn: bool
    created_at: datetime
    updated_at: datetime


@dataclass
class PlanSnapshot:
    """Everything one plan's feeds are rendered from, read in five queries."""

    plan_id: int
    plan_key: str
    plan_year: int
    plan_title: str
    plan_updated_at: datetime
    themes: dict[str, str]
    orgs: dict[str, OrgRec]
    events: dict[int, EventRec]
    occurrences: list[OccRec]
    version: DataVersion = ()
    chains: tuple[str, ...] = field(default=())

    def occurrence_by_uid(self) -> dict[str, OccRec]:
        """Return the occurrences indexed by UID (built once per snapshot)."""
        index = self.__dict__.get("_by_uid")
        if index is None:
            index = self.__dict__["_by_uid"] = {o.uid: o for o in self.occurrences}
        return index


def data_version(*, session: Session) -> DataVersion:
    """Return a cheap fingerprint of all plan data: row counts, latest edit times, SEQUENCE sum, link count."""
    subqueries = []
    for model in (Plan, Organization, Event, Occurrence):
        table: Any = model.__table__  # type: ignore[union-attr]
        subqueries.append(select(func.count()).select_from(table).scalar_subquery())
        subqueries.append(select(func.max(table.c.updated_at)).scalar_subquery())
    occ = Occurrence.__table__  # type: ignore[attr-defined]
    subqueries.append(select(func.coalesce(func.sum(occ.c.sequence), 0)).scalar_subquery())
    links = EventOrganization.__table__  # type: ignore[attr-defined]
    subqueries.append(select(func.count()).select_from(links).scalar_subquery())
    return tuple(session.execute(select(*subqueries)).one())


_OCC_FIELDS = list(OccRec.__slots__)


def load_snapshot(*, session: Session, plan_key: str | None = None) -> PlanSnapshot | None:
    """Read the newest plan (or `plan_key`) with withdrawn rows too: feeds show them as cancelled."""
    version = data_version(session=session)
    plan_table = Plan.__table__  # type: ignore[attr-defined]
    query = select(plan_table)
    if plan_key:
        query = query.where(plan_table.c.key == plan_key)
    query = query.order_by(plan_table.c.year.desc(), plan_table.c.id.desc())
    plan = session.execute(query.limit(1)).first()
    if plan is None:
        return None
    orgs_by_id: dict[int, OrgRec] = {}
    for r in session.execute(select(Organization.__table__)).mappings():  # type: ignore[attr-defined]
        orgs_by_id[r["id"]] = OrgRec(
            r["key"], r["name"], r["short_name"], r["kind"], tuple(r["aliases"]), tuple(r["members"]), r["parent"]
        )
    events: dict[int, dict[str, Any]] = {}
    ev_table = Event.__table__  # type: ignore[attr-defined]
    for r in session.execute(select(ev_table).where(ev_table.c.plan_id == plan.id)).mappings():
        events[r["id"]] = {
            "id": r["id"],
            "seq": r["seq"],
            "quarter": r["quarter"],
            "type": r["type"],
            "theme": r["theme"],
            "title": r["title"],
            "content": r["content"],
            "chains": tuple(r["chains"]),
            "withdrawn": r["withdrawn"],
            "updated_at": r["updated_at"],
            "hosts": [],
            "co_organizers": [],
            "session_count": 0,
        }
    link_table = EventOrganization.__table__  # type: ignore[attr-defined]
    for link in session.execute(select(link_table).order_by(link_table.c.position)).mappings():
        ev = events.get(link["event_id"])
        if ev is not None:
            role = "hosts" if link["role"] == Role.HOST else "co_organizers"
            ev[role].append(orgs_by_id[link["organization_id"]].key)
    occ_table = Occurrence.__table__  # type: ignore[attr-defined]
    rows = session.execute(
        select(*[occ_table.c[name] for name in _OCC_FIELDS]).where(occ_table.c.plan_id == plan.id)
    ).all()
    occurrences = [OccRec(*row) for row in rows]
    for occ in occurrences:
        if not occ.withdrawn:
            events[occ.event_id]["session_count"] += 1
    event_recs = {
        i: EventRec(**{**e, "hosts": tuple(e["hosts"]), "co_organizers": tuple(e["co_organizers"])})
        for i, e in events.items()
    }
    occurrences.sort(key=lambda o: (event_recs[o.event_id].seq, o.position, o.key))
    chains = sorted({c for e in event_recs.values() if not e.withdrawn for c in e.chains})
    return PlanSnapshot(
        plan_id=plan.id,
        plan_key=plan.key,
        plan_year=plan.year,
        plan_title=plan.title,
        plan_updated_at=plan.updated_at,
        themes=dict(plan.themes),
        orgs={o.key: o for o in orgs_by_id.values()},
        events=event_recs,
        occurrences=occurrences,
        version=version,
        chains=tuple(chains),
    )


# Positions in DataVersion: plan, organization, event, occurrence (count, max updated_at); SEQUENCE sum; links.
_OCC_COUNT, _OCC_MAX, _SEQ_SUM = 6, 7, 8
_STRUCTURE = (0, 1, 2, 3, 4, 5, 6, 9)


def update_snapshot(*, session: Session, snap: PlanSnapshot) -> PlanSnapshot | None:
    """Return `snap` with the occurrences edited since its version swapped in (one small query).

    Returns None when more than occurrence fields changed (plan, organizations, events, links, rows added,
    withdrawn or reordered): the caller then reads the whole plan again.
    """
    version = data_version(session=session)
    if version == snap.version:
        return snap
    if any(version[i] != snap.version[i] for i in _STRUCTURE if i != _OCC_MAX):
        return None
    occ_table = Occurrence.__table__  # type: ignore[attr-defined]
    query = select(*[occ_table.c[name] for name in _OCC_FIELDS]).where(
        occ_table.c.plan_id == snap.plan_id, occ_table.c.updated_at >= snap.version[_OCC_MAX]
    )
    changed = {row.id: OccRec(*row) for row in session.execute(query)}
    occurrences = list(snap.occurrences)
    for i, old in enumerate(occurrences):
        new = changed.get(old.id)
        if new is not None:
            if (new.withdrawn, new.position, new.event_id) != (old.withdrawn, old.position, old.event_id):
                return None
            occurrences[i] = new
    if sum(o.sequence for o in occurrences) != version[_SEQ_SUM]:
        return None  # an edit we could not see by its time stamp: read everything
    return replace(snap, occurrences=occurrences, version=version)
