"""Invited guests (请进来): add them to a participation, sign and verify their personal RSVP links, record one answer
each (accept with companions and arrival, or decline), and build the accepted guest's calendar invitation."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session, col, select

from scheduler.audit import ActorKind, audit
from scheduler.clock import SHANGHAI, at_local
from scheduler.logistics.models import GUEST_STATUS_LABELS, Guest, GuestStatus, Participation
from scheduler.logistics.nomform import EMAIL, FORMULA_STARTS
from scheduler.logistics.participation import event_days
from scheduler.logistics.tokens import NonceSigner
from scheduler.plan.models import Occurrence
from scheduler.validation import text_problem

GUEST_PREFIX = "guest"
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud at the door
CODE_LENGTH = 6
MAX_COMPANIONS = 5
MAX_GUESTS = 500


class GuestSigner(NonceSigner[Guest]):
    """Sign and verify guest tokens `guest.<signed nonce>` (a guest's RSVP page)."""

    def __init__(self, keys: list[str]) -> None:
        super().__init__(keys, prefix=GUEST_PREFIX, model=Guest)


def list_guests(*, session: Session, participation_id: int) -> list[Guest]:
    """Return a participation's guests in the order they were added."""
    return list(session.exec(select(Guest).where(Guest.participation_id == participation_id)
                             .order_by(col(Guest.id))).all())


def parse_guest_lines(text: str) -> tuple[list[tuple[str, str, str]], dict[str, str]]:
    """Parse 'guests' lines '姓名，单位，邮箱' (Chinese or ASCII commas or tabs) into rows or errors by line."""
    rows: list[tuple[str, str, str]] = []
    errors: dict[str, str] = {}
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) > MAX_GUESTS:
        return [], {"guests": f"一次最多添加 {MAX_GUESTS} 位嘉宾"}
    for number, line in enumerate(lines, 1):
        parts = [p.strip() for p in re.split(r"[,，\t]", line)]
        where = f"第 {number} 行"
        if len(parts) != 3:
            errors[f"guests-{number}"] = f"{where}应为“姓名，单位，邮箱”三项，现有 {len(parts)} 项"
            continue
        name, org, email = parts
        problem = text_problem(name, limit=50) or text_problem(org, limit=100)
        if not name:
            errors[f"guests-{number}"] = f"{where}缺少姓名"
        elif problem:
            errors[f"guests-{number}"] = f"{where}{problem}"
        elif name.startswith(FORMULA_STARTS) or org.startswith(FORMULA_STARTS):
            errors[f"guests-{number}"] = f"{where}的姓名或单位不能以 = + - @ 开头（表格软件会当作公式执行）"
        elif not EMAIL.fullmatch(email):
            errors[f"guests-{number}"] = f"{where}的邮箱“{email[:40]}”格式不正确"
        else:
            rows.append((name, org, email.lower()))
    return rows, errors


def _code(taken: set[str]) -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if code not in taken:
            return code


def add_guests(*, session: Session, participation: Participation, text: str, actor: str, now: datetime
               ) -> tuple[int, dict[str, str]]:
    """Add the guests of `text` (a repeated email is skipped, not doubled); return (added, errors by line)."""
    rows, errors = parse_guest_lines(text)
    if errors:
        return 0, errors
    existing = list_guests(session=session, participation_id=participation.id or 0)
    known = {g.email for g in existing if g.email}
    codes = {g.checkin_code for g in existing}
    occurrence = session.get(Occurrence, participation.occurrence_id)
    assert occurrence is not None
    _start, end = event_days(occurrence)
    expires = at_local(end + timedelta(days=30), time(0))
    added = 0
    for name, org, email in rows:
        if email in known:
            continue
        known.add(email)
        code = _code(codes)
        codes.add(code)
        session.add(Guest(participation_id=participation.id or 0, name=name, org=org, email=email,
                          link_nonce=secrets.token_urlsafe(12), link_expires_at=expires, checkin_code=code,
                          created_at=now, updated_at=now))
        added += 1
    session.flush()
    audit(session=session, at=now, actor=actor, actor_kind=ActorKind.ADMIN, action="guest.add",
          entity="participation", entity_id=participation.id, after={"added": added})
    return added, {}


@dataclass(frozen=True)
class Answer:
    """What recording an RSVP came to: errors by field (nothing stored) or the stored answer."""

    errors: dict[str, str]
    status: str | None = None


