"""Import a validated seed as a merge: upsert by natural key, change a field only where the file changed it since the
last import, report conflicts with what hosts changed since, withdraw only untouched rows; units are never withdrawn."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from scheduler.clock import local_date
from scheduler.db import advisory_lock
from scheduler.plan.merge import Conflict, Merge, encode, merge_fields, untouched
from scheduler.plan.models import (
    MATERIAL_OCCURRENCE_FIELDS,
    Event,
    EventOrganization,
    Occurrence,
    OccurrenceStatus,
    Organization,
    Plan,
    PlanOrganization,
    Role,
)
from scheduler.plan.rows import occurrence_when
from scheduler.plan.seed import EventIn, OrganizationIn, PlanFile, SessionIn

IMPORT_LOCK_ID = 0x6B6A7A73  # "kjzs": serializes concurrent imports on PostgreSQL
WINDOW_FIELDS = ("date_text", "window_start", "window_end", "precision")
LINK_FIELDS = ("hosts", "co_organizers")
VOCABULARY_FIELDS = ("office", "chains", "bankuai", "types")  # header fields added after plans were first imported


@dataclass
class ImportReport:
    """What an import changed, counted per table and kind of change, and where it kept the record's value."""

    counts: Counter[str] = field(default_factory=Counter)
    sequence_bumps: list[str] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    participants: Counter[str] = field(default_factory=Counter)  # plan_organization rows added/removed

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
            "conflicts": [c.as_dict() for c in self.conflicts],
            "participants": dict(sorted(self.participants.items())),
        }


def occurrence_uid(plan_key: str, session_key: str) -> str:
    """Return the feed UID of an occurrence: derived from natural keys only, stable forever."""
    return f"{plan_key}-{session_key}@kjzs-scheduler"


def _create(session: Session, model: Any, values: dict[str, Any], now: datetime, report: ImportReport,
            imported: dict[str, Any]) -> Any:
    row = model(**values, imported=imported, created_at=now, updated_at=now)
    session.add(row)
    report.add(model.__tablename__, "created")
    return row


def _merge(row: Any, wanted: dict[str, Any], extra: dict[str, Any] | None = None) -> Merge:
    """Merge `wanted` into `row`; a row's `withdrawn` was only ever set by imports, so it is its own memory."""
    current = {name: getattr(row, name) for name in wanted if name not in (extra or {})} | (extra or {})
    memory = {"withdrawn": encode(row.withdrawn)} if hasattr(row, "withdrawn") else {}
    return merge_fields(wanted, current, memory | row.imported)


def _remember(row: Any, imported: dict[str, Any]) -> None:
    if row.imported != imported:
        row.imported = imported  # a new dict: JSON columns notice assignment, not mutation


def _set(row: Any, values: dict[str, Any]) -> list[str]:
    changed = []
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed.append(name)
    return changed


def _conflicts(report: ImportReport, merge: Merge, *, entity: str, key: str, entity_id: int | None,
               seq: int | None = None) -> None:
    for name, file_value, current in merge.conflicts:
        report.conflicts.append(Conflict(entity=entity, key=key, field=name, file_value=file_value,
                                         current_value=current, seq=seq, entity_id=entity_id))


def import_plan(*, session: Session, doc: PlanFile, now: datetime) -> ImportReport:
    """Merge the plan, organizations, events and occurrences of `doc` into the database; never delete."""
    advisory_lock(session, IMPORT_LOCK_ID)
    report = ImportReport()
    plan = _import_header(session, doc, now, report)
    orgs = _import_organizations(session, plan, doc.organizations, now, report)
    events = {e.seq: e for e in session.exec(select(Event).where(Event.plan_id == plan.id))}
    occurrences = {o.key: o for o in session.exec(select(Occurrence).where(Occurrence.plan_id == plan.id))}
    seen_seqs, seen_keys = set(), set()
    for ev_in in doc.events:
        event, renamed = _import_event(session, plan, ev_in, events.get(ev_in.seq), orgs, now, report)
        seen_seqs.add(ev_in.seq)
        for position, sess_in in enumerate(ev_in.sessions):
            occ = occurrences.get(sess_in.key)
            _import_occurrence(session, plan, event, sess_in, position, occ, now, report, renamed=renamed)
            seen_keys.add(sess_in.key)
    dropped = [o for k, o in occurrences.items() if k not in seen_keys]
    _withdraw_occurrences(dropped, events, now, report)
    _withdraw_events(session, [e for s, e in events.items() if s not in seen_seqs], occurrences, orgs, now, report)
    _sync_participants(session, plan, [orgs[o.id] for o in doc.organizations], report)
    session.flush()
    return report


