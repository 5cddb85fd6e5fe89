"""Open participation on an occurrence, sign and verify each asked unit's nomination link, and record nominations
(one write transaction each: checked against the stored lists, applied, kept as a numbered revision, audited)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session, col, select

from scheduler.audit import ActorKind, audit
from scheduler.clock import SHANGHAI, at_local, local_date
from scheduler.contacts import contacts_by_org
from scheduler.logistics.models import (
    COLLECT_LABELS,
    ROLE_LABELS,
    DelegationUnit,
    NominationRevision,
    Nominee,
    NomineeRole,
    NomineeStatus,
    Participation,
)
from scheduler.logistics.nomform import MAX_PEOPLE, NominationRules, ParsedList, parse_nomination
from scheduler.logistics.tokens import NonceSigner
from scheduler.plan.catalog import get_organizations, occurrence_org_keys
from scheduler.plan.models import Event, Occurrence, OrgKind, Role

LINK_PREFIX = "nomination"
LINK_DAYS_AFTER_EVENT = 30  # the link keeps showing the list (read-only after the deadline) this long
MAX_CAPACITY = 10_000


class NominationSigner(NonceSigner[DelegationUnit]):
    """Sign and verify nomination tokens `nomination.<signed nonce>` (a delegation unit's form)."""

    def __init__(self, keys: list[str]) -> None:
        super().__init__(keys, prefix=LINK_PREFIX, model=DelegationUnit)


class OpenRefused(ValueError):
    """The open-participation form has errors (by field name)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("participation refused")
        self.errors = errors


def event_days(occurrence: Occurrence) -> tuple[date, date]:
    """Return the first and last Shanghai day of an occurrence (its fixed time, else its window)."""
    if occurrence.start_at is not None:
        start = local_date(occurrence.start_at)
        return start, local_date(occurrence.end_at) if occurrence.end_at is not None else start
    return occurrence.window_start, occurrence.window_end


def get_participation(*, session: Session, occurrence_id: int) -> Participation | None:
    """Return the participation opened on an occurrence, if any."""
    return session.exec(select(Participation).where(Participation.occurrence_id == occurrence_id)).first()


def list_units(*, session: Session, participation_id: int) -> list[DelegationUnit]:
    """Return the asked units of a participation in the order they were asked."""
    return list(session.exec(select(DelegationUnit).where(DelegationUnit.participation_id == participation_id)
                             .order_by(col(DelegationUnit.id))).all())


def list_nominees(*, session: Session, participation_id: int, unit_id: int | None = None) -> list[Nominee]:
    """Return the people on a participation's lists (one unit's when given), by unit and position."""
    query = select(Nominee).where(Nominee.participation_id == participation_id)
    if unit_id is not None:
        query = query.where(Nominee.unit_id == unit_id)
    return list(session.exec(query.order_by(col(Nominee.unit_id), col(Nominee.position), col(Nominee.id))).all())


@dataclass(frozen=True)
class OpenForm:
    """The open-participation form, as typed."""

    units: list[str]  # organization keys asked
    capacities: Mapping[str, str]  # org key → per-unit capacity text ('' = none)
    total_capacity: str
    deadline: str  # YYYY-MM-DD (Shanghai)
    deadline_time: str  # HH:MM, default 17:00
    collect: list[str]
    note: str


def _positive(text: str, field: str, label: str, errors: dict[str, str]) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_CAPACITY:
        errors[field] = f"{label}“{text[:20]}”应为 1 至 {MAX_CAPACITY} 的整数（不限则留空）"
        return None
    return int(text)


def open_participation(*, session: Session, occurrence: Occurrence, form: OpenForm, actor: str, now: datetime,
                       ip: str | None = None, user_agent: str | None = None) -> Participation:
    """Open participation on an occurrence: ask units with capacities and a deadline (OpenRefused on bad input)."""
    assert occurrence.id is not None
    errors: dict[str, str] = {}
    if get_participation(session=session, occurrence_id=occurrence.id) is not None:
        errors["form"] = "该场次已开启报名"
    orgs = get_organizations(session=session)
    contacts = contacts_by_org(session=session)
    keys = list(dict.fromkeys(k for k in form.units if k))
    for key in keys:
        if key not in orgs or orgs[key].withdrawn:
            errors["units"] = f"单位“{key[:40]}”不在单位名录中"
        elif not contacts.get(key):
            errors[f"cap-{key}"] = f"{orgs[key].short_name}没有联系人，无法发送报名链接：请先在“联系人”页面添加"
    caps = {k: _positive(form.capacities.get(k, ""), f"cap-{k}", "名额", errors) for k in keys}
    total = _positive(form.total_capacity, "total_capacity", "总名额", errors)
    deadline_at: datetime | None = None
    try:
        day = date.fromisoformat(form.deadline.strip())
        clock = time.fromisoformat(form.deadline_time.strip() or "17:00")
        deadline_at = at_local(day, clock)
    except ValueError:
        errors["deadline"] = f"报名截止时间“{form.deadline[:20]} {form.deadline_time[:8]}”无效（如 2023-04-20 17:00）"
    if deadline_at is not None and deadline_at <= now:
        errors["deadline"] = f"报名截止时间 {deadline_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M} 已过，请选择今后的时间"
    bad = [c for c in form.collect if c not in COLLECT_LABELS]
    if bad:
        errors["collect"] = f"未知的收集项：{'、'.join(b[:20] for b in bad)}"
    if len(form.note) > 1000:
        errors["note"] = f"说明过长（最多 1000 字，现有 {len(form.note)} 字）"
    if errors:
        raise OpenRefused(errors)
    assert deadline_at is not None
    _first, last = event_days(occurrence)
    participation = Participation(occurrence_id=occurrence.id, total_capacity=total, deadline_at=deadline_at,
                                  collect=list(dict.fromkeys(form.collect)), note=form.note.strip() or None,
                                  opened_by=actor, created_at=now, updated_at=now)
    session.add(participation)
    session.flush()
    assert participation.id is not None
    expires = max(at_local(last + timedelta(days=LINK_DAYS_AFTER_EVENT), time(0)), deadline_at + timedelta(days=30))
    for key in keys:
        contact = contacts[key][0]
        session.add(DelegationUnit(participation_id=participation.id, organization_key=key,
                                   org_name=orgs[key].short_name, capacity=caps[key], contact_name=contact.name,
                                   contact_email=contact.email, link_nonce=secrets.token_urlsafe(12),
                                   link_expires_at=expires, created_at=now))
    session.flush()
    audit(session=session, at=now, actor=actor, actor_kind=ActorKind.ADMIN, action="participation.open",
          entity="participation", entity_id=participation.id, ip=ip, user_agent=user_agent,
          after={"occurrence_id": occurrence.id, "units": {k: caps[k] for k in keys}, "total_capacity": total,
                 "deadline_at": deadline_at, "collect": participation.collect})
    return participation


def nomination_rules(*, session: Session, unit: DelegationUnit) -> NominationRules:
    """Return what this unit's list is checked against, read from the stored lists of every other unit."""
    participation = session.get(Participation, unit.participation_id)
    assert participation is not None
    occurrence = session.get(Occurrence, participation.occurrence_id)
    assert occurrence is not None
    start, end = event_days(occurrence)
    units = {u.id: u for u in list_units(session=session, participation_id=participation.id or 0)}
    # Columns, not objects: with thousands of people on one occurrence this runs on every POST.
    rows = session.exec(select(Nominee.id, Nominee.unit_id, Nominee.mobile, Nominee.status)
                        .where(Nominee.participation_id == participation.id)).all()
    others = [(unit_id, mobile) for _id, unit_id, mobile, status in rows
              if unit_id != unit.id and status != NomineeStatus.DECLINED]
    return NominationRules(
        unit_name=unit.org_name, event_start=start, event_end=end, capacity=unit.capacity,
        total_capacity=participation.total_capacity, others_count=len(others),
        other_mobiles={mobile: units[unit_id].org_name for unit_id, mobile in others if mobile},
        collect=frozenset(participation.collect), deadline_at=participation.deadline_at,
        known_ids=frozenset(pid for pid, unit_id, _m, _s in rows if unit_id == unit.id and pid is not None))