def record_answer(*, session: Session, guest: Guest, form: dict[str, str], now: datetime, ip: str | None = None,
                  user_agent: str | None = None) -> Answer:
    """Record a guest's one answer: accept (companions, arrival) or decline; a second answer is refused."""
    participation = session.get(Participation, guest.participation_id)
    assert participation is not None
    if guest.status != GuestStatus.INVITED:
        answered = guest.answered_at.astimezone(SHANGHAI) if guest.answered_at else now.astimezone(SHANGHAI)
        label = GUEST_STATUS_LABELS[GuestStatus(guest.status)]
        return Answer(errors={"answer": f"您已于 {answered:%Y-%m-%d %H:%M} 回复“{label}”，"
                                        "无需重复提交；如需更改请联系主办单位"})
    if now >= participation.deadline_at:
        return Answer(errors={"answer": "回复已截止，本次提交未保存；如仍希望参加请联系主办单位"})
    answer = form.get("answer", "")
    errors: dict[str, str] = {}
    if answer not in (GuestStatus.ACCEPTED, GuestStatus.DECLINED):
        errors["answer"] = "请选择“接受邀请”或“谢绝”"
    companions_text = (form.get("companions") or "0").strip()
    companions = 0
    if not (companions_text.isascii() and companions_text.isdigit()) or int(companions_text) > MAX_COMPANIONS:
        errors["companions"] = f"随行人数“{companions_text[:10]}”应为 0 至 {MAX_COMPANIONS} 的整数"
    else:
        companions = int(companions_text)
    arrival = (form.get("arrival") or "").strip()
    if (problem := text_problem(arrival, limit=100)) is not None:
        errors["arrival"] = f"抵达信息{problem}"
    elif arrival.startswith(FORMULA_STARTS):
        errors["arrival"] = "抵达信息不能以 = + - @ 开头"
    if errors:
        return Answer(errors=errors)
    before = {"status": guest.status}
    guest.status, guest.answered_at, guest.updated_at = answer, now, now
    if answer == GuestStatus.ACCEPTED:
        guest.companions, guest.arrival = companions, arrival or None
    session.add(guest)
    audit(session=session, at=now, actor=guest.email or f"guest:{guest.id}", actor_kind=ActorKind.LINK,
          action="guest.answer", entity="guest", entity_id=guest.id, before=before,
          after={"status": answer, "companions": guest.companions}, ip=ip, user_agent=user_agent)
    return Answer(errors={}, status=answer)


def _ics_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> str:
    """Fold a content line at 75 octets (RFC 5545 §3.1), never inside a UTF-8 sequence."""
    out: list[str] = []
    current = b""
    for ch in line:
        encoded = ch.encode()
        if len(current) + len(encoded) > (75 if not out else 74):
            out.append(current.decode())
            current = b""
        current += encoded
    out.append(current.decode())
    return "\r\n ".join(out)


def invitation_context(*, guest: Guest, occurrence: Occurrence, organizer: str) -> dict[str, Any]:
    """Return what the accepted guest's calendar invitation is built from (stored with the outbox row)."""
    start, end = event_days(occurrence)
    return {"uid": f"guest-{guest.id}-{occurrence.uid}", "sequence": guest.sequence,
            "stamp": (guest.answered_at or guest.updated_at).strftime("%Y%m%dT%H%M%SZ"),
            "start_at": occurrence.start_at.strftime("%Y%m%dT%H%M%SZ") if occurrence.start_at else None,
            "end_at": occurrence.end_at.strftime("%Y%m%dT%H%M%SZ") if occurrence.end_at else None,
            "start_day": start.strftime("%Y%m%d"), "end_day": (end + timedelta(days=1)).strftime("%Y%m%d"),
            "summary": occurrence.title, "location": occurrence.location, "organizer": organizer,
            "attendee": guest.email or "", "attendee_name": guest.name, "checkin_code": guest.checkin_code}


def invitation_ics(ctx: dict[str, Any], *, method: str = "REQUEST") -> bytes:
    """Return an iTIP invitation (RFC 5546): METHOD, ORGANIZER and the guest as ATTENDEE; same input, same bytes."""
    if ctx["start_at"]:
        when = [f"DTSTART:{ctx['start_at']}", f"DTEND:{ctx['end_at'] or ctx['start_at']}"]
    else:
        when = [f"DTSTART;VALUE=DATE:{ctx['start_day']}", f"DTEND;VALUE=DATE:{ctx['end_day']}"]
    status = "CANCELLED" if method == "CANCEL" else "CONFIRMED"
    partstat = "DECLINED" if method == "CANCEL" else "ACCEPTED"
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//kjzs//logistics//ZH", f"METHOD:{method}",
             "CALSCALE:GREGORIAN", "BEGIN:VEVENT", f"UID:{ctx['uid']}", f"SEQUENCE:{ctx['sequence']}",
             f"DTSTAMP:{ctx['stamp']}", *when, f"SUMMARY:{_ics_text(ctx['summary'])}",
             f"LOCATION:{_ics_text(ctx['location'])}", f"STATUS:{status}",
             f"ORGANIZER;CN=科技招商推进领导小组办公室:mailto:{ctx['organizer']}",
             f"ATTENDEE;CN={_ics_text(ctx['attendee_name'])};ROLE=REQ-PARTICIPANT;PARTSTAT={partstat};RSVP=FALSE:"
             f"mailto:{ctx['attendee']}",
             f"DESCRIPTION:{_ics_text('签到码：' + ctx['checkin_code'])}", "END:VEVENT", "END:VCALENDAR"]
    return ("\r\n".join(_fold(line) for line in lines) + "\r\n").encode("utf-8")


def guest_deadline_day(participation: Participation) -> date:
    """Return the Shanghai day of the participation's answer deadline."""
    return participation.deadline_at.astimezone(SHANGHAI).date()