def _import_header(session: Session, doc: PlanFile, now: datetime, report: ImportReport) -> Plan:
    header = doc.plan
    wanted = {"year": header.year, "title": header.title, "source": header.source, "published": header.published,
              "timezone": header.timezone, "themes": dict(header.themes), "office": header.office,
              "chains": list(header.chains), "bankuai": list(header.bankuai or []), "types": dict(header.types)}
    plan = session.exec(select(Plan).where(Plan.key == header.id)).first()
    if plan is None:
        plan = _create(session, Plan, {"key": header.id, **wanted}, now, report, encode(wanted))
    else:
        merge = _merge(plan, wanted)
        for name in VOCABULARY_FIELDS:
            if name not in plan.imported and encode(wanted[name]) != encode(getattr(plan, name)):
                merge.apply[name] = wanted[name]  # the upgrade's guess (0010_plan_vocabulary) yields to the file
        _conflicts(report, merge, entity="plan", key=plan.key, entity_id=plan.id)
        _remember(plan, merge.imported)
        if _set(plan, merge.apply):
            plan.updated_at = now
            report.add("plan", "updated")
        else:
            report.add("plan", "unchanged")
    session.flush()
    return plan


def _import_organizations(
    session: Session, plan: Plan, orgs_in: list[OrganizationIn], now: datetime, report: ImportReport
) -> dict[str, Organization]:
    """Merge the listed units into the shared directory; a unit the file omits stays as it is (other plans use it).

    Units are shared by plans, so their memory is kept per plan: re-importing one plan's unchanged file does not
    undo what another plan's file changed.
    """
    existing = {o.key: o for o in session.exec(select(Organization))}
    for org_in in orgs_in:
        wanted = {"name": org_in.name, "short_name": org_in.short_name, "aliases": list(org_in.aliases),
                  "kind": str(org_in.kind), "duties": org_in.duties, "members": list(org_in.members),
                  "parent": org_in.parent, "withdrawn": False}
        org = existing.get(org_in.id)
        if org is None:
            existing[org_in.id] = _create(session, Organization, {"key": org_in.id, **wanted}, now, report,
                                          {plan.key: encode(wanted)})
            continue
        current = {n: getattr(org, n) for n in wanted}
        if org.imported and plan.key not in org.imported:
            # Known from another plan's file, new to this one: where the two files disagree the directory stays.
            merge = Merge(imported=encode(wanted), conflicts=[
                (n, encode(v), encode(current[n])) for n, v in wanted.items() if encode(v) != encode(current[n])])
        else:
            merge = merge_fields(wanted, current, {"withdrawn": encode(org.withdrawn)} | org.imported.get(plan.key, {}))
        _conflicts(report, merge, entity="organization", key=org.key, entity_id=org.id)
        _remember(org, {**org.imported, plan.key: merge.imported})
        if _set(org, merge.apply):
            org.updated_at = now
            report.add("organization", "updated")
        else:
            report.add("organization", "unchanged")
    session.flush()
    return existing


def _link_keys(session: Session, event: Event, orgs: dict[str, Organization]) -> dict[str, list[str]]:
    keys = {o.id: k for k, o in orgs.items()}
    links = session.exec(select(EventOrganization).where(EventOrganization.event_id == event.id)
                         .order_by(col(EventOrganization.position))).all()
    return {"hosts": [keys[x.organization_id] for x in links if x.role == Role.HOST],
            "co_organizers": [keys[x.organization_id] for x in links if x.role == Role.CO_ORGANIZER]}


