"""Every stored plan as light read-only records for feeds (Core queries, no ORM objects), and a cheap data version.

Feeds read all plans at once (a few hundred rows per plan): `/feeds/all.ics` shows the plans running on the day
it is rendered, `/feeds/plan/{key}.ics` any one plan. The data version is global, so it changes when any plan
changes; which plans are running is decided per day at render time (rendered feeds are cached per day).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import func, select
from sqlmodel import Session

from scheduler.plan.catalog import plan_runs_on, run_span
from scheduler.plan.models import Event, EventOrganization, Occurrence, Organization, Plan, Role, type_label
from scheduler.plan.vocabulary import DEFAULT_TYPES

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
class PlanRec:
    """A stored plan as feeds need it."""

    id: int
    key: str
    year: int
    title: str
    published: date
    updated_at: datetime
    themes: dict[str, str]
    types: dict[str, str] = field(default_factory=dict)  # activity type key → label (the plan's vocabulary)

    @property
    def run_span(self) -> tuple[date, date]:
        """Return the first and the last day the plan runs (plan.catalog.plan_runs_on; tests hold them equal)."""
        return run_span(self.year)

    def runs_on(self, today: date) -> bool:
        """Tell whether the plan runs on `today` (its events are in /feeds/all.ics)."""
        return plan_runs_on(cast(Plan, self), today)  # the catalog reads only fields a PlanRec has too

    def last_change_of_running(self, today: date) -> date | None:
        """Return the latest day up to `today` on which the plan started or stopped running, if any."""
        first, last = self.run_span
        days = [d for d in (first, last + timedelta(days=1)) if d <= today]
        return max(days) if days else None


@dataclass(frozen=True, slots=True)
class EventRec:
    """A plan row (序号) with its organizations in plan order."""

    id: int
    plan_id: int
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
    plan_key: str = ""


@dataclass(frozen=True, slots=True)
class OccRec:
    """One occurrence (session) as feeds need it."""

    id: int
    plan_id: int
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
    """Everything the feeds of all stored plans are rendered from, read in five queries.

    `plans` is ordered oldest year first; `occurrences` follow that order, then 序号, position and key, so a
    feed over several plans lists December 2026 before 2027.
    """

    plans: dict[int, PlanRec]
    orgs: dict[str, OrgRec]
    events: dict[int, EventRec]
    occurrences: list[OccRec]
    version: DataVersion = ()
    chains: tuple[str, ...] = field(default=())

    def plan_by_key(self, key: str) -> PlanRec | None:
        """Return the stored plan with `key`, if any."""
        return next((p for p in self.plans.values() if p.key == key), None)

    def types(self, plans: Iterable[PlanRec] | None = None) -> dict[str, str]:
        """Return the activity types of `plans` (default: every stored plan), newest plan's label winning."""
        merged: dict[str, str] = {}
        for plan in plans if plans is not None else self.plans.values():
            merged.update(plan.types)
        return merged

    def type_label(self, ev: EventRec) -> str:
        """Return an event's activity type label in its own plan's vocabulary."""
        plan = self.plans.get(ev.plan_id)
        return type_label(ev.type, plan.types if plan else None)

    def running(self, today: date) -> list[PlanRec]:
        """Return the plans running on `today`, oldest year first."""
        return [p for p in self.plans.values() if p.runs_on(today)]

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


def load_snapshot(*, session: Session) -> PlanSnapshot | None:
    """Read every stored plan with withdrawn rows too (feeds show them as cancelled); None when there is none."""
    version = data_version(session=session)
    plan_table = Plan.__table__  # type: ignore[attr-defined]
    plan_rows = session.execute(select(plan_table).order_by(plan_table.c.year, plan_table.c.id)).mappings().all()
    if not plan_rows:
        return None
    plans = {
        r["id"]: PlanRec(
            r["id"],
            r["key"],
            r["year"],
            r["title"],
            r["published"],
            r["updated_at"],
            dict(r["themes"]),
            dict(r["types"] or {}) or dict(DEFAULT_TYPES),
        )
        for r in plan_rows
    }
    orgs_by_id: dict[int, OrgRec] = {}
    for r in session.execute(select(Organization.__table__)).mappings():  # type: ignore[attr-defined]
        orgs_by_id[r["id"]] = OrgRec(
            r["key"], r["name"], r["short_name"], r["kind"], tuple(r["aliases"]), tuple(r["members"]), r["parent"]
        )
    events: dict[int, dict[str, Any]] = {}
    ev_table = Event.__table__  # type: ignore[attr-defined]
    for r in session.execute(select(ev_table)).mappings():
        events[r["id"]] = {
            "id": r["id"],
            "plan_id": r["plan_id"],
            "plan_key": plans[r["plan_id"]].key,
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
    rows = session.execute(select(*[occ_table.c[name] for name in _OCC_FIELDS])).all()
    occurrences = [OccRec(*row) for row in rows]
    for occ in occurrences:
        if not occ.withdrawn:
            events[occ.event_id]["session_count"] += 1
    event_recs = {
        i: EventRec(**{**e, "hosts": tuple(e["hosts"]), "co_organizers": tuple(e["co_organizers"])})
        for i, e in events.items()
    }
    plan_order = {plan_id: i for i, plan_id in enumerate(plans)}
    occurrences.sort(key=lambda o: (plan_order[o.plan_id], event_recs[o.event_id].seq, o.position, o.key))
    # A chain filter names any chain a plan lists (its vocabulary), or one a live row still carries.
    chains = sorted(
        {c for r in plan_rows for c in r["chains"] or ()}
        | {c for e in event_recs.values() if not e.withdrawn for c in e.chains}
    )
    return PlanSnapshot(
        plans=plans,
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

    Returns None when more than occurrence fields changed (plans, organizations, events, links, rows added,
    withdrawn or reordered): the caller then reads every plan again.
    """
    version = data_version(session=session)
    if version == snap.version:
        return snap
    if any(version[i] != snap.version[i] for i in _STRUCTURE if i != _OCC_MAX):
        return None
    occ_table = Occurrence.__table__  # type: ignore[attr-defined]
    query = select(*[occ_table.c[name] for name in _OCC_FIELDS]).where(occ_table.c.updated_at >= snap.version[_OCC_MAX])
    changed = {row.id: OccRec(*row) for row in session.execute(query)}
    occurrences = list(snap.occurrences)
    for i, old in enumerate(occurrences):
        new = changed.get(old.id)
        if new is not None:
            if (new.withdrawn, new.position, new.event_id, new.plan_id) != (
                old.withdrawn,
                old.position,
                old.event_id,
                old.plan_id,
            ):
                return None
            occurrences[i] = new
    if sum(o.sequence for o in occurrences) != version[_SEQ_SUM]:
        return None  # an edit we could not see by its time stamp: read everything
    return replace(snap, occurrences=occurrences, version=version)
