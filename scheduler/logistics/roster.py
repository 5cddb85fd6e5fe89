"""The roster of one participation: per-unit counts and who still owes a list, the host's confirm/trim decisions
(audited), and the retention purge that empties personal fields while keeping every count."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from sqlmodel import Session, select

from scheduler.audit import ActorKind, audit
from scheduler.clock import at_local
from scheduler.logistics.models import (
    DelegationUnit,
    Guest,
    NominationRevision,
    Nominee,
    NomineeStatus,
    Participation,
)
from scheduler.logistics.participation import event_days, list_nominees, list_units
from scheduler.plan.models import Occurrence

PURGED_NAME = "（已清除）"
PERSONAL_FIELDS = ("title", "mobile", "email", "depart_on", "return_on", "transport", "train_no", "checkin_on",
                   "checkout_on", "room", "diet")


@dataclass
class UnitRow:
    """One asked unit's line on the roster."""

    unit: DelegationUnit
    people: list[Nominee] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def owes(self) -> bool:
        """Tell whether the unit has not sent a list yet."""
        return self.unit.revisions == 0

    @property
    def listed(self) -> int:
        """Return how many people the unit has on its list, declined ones excluded."""
        return self.counts[NomineeStatus.NOMINATED] + self.counts[NomineeStatus.CONFIRMED]

    @property
    def over(self) -> int:
        """Return by how many people the unit's list exceeds its capacity (0 when within it)."""
        return max(self.listed - self.unit.capacity, 0) if self.unit.capacity is not None else 0


@dataclass
class Roster:
    """Every unit's row plus totals."""

    participation: Participation
    rows: list[UnitRow]

    def total(self, status: str) -> int:
        """Return how many people have `status` across all units."""
        return sum(r.counts[status] for r in self.rows)

    @property
    def owing(self) -> list[str]:
        """Return the names of the units that still owe a list."""
        return [r.unit.org_name for r in self.rows if r.owes]


def build_roster(*, session: Session, participation: Participation) -> Roster:
    """Return the roster as stored now."""
    pid = participation.id or 0
    rows = {u.id: UnitRow(unit=u) for u in list_units(session=session, participation_id=pid)}
    for person in list_nominees(session=session, participation_id=pid):
        row = rows.get(person.unit_id)
        if row is not None:
            row.people.append(person)
            row.counts[person.status] += 1
    return Roster(participation=participation, rows=list(rows.values()))


class RosterRefused(ValueError):
    """A roster decision that cannot apply (unknown person, missing reason)."""


def decide(*, session: Session, participation: Participation, person_id: int, decision: str, reason: str,
           actor: str, now: datetime, ip: str | None = None, user_agent: str | None = None) -> Nominee:
    """Confirm a person, or decline (trim) them with a reason; audited (the caller commits)."""
    person = session.get(Nominee, person_id)
    if person is None or person.participation_id != participation.id:
        raise RosterRefused("找不到该人员（可能已被报名单位删除），请刷新名单")
    if decision not in (NomineeStatus.CONFIRMED, NomineeStatus.DECLINED, NomineeStatus.NOMINATED):
        raise RosterRefused("未知的操作")
    reason = reason.strip()[:200]
    if decision == NomineeStatus.DECLINED and not reason:
        raise RosterRefused("未采纳须填写原因（如：超出名额）")
    before = {"status": person.status, "status_reason": person.status_reason}
    person.status, person.status_reason, person.updated_at = decision, reason or None, now
    session.add(person)
    audit(session=session, at=now, actor=actor, actor_kind=ActorKind.ADMIN, action=f"roster.{decision}",
          entity="nominee", entity_id=person.id, before=before,
          after={"status": decision, "status_reason": reason or None}, ip=ip, user_agent=user_agent)
    return person


def confirm_unit(*, session: Session, participation: Participation, unit_id: int, actor: str, now: datetime,
                 ip: str | None = None, user_agent: str | None = None) -> int:
    """Confirm everyone a unit nominated, up to its capacity (the rest stay nominated); return how many."""
    unit = session.get(DelegationUnit, unit_id)
    if unit is None or unit.participation_id != participation.id:
        raise RosterRefused("找不到该单位")
    people = list_nominees(session=session, participation_id=participation.id or 0, unit_id=unit_id)
    taken = sum(1 for p in people if p.status == NomineeStatus.CONFIRMED)
    done = 0
    for person in people:
        if person.status != NomineeStatus.NOMINATED:
            continue
        if unit.capacity is not None and taken >= unit.capacity:
            break
        decide(session=session, participation=participation, person_id=person.id or 0,
               decision=NomineeStatus.CONFIRMED, reason="", actor=actor, now=now, ip=ip, user_agent=user_agent)
        taken += 1
        done += 1
    return done


def purge_due(*, session: Session, now: datetime, retention_days: int) -> list[int]:
    """Empty personal fields of every roster whose event ended `retention_days` ago; return the participation ids.

    Names, contact data, travel and lodging go, and so does each revision's copy of them; units, roles and
    statuses stay, so every count of the reports and the roster is unchanged.
    """
    purged: list[int] = []
    for participation in session.exec(select(Participation).where(Participation.purged_at.is_(None))).all():  # type: ignore[union-attr]
        occurrence = session.get(Occurrence, participation.occurrence_id)
        if occurrence is None:
            continue
        _start, end = event_days(occurrence)
        if now < at_local(end + timedelta(days=retention_days + 1), time(0)):
            continue
        pid = participation.id or 0
        people = list_nominees(session=session, participation_id=pid)
        for person in people:
            person.name = PURGED_NAME
            for key in PERSONAL_FIELDS:
                setattr(person, key, None)
            person.title = ""
            person.updated_at = now
            session.add(person)
        for unit in list_units(session=session, participation_id=pid):
            unit.purged_count = sum(1 for p in people if p.unit_id == unit.id)
            session.add(unit)
            for revision in session.exec(select(NominationRevision).where(NominationRevision.unit_id == unit.id)):
                revision.data = {"purged": True, "people": len(revision.data.get("people", []))}
                session.add(revision)
        for guest in session.exec(select(Guest).where(Guest.participation_id == pid)):
            guest.name, guest.org, guest.email, guest.arrival, guest.updated_at = PURGED_NAME, "", None, None, now
            guest.link_revoked_at = guest.link_revoked_at or now
            session.add(guest)
        participation.purged_at = now
        session.add(participation)
        audit(session=session, at=now, actor="system", actor_kind=ActorKind.SYSTEM, action="participation.purge",
              entity="participation", entity_id=pid, after={"people": len(people), "retention_days": retention_days})
        purged.append(pid)
    return purged
