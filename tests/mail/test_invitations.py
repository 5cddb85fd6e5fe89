"""Reminders and change notices to hosts and co-organizers carry iTIP invitations (RFC 5546) their calendars accept.

The 2023 seed with the example contacts goes through 定档 → 延期 → 取消 as the planner sees it; each change notice is
composed as the worker would and read by three independent iCalendar parsers (icalendar, ical, vobject).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email import message_from_bytes, policy

import icalendar
import vobject
from ical.calendar_stream import IcsCalendarStream
from sqlalchemy.engine import Engine
from sqlmodel import select

from scheduler.clock import SHANGHAI
from scheduler.config import PROJECT_ROOT, Settings
from scheduler.db import session_scope
from scheduler.feeds.cache import FeedCache
from scheduler.feeds.filters import FeedSpec
from scheduler.mail.compose import Composer
from scheduler.mail.kinds import MailKind, occurrence_subject
from scheduler.mail.models import OutboxMessage
from scheduler.plan.models import Occurrence, Organization, Plan
from scheduler.plan.occurrences import cancel_occurrence, fix_occurrence, get_occurrence, move_occurrence
from scheduler.reminders.planner import RuleBook
from scheduler.reminders.sync import plan_and_sync
from tests.support.instants import NOTICE_DATE

BASE = "https://kjzs.example.org"
# 2023 plan, row 11: a March window with a host (cxq) and a co-organizer (tct); fixed, postponed, cancelled below
KEY = "11-1"
FIXED = datetime(2023, 3, 20, 14, 0, tzinfo=SHANGHAI)
MOVED = datetime(2023, 3, 27, 9, 30, tzinfo=SHANGHAI)  # moved without an end time: the 2-hour default applies


@dataclass(frozen=True)
class Invite:
    """One invitation as a parser read it."""

    method: str
    uid: str
    sequence: int
    start: datetime
    end: datetime
    status: str
    organizer: str
    attendee: str
    attendee_cn: str
    partstat: str
    rsvp: bool


def _mailto(value: object) -> str:
    return str(value).removeprefix("mailto:").removeprefix("MAILTO:")


def read_icalendar(data: bytes) -> Invite:
    cal = icalendar.Calendar.from_ical(data)
    (ev,) = cal.walk("VEVENT")
    (att,) = [ev["ATTENDEE"]] if not isinstance(ev["ATTENDEE"], list) else ev["ATTENDEE"]
    return Invite(str(cal["METHOD"]), str(ev["UID"]), int(ev["SEQUENCE"]), ev.decoded("DTSTART"), ev.decoded("DTEND"),
                  str(ev["STATUS"]), _mailto(ev["ORGANIZER"]), _mailto(att), str(att.params["CN"]),
                  str(att.params["PARTSTAT"]), str(att.params["RSVP"]) == "TRUE")


def _value(x: object) -> str:
    return str(getattr(x, "value", x))


def read_ical(data: bytes) -> Invite:
    cal = IcsCalendarStream.calendar_from_ics(data.decode("utf-8"))
    (ev,) = cal.events
    (att,) = ev.attendees
    assert ev.organizer is not None and ev.dtend is not None and ev.status is not None
    return Invite(str(cal.method), ev.uid or "", int(ev.sequence or 0), ev.dtstart, ev.dtend, ev.status.value,
                  _mailto(ev.organizer.uri), _mailto(att.uri), att.common_name or "", _value(att.status),
                  bool(att.rsvp))


def read_vobject(data: bytes) -> Invite:
    cal = vobject.readOne(data.decode("utf-8"))
    (ev,) = cal.vevent_list
    (att,) = ev.attendee_list
    return Invite(cal.method.value, ev.uid.value, int(ev.sequence.value), ev.dtstart.value, ev.dtend.value,
                  ev.status.value, _mailto(ev.organizer.value), _mailto(att.value), att.params["CN"][0],
                  att.params["PARTSTAT"][0], att.params["RSVP"][0] == "TRUE")


PARSERS = {"icalendar": read_icalendar, "ical": read_ical, "vobject": read_vobject}


def rfc5546_problems(data: bytes) -> list[str]:
    """Check an iTIP VEVENT message against RFC 5546 §3.2.2 (REQUEST) and §3.2.5 (CANCEL), read from the RFC:
    REQUEST: ORGANIZER 1, ATTENDEE 1+, DTSTART 1, DTSTAMP 1, UID 1, SEQUENCE 0/1 (required here), SUMMARY 1,
    not both DTEND and DURATION; CANCEL: ORGANIZER 1, ATTENDEE (the entire event: some or all), UID 1,
    SEQUENCE 1, DTSTAMP 1, STATUS = CANCELLED. Counted on the raw unfolded lines, not through a library."""
    lines = data.decode("utf-8").replace("\r\n ", "").split("\r\n")
    method = next((line.split(":", 1)[1] for line in lines if line.startswith("METHOD:")), None)
    if lines.count("BEGIN:VEVENT") != 1:
        return ["exactly one VEVENT"]
    vevent = lines[lines.index("BEGIN:VEVENT") + 1:lines.index("END:VEVENT")]
    props = [line.split(":", 1)[0].split(";", 1)[0] for line in vevent]
    count = {name: props.count(name) for name in set(props)}
    problems: list[str] = []
    if method == "REQUEST":
        need_one = ("ORGANIZER", "DTSTART", "DTSTAMP", "UID", "SEQUENCE", "SUMMARY")
        problems += [f"REQUEST needs one {n}" for n in need_one if count.get(n, 0) != 1]
        if count.get("ATTENDEE", 0) < 1:
            problems.append("REQUEST needs an ATTENDEE")
        if count.get("DTEND", 0) and count.get("DURATION", 0):
            problems.append("DTEND and DURATION")
    elif method == "CANCEL":
        need_one = ("ORGANIZER", "UID", "SEQUENCE", "DTSTAMP")
        problems += [f"CANCEL needs one {n}" for n in need_one if count.get(n, 0) != 1]
        if count.get("ATTENDEE", 0) < 1:
            problems.append("CANCEL of the entire event names its attendees")
        if "STATUS:CANCELLED" not in vevent:
            problems.append("CANCEL needs STATUS:CANCELLED")
    else:
        problems.append(f"METHOD {method!r} is not an iTIP request or cancellation")
    return problems


def sync(engine: Engine, now: datetime) -> None:
    with session_scope(engine, write=True) as session:
        plan_and_sync(session=session, rules=RuleBook(), now=now)


def edit(engine: Engine, action, now: datetime, **values) -> Occurrence:
    with session_scope(engine, write=True) as session:
        occ = get_occurrence(session=session, key=KEY)
        assert occ is not None
        action(session=session, occurrence=occ, now=now, **values)
        session.flush()
        session.expunge(occ)
        return occ


def notices(engine: Engine, occ: Occurrence) -> list[OutboxMessage]:
    """The pending change notices about `occ`'s current version (one per recipient)."""
    with session_scope(engine) as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.subject == occurrence_subject(occ.id),
                                                        OutboxMessage.kind == MailKind.CHANGE_NOTICE,
                                                        OutboxMessage.rule == f"change:{occ.sequence}")).all()
        return [r for r in rows if r.state == "pending"]


