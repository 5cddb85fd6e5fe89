"""Fault suite (127.0.0.1 only, clocks we move by hand): SMTP outages, a failing sink, the demo clock, hostile names.

Every scenario ends with the server back: each due row is delivered exactly once (Message-IDs unique), none failed.
"""

from __future__ import annotations

import asyncio
import errno
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from email import message_from_bytes, message_from_string, policy
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from scheduler.clock import FixedClock
from scheduler.config import Settings
from scheduler.db import session_scope
from scheduler.mail import sink as sink_module
from scheduler.mail.compose import Composer, Content
from scheduler.mail.dispatcher import CircuitBreaker, DispatchReport, RetryPolicy, dispatch_due
from scheduler.mail.mailer import NO_SMTPUTF8, SMTPMailer
from scheduler.mail.models import OutboxMessage
from scheduler.mail.outbox import Recipient, enqueue
from scheduler.mail.sink import list_mail, start_sink
from scheduler.reminders.planner import RuleBook
from scheduler.reminders.sync import plan_and_sync
from tests.factories.mail import Recorder, start_smtp
from tests.support.instants import FIRST_WORKDAY, NOTICE_DATE
from tests.support.servers import free_port, reserve_port

WALL0 = datetime.fromisoformat("2026-03-01T08:00:00+00:00")
OLD_SCHEDULE = timedelta(seconds=sum(min(6 * 3600, 60 * 2 ** n) for n in range(8)))  # 8 tries: ≈2 h 7 min


def settings(tmp_path: Path, port: int) -> Settings:
    return Settings(var_dir=tmp_path, smtp_host="127.0.0.1", smtp_port=port, secret_keys=["k" * 32], smtp_timeout=2)


def plan(engine: Engine, now: datetime = FIRST_WORKDAY) -> int:
    """Queue the 2023 plan's mail; return how many rows are due at `now`.

    The notice day 2023-01-22 is 春节 (国办发明电〔2022〕16号): the mail planned then goes out on the first working
    day, Saturday 1-28, so the outage scenarios plan and send from then.
    """
    with session_scope(engine, write=True) as session:
        plan_and_sync(session=session, rules=RuleBook(), now=now)
        return len(session.exec(select(OutboxMessage).where(OutboxMessage.next_attempt_at <= now)).all())


def states(engine: Engine) -> Counter[str]:
    with session_scope(engine) as session:
        return Counter(session.exec(select(OutboxMessage.state)).all())


class Ticker:
    """The dispatch job as the worker runs it: one mailer and one breaker kept across ticks, clocks moved by hand."""

    def __init__(self, engine: Engine, s: Settings, *, app: FixedClock, wall: FixedClock) -> None:
        self.engine, self.app, self.wall = engine, app, wall
        self.mailer = SMTPMailer(s, unreachable_pause=0.0)  # the fake wall clock, not the mailer, paces retries
        self.composer = Composer.for_engine(s, engine)
        self.breaker = CircuitBreaker(threshold=5, base=5.0, cap=300.0)
        self.reports: list[DispatchReport] = []

    async def tick(self) -> DispatchReport:
        report = await dispatch_due(engine=self.engine, mailer=self.mailer, composer=self.composer, clock=self.app,
                                    worker="w", policy=RetryPolicy(base=60, cap=6 * 3600), wall=self.wall,
                                    breaker=self.breaker)
        self.reports.append(report)
        return report

    async def run_for(self, span: timedelta, step: timedelta, app_step: timedelta = timedelta(0)) -> None:
        end = self.wall.now() + span
        while self.wall.now() < end:
            await self.tick()
            self.wall.advance(step)
            self.app.advance(app_step)


