"""Check-in on the day: find people by name, check them in by one tap or by a guest's code (a repeat is a no-op,
never a second count), and the counts the outcome form's 参会人数 and 参会企业数 are pre-filled from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from scheduler.audit import ActorKind, audit
from scheduler.clock import SHANGHAI
from scheduler.logistics.guests import CODE_ALPHABET, CODE_LENGTH, list_guests
from scheduler.logistics.models import Guest, GuestStatus, Nominee, NomineeRole, NomineeStatus, Participation
from scheduler.logistics.participation import get_participation, list_nominees

MAX_HITS = 50


@dataclass(frozen=True)
class Entry:
    """One person who may be checked in: a unit's nominee or an accepted guest."""

    kind: str  # "nominee" | "guest"
    id: int
    name: str
    org: str
    checked_in_at: datetime | None
    companions: int = 0


def _entries(session: Session, participation: Participation) -> list[Entry]:
    pid = participation.id or 0
    people = [Entry("nominee", n.id or 0, n.name, n.org, n.checked_in_at)
              for n in list_nominees(session=session, participation_id=pid) if n.status != NomineeStatus.DECLINED]
    guests = [Entry("guest", g.id or 0, g.name, g.org, g.checked_in_at, g.companions)
              for g in list_guests(session=session, participation_id=pid) if g.status == GuestStatus.ACCEPTED]
    return people + guests


def search(*, session: Session, participation: Participation, query: str) -> list[Entry]:
    """Return who matches `query` (part of a name or unit); everyone not yet checked in when it is empty."""
    q = query.strip()
    entries = _entries(session, participation)
    if not q:
        return [e for e in entries if e.checked_in_at is None][:MAX_HITS]
    return [e for e in entries if q in e.name or q in e.org][:MAX_HITS]


class CheckinRefused(ValueError):
    """A check-in that cannot apply: unknown person, forged or malformed code."""


def check_in(*, session: Session, participation: Participation, kind: str, person_id: int, actor: str,
             now: datetime) -> tuple[str, bool]:
    """Check one person in; return (their name, whether this call did it — False when already checked in)."""
    row: Nominee | Guest | None = None
    if kind == "nominee":
        row = session.get(Nominee, person_id)
    elif kind == "guest":
        row = session.get(Guest, person_id)
    if row is None or row.participation_id != participation.id:
        raise CheckinRefused("找不到此人，请重新搜索")
    if isinstance(row, Nominee) and row.status == NomineeStatus.DECLINED:
        raise CheckinRefused(f"{row.name}未被采纳，不在参会名单中")
    if isinstance(row, Guest) and row.status != GuestStatus.ACCEPTED:
        raise CheckinRefused(f"{row.name}未接受邀请，不在参会名单中")
    if row.checked_in_at is not None:
        return row.name, False
    row.checked_in_at = now
    session.add(row)
    audit(session=session, at=now, actor=actor, actor_kind=ActorKind.ADMIN, action="checkin", entity=kind,
          entity_id=person_id, after={"checked_in_at": now})
    return row.name, True


def check_in_code(*, session: Session, participation: Participation, code: str, actor: str, now: datetime
                  ) -> tuple[str, bool]:
    """Check a guest in by their code; CheckinRefused with the reason for a malformed, unknown or foreign code."""
    code = code.strip().upper().replace(" ", "")
    if len(code) != CODE_LENGTH or not set(code) <= set(CODE_ALPHABET):
        raise CheckinRefused(f"签到码“{code[:12]}”格式不对：应为 {CODE_LENGTH} 位字母或数字（不含 0、O、1、I）")
    guest = session.exec(select(Guest).where(Guest.participation_id == participation.id,
                                             Guest.checkin_code == code)).first()
    if guest is None:
        raise CheckinRefused(f"签到码 {code} 不属于本场活动的嘉宾，请核对或按姓名搜索")
    return check_in(session=session, participation=participation, kind="guest", person_id=guest.id or 0,
                    actor=actor, now=now)


@dataclass(frozen=True)
class CheckinCounts:
    """What check-in counted: people on site (guests' companions included) and distinct companies."""

    attendees: int
    companies: int


def checkin_counts(*, session: Session, occurrence_id: int) -> CheckinCounts | None:
    """Return the check-in counts of an occurrence, or None when nobody was checked in (nothing to pre-fill)."""
    participation = get_participation(session=session, occurrence_id=occurrence_id)
    if participation is None:
        return None
    pid = participation.id or 0
    people = [n for n in list_nominees(session=session, participation_id=pid) if n.checked_in_at is not None]
    guests = [g for g in list_guests(session=session, participation_id=pid) if g.checked_in_at is not None]
    if not people and not guests:
        return None
    companies = {n.org for n in people if n.role == NomineeRole.COMPANY and n.org}
    return CheckinCounts(attendees=len(people) + sum(1 + g.companions for g in guests), companies=len(companies))


def when_text(moment: datetime | None) -> str:
    """Return a check-in time as people read it (HH:MM Shanghai)."""
    return moment.astimezone(SHANGHAI).strftime("%H:%M") if moment else ""
