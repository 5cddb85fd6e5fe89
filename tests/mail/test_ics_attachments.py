"""The .ics attached to mail is the very VEVENT the feeds carry, and it reflects an edit at once."""

from __future__ import annotations

from datetime import datetime, timedelta

import icalendar
from sqlalchemy.engine import Engine
from sqlmodel import select

from scheduler.clock import SHANGHAI
from scheduler.db import session_scope
from scheduler.feeds.cache import FeedCache, FeedCalendars
from scheduler.feeds.filters import FeedSpec
from scheduler.plan.models import Occurrence
from scheduler.plan.occurrences import cancel_occurrence, fix_occurrence, get_occurrence
from tests.support.instants import NOTICE_DATE

BASE = "https://kjzs.example.org"


def vevent_blocks(data: bytes) -> dict[str, bytes]:
    """Split a calendar into its VEVENT byte blocks, by UID."""
    out = {}
    for chunk in data.split(b"BEGIN:VEVENT\r\n")[1:]:
        block = b"BEGIN:VEVENT\r\n" + chunk.split(b"END:VEVENT\r\n")[0] + b"END:VEVENT\r\n"
        uid = icalendar.Event.from_ical(block)["UID"]
        out[str(uid)] = block
    return out


def occurrence(engine: Engine, key: str) -> Occurrence:
    with session_scope(engine) as session:
        return session.exec(select(Occurrence).where(Occurrence.key == key)).one()


def test_attachment_vevent_equals_the_feed_vevent(seeded_engine: Engine) -> None:
    occ = occurrence(seeded_engine, "04-1")
    data = FeedCalendars(seeded_engine, base_url=BASE)(occ.uid)
    cal = icalendar.Calendar.from_ical(data)
    assert cal["METHOD"] == "PUBLISH" and [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == ["Asia/Shanghai"]
    assert len(cal.walk("VEVENT")) == 1
    feed = FeedCache(seeded_engine, base_url=BASE, recheck_seconds=0).feed(FeedSpec(), NOTICE_DATE).body
    assert vevent_blocks(data)[occ.uid] == vevent_blocks(feed)[occ.uid]


def test_attachment_carries_an_edit_immediately(seeded_engine: Engine) -> None:
    calendars = FeedCalendars(seeded_engine, base_url=BASE)
    uid = occurrence(seeded_engine, "04-1").uid
    before = icalendar.Calendar.from_ical(calendars(uid)).walk("VEVENT")[0]
    assert str(before["STATUS"]) == "TENTATIVE" and str(before["SUMMARY"]).startswith("【时间待定·2023年3月】")
    start = datetime(2023, 3, 15, 14, tzinfo=SHANGHAI)
    with session_scope(seeded_engine, write=True) as session:
        occ = get_occurrence(session=session, key="04-1")
        assert occ is not None
        fix_occurrence(session=session, occurrence=occ, start_at=start, end_at=start + timedelta(hours=3),
                       now=NOTICE_DATE + timedelta(days=1))
    fixed = icalendar.Calendar.from_ical(calendars(uid)).walk("VEVENT")[0]
    assert fixed.decoded("DTSTART") == start and int(fixed["SEQUENCE"]) == int(before["SEQUENCE"]) + 1
    assert b"DTSTART;TZID=Asia/Shanghai:20230315T140000\r\n" in calendars(uid)
    with session_scope(seeded_engine, write=True) as session:
        occ = get_occurrence(session=session, key="04-1")
        assert occ is not None
        cancel_occurrence(session=session, occurrence=occ, reason="场地原因", now=NOTICE_DATE + timedelta(days=2))
    cancelled = icalendar.Calendar.from_ical(calendars(uid)).walk("VEVENT")[0]
    assert str(cancelled["STATUS"]) == "CANCELLED" and str(cancelled["SUMMARY"]).startswith("【已取消】")
    assert int(cancelled["SEQUENCE"]) == int(fixed["SEQUENCE"]) + 1


def test_windows_are_never_attached_as_long_events_a_fixed_event_is(seeded_engine: Engine, tmp_path) -> None:
    from email import message_from_bytes, policy

    from scheduler.config import Settings
    from scheduler.mail.compose import Composer
    from scheduler.mail.kinds import MailKind, occurrence_subject
    from scheduler.mail.models import OutboxMessage
    from scheduler.plan.catalog import list_event_views
    from scheduler.plan.models import Plan
    from scheduler.reminders.planner import occurrence_context

    composer = Composer.for_engine(Settings(var_dir=tmp_path, secret_keys=["k" * 32]), seeded_engine)

    def parts(key: str, kind: str) -> tuple[list[str], str]:
        with session_scope(seeded_engine) as session:
            occ = get_occurrence(session=session, key=key)
            assert occ is not None
            plans = list(session.exec(select(Plan)))
            view = next(v for v in list_event_views(session=session, plans=plans)
                        if occ.id in {o.id for o in v.occurrences})
            ctx = {**occurrence_context(view, occ), "org_name": "如皋市", "role": "host", "window_close": "2023-03-31"}
        row = OutboxMessage(id=1, origin="reminders", kind=kind, subject=occurrence_subject(occ.id), rule="r",
                            recipient="a@example.org", recipient_name="甲", context=ctx, due_at=NOTICE_DATE,
                            next_attempt_at=NOTICE_DATE, created_at=NOTICE_DATE, updated_at=NOTICE_DATE)
        msg = message_from_bytes(composer.compose(row, occ, now=NOTICE_DATE).data, policy=policy.default)
        return [p.get_content_type() for p in msg.walk()], msg.get_body(("plain",)).get_content()

    # A month's window (04-1, March 2023) and the whole-year row: no calendar attachment, and the mail says why.
    month = occurrence(seeded_engine, "04-1")
    with session_scope(seeded_engine) as session:
        longest = max(session.exec(select(Occurrence)), key=lambda o: (o.window_end - o.window_start).days)
    assert (longest.window_end - longest.window_start).days >= 364
    for key in (month.key, longest.key):
        types, text = parts(key, MailKind.FIX_REQUEST)
        assert "text/calendar" not in types and "本邮件不附日历条目" in text
    start = datetime(2023, 3, 15, 14, tzinfo=SHANGHAI)
    with session_scope(seeded_engine, write=True) as session:
        occ = get_occurrence(session=session, key="04-1")
        assert occ is not None
        fix_occurrence(session=session, occurrence=occ, start_at=start, end_at=start + timedelta(hours=3),
                       now=NOTICE_DATE + timedelta(days=1))
    types, text = parts("04-1", MailKind.CHANGE_NOTICE)
    assert "text/calendar" in types and "附件 event.ics" in text