def attachment(composer: Composer, row: OutboxMessage, occ: Occurrence, now: datetime) -> tuple[str, bytes, str]:
    """Compose `row` and return (Content-Type with parameters, .ics bytes, plain text)."""
    raw = composer.compose(row, occ, now=now).data
    msg = message_from_bytes(raw, policy=policy.default)
    (part,) = [p for p in msg.walk() if p.get_content_type() == "text/calendar"]
    (ctype,) = [line for line in raw.decode("ascii").split("\r\n") if line.startswith("Content-Type: text/calendar")]
    text = msg.get_body(("plain",)).get_content()
    return ctype.removeprefix("Content-Type: "), part.get_content().encode("utf-8"), text


def office_contact(engine: Engine) -> tuple[str, str]:
    """The 2023 plan's office unit: (its first contact's address in the example contacts file, its name)."""
    with session_scope(engine) as session:
        office = session.exec(select(Plan)).one().office
        name = session.exec(select(Organization).where(Organization.key == office)).one().name
    people = tomllib.loads((PROJECT_ROOT / "seeds" / "contacts.example.toml").read_text("utf-8"))
    return people[office][0]["email"], name


def feed_vevent(engine: Engine, uid: str, now: datetime) -> dict[str, Invite | tuple]:
    """The feed's VEVENT of `uid` as each parser reads it: (UID, SEQUENCE, DTSTART, DTEND)."""
    body = FeedCache(engine, base_url=BASE, recheck_seconds=0).feed(FeedSpec(), now).body
    ics = icalendar.Calendar.from_ical(body)
    ev = next(e for e in ics.walk("VEVENT") if str(e["UID"]) == uid)
    seen = {"icalendar": (str(ev["UID"]), int(ev["SEQUENCE"]), ev.decoded("DTSTART"), ev.decoded("DTEND"))}
    e2 = next(e for e in IcsCalendarStream.calendar_from_ics(body.decode("utf-8")).events if e.uid == uid)
    seen["ical"] = (e2.uid, int(e2.sequence or 0), e2.dtstart, e2.dtend)
    e3 = next(e for e in vobject.readOne(body.decode("utf-8")).vevent_list if e.uid.value == uid)
    seen["vobject"] = (e3.uid.value, int(e3.sequence.value), e3.dtstart.value, e3.dtend.value)
    return seen