def _write_links(session: Session, event: Event, links: dict[str, list[str]], orgs: dict[str, Organization]) -> None:
    for link in session.exec(select(EventOrganization).where(EventOrganization.event_id == event.id)):
        session.delete(link)
    session.flush()
    event_id: int = event.id  # type: ignore[assignment]  # flushed by the caller
    for name, role in (("hosts", Role.HOST), ("co_organizers", Role.CO_ORGANIZER)):
        for position, key in enumerate(links[name]):
            org_id: int = orgs[key].id  # type: ignore[assignment]
            session.add(EventOrganization(event_id=event_id, organization_id=org_id, role=str(role), position=position))


def _import_event(
    session: Session, plan: Plan, ev_in: EventIn, event: Event | None, orgs: dict[str, Organization], now: datetime,
    report: ImportReport,
) -> tuple[Event, bool]:
    """Merge one row; return the event and whether its title changed (calendar entries show it)."""
    wanted: dict[str, Any] = {
        "quarter": ev_in.quarter, "type": str(ev_in.type), "theme": ev_in.theme, "title": ev_in.title,
        "content": ev_in.content, "locations": list(ev_in.locations), "date_text": ev_in.date_text,
        "chains": list(ev_in.chains), "series": ev_in.series, "withdrawn": False,
    }
    links = {"hosts": list(ev_in.hosts), "co_organizers": list(ev_in.co_organizers)}
    if event is None:
        values = {"plan_id": plan.id, "seq": ev_in.seq, **wanted}
        event = _create(session, Event, values, now, report, encode(wanted | links))
        session.flush()
        _write_links(session, event, links, orgs)
        return event, False
    merge = _merge(event, wanted | links, _link_keys(session, event, orgs))
    _conflicts(report, merge, entity="event", key=str(event.seq), entity_id=event.id, seq=event.seq)
    _remember(event, merge.imported)
    changed = _set(event, {k: v for k, v in merge.apply.items() if k not in LINK_FIELDS})
    if any(name in merge.apply for name in LINK_FIELDS):
        current = _link_keys(session, event, orgs)
        _write_links(session, event, {name: merge.apply.get(name, current[name]) for name in LINK_FIELDS}, orgs)
        report.add("event_organization", "updated")
        changed.append("links")
    if changed:
        event.updated_at = now
    report.add("event", "updated" if changed else "unchanged")
    return event, "title" in changed


def _window_guard(occ: Occurrence, s: SessionIn, merge: Merge, report: ImportReport, seq: int) -> None:
    """Keep the record's window when the file moves it away from a date a host fixed (the host's date stands)."""
    start_at = merge.apply.get("start_at", occ.start_at)
    if start_at is None or not any(name in merge.apply for name in WINDOW_FIELDS):
        return
    start = merge.apply.get("window_start", occ.window_start)
    end = merge.apply.get("window_end", occ.window_end)
    if start <= local_date(start_at) <= end:
        return
    for name in WINDOW_FIELDS:
        merge.apply.pop(name, None)
    report.conflicts.append(Conflict(
        entity="occurrence", key=occ.key, field="window", seq=seq, entity_id=occ.id,
        file_value=f"{s.date_text}（{s.start}–{s.end}）", current_value=f"已定于 {occurrence_when(occ)}"))


def _import_occurrence(
    session: Session, plan: Plan, event: Event, s: SessionIn, position: int, occ: Occurrence | None,
    now: datetime, report: ImportReport, *, renamed: bool = False,
) -> Occurrence:
    """Merge one session: the file's dates, place and stated time; a host's 定档, venue, 延期 or 取消 stay."""
    status = OccurrenceStatus.FIXED if s.start_at is not None else OccurrenceStatus.PLANNED
    wanted: dict[str, Any] = {
        "title": s.title, "location": s.location, "date_text": s.date_text, "window_start": s.start,
        "window_end": s.end, "precision": str(s.precision), "start_at": s.start_at, "end_at": s.end_at,
        "status": str(status), "status_reason": None, "withdrawn": False,
    }
    structural = {"plan_id": plan.id, "event_id": event.id, "key": s.key, "uid": occurrence_uid(plan.key, s.key),
                  "position": position}
    if occ is None:
        return _create(session, Occurrence, structural | wanted, now, report, encode(wanted))
    merge = _merge(occ, wanted)
    _window_guard(occ, s, merge, report, event.seq)
    _conflicts(report, merge, entity="occurrence", key=occ.key, entity_id=occ.id, seq=event.seq)
    _remember(occ, merge.imported)
    before = {name: getattr(occ, name) for name in MATERIAL_OCCURRENCE_FIELDS}
    changed = _set(occ, structural | merge.apply)
    if renamed or any(getattr(occ, name) != before[name] for name in MATERIAL_OCCURRENCE_FIELDS):
        occ.sequence += 1
        report.sequence_bumps.append(s.key)
        changed.append("sequence")
    if changed:
        occ.updated_at = now
    report.add("occurrence", "updated" if changed else "unchanged")
    return occ


