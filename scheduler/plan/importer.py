"""Import a validated seed: idempotent upsert by natural key, withdraw what the file no longer has."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from scheduler.db import advisory_lock
from scheduler.plan.models import (
    MATERIAL_OCCURRENCE_FIELDS,
    Event,
    EventOrganization,
    Occurrence,
    OccurrenceStatus,
    Organization,
    Plan,
    Role,
)
from scheduler.plan.seed import EventIn, OrganizationIn, PlanFile, SessionIn

IMPORT_LOCK_ID = 0x6B6A7A73  # "kjzs": serializes concurrent imports on PostgreSQL


@dataclass
class ImportReport:
    """What an import changed, counted per table and kind of change."""

    counts: Counter[str] = field(default_factory=Counter)
    sequence_bumps: list[str] = field(default_factory=list)

    def add(self, table: str, change: str) -> None:
        self.counts[f"{table}.{change}"] += 1

    @property
    def changes(self) -> int:
        return sum(n for key, n in self.counts.items() if not key.endswith(".unchanged"))

    def as_dict(self) -> dict[str, Any]:
        return {
            "changes": self.changes,
            "counts": dict(sorted(self.counts.items())),
            "sequence_bumps": self.sequence_bumps,
        }


def occurrence_uid(plan_key: str, session_key: str) -> str:
    """Return the feed UID of an occurrence: derived from natural keys only, stable forever."""
    return f"{plan_key}-{session_key}@kjzs-scheduler"


def _apply(row: Any, values: dict[str, Any]) -> list[str]:
    """Set changed attributes on a row and return the names that changed."""
    changed = []
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed.append(name)
    return changed


def _upsert(
    session: Session, existing: Any, model: Any, values: dict[str, Any], now: datetime, report: ImportReport
) -> Any:
    table = model.__tablename__
    if existing is None:
        row = model(**values, created_at=now, updated_at=now)
        session.add(row)
        report.add(table, "created")
        return row
    if _apply(existing, values):
        existing.updated_at = now
        report.add(table, "updated")
    else:
        report.add(table, "unchanged")
    return existing


def import_plan(*, session: Session, doc: PlanFile, now: datetime) -> ImportReport:
    """Upsert the plan, organizations, events and occurrences of `doc`; never delete, only withdraw."""
    advisory_lock(session, IMPORT_LOCK_ID)
    report = ImportReport()
    header = doc.plan
    plan = session.exec(select(Plan).where(Plan.key == header.id)).first()
    plan = _upsert(
        session,
        plan,
        Plan,
        {
            "key": header.id,
            "year": header.year,
            "title": header.title,
            "source": header.source,
            "published": header.published,
            "timezone": header.timezone,
            "themes": dict(header.themes),
        },
        now,
        report,
    )
    session.flush()
    orgs = _import_organizations(session, doc.organizations, now, report)
    events = {e.seq: e for e in session.exec(select(Event).where(Event.plan_id == plan.id))}
    occurrences = {o.key: o for o in session.exec(select(Occurrence).where(Occurrence.plan_id == plan.id))}
    seen_seqs, seen_keys = set(), set()
    for ev_in in doc.events:
        old_title = events[ev_in.seq].title if ev_in.seq in events else ev_in.title
        event = _import_event(session, plan, ev_in, events.get(ev_in.seq), orgs, now, report)
        seen_seqs.add(ev_in.seq)
        # Calendar entries show the activity's name too, so renaming it is a material change of each session.
        renamed = old_title != ev_in.title
        for position, sess_in in enumerate(ev_in.sessions):
            occ = occurrences.get(sess_in.key)
            _import_occurrence(session, plan, event, sess_in, position, occ, now, report, renamed=renamed)
            seen_keys.add(sess_in.key)
    for seq, event in events.items():
        if seq not in seen_seqs and not event.withdrawn:
            event.withdrawn, event.updated_at = True, now
            report.add("event", "withdrawn")
    for key, occ in occurrences.items():
        if key not in seen_keys and not occ.withdrawn:
            occ.withdrawn, occ.updated_at = True, now
            occ.sequence += 1
            report.add("occurrence", "withdrawn")
            report.sequence_bumps.append(key)
    session.flush()
    return report


def _import_organizations(
    session: Session, orgs_in: list[OrganizationIn], now: datetime, report: ImportReport
) -> dict[str, Organization]:
    existing = {o.key: o for o in session.exec(select(Organization))}
    for org_in in orgs_in:
        values = {
            "key": org_in.id,
            "name": org_in.name,
            "short_name": org_in.short_name,
            "aliases": list(org_in.aliases),
            "kind": str(org_in.kind),
            "duties": org_in.duties,
            "members": list(org_in.members),
            "parent": org_in.parent,
            "withdrawn": False,
        }
        existing[org_in.id] = _upsert(session, existing.get(org_in.id), Organization, values, now, report)
    listed = {o.id for o in orgs_in}
    for key, org in existing.items():
        if key not in listed and not org.withdrawn:
            org.withdrawn, org.updated_at = True, now
            report.add("organization", "withdrawn")
    session.flush()
    return existing


def _import_event(
    session: Session,
    plan: Plan,
    ev_in: EventIn,
    event: Event | None,
    orgs: dict[str, Organization],
    now: datetime,
    report: ImportReport,
) -> Event:
    values = {
        "plan_id": plan.id,
        "seq": ev_in.seq,
        "quarter": ev_in.quarter,
        "type": str(ev_in.type),
        "theme": ev_in.theme,
        "title": ev_in.title,
        "content": ev_in.content,
        "locations": list(ev_in.locations),
        "date_text": ev_in.date_text,
        "chains": list(ev_in.chains),
        "series": ev_in.series,
        "withdrawn": False,
    }
    event = _upsert(session, event, Event, values, now, report)
    session.flush()
    wanted: list[tuple[Any, str, int]] = [(orgs[k].id, str(Role.HOST), i) for i, k in enumerate(ev_in.hosts)]
    wanted += [(orgs[k].id, str(Role.CO_ORGANIZER), i) for i, k in enumerate(ev_in.co_organizers)]
    links = session.exec(select(EventOrganization).where(EventOrganization.event_id == event.id)).all()
    if sorted((link.organization_id, link.role, link.position) for link in links) != sorted(wanted):
        for link in links:
            session.delete(link)
        session.flush()
        event_id: int = event.id  # type: ignore[assignment]  # flushed above
        for org_id, role, position in wanted:
            session.add(EventOrganization(event_id=event_id, organization_id=org_id, role=role, position=position))
        if links:
            event.updated_at = now
            report.add("event_organization", "updated")
    return event


def _import_occurrence(
    session: Session,
    plan: Plan,
    event: Event,
    s: SessionIn,
    position: int,
    occ: Occurrence | None,
    now: datetime,
    report: ImportReport,
    *,
    renamed: bool = False,
) -> Occurrence:
    values: dict[str, Any] = {
        "plan_id": plan.id,
        "event_id": event.id,
        "key": s.key,
        "uid": occurrence_uid(plan.key, s.key),
        "position": position,
        "title": s.title,
        "location": s.location,
        "date_text": s.date_text,
        "window_start": s.start,
        "window_end": s.end,
        "precision": str(s.precision),
        "withdrawn": False,
    }
    # A time fixed later (定档 form) is kept unless the seed itself now states one.
    if s.start_at is not None:
        values["start_at"] = s.start_at
        values["end_at"] = s.end_at
    if occ is None:
        status = OccurrenceStatus.FIXED if s.start_at else OccurrenceStatus.PLANNED
        return _upsert(session, None, Occurrence, {**values, "status": str(status)}, now, report)
    if s.start_at is not None and occ.status == OccurrenceStatus.PLANNED:
        values["status"] = str(OccurrenceStatus.FIXED)
    before = {name: getattr(occ, name) for name in MATERIAL_OCCURRENCE_FIELDS}
    changed = _apply(occ, values)
    if renamed or any(getattr(occ, name) != before[name] for name in MATERIAL_OCCURRENCE_FIELDS):
        occ.sequence += 1
        report.sequence_bumps.append(s.key)
        changed.append("sequence")
    if changed:
        occ.updated_at = now
        report.add("occurrence", "updated")
    else:
        report.add("occurrence", "unchanged")
    return occ