def test_fix_postpone_cancel_gives_request_request_cancel_with_rising_sequence(mail_engine: Engine,
                                                                             tmp_path) -> None:
    settings = Settings(var_dir=tmp_path, secret_keys=["k" * 32])
    composer = Composer.for_engine(settings, mail_engine)
    organizer, office_name = office_contact(mail_engine)
    steps = [
        (fix_occurrence, NOTICE_DATE + timedelta(days=3), {"start_at": FIXED, "end_at": FIXED + timedelta(hours=3)},
         "REQUEST", FIXED, FIXED + timedelta(hours=3), "CONFIRMED"),
        (move_occurrence, NOTICE_DATE + timedelta(days=4), {"start_at": MOVED, "reason": "嘉宾行程调整"},
         "REQUEST", MOVED, MOVED + timedelta(hours=2), "CONFIRMED"),
        (cancel_occurrence, NOTICE_DATE + timedelta(days=5), {"reason": "场地原因"},
         "CANCEL", MOVED, MOVED + timedelta(hours=2), "CANCELLED"),
    ]
    sync(mail_engine, NOTICE_DATE)
    sequences: list[int] = []
    uids: set[str] = set()
    for action, now, values, method, start, end, status in steps:
        occ = edit(mail_engine, action, now, **values)
        sync(mail_engine, now)
        rows = notices(mail_engine, occ)
        assert {r.context["role"] for r in rows} == {"host", "co_organizer"}, "both roles are invited"
        seen_sequences = set()
        for row in rows:
            ctype, data, text = attachment(composer, row, occ, now)
            assert ctype == f"text/calendar; method={method}; charset=utf-8"
            assert rfc5546_problems(data) == [], (method, row.recipient)
            for name, read in PARSERS.items():
                inv = read(data)
                assert (inv.method, inv.status) == (method, status), name
                assert (inv.start, inv.end) == (start, end), name
                assert inv.organizer == organizer and inv.attendee == row.recipient, name
                assert inv.attendee_cn == row.recipient_name and inv.partstat == "NEEDS-ACTION", name
                assert inv.rsvp is False, name
                assert inv.end - inv.start <= timedelta(days=3), name  # never a window or a year as an event
                uids.add(inv.uid)
                seen_sequences.add(inv.sequence)
            assert f"CN={office_name}" in data.decode("utf-8").replace("\r\n ", "")
        if method == "REQUEST" and end - start == timedelta(hours=2):
            assert "计划未写结束时间，日历条目按 2 小时计" in text
        assert ("日历取消通知" in text) == (method == "CANCEL") and ("日历邀请" in text) == (method == "REQUEST")
        assert len(seen_sequences) == 1
        sequences.append(seen_sequences.pop())
        # Subscribed to the feed AND holding the invitation: same UID, same SEQUENCE, same times — one entry.
        for name, (uid, seq, fstart, fend) in feed_vevent(mail_engine, occ.uid, now).items():
            assert (uid, seq, fstart, fend) == (occ.uid, sequences[-1], start, end), name
    assert uids == {occ.uid}
    assert sequences == [sequences[0], sequences[0] + 1, sequences[0] + 2]


def test_reminders_invite_but_requests_and_escalations_keep_the_feed_entry(mail_engine: Engine, tmp_path) -> None:
    composer = Composer.for_engine(Settings(var_dir=tmp_path, secret_keys=["k" * 32]), mail_engine)
    now = NOTICE_DATE + timedelta(days=3)
    occ = edit(mail_engine, fix_occurrence, now, start_at=FIXED, end_at=FIXED + timedelta(hours=3))
    sync(mail_engine, now)
    with session_scope(mail_engine) as session:
        reminders = session.exec(select(OutboxMessage).where(OutboxMessage.subject == occurrence_subject(occ.id),
                                                             OutboxMessage.kind == MailKind.REMINDER,
                                                             OutboxMessage.state == "pending")).all()
    assert reminders
    for row in reminders:
        ctype, data, text = attachment(composer, row, occ, now)
        assert "method=REQUEST" in ctype and rfc5546_problems(data) == []
        assert read_vobject(data).attendee == row.recipient and "日历邀请" in text
    # The same occurrence in mail to the office (an escalation) stays the feed's PUBLISH entry: nobody is invited.
    escalation = reminders[0].model_copy(update={"kind": MailKind.FIX_ESCALATION,
                                                 "context": {**reminders[0].context, "role": "escalation",
                                                             "window_close": "2023-03-31"}})
    ctype, data, _ = attachment(composer, escalation, occ, now)
    assert "method=PUBLISH" in ctype and b"ATTENDEE" not in data and b"ORGANIZER" not in data