PERSON_COLUMNS = ("name", "org", "title", "role", "mobile", "email", "depart_on", "return_on", "transport",
                  "train_no", "checkin_on", "checkout_on", "room", "diet")


@dataclass(frozen=True)
class NominationResult:
    """What recording a nomination came to: the revision number, or the errors (nothing stored)."""

    number: int | None
    errors: dict[str, str]
    people: int = 0


def record_nomination(*, session: Session, unit: DelegationUnit, form: Mapping[str, str], now: datetime,
                      actor: str, ip: str | None = None, user_agent: str | None = None) -> NominationResult:
    """Check a unit's posted list against the stored lists and, if clean, make it the unit's list (the caller commits).

    The participation row is locked first (FOR UPDATE on PostgreSQL; SQLite writes are serialised already), so two
    units posting at once cannot both take the last places or the same mobile number.
    """
    session.exec(select(Participation).where(Participation.id == unit.participation_id).with_for_update()).one()
    parsed: ParsedList = parse_nomination(form, nomination_rules(session=session, unit=unit), now=now)
    if not parsed.ok:
        return NominationResult(number=None, errors=parsed.errors)
    stored = {n.id: n for n in list_nominees(session=session, participation_id=unit.participation_id,
                                             unit_id=unit.id)}
    before = {"people": len(stored), "ids": sorted(i for i in stored if i is not None)}
    kept: set[int] = set()
    for position, row in enumerate(parsed.people[:MAX_PEOPLE]):
        values = {k: row[k] for k in PERSON_COLUMNS}
        person = stored.get(row["id"]) if row["id"] is not None else None
        if person is None:
            person = Nominee(unit_id=unit.id or 0, participation_id=unit.participation_id, position=position,
                             created_at=now, updated_at=now, **values)
        else:
            kept.add(row["id"])
            if any(getattr(person, k) != v for k, v in values.items()) or person.position != position:
                for k, v in values.items():
                    setattr(person, k, v)
                person.position, person.updated_at = position, now
        session.add(person)
    for pid, person in stored.items():
        if pid not in kept:
            session.delete(person)
    unit.revisions += 1
    unit.submitted_at = now
    session.add(unit)
    session.add(NominationRevision(unit_id=unit.id or 0, number=unit.revisions, data={"people": _jsonable(parsed)},
                                   actor=actor, ip=ip, user_agent=(user_agent or "")[:400] or None, created_at=now))
    session.flush()
    after_ids = sorted(n.id for n in list_nominees(session=session, participation_id=unit.participation_id,
                                                   unit_id=unit.id) if n.id is not None)
    # No personal fields in the audit log: it outlives the retention period.
    audit(session=session, at=now, actor=actor, actor_kind=ActorKind.LINK, action="nomination.submit",
          entity="delegation_unit", entity_id=unit.id, ip=ip, user_agent=user_agent, before=before,
          after={"people": len(parsed.people), "ids": after_ids, "revision": unit.revisions,
                 "roles": [r["role"] for r in parsed.people]})
    return NominationResult(number=unit.revisions, errors={}, people=len(parsed.people))


