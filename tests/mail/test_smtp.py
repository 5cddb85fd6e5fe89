"""Integration against a real aiosmtpd on 127.0.0.1: a replay of 2023, STARTTLS + AUTH, implicit TLS, faults."""

from __future__ import annotations

import asyncio
import ssl
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import icalendar
import pytest
import trustme
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy.engine import Engine
from sqlmodel import select

from scheduler.clock import SHANGHAI, FixedClock
from scheduler.config import Settings
from scheduler.db import session_scope
from scheduler.mail.compose import Composer
from scheduler.mail.dispatcher import RetryPolicy, dispatch_due
from scheduler.mail.kinds import MailKind
from scheduler.mail.mailer import SMTPMailer
from scheduler.mail.models import OutboxMessage
from scheduler.plan.models import Occurrence
from scheduler.reminders.planner import RuleBook
from scheduler.reminders.sync import plan_and_sync, wanted_mail
from scheduler.replay import replay
from tests.factories.mail import Recorder, edit_occurrence, start_smtp
from tests.support.instants import FIRST_WORKDAY, NOTICE_DATE
from tests.support.servers import reserve_port

KEY = "k" * 32


def settings(tmp_path: Path, port: int, **over) -> Settings:
    return Settings(**{"var_dir": tmp_path, "smtp_host": "127.0.0.1", "smtp_port": port, "secret_keys": [KEY],
                       "smtp_timeout": 5, **over})


@pytest.fixture
def smtp() -> Iterator[tuple[Recorder, int]]:
    recorder = Recorder()
    controller = start_smtp(recorder)
    yield recorder, controller.port
    controller.stop()


def ics_of(msg) -> icalendar.Calendar:
    [part] = [p for p in msg.iter_attachments() if p.get_content_type() == "text/calendar"]
    return icalendar.Calendar.from_ical(part.get_payload(decode=True))


def test_replay_of_2023_delivers_exactly_what_the_planner_wanted(mail_engine: Engine, smtp, tmp_path: Path) -> None:
    recorder, port = smtp
    edited = NOTICE_DATE + timedelta(hours=1)
    shanghai = lambda *a: datetime(*a, tzinfo=SHANGHAI)  # noqa: E731
    # 定档 of a quarterly theme event co-organized by groups, a cancellation, a postponement to a new window.
    edit_occurrence(mail_engine, "13-1", edited, status="fixed", start_at=shanghai(2023, 5, 18, 9, 30),
         end_at=shanghai(2023, 5, 18, 17))
    edit_occurrence(mail_engine, "15-1", edited, status="cancelled", status_reason="与省级活动合并举办")
    edit_occurrence(mail_engine, "22-1", edited, status="postponed", window_start=datetime(2023, 6, 1).date(),
         window_end=datetime(2023, 6, 30).date())
    start, end = NOTICE_DATE, datetime(2024, 1, 1, tzinfo=SHANGHAI).astimezone(UTC)
    rules = RuleBook()
    with session_scope(mail_engine) as session:
        wanted, missing = wanted_mail(session=session, rules=rules, now=start)
        uids = {o.id: o.uid for o in session.exec(select(Occurrence))}
    assert missing == set()
    expected = [w for w in wanted if w.due_at <= end and (w.expires_at is None or w.due_at < w.expires_at)]
    s = settings(tmp_path, port)
    mailer = SMTPMailer(s)

    async def run():
        try:
            return await replay(engine=mail_engine, mailer=mailer,
                                composer=Composer.for_engine(s, mail_engine), rules=rules, start=start,
                                end=end, jobs=("plan", "dispatch"))  # the reminder planner's mail alone
        finally:
            await mailer.close()

    result = asyncio.run(run())
    messages = recorder.messages()
    assert result["sent"] == len(messages) == len(expected)
    assert result["failed"] == 0
    ids = [m["Message-ID"] for m in messages]
    assert len(set(ids)) == len(ids)
    got = Counter()
    with session_scope(mail_engine) as session:  # Message-ID: <row id.installation id@domain>
        occurrence_of = dict(session.exec(select(OutboxMessage.id, OutboxMessage.occurrence_id)).all())
        fixed = {o.id for o in session.exec(select(Occurrence)) if o.start_at is not None}
    for (sender, rcpts, _), msg in zip(recorder.received, messages, strict=True):
        assert sender == "noreply@kjzs.example.org" and len(rcpts) == 1
        assert msg["To"].addresses[0].addr_spec == rcpts[0]
        occ_id = occurrence_of[int(msg["Message-ID"].strip("<>").split(".")[0])]
        uid = uids[occ_id]
        calendars = [p for p in msg.iter_attachments() if p.get_content_type() == "text/calendar"]
        if occ_id not in fixed:  # 定档 mail, and notices about a window (cancelled, postponed)
            assert calendars == [], "a window is never attached as a calendar entry"
        else:
            cal = ics_of(msg)
            [event] = cal.walk("VEVENT")
            assert str(event["UID"]) == uid
            if msg["X-Scheduler-Kind"] in (MailKind.REMINDER, MailKind.CHANGE_NOTICE):  # to hosts and co-organizers
                assert cal["METHOD"] in ("REQUEST", "CANCEL") and str(event["ATTENDEE"]) == f"mailto:{rcpts[0]}"
            else:
                assert cal["METHOD"] == "PUBLISH" and "ATTENDEE" not in event
        got[(msg["X-Scheduler-Kind"], uid, rcpts[0])] += 1
        assert msg.get_body(("plain",)).get_content().strip()
        assert msg.get_body(("html",)).get_content().startswith("<!doctype html>")
        assert "=?utf-8?" in msg.as_string().split("\n\n", 1)[0]  # RFC 2047 encoded subject
    want = Counter((w.kind, uids[w.occurrence_id], w.recipient.email.lower()) for w in expected)
    assert got == want
    assert set(result["by_kind"]) == {MailKind.FIX_REQUEST, MailKind.FIX_NUDGE, MailKind.FIX_ESCALATION,
                                      MailKind.REMINDER, MailKind.CHANGE_NOTICE}
    assert result["by_kind"] == dict(sorted(Counter(k for k, _, _ in got.elements()).items()))
    # Reminders reach the host and every member of the co-organizing groups; nothing for the cancelled one.
    fixed_uid = uids[next(w.occurrence_id for w in expected if w.kind == MailKind.REMINDER)]
    reminded = {r for k, u, r in got if k == MailKind.REMINDER and u == fixed_uid}
    assert {"kjj.lianluo@example.org", "haian.lianluo@example.org", "haimen.lianluo@example.org",
            "yanjiang-parks.lianluo@example.org"} <= reminded
    cancelled_uid = "nantong-2023-15-1@kjzs-scheduler"
    assert {k for k, u, _ in got if u == cancelled_uid} == {MailKind.CHANGE_NOTICE}


