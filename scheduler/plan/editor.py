"""The office edits the plan in the product: add, edit and withdraw an activity (Event) and its sessions.

A form is checked first by the seed's own rules (plan.editform) and only then applied. Edits are record changes:
the per-field `imported` memory keeps what the last import wrote, so the next re-import keeps the office's value
and reports a conflict where the file changed the same field. Sessions change through plan.occurrences, so
SEQUENCE and updated_at move exactly as when a host fixes a date. Nothing is deleted. Every function returns
`Change`s for the caller's audit log (plan/ sits below audit) and flushes; the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from scheduler.plan.editform import (
    EVENT_FIELDS,
    EditInvalid,
    EventForm,
    SessionForm,
    check_event_form,
    event_sessions,
    get_event,
)
from scheduler.plan.importer import occurrence_uid
from scheduler.plan.models import (
    Event,
    EventOrganization,
    Occurrence,
    OccurrenceStatus,
    Organization,
    Plan,
    PlanOrganization,
    Role,
)
from scheduler.plan.occurrences import OccurrenceEditError, cancel_occurrence, fix_occurrence, move_occurrence
from scheduler.plan.occurrences import _apply as apply_values  # the one SEQUENCE rule every session edit follows
from scheduler.plan.seed import EventIn, SessionIn
from scheduler.plan.windows import DateTextError, normalize_date_text, parse_window

# Edited rows carry this memory when they were never in a file: the last file did not have them, so a re-import of
# that file leaves them alone instead of withdrawing them as rows the file dropped.
NOT_FROM_A_FILE = {"withdrawn": True}
# The form types and row readers come with the services.
__all__ = ["Change", "EditInvalid", "EventForm", "SessionForm", "event_sessions", "get_event"]


@dataclass(frozen=True)
class Change:
    """One stored change, for the audit log: action, table, row and the fields before and after."""

    action: str
    entity: str
    entity_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def _links(session: Session, event: Event) -> dict[str, list[Organization]]:
    rows = session.exec(select(EventOrganization, Organization).join(
        Organization, col(Organization.id) == col(EventOrganization.organization_id))
        .where(EventOrganization.event_id == event.id).order_by(col(EventOrganization.position))).all()
    return {"hosts": [o for link, o in rows if link.role == Role.HOST],
            "co_organizers": [o for link, o in rows if link.role == Role.CO_ORGANIZER]}


def event_form(*, session: Session, event: Event) -> EventForm:
    """Return the form of a stored row, units by short name, active sessions only."""
    links = _links(session, event)
    return EventForm(
        seq=str(event.seq), quarter=str(event.quarter), type=event.type, theme=event.theme or "", title=event.title,
        content=event.content, locations="、".join(event.locations), date_text=event.date_text,
        hosts="、".join(o.short_name for o in links["hosts"]),
        co_organizers="、".join(o.short_name for o in links["co_organizers"]), chains="、".join(event.chains),
        series=event.series or "",
        sessions=[SessionForm(o.key, o.title, o.location, o.date_text)
                  for o in event_sessions(session=session, event=event) if not o.withdrawn],
    )


def _event_state(session: Session, event: Event) -> dict[str, Any]:
    links = _links(session, event)
    return {"seq": event.seq, **{n: getattr(event, n) for n in EVENT_FIELDS}, "withdrawn": event.withdrawn,
            "hosts": [o.key for o in links["hosts"]], "co_organizers": [o.key for o in links["co_organizers"]]}


def _occ_state(occ: Occurrence) -> dict[str, Any]:
    return {n: getattr(occ, n) for n in ("key", "title", "location", "date_text", "window_start", "window_end",
                                         "precision", "start_at", "end_at", "status", "status_reason", "withdrawn",
                                         "sequence")}


# --- applying ---------------------------------------------------------------------------------------------------


def _write_links(session: Session, plan: Plan, event: Event, ev_in: EventIn) -> bool:
    """Make the row's hosts and co-organizers those of the form; add new units to the plan's participants."""
    orgs = {o.key: o for o in session.exec(select(Organization))}
    wanted = [(key, str(role), i) for role, keys in ((Role.HOST, ev_in.hosts), (Role.CO_ORGANIZER, ev_in.co_organizers))
              for i, key in enumerate(keys)]
    stored = list(session.exec(select(EventOrganization).where(EventOrganization.event_id == event.id)))
    by_id = {o.id: k for k, o in orgs.items()}
    if sorted((by_id[x.organization_id], x.role, x.position) for x in stored) == sorted(wanted):
        return False
    for link in stored:
        session.delete(link)
    session.flush()
    query = select(PlanOrganization.organization_id).where(PlanOrganization.plan_id == plan.id)
    participants = set(session.exec(query))
    for key, role, position in wanted:
        org_id: int = orgs[key].id  # type: ignore[assignment]
        session.add(EventOrganization(event_id=event.id, organization_id=org_id, role=role, position=position))  # type: ignore[arg-type]
        if org_id not in participants:
            session.add(PlanOrganization(plan_id=plan.id, organization_id=org_id))  # type: ignore[arg-type]
            participants.add(org_id)
    return True


def _new_occurrence(session: Session, plan: Plan, event: Event, s: SessionIn, position: int, now: datetime) -> Change:
    occ = Occurrence(plan_id=plan.id, event_id=event.id, key=s.key, uid=occurrence_uid(plan.key, s.key),  # type: ignore[arg-type]
                     position=position, title=s.title, location=s.location, date_text=s.date_text,
                     window_start=s.start, window_end=s.end, precision=str(s.precision),
                     status=str(OccurrenceStatus.PLANNED), imported=dict(NOT_FROM_A_FILE), created_at=now,
                     updated_at=now)
    session.add(occ)
    session.flush()
    return Change("plan.occurrence.create", "occurrence", occ.id, None, _occ_state(occ))


def _event_values(ev_in: EventIn) -> dict[str, Any]:
    return {"quarter": ev_in.quarter, "type": str(ev_in.type), "theme": ev_in.theme, "title": ev_in.title,
            "content": ev_in.content, "locations": list(ev_in.locations), "date_text": ev_in.date_text,
            "chains": list(ev_in.chains), "series": ev_in.series}


def create_event(*, session: Session, plan: Plan, form: EventForm, now: datetime) -> tuple[Event, list[Change]]:
    """Add an activity with its sessions (one derived from the row when none is typed)."""
    ev_in = check_event_form(session=session, plan=plan, form=form)
    event = Event(plan_id=plan.id, seq=ev_in.seq, **_event_values(ev_in), imported=dict(NOT_FROM_A_FILE),  # type: ignore[arg-type]
                  created_at=now, updated_at=now)
    session.add(event)
    session.flush()
    _write_links(session, plan, event, ev_in)
    session.flush()
    changes = [Change("plan.event.create", "event", event.id, None, _event_state(session, event))]
    changes += [_new_occurrence(session, plan, event, s, i, now) for i, s in enumerate(ev_in.sessions)]
    return event, changes


def update_event(*, session: Session, plan: Plan, event: Event, form: EventForm, now: datetime) -> list[Change]:
    """Save an edited activity and its session rows; a new name or a session's new place/date bumps SEQUENCE."""
    if event.withdrawn:
        raise EditInvalid({"form": f"序号 {event.seq} 已撤下，不能修改"})
    ev_in = check_event_form(session=session, plan=plan, form=form, event=event)
    before = _event_state(session, event)
    changed = False
    for name, value in _event_values(ev_in).items():
        if getattr(event, name) != value:
            setattr(event, name, value)
            changed = True
    changed = _write_links(session, plan, event, ev_in) or changed
    changes: list[Change] = []
    renamed = before["title"] != event.title
    stored = {o.key: o for o in event_sessions(session=session, event=event)}
    last = max((o.position for o in stored.values()), default=-1)
    for s in ev_in.sessions:
        occ = stored.get(s.key)
        if occ is None:
            last += 1
            changes.append(_new_occurrence(session, plan, event, s, last, now))
            continue
        occ_before = _occ_state(occ)
        values: dict[str, Any] = {"title": s.title, "location": s.location}
        if normalize_date_text(s.date_text) != normalize_date_text(occ.date_text):
            values |= {"date_text": s.date_text, "window_start": s.start, "window_end": s.end,
                       "precision": str(s.precision)}  # a 延期 window stays until the date text itself changes
        edited = apply_values(occ, values, now)
        if renamed and occ.sequence == occ_before["sequence"]:
            occ.sequence, occ.updated_at = occ.sequence + 1, now  # entries show the activity's name, as on import
            edited = True
        if edited:
            session.add(occ)
            changes.append(Change("plan.occurrence.update", "occurrence", occ.id, occ_before, _occ_state(occ)))
    if changed:
        event.updated_at = now
        session.add(event)
    session.flush()
    if changed:
        changes.insert(0, Change("plan.event.update", "event", event.id, before, _event_state(session, event)))
    return changes