def _jsonable(parsed: ParsedList) -> list[dict[str, Any]]:
    return [{k: (v.isoformat() if isinstance(v, date) else v) for k, v in row.items() if k != "index"}
            for row in parsed.people]


def person_values(people: list[Nominee]) -> dict[str, str]:
    """Return a unit's stored list as form fields (p0-name, …) to pre-fill the nomination form."""
    values: dict[str, str] = {}
    for i, n in enumerate(people):
        for key in PERSON_COLUMNS:
            v = getattr(n, key)
            if key == "role" and v:
                v = ROLE_LABELS.get(NomineeRole(v), v)
            values[f"p{i}-{key}"] = v.isoformat() if isinstance(v, date) else ("" if v is None else str(v))
        values[f"p{i}-id"] = str(n.id)
    return values


def occurrence_and_event(*, session: Session, occurrence_id: int) -> tuple[Occurrence, Event] | None:
    """Return an occurrence and its event (the admin pages' subject), or None."""
    occurrence = session.get(Occurrence, occurrence_id)
    event = session.get(Event, occurrence.event_id) if occurrence is not None else None
    return (occurrence, event) if occurrence is not None and event is not None else None


def askable_units(*, session: Session, occurrence: Occurrence) -> tuple[list[tuple[str, str, bool]], set[str]]:
    """Return (key, name, has a contact) for every unit that may be asked, and the keys to tick by default.

    The defaults are the event's co-organizers with groups expanded (各县（市、区） → its seven members).
    """
    orgs = get_organizations(session=session)
    contacts = contacts_by_org(session=session)
    units = [(o.key, o.short_name, bool(contacts.get(o.key))) for o in sorted(orgs.values(), key=lambda o: o.id or 0)
             if not o.withdrawn and not o.members and o.kind != OrgKind.EXTERNAL]
    defaults = occurrence_org_keys(session=session, occurrence_id=occurrence.id or 0, role=Role.CO_ORGANIZER)
    return units, {k for k in defaults if k in orgs and not orgs[k].members}