def _tls_pair(tmp_path: Path) -> tuple[ssl.SSLContext, Path]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(server)
    cafile = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(cafile))
    return server, cafile


def _dispatch(engine: Engine, s: Settings, now: datetime, mailer: SMTPMailer | None = None):
    """Dispatch at `now`, the wall clock standing at the same instant (retry times are wall-clock times)."""
    mailer = mailer or SMTPMailer(s)

    async def run():
        try:
            return await dispatch_due(engine=engine, mailer=mailer,
                                      composer=Composer.for_engine(s, engine), clock=FixedClock(now),
                                      worker="t", policy=RetryPolicy(base=60, cap=3600), wall=FixedClock(now))
        finally:
            await mailer.close()

    return asyncio.run(run())


def _plan(engine: Engine, now: datetime = FIRST_WORKDAY) -> int:
    with session_scope(engine, write=True) as session:
        plan_and_sync(session=session, rules=RuleBook(), now=now)
        return len(session.exec(select(OutboxMessage).where(OutboxMessage.next_attempt_at <= now)).all())


def states(engine: Engine) -> Counter:
    with session_scope(engine) as session:
        return Counter(r.state for r in session.exec(select(OutboxMessage).where(
            OutboxMessage.next_attempt_at <= FIRST_WORKDAY + timedelta(days=1))))


def test_starttls_with_auth_and_a_self_signed_certificate(mail_engine: Engine, tmp_path: Path) -> None:
    server_ctx, cafile = _tls_pair(tmp_path)
    logins: list[tuple[bytes, bytes]] = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        assert isinstance(auth_data, LoginPassword)
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"s3cret", handled=False)

    recorder = Recorder()
    controller = start_smtp(recorder, tls_context=server_ctx, require_starttls=True, auth_required=True,
                            authenticator=authenticator)
    try:
        due = _plan(mail_engine)
        wrong = settings(tmp_path, controller.port, smtp_tls="starttls", smtp_cafile=cafile, smtp_username="kjzs",
                         smtp_password="wrong")
        report = _dispatch(mail_engine, wrong, FIRST_WORKDAY)
        assert (report.sent, report.retried) == (0, due)  # a bad login is retried later, not a lost message
        with session_scope(mail_engine) as session:
            errors = set(session.exec(select(OutboxMessage.last_error).where(OutboxMessage.attempts == 1)).all())
        assert len(errors) == 1 and "SMTPAuthenticationError" in errors.pop()
        good = settings(tmp_path, controller.port, smtp_tls="starttls", smtp_cafile=cafile, smtp_username="kjzs",
                        smtp_password="s3cret", smtp_connections=2)
        report = _dispatch(mail_engine, good, FIRST_WORKDAY + timedelta(minutes=2))
    finally:
        controller.stop()
    assert report.sent == due == len(recorder.received)
    assert (b"kjzs", b"s3cret") in logins
    # Connections were reused: far fewer logins than messages.
    assert len([p for _, p in logins if p == b"s3cret"]) <= 2