def test_an_invitation_without_an_office_contact_is_organized_by_the_sender(mail_engine: Engine, tmp_path) -> None:
    settings = Settings(var_dir=tmp_path, secret_keys=["k" * 32], mail_from="办公室 <office@kjzs.example.org>")
    with session_scope(mail_engine, write=True) as session:
        plan = session.exec(select(Plan)).one()
        plan.office = None
        session.add(plan)
    composer = Composer.for_engine(settings, mail_engine)
    now = NOTICE_DATE + timedelta(days=3)
    occ = edit(mail_engine, fix_occurrence, now, start_at=FIXED, end_at=None)
    sync(mail_engine, now)
    row = notices(mail_engine, occ)[0]
    _, data, _ = attachment(composer, row, occ, now)
    inv = read_ical(data)
    assert inv.organizer == "office@kjzs.example.org" and inv.end - inv.start == timedelta(hours=2)
    assert inv.start.date() == date(2023, 3, 20)


def test_no_mail_of_a_planning_run_attaches_more_than_a_few_days(mail_engine: Engine, tmp_path) -> None:
    """Every pending row after two events are fixed (one without an end) is composed: calendar parts exist only
    for the fixed occurrences, each spans at most a day, and mail about windows or the whole year attaches none."""
    composer = Composer.for_engine(Settings(var_dir=tmp_path, secret_keys=["k" * 32]), mail_engine)
    now = NOTICE_DATE + timedelta(days=3)
    edit(mail_engine, fix_occurrence, now, start_at=FIXED, end_at=FIXED + timedelta(hours=3))
    with session_scope(mail_engine, write=True) as session:
        other = get_occurrence(session=session, key="05-1")
        assert other is not None
        fix_occurrence(session=session, occurrence=other, start_at=MOVED, end_at=None, now=now)
    sync(mail_engine, now)
    with session_scope(mail_engine) as session:
        occurrences = {o.id: o for o in session.exec(select(Occurrence))}
        for o in occurrences.values():
            session.expunge(o)
        pending = [r for r in session.exec(select(OutboxMessage).where(OutboxMessage.state == "pending"))
                   if r.occurrence_id is not None]
    year_round = max(occurrences.values(), key=lambda o: (o.window_end - o.window_start).days)
    assert (year_round.window_end - year_round.window_start).days >= 364
    assert any(r.occurrence_id == year_round.id for r in pending), "the whole-year row gets mail"
    attached: dict[str, set[str]] = {}
    for row in pending:
        occ = occurrences[row.occurrence_id]
        msg = message_from_bytes(composer.compose(row, occ, now=now).data, policy=policy.default)
        for part in msg.walk():
            if part.get_content_type() != "text/calendar":
                continue
            assert occ.start_at is not None, (row.kind, occ.key)
            cal = icalendar.Calendar.from_ical(part.get_content().encode("utf-8"))
            for ev in cal.walk("VEVENT"):
                span = ev.decoded("DTEND") - ev.decoded("DTSTART")
                assert timedelta(0) < span <= timedelta(days=1), (row.kind, occ.key)
            attached.setdefault(occ.key, set()).add(str(part.get_param("method")))
    assert set(attached) == {KEY, "05-1"} and attached[KEY] == attached["05-1"] == {"REQUEST"}


def test_the_default_length_is_a_setting_the_mail_states(mail_engine: Engine, tmp_path) -> None:
    settings = Settings(var_dir=tmp_path, secret_keys=["k" * 32], event_default_minutes=90)
    composer = Composer.for_engine(settings, mail_engine)
    now = NOTICE_DATE + timedelta(days=3)
    occ = edit(mail_engine, fix_occurrence, now, start_at=FIXED, end_at=None)
    sync(mail_engine, now)
    row = notices(mail_engine, occ)[0]
    _, data, text = attachment(composer, row, occ, now)
    assert read_vobject(data).end == FIXED + timedelta(minutes=90) and "日历条目按 90 分钟计" in text
    feed = FeedCache(mail_engine, base_url=BASE, recheck_seconds=0, default_length=timedelta(minutes=90))
    ev = next(e for e in icalendar.Calendar.from_ical(feed.feed(FeedSpec(), now).body).walk("VEVENT")
              if str(e["UID"]) == occ.uid)
    assert ev.decoded("DTEND") == FIXED + timedelta(minutes=90)