def run(coro: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(asyncio.wait_for(coro(), timeout=120))


def assert_all_delivered_once(engine: Engine, received: list[bytes], due: int) -> None:
    counts = states(engine)
    assert counts["failed"] == 0 and counts["deferred"] == 0 and counts["sending"] == 0
    ids = [message_from_bytes(data, policy=policy.default)["Message-ID"] for data in received]
    assert len(ids) == len(set(ids)) == counts["sent"] >= due


def test_an_outage_longer_than_the_whole_old_schedule_loses_nothing(mail_engine: Engine, tmp_path: Path) -> None:
    reserved = reserve_port()  # bound, not listening: connection refused, and the port stays ours
    port = reserved.getsockname()[1]
    due = plan(mail_engine)
    ticker = Ticker(mail_engine, settings(tmp_path, port), app=FixedClock(FIRST_WORKDAY), wall=FixedClock(WALL0))
    recorder = Recorder()

    async def scenario() -> None:
        await ticker.run_for(OLD_SCHEDULE + timedelta(hours=1), step=timedelta(seconds=30))
        during = states(mail_engine)
        assert during["failed"] == 0 and during["deferred"] >= 5 and ticker.breaker.is_open
        # Probed, not hammered: after the first chunk, at most one row a tick, and ticks without a probe between.
        tried = [r.claimed for r in ticker.reports[1:]]
        probes = [i for i, n in enumerate(tried) if n]
        gaps = [b - a for a, b in pairwise(probes)]
        assert max(tried) == 1 and gaps == sorted(gaps) and max(gaps) == 10  # 5 s doubling, capped at 300 s
        assert len(probes) <= (OLD_SCHEDULE + timedelta(hours=1)) / timedelta(seconds=300) + 6
        controller = start_smtp(recorder, sock=reserved)
        try:
            for _ in range(20):
                await ticker.tick()
                ticker.wall.advance(timedelta(seconds=30))
                if not states(mail_engine)["deferred"] and not states(mail_engine)["pending"]:
                    break
        finally:
            await ticker.mailer.close()
            controller.stop()

    run(scenario)
    assert not ticker.breaker.is_open
    assert_all_delivered_once(mail_engine, [data for _, _, data in recorder.received], due)


def test_a_ten_second_outage_on_the_demo_clock_fails_nothing(mail_engine: Engine, tmp_path: Path) -> None:
    reserved = reserve_port()
    port = reserved.getsockname()[1]
    due = plan(mail_engine)
    app = FixedClock(FIRST_WORKDAY)
    ticker = Ticker(mail_engine, settings(tmp_path, port), app=app, wall=FixedClock(WALL0))
    recorder = Recorder()

    async def scenario() -> None:
        # simulated:…@3600: each wall second is an hour of application time; 10 s down = 10 h of demo time.
        await ticker.run_for(timedelta(seconds=10), step=timedelta(seconds=1), app_step=timedelta(hours=1))
        assert states(mail_engine)["failed"] == 0
        controller = start_smtp(recorder, sock=reserved)
        try:
            for _ in range(40):
                await ticker.tick()
                ticker.wall.advance(timedelta(seconds=1))
                app.advance(timedelta(hours=1))
                if not states(mail_engine)["deferred"]:
                    break
        finally:
            await ticker.mailer.close()
            controller.stop()

    run(scenario)
    counts = states(mail_engine)
    assert counts["failed"] == 0 and counts["deferred"] == 0
    ids = [m["Message-ID"] for m in recorder.messages()]
    assert len(ids) == len(set(ids)) == counts["sent"] >= due - counts["cancelled"]


def _sink_scenario(engine: Engine, tmp_path: Path, break_it: Callable[[Path], Callable[[], None]]
                   ) -> tuple[Path, set[str]]:
    """Deliver through the local sink while `break_it` (which returns its repair) holds; then repair and finish.

    Returns the sink's directory and the reasons deferred rows carried during the fault.
    """
    reasons: set[str] = set()
    port = free_port()
    directory = tmp_path / "var" / "mail"
    ticker = Ticker(engine, settings(tmp_path, port), app=FixedClock(FIRST_WORKDAY), wall=FixedClock(WALL0))

    async def scenario() -> None:
        server = await start_sink("127.0.0.1", port, directory)
        try:
            repair = break_it(directory)
            await ticker.run_for(timedelta(minutes=10), step=timedelta(seconds=30))
            assert states(engine)["failed"] == 0 and states(engine)["deferred"] >= 5
            assert not [p for p in directory.parent.rglob("*.tmp")]
            with session_scope(engine) as session:
                reasons.update(e or "" for e in session.exec(select(OutboxMessage.last_error).where(
                    OutboxMessage.state == "deferred")).all())
            repair()
            for _ in range(20):
                await ticker.tick()
                ticker.wall.advance(timedelta(seconds=30))
                if not states(engine)["deferred"] and not states(engine)["pending"]:
                    break
        finally:
            await ticker.mailer.close()
            server.close()
            await server.wait_closed()

    run(scenario)
    return directory, reasons


def _stored(directory: Path) -> list[bytes]:
    return [(directory / m.name).read_bytes() for m in list_mail(directory, limit=10_000)[0]]


def test_sink_disk_full_answers_451_then_delivers_everything(mail_engine: Engine, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    due = plan(mail_engine)
    real_write = sink_module.os.write

    def full(fd: int, data: Any) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    def break_it(directory: Path) -> Callable[[], None]:
        monkeypatch.setattr(sink_module.os, "write", full)
        return lambda: monkeypatch.setattr(sink_module.os, "write", real_write)

    directory, reasons = _sink_scenario(mail_engine, tmp_path, break_it)
    assert reasons == {"451 4.3.0 Local storage error (ENOSPC), try again later"}
    assert not list(directory.glob(".*.tmp"))
    assert_all_delivered_once(mail_engine, _stored(directory), due)


def test_sink_directory_unusable_answers_451_then_delivers_everything(mail_engine: Engine, tmp_path: Path) -> None:
    due = plan(mail_engine)

    def break_it(directory: Path) -> Callable[[], None]:
        # Removed and a file put in its place: unwritable even for root (chmod would not stop root).
        directory.rmdir()
        directory.write_text("not a directory")
        return directory.unlink

    directory, reasons = _sink_scenario(mail_engine, tmp_path, break_it)
    assert reasons == {"451 4.3.0 Local storage error (EEXIST), try again later"}
    assert directory.is_dir() and not list(directory.glob(".*.tmp"))
    assert_all_delivered_once(mail_engine, _stored(directory), due)


def test_a_removed_sink_directory_is_created_again(tmp_path: Path) -> None:
    directory = tmp_path / "mail"
    handler = sink_module.StoreHandler(directory)
    directory.rmdir()

    class Envelope:
        original_content = b"Subject: x\r\n\r\nbody\r\n"

    assert asyncio.run(handler.handle_DATA(None, None, Envelope())) == "250 OK"  # type: ignore[arg-type]
    assert len(list_mail(directory)[0]) == 1


# --- Addresses and names that cannot break a header ---------------------------------------------------------


def _one_row(engine: Engine, email: str, name: str) -> None:
    with session_scope(engine, write=True) as session:
        enqueue(session=session, origin="tests", kind="probe", subject="test:1", rule="once",
                recipients=[Recipient(email=email, name=name, org_key="kjj", org_name="市科技局", role="host")],
                context={}, due_at=NOTICE_DATE, now=NOTICE_DATE)


def _send_rows(engine: Engine, s: Settings) -> DispatchReport:
    async def go() -> DispatchReport:
        mailer = SMTPMailer(s)
        composer = Composer.for_engine(s, engine)
        composer.register("probe", lambda row, occ, extra: Content(subject="测试", text="正文", html="<p>正文</p>"))
        try:
            return await dispatch_due(engine=engine, mailer=mailer, composer=composer,
                                      clock=FixedClock(NOTICE_DATE), wall=FixedClock(WALL0), worker="w")
        finally:
            await mailer.close()

    return run(go)


def test_a_stored_crlf_name_cannot_reach_a_header(engine: Engine, tmp_path: Path) -> None:
    _one_row(engine, "zhang@example.org", "Evil\r\nBcc: attacker@evil.example\r\nX-Injected: 1")
    recorder = Recorder()
    controller = start_smtp(recorder)
    try:
        report = _send_rows(engine, settings(tmp_path, controller.port))
    finally:
        controller.stop()
    assert report.sent == 1
    [(_, rcpts, data)] = recorder.received
    msg = message_from_bytes(data, policy=policy.default)
    assert rcpts == ["zhang@example.org"]
    assert msg["Bcc"] is None and msg["X-Injected"] is None
    assert [a.addr_spec for a in msg["To"].addresses] == ["zhang@example.org"]
    assert msg["To"].addresses[0].display_name == "Evil Bcc: attacker@evil.example X-Injected: 1"


def test_a_stored_address_with_crlf_fails_with_the_reason_and_is_never_sent(engine: Engine, tmp_path: Path) -> None:
    _one_row(engine, "zhang@example.org\r\nBcc: attacker@evil.example", "张三")
    recorder = Recorder()
    controller = start_smtp(recorder)
    try:
        report = _send_rows(engine, settings(tmp_path, controller.port))
    finally:
        controller.stop()
    assert (report.sent, report.failed, recorder.received) == (0, 1, [])
    with session_scope(engine) as session:
        row = session.exec(select(OutboxMessage)).one()
    assert row.state == "failed" and "收件人地址无效" in (row.last_error or "")


def utf8(address: str) -> str:
    """aiosmtpd hands envelope addresses over surrogate-escaped: read them as the UTF-8 they were sent as."""
    return address.encode("utf-8", "surrogateescape").decode("utf-8")


def test_non_ascii_user_names_go_with_smtputf8_and_idna_domains_everywhere(engine: Engine, tmp_path: Path) -> None:
    _one_row(engine, "用户@example.org", "用户")
    _one_row(engine, "office@例子.中国", "办公室")
    recorder = Recorder()
    controller = start_smtp(recorder, enable_SMTPUTF8=True)
    try:
        s = settings(tmp_path, controller.port)
        assert run(lambda: SMTPMailer(s).offers_smtputf8()) is True
        report = _send_rows(engine, s)
    finally:
        controller.stop()
    assert (report.sent, report.failed) == (2, 0)
    # RFC 6532: with SMTPUTF8 the header is UTF-8 itself, so read it as text.
    got = {tuple(utf8(r) for r in rcpts): message_from_string(data.decode("utf-8"), policy=policy.default)
           for _, rcpts, data in recorder.received}
    assert set(got) == {("用户@example.org",), ("office@xn--fsqu00a.xn--fiqs8s",)}
    assert got[("用户@example.org",)]["To"].addresses[0].addr_spec == "用户@example.org"
    assert got[("office@xn--fsqu00a.xn--fiqs8s",)]["To"].addresses[0].display_name == "办公室"


def test_a_server_without_smtputf8_fails_a_non_ascii_user_name_once_with_the_reason(engine: Engine,
                                                                                     tmp_path: Path) -> None:
    _one_row(engine, "用户@example.org", "用户")
    recorder = Recorder()
    controller = start_smtp(recorder, enable_SMTPUTF8=False)
    try:
        s = settings(tmp_path, controller.port)
        assert run(lambda: SMTPMailer(s).offers_smtputf8()) is False
        report = _send_rows(engine, s)
    finally:
        controller.stop()
    assert (report.sent, report.failed, recorder.received) == (0, 1, [])
    with session_scope(engine) as session:
        assert (session.exec(select(OutboxMessage.last_error)).one() or "").startswith(NO_SMTPUTF8)
