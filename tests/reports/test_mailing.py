"""The monthly report reaches the office's inbox on the 1st through the outbox and a real SMTP server."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from email import message_from_bytes, policy

from sqlalchemy.engine import Engine
from sqlmodel import select

from scheduler.clock import FixedClock
from scheduler.config import Settings
from scheduler.db import session_scope
from scheduler.jobs import MailJobs
from scheduler.mail.mailer import SMTPMailer
from scheduler.mail.models import OutboxMessage
from scheduler.runtime import Runtime
from tests.factories.mail import Recorder, start_smtp


async def dispatch_and_close(jobs: MailJobs) -> dict:
    try:
        return await jobs.dispatch()
    finally:
        await jobs.mailer.close()


def test_monthly_report_is_mailed_to_the_office_once(mail_engine: Engine, settings: Settings) -> None:
    recorder = Recorder()
    smtp = start_smtp(recorder)
    try:
        settings = settings.model_copy(update={"smtp_port": smtp.port})
        steps = [  # (instant, rows added, rows claimed)
            (datetime(2023, 3, 31, 16, 30, tzinfo=UTC), 2, 0),  # 00:30 on 1 April in Shanghai: queued for 09:00
            (datetime(2023, 4, 1, 2, 0, tzinfo=UTC), 0, 2),  # 10:00: sent
            (datetime(2023, 4, 1, 3, 0, tzinfo=UTC), 0, 0),  # asked again: nothing new, nothing resent
        ]
        for when, added, claimed in steps:
            runtime = Runtime(settings, clock=FixedClock(when), engine=mail_engine)
            jobs = MailJobs(runtime, mailer=SMTPMailer(settings))
            assert jobs.reports()["added"] == added
            assert asyncio.run(dispatch_and_close(jobs))["claimed"] == claimed
    finally:
        smtp.stop()
    assert sorted(rcpt for _f, rcpts, _d in recorder.received for rcpt in rcpts) == [
        "kjj.lianluo@example.org",
        "kjzs.office@example.org",
    ]
    msg = message_from_bytes(recorder.received[0][2], policy=policy.default)
    assert msg["Subject"] == "【月度跟踪】2023年3月科技招商月度跟踪"
    html = msg.get_body(("html",)).get_content()
    assert "如皋市" in html and "/admin/reports/monthly?period=2023-03" in html
    with session_scope(mail_engine) as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "monthly_report")).all()
    assert {r.state for r in rows} == {"sent"} and {r.origin for r in rows} == {"reports:2023-03"}