def withdraw_event(*, session: Session, event: Event, now: datetime) -> list[Change]:
    """Withdraw an activity (never delete): the row and each live session, SEQUENCE + 1, so feeds show it cancelled."""
    if event.withdrawn:
        return []
    before = {"withdrawn": False}
    changes = []
    for occ in event_sessions(session=session, event=event):
        occ_before = _occ_state(occ)
        if apply_values(occ, {"withdrawn": True}, now):
            session.add(occ)
            changes.append(Change("plan.occurrence.withdraw", "occurrence", occ.id, occ_before, _occ_state(occ)))
    event.withdrawn, event.updated_at = True, now
    session.add(event)
    session.flush()
    return [Change("plan.event.withdraw", "event", event.id, before, {"withdrawn": True}), *changes]


def get_session_of(*, session: Session, event: Event, key: str) -> Occurrence | None:
    """Return the session `key` of an event."""
    return session.exec(select(Occurrence).where(Occurrence.event_id == event.id, Occurrence.key == key)).first()


def withdraw_session(*, session: Session, event: Event, occurrence: Occurrence, now: datetime) -> Change | None:
    """Remove one session from the plan (withdrawn, SEQUENCE + 1); the last live one stays (withdraw the activity)."""
    if occurrence.withdrawn:
        return None
    live = [o for o in event_sessions(session=session, event=event) if not o.withdrawn]
    if len(live) <= 1:
        raise EditInvalid({f"{occurrence.key}-withdraw": "至少需要一个场次：要取消整个活动，请撤下活动"})
    before = _occ_state(occurrence)
    apply_values(occurrence, {"withdrawn": True}, now)
    session.add(occurrence)
    session.flush()
    return Change("plan.occurrence.withdraw", "occurrence", occurrence.id, before, _occ_state(occurrence))


