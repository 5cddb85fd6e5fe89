"""The local mailbox at /mail (fed by the real sink), unsubscribe links, outbox counts on /healthz."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from scheduler.clock import SHANGHAI, FixedClock
from scheduler.config import Settings
from scheduler.contacts import MailOptOut
from scheduler.db import session_scope
from scheduler.mail.compose import Composer, Content, unsubscribe_serializer
from scheduler.mail.dispatcher import dispatch_due
from scheduler.mail.kinds import MailKind
from scheduler.mail.mailer import SMTPMailer
from scheduler.mail.models import OutboxMessage
from scheduler.mail.sink import StoreHandler
from scheduler.plan.models import Occurrence
from scheduler.reminders.planner import RuleBook
from scheduler.reminders.sync import plan_and_sync
from scheduler.web.app import create_app
from tests.factories.mail import BoundController
from tests.support.instants import FIRST_WORKDAY, NOTICE_DATE
from tests.support.servers import reserve_port


@pytest.fixture
def sink(settings: Settings, tmp_path: Path) -> Iterator[tuple[Settings, Path]]:
    """The real sink handler on 127.0.0.1, storing under tmp_path/mail."""
    controller = BoundController(StoreHandler(tmp_path / "mail"), reserve_port())  # port 0, read back
    controller.start()
    port = controller.port
    yield settings.model_copy(update={"smtp_port": port, "mail_sink": True, "mailbox_public": True}), tmp_path / "mail"
    controller.stop()


def deliver(engine: Engine, settings: Settings, now: datetime) -> int:
    with session_scope(engine, write=True) as session:
        plan_and_sync(session=session, rules=RuleBook(), now=now)
    mailer = SMTPMailer(settings)

    async def run():
        try:
            return await dispatch_due(engine=engine, mailer=mailer, composer=Composer.for_engine(settings, engine),
                                      clock=FixedClock(now), worker="t")
        finally:
            await mailer.close()

    return asyncio.run(run()).sent


def test_mailbox_lists_and_shows_what_the_sink_stored(mail_engine: Engine, sink) -> None:
    settings, directory = sink
    sent = deliver(mail_engine, settings, FIRST_WORKDAY)
    assert sent > 0 and len(list(directory.glob("*.eml"))) == sent
    client = TestClient(create_app(settings, clock=FixedClock(FIRST_WORKDAY), engine=mail_engine))
    page = client.get("/mail")
    assert page.status_code == 200
    assert f"共 {sent} 封" in page.text and page.text.count("【请定档】") == sent
    name = sorted(directory.glob("*.eml"))[0].name
    one = client.get(f"/mail/{name}")
    assert one.status_code == 200
    assert "定档请求" in one.text and "订阅活动日历" in one.text
    assert "本邮件不附日历条目" in one.text  # a 定档 request is about a window: no calendar entry (issue 14)
    assert 'iframe sandbox' in one.text
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}（北京时间）", one.text)  # not an RFC 2822 date
    for bad in ("../scheduler.db", "x.eml", f"{name}/attachments/0", f"{name}/attachments/5"):
        assert client.get(f"/mail/{bad}").status_code == 404


def test_mailbox_escapes_what_it_shows(mail_engine: Engine, settings: Settings, tmp_path: Path) -> None:
    directory = tmp_path / "mail"
    directory.mkdir()
    (directory / "1700000000000000000-deadbeef.eml").write_bytes(
        b"From: x@example.org\r\nTo: y@example.org\r\nSubject: <script>alert(1)</script>\r\n"
        b"Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
        b"<img src=x onerror=alert(2)>\r\n--b\r\nContent-Type: text/html\r\n\r\n<script>alert(3)</script>\r\n--b--\r\n")
    settings = settings.model_copy(update={"mail_sink": True, "mailbox_public": True})
    client = TestClient(create_app(settings, engine=mail_engine, clock=FixedClock(NOTICE_DATE)))
    listing = client.get("/mail").text
    assert "<script>alert(1)" not in listing and "&lt;script&gt;alert(1)" in listing
    shown = client.get("/mail/1700000000000000000-deadbeef.eml").text
    assert "<script>" not in shown and "<img src=x" not in shown
    assert "&lt;img src=x onerror=alert(2)&gt;" in shown
    # Without the embedded sink there is no local mailbox to show.
    closed = TestClient(create_app(settings.model_copy(update={"mail_sink": False}), engine=mail_engine,
                                   clock=FixedClock(NOTICE_DATE)))
    assert "未启用内置 SMTP 接收端" in closed.get("/mail").text
    assert closed.get("/mail/1700000000000000000-deadbeef.eml").status_code == 404


def test_one_click_unsubscribe_stops_routine_reminders_only(mail_engine: Engine, settings: Settings) -> None:
    fixed_at = NOTICE_DATE + timedelta(hours=1)
    with session_scope(mail_engine, write=True) as session:
        occ = session.exec(select(Occurrence).where(Occurrence.key == "15-1")).one()
        occ.start_at = datetime(2023, 5, 16, 9, tzinfo=SHANGHAI)
        occ.status, occ.sequence, occ.updated_at = "fixed", 1, fixed_at
    address = "haian.lianluo@example.org"
    token = unsubscribe_serializer(settings).dumps(address)
    client = TestClient(create_app(settings, engine=mail_engine, clock=FixedClock(fixed_at)))
    form = client.get(f"/mail/unsubscribe/{token}")
    assert form.status_code == 200 and "确认退订" in form.text
    assert form.headers["referrer-policy"] == "no-referrer"
    with session_scope(mail_engine) as session:
        assert session.exec(select(MailOptOut)).all() == []  # a GET (mail scanners) changes nothing
    assert client.get("/mail/unsubscribe/forged-token").status_code == 404
    done = client.post(f"/mail/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and "已退订" in done.text
    with session_scope(mail_engine, write=True) as session:
        plan_and_sync(session=session, rules=RuleBook(), now=fixed_at)
        kinds = {r.kind for r in session.exec(select(OutboxMessage).where(OutboxMessage.recipient == address))}
    assert MailKind.CHANGE_NOTICE in kinds and MailKind.REMINDER not in kinds


def test_reminders_carry_list_unsubscribe_headers(mail_engine: Engine, settings: Settings) -> None:
    row = OutboxMessage(id=7, origin="reminders", kind=MailKind.REMINDER, subject="occurrence:1", rule="remind-7d:x",
                        recipient="a@example.org", recipient_name="甲", context={}, due_at=NOTICE_DATE,
                        next_attempt_at=NOTICE_DATE, created_at=NOTICE_DATE, updated_at=NOTICE_DATE)
    composer = Composer.for_engine(settings, mail_engine)
    composer.register(MailKind.REMINDER,
                      lambda row, occ, extra: Content(subject="提醒", text="正文", html="<p>正文</p>"))
    data = composer.compose(row, None, now=NOTICE_DATE).data.decode()
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in data
    url = data.split("List-Unsubscribe: <", 1)[1].split(">", 1)[0]
    assert url.startswith(f"{settings.base_url}/mail/unsubscribe/")
    assert unsubscribe_serializer(settings).loads(url.rsplit("/", 1)[1]) == "a@example.org"


def test_healthz_reports_outbox_counts(mail_engine: Engine, settings: Settings) -> None:
    with session_scope(mail_engine, write=True) as session:
        report = plan_and_sync(session=session, rules=RuleBook(), now=NOTICE_DATE)
    app = create_app(settings.model_copy(update={"health_token": "t" * 24}), clock=FixedClock(NOTICE_DATE),
                     engine=mail_engine)
    body = TestClient(app).get("/healthz", headers={"Authorization": f"Bearer {'t' * 24}"}).json()
    assert body["outbox"] == {"pending": report.added, "sending": 0, "sent": 0, "deferred": 0, "failed": 0,
                              "cancelled": 0, "skipped": 0}
    assert body["mail"] == {"held_back": False}