def test_implicit_tls(mail_engine: Engine, tmp_path: Path) -> None:
    server_ctx, cafile = _tls_pair(tmp_path)
    recorder = Recorder()
    controller = start_smtp(recorder, ssl_context=server_ctx)
    try:
        due = _plan(mail_engine)
        report = _dispatch(mail_engine, settings(tmp_path, controller.port, smtp_tls="tls", smtp_cafile=cafile),
                           FIRST_WORKDAY)
    finally:
        controller.stop()
    assert report.sent == due == len(recorder.received) > 0


def test_refused_connections_are_retried_and_delivered_later(mail_engine: Engine, tmp_path: Path) -> None:
    reserved = reserve_port()  # bound, not listening: connections are refused, and the port stays ours
    port = reserved.getsockname()[1]
    due = _plan(mail_engine)
    report = _dispatch(mail_engine, settings(tmp_path, port), FIRST_WORKDAY)
    assert (report.sent, report.retried, report.failed) == (0, due, 0)
    with session_scope(mail_engine) as session:
        row = session.exec(select(OutboxMessage).where(OutboxMessage.attempts == 1)).first()
    assert row.state == "deferred" and row.retry_at == FIRST_WORKDAY + timedelta(seconds=60)
    assert "Connect" in row.last_error or "refused" in row.last_error.lower()
    recorder = Recorder()
    controller = start_smtp(recorder, sock=reserved)
    try:
        assert _dispatch(mail_engine, settings(tmp_path, port), FIRST_WORKDAY + timedelta(seconds=30)).claimed == 0
        report = _dispatch(mail_engine, settings(tmp_path, port), FIRST_WORKDAY + timedelta(seconds=60))
    finally:
        controller.stop()
    assert report.sent == due == len(recorder.received)


def test_421_and_451_are_retried_and_550_fails_with_the_reply(mail_engine: Engine, smtp, tmp_path: Path) -> None:
    recorder, port = smtp
    recorder.data_replies = ["451 4.3.0 Temporary local problem", "421 4.3.2 Service not available"]
    recorder.refuse_rcpt = {"dbzx.lianluo@example.org": "550 5.1.1 Mailbox unavailable"}
    due = _plan(mail_engine)
    report = _dispatch(mail_engine, settings(tmp_path, port), FIRST_WORKDAY)
    assert (report.retried, report.failed, report.sent) == (2, 0, due - 2)
    with session_scope(mail_engine) as session:
        errors = sorted(r.last_error for r in session.exec(select(OutboxMessage).where(
            OutboxMessage.state == "deferred", OutboxMessage.attempts == 1)))
    assert errors == ["421 4.3.2 Service not available", "451 4.3.0 Temporary local problem"]
    # A change adds a notice to 东部中心 (co-organizer): its mailbox refuses it for good.
    edit_occurrence(mail_engine, "01-1", FIRST_WORKDAY + timedelta(minutes=1), location="南通国际会议中心")
    _plan(mail_engine, FIRST_WORKDAY + timedelta(minutes=1))
    report = _dispatch(mail_engine, settings(tmp_path, port), FIRST_WORKDAY + timedelta(minutes=2))
    with session_scope(mail_engine) as session:
        failed = session.exec(select(OutboxMessage).where(OutboxMessage.state == "failed")).all()
    assert [(r.recipient, r.last_error) for r in failed] == [("dbzx.lianluo@example.org",
                                                              "550 5.1.1 Mailbox unavailable")]
    assert report.sent >= 2  # the two retried messages went through on their second attempt
    ids = [m["Message-ID"] for m in recorder.messages()]
    assert len(ids) == len(set(ids))
    with session_scope(mail_engine) as session:
        sent = session.exec(select(OutboxMessage).where(OutboxMessage.state == "sent")).all()
    assert len(sent) == len(ids)


def test_a_server_that_does_not_answer_in_time_is_retried(mail_engine: Engine, tmp_path: Path) -> None:
    recorder = Recorder(delay=1.0)
    controller = start_smtp(recorder)
    try:
        due = _plan(mail_engine)
        slow = settings(tmp_path, controller.port, smtp_timeout=0.3, smtp_connections=2)
        report = _dispatch(mail_engine, slow, FIRST_WORKDAY)
    finally:
        controller.stop()
    assert (report.sent, report.retried, report.failed) == (0, due, 0)
    with session_scope(mail_engine) as session:
        errors = set(session.exec(select(OutboxMessage.last_error).where(OutboxMessage.attempts == 1)).all())
    assert errors and all("Timeout" in e for e in errors)


def test_an_unreachable_server_is_not_tried_once_per_message(mail_engine: Engine, tmp_path: Path) -> None:
    import socket
    import threading

    accepted: list[socket.socket] = []
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.1)
    stop = threading.Event()

    def blackhole() -> None:  # accepts connections and never says a word
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=blackhole)
    thread.start()
    try:
        due = _plan(mail_engine)
        silent = settings(tmp_path, listener.getsockname()[1], smtp_timeout=0.3, smtp_connections=2)
        report = _dispatch(mail_engine, silent, FIRST_WORKDAY)
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        listener.close()
    assert due > 2 and (report.retried, report.sent) == (due, 0)
    assert len(accepted) <= 2  # the first failures pause the pool; the rest wait for their retry
