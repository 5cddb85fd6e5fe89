"""The monthly report reaches the office's inbox on the 1st through the outbox and a real SMTP server."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from email import message_from_bytes, policy

from sqlalchemy.engine import Engine
from sqlmodel import select

from scheduler.clock import FixedClock
from scheduler.config import Settings
from scheduler.contacts import Person, read_contacts_file, replace_contacts
from scheduler.db import session_scope
from scheduler.jobs import MailJobs
from scheduler.mail.mailer import MemoryMailer, SMTPMailer
from scheduler.mail.models import OutboxMessage
from scheduler.plan.catalog import get_organizations
from scheduler.runtime import Runtime
from tests.factories.mail import EXAMPLE_CONTACTS, Recorder, start_smtp


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


def test_an_office_contact_added_after_the_report_went_out_still_gets_it(mail_engine: Engine, settings: Settings
                                                                          ) -> None:
    sent_at, later = datetime(2023, 4, 1, 2, 0, tzinfo=UTC), datetime(2023, 4, 3, 2, 0, tzinfo=UTC)
    clock = FixedClock(sent_at)
    jobs = MailJobs(Runtime(settings, clock=clock, engine=mail_engine), mailer=MemoryMailer())
    assert jobs.reports()["added"] == 2
    assert asyncio.run(jobs.dispatch())["sent"] == 2
    assert jobs.reports()["added"] == 0  # everyone has it: nothing to queue
    with session_scope(mail_engine, write=True) as session:
        people = read_contacts_file(EXAMPLE_CONTACTS, organizations=get_organizations(session=session))
        replace_contacts(session=session, people=[*people, Person("kjj", "新同事", "kjj.new@example.org", "联络员")],
                         now=later)
    clock.set(later)
    assert jobs.reports()["added"] == 1
    assert asyncio.run(jobs.dispatch())["sent"] == 1
    with session_scope(mail_engine) as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "monthly_report")).all()
    assert sorted(r.recipient for r in rows) == ["kjj.lianluo@example.org", "kjj.new@example.org",
                                                 "kjzs.office@example.org"]