def _times(plan: Plan, day: str, start: str, end: str, field_prefix: str) -> tuple[datetime, datetime | None]:
    zone = ZoneInfo(plan.timezone)
    try:
        when = date.fromisoformat(day)
    except ValueError:
        raise EditInvalid({f"{field_prefix}-date": f"日期 {day!r} 不是 YYYY-MM-DD"}) from None
    try:
        start_at = datetime.combine(when, time.fromisoformat(start), zone)
    except ValueError:
        raise EditInvalid({f"{field_prefix}-start": f"开始时间 {start!r} 不是 HH:MM"}) from None
    if not end.strip():
        return start_at, None
    try:
        return start_at, datetime.combine(when, time.fromisoformat(end), zone)
    except ValueError:
        raise EditInvalid({f"{field_prefix}-end": f"结束时间 {end!r} 不是 HH:MM"}) from None


def fix_session(*, session: Session, plan: Plan, occurrence: Occurrence, day: str, start: str, end: str,
                place: str, now: datetime) -> Change:
    """Fix a session's date and time (定档) for its host, through the same service the host's form uses."""
    prefix = f"{occurrence.key}-fix"
    start_at, end_at = _times(plan, day, start, end, prefix)
    before = _occ_state(occurrence)
    try:
        fix_occurrence(session=session, occurrence=occurrence, start_at=start_at, end_at=end_at, now=now,
                       location=place.strip() or None)
    except OccurrenceEditError as exc:
        raise EditInvalid({f"{prefix}-date": str(exc)}) from None
    session.flush()
    return Change("plan.occurrence.fix", "occurrence", occurrence.id, before, _occ_state(occurrence))


def move_session(*, session: Session, plan: Plan, occurrence: Occurrence, date_text: str, reason: str,
                 now: datetime) -> Change:
    """Postpone (延期) a session to the window a date text names, as a host's 延期 does."""
    prefix = f"{occurrence.key}-move"
    try:
        w = parse_window(date_text, year=plan.year, published=plan.published)
    except DateTextError as exc:
        raise EditInvalid({f"{prefix}-date_text": str(exc)}) from None
    before = _occ_state(occurrence)
    try:
        move_occurrence(session=session, occurrence=occurrence, now=now, window_start=w.start, window_end=w.end,
                        reason=reason.strip() or None)
    except OccurrenceEditError as exc:
        raise EditInvalid({f"{prefix}-date_text": str(exc)}) from None
    session.flush()
    return Change("plan.occurrence.move", "occurrence", occurrence.id, before, _occ_state(occurrence))


def cancel_session(*, session: Session, occurrence: Occurrence, reason: str, now: datetime) -> Change:
    """Cancel (取消) a session with a reason, as a host's report of 取消 does."""
    before = _occ_state(occurrence)
    try:
        cancel_occurrence(session=session, occurrence=occurrence, reason=reason, now=now)
    except OccurrenceEditError as exc:
        raise EditInvalid({f"{occurrence.key}-cancel-reason": str(exc)}) from None
    session.flush()
    return Change("plan.occurrence.cancel", "occurrence", occurrence.id, before, _occ_state(occurrence))
