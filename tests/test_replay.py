"""The replay mails what the ticker's jobs mail over the same period, monthly report included."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine

from scheduler.clock import SHANGHAI, FixedClock
from scheduler.config import DEFAULT_SEED, Settings
from scheduler.contacts import read_contacts_file, replace_contacts
from scheduler.db import session_scope
from scheduler.jobs import JOBS, MailJobs
from scheduler.mail.mailer import SMTPMailer
from scheduler.plan.catalog import get_organizations
from scheduler.plan.importer import import_plan
from scheduler.plan.seed import read_plan_file
from scheduler.replay import replay_in_scratch_db
from scheduler.runtime import Runtime
from tests.factories.mail import EXAMPLE_CONTACTS, Recorder, start_smtp

START = datetime(2023, 1, 22, tzinfo=SHANGHAI)  # what `replay --start 2023-01-22` starts at
END = datetime(2023, 2, 4, tzinfo=SHANGHAI)  # and `--end 2023-02-03` ends at
TICK = timedelta(hours=1)  # the ticker side looks every hour (its real period is seconds)
OFFICE = {"kjj.lianluo@example.org", "kjzs.office@example.org"}  # the 市科技局 contacts


def mail_of(recorder: Recorder) -> Counter[tuple[str, str]]:
    """Count the (kind, recipient) pairs the SMTP server accepted."""
    return Counter((msg["X-Scheduler-Kind"], rcpt) for (_f, rcpts, _d), msg in zip(recorder.received,
                   recorder.messages(), strict=True) for rcpt in rcpts)


def settings_for(tmp_path: Path, port: int) -> Settings:
    return Settings(var_dir=tmp_path, secret_keys=["p" * 32], contacts_file=EXAMPLE_CONTACTS,
                    smtp_host="127.0.0.1", smtp_port=port, smtp_timeout=5)


def replayed(tmp_path: Path) -> Counter[tuple[str, str]]:
    """Mail of `scheduler replay --start 2023-01-22 --end 2023-02-03` (a scratch database)."""
    recorder = Recorder()
    controller = start_smtp(recorder)
    try:
        result = replay_in_scratch_db(settings=settings_for(tmp_path, controller.port), start=START, end=END,
                                      workdir=tmp_path)
    finally:
        controller.stop()
    assert result["failed"] == 0 and result["sent"] == len(recorder.received)
    return mail_of(recorder)


def ticked(engine: Engine, tmp_path: Path) -> Counter[tuple[str, str]]:
    """Mail of the ticker's jobs, every one of them at each tick of a clock moved on step by step."""
    with session_scope(engine, write=True) as session:  # the same import the replay makes
        import_plan(session=session, doc=read_plan_file(DEFAULT_SEED), now=START)
        people = read_contacts_file(EXAMPLE_CONTACTS, organizations=get_organizations(session=session))
        replace_contacts(session=session, people=people, now=START)
    recorder = Recorder()
    controller = start_smtp(recorder)
    clock = FixedClock(START)
    settings = settings_for(tmp_path, controller.port)
    jobs = MailJobs(Runtime(settings, clock=clock, engine=engine), mailer=SMTPMailer(settings), wall=clock)

    async def run() -> None:
        try:
            while clock.now() <= END:
                for job in JOBS:
                    await jobs.run(job)
                clock.advance(TICK)
        finally:
            await jobs.mailer.close()

    try:
        asyncio.run(run())
    finally:
        controller.stop()
    return mail_of(recorder)


def test_replay_and_ticker_send_the_same_mail(engine: Engine, tmp_path: Path) -> None:
    by_replay = replayed(tmp_path / "replay")
    by_ticker = ticked(engine, tmp_path / "ticker")
    assert by_replay == by_ticker, (by_replay - by_ticker, by_ticker - by_replay)
    # The monthly report for January reaches both office contacts once, on 1 February.
    assert {rcpt: n for (kind, rcpt), n in by_replay.items() if kind == "monthly_report"} == dict.fromkeys(OFFICE, 1)
    assert {kind for kind, _rcpt in by_replay} >= {"fix_request", "task_request", "monthly_report"}