def _untouched_occurrence(occ: Occurrence) -> bool:
    """Tell whether nothing happened to a session since it was imported (no 定档, 延期, 取消 or report)."""
    if occ.imported:
        return untouched({name: getattr(occ, name) for name in occ.imported if hasattr(occ, name)}, occ.imported)
    # Imported before the memory existed: only a plain planned session is surely untouched.
    return occ.status == OccurrenceStatus.PLANNED and occ.start_at is None and occ.status_reason is None


def _withdraw_occurrences(dropped: list[Occurrence], events: dict[int, Event], now: datetime,
                          report: ImportReport) -> None:
    seqs = {e.id: seq for seq, e in events.items()}
    for occ in dropped:
        if occ.withdrawn or occ.imported.get("withdrawn") is True:
            continue  # withdrawn already, or kept after a conflict an earlier import reported
        if _untouched_occurrence(occ):
            occ.withdrawn, occ.updated_at = True, now
            occ.sequence += 1
            report.add("occurrence", "withdrawn")
            report.sequence_bumps.append(occ.key)
        else:
            report.conflicts.append(Conflict(entity="occurrence", key=occ.key, field="withdrawn", file_value=True,
                                             current_value=occ.status, seq=seqs.get(occ.event_id),
                                             entity_id=occ.id))
        occ.imported = {**occ.imported, "withdrawn": True}


def _withdraw_events(session: Session, dropped: list[Event], occurrences: dict[str, Occurrence],
                     orgs: dict[str, Organization], now: datetime, report: ImportReport) -> None:
    """Withdraw rows the file dropped, unless one of their sessions was kept or the row was edited since."""
    kept = {o.event_id for o in occurrences.values() if not o.withdrawn}
    for event in dropped:
        if event.withdrawn or event.imported.get("withdrawn") is True:
            continue
        current = {name: getattr(event, name) for name in event.imported if hasattr(event, name)}
        current |= {name: keys for name, keys in _link_keys(session, event, orgs).items() if name in event.imported}
        if event.id in kept:
            pass  # the kept sessions are reported, each with what happened to it
        elif event.imported and not untouched(current, event.imported):
            report.conflicts.append(Conflict(entity="event", key=str(event.seq), field="withdrawn", file_value=True,
                                             current_value="edited", seq=event.seq, entity_id=event.id))
        else:
            event.withdrawn, event.updated_at = True, now
            report.add("event", "withdrawn")
        event.imported = {**event.imported, "withdrawn": True}


def _sync_participants(session: Session, plan: Plan, listed: list[Organization], report: ImportReport) -> None:
    """Make the plan's participants the units its file lists plus any its live rows still link to."""
    linked = session.exec(select(EventOrganization.organization_id).join(Event, col(Event.id) == col(
        EventOrganization.event_id)).where(Event.plan_id == plan.id, col(Event.withdrawn).is_(False))).all()
    wanted = {o.id for o in listed} | set(linked)
    stored = {p.organization_id: p for p in session.exec(select(PlanOrganization).where(
        PlanOrganization.plan_id == plan.id))}
    plan_id: int = plan.id  # type: ignore[assignment]  # flushed with the header
    for org_id in sorted(wanted - set(stored), key=lambda i: i or 0):
        session.add(PlanOrganization(plan_id=plan_id, organization_id=org_id))  # type: ignore[arg-type]
        report.participants["added"] += 1
    for org_id in set(stored) - wanted:
        session.delete(stored[org_id])
        report.participants["removed"] += 1
