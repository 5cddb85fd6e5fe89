"""Replay a period on a simulated clock as fast as possible: run the ticker's jobs, jump to the next instant."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Collection
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel, select

import scheduler.metadata  # noqa: F401  (create_all needs every table)
from scheduler.clock import SHANGHAI, FixedClock, at_local, local_date
from scheduler.config import Settings
from scheduler.db import make_engine, session_scope
from scheduler.jobs import JOBS, Job, MailJobs, job_by_id
from scheduler.mail.compose import Composer
from scheduler.mail.dispatcher import RetryPolicy
from scheduler.mail.mailer import Mailer
from scheduler.mail.models import OutboxMessage, OutboxState
from scheduler.mail.outbox import next_due
from scheduler.reminders.planner import RuleBook
from scheduler.runtime import Runtime

MIN_STEP = timedelta(seconds=1)
StepHook = Callable[[datetime], Awaitable[datetime | None]]


def _step_jobs(ids: Collection[str] | None, *, with_followups: bool) -> list[Job]:
    """Return the jobs each replay step runs, in table order: the replayed ones, narrowed to `ids` when given."""
    for job_id in ids or ():
        job_by_id(job_id)  # an unknown id is an error, not a replay that sends nothing
    # The followups job plans from checklist templates: a replay given none leaves it out.
    return [job for job in JOBS if job.replayed and (ids is None or job.id in ids)
            and (with_followups or job.id != "followups")]


def _next_local_midnight(moment: datetime) -> datetime:
    return at_local(local_date(moment) + timedelta(days=1), datetime.min.time())


async def replay(
    *, engine: Engine, mailer: Mailer, composer: Composer, rules: RuleBook, start: datetime, end: datetime,
    batch_size: int = 200, policy: RetryPolicy | None = None, clock: FixedClock | None = None,
    followups: dict[str, Any] | None = None, on_step: StepHook | None = None, jobs: Collection[str] | None = None,
) -> dict[str, Any]:
    """Run [start, end] on a clock that jumps from one due instant (or local midnight) to the next; return counts.

    Each step runs the ticker's jobs (scheduler.jobs.JOBS) in table order, so a replay mails what the ticker
    would; `jobs` narrows them to some ids. `followups` (checklist templates) is what the followups job plans
    with: without it that job does not run. `on_step(now)` runs after each step's jobs (e.g. people answering
    forms) and may name the next instant it wants to run at.
    """
    t0 = time.perf_counter()
    clock = clock or FixedClock(start)
    clock.set(start)
    # The settings the mail is rendered with also give the report mail its base URL.
    runtime = Runtime(composer.settings, clock=clock, engine=engine)
    runner = MailJobs(runtime, mailer=mailer, composer=composer, wall=clock, rules=rules,
                      policy=policy or RetryPolicy(), batch_size=batch_size, checklists=followups)
    step_jobs = _step_jobs(jobs, with_followups=followups is not None)
    steps = 0
    sent_before = _states(engine)
    while True:
        steps += 1
        for job in step_jobs:
            await runner.run(job)
        wants = await on_step(clock.now()) if on_step is not None else None
        with session_scope(engine) as session:
            upcoming = next_due(session=session)
        # The planners also read the local date (tasks open by day, the monthly report on the 1st): the
        # ticker would notice a new day within seconds, so a replay steps at every local midnight too.
        candidates = [t for t in (upcoming, wants, _next_local_midnight(clock.now())) if t is not None]
        upcoming = min(candidates)
        if upcoming > end:
            break
        clock.set(max(upcoming, clock.now() + MIN_STEP))
    after = _states(engine)
    by_kind = _sent_by_kind(engine, start, end)
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "sent": after.get(OutboxState.SENT, 0) - sent_before.get(OutboxState.SENT, 0),
        "failed": after.get(OutboxState.FAILED, 0) - sent_before.get(OutboxState.FAILED, 0),
        "cancelled": after.get(OutboxState.CANCELLED, 0),
        "skipped": after.get(OutboxState.SKIPPED, 0) - sent_before.get(OutboxState.SKIPPED, 0),
        "pending": after.get(OutboxState.PENDING, 0),
        "by_kind": by_kind,
        "per_recipient_week": per_recipient_week(engine, start, end),
        "steps": steps,
        "seconds": round(time.perf_counter() - t0, 3),
    }


def _states(engine: Engine) -> dict[str, int]:
    with session_scope(engine) as session:
        return dict(session.exec(select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)).all())


def _sent_by_kind(engine: Engine, start: datetime, end: datetime) -> dict[str, int]:
    with session_scope(engine) as session:
        rows = session.exec(
            select(OutboxMessage.kind, func.count())
            .where(OutboxMessage.state == OutboxState.SENT, OutboxMessage.sent_at >= start,  # type: ignore[operator]
                   OutboxMessage.sent_at <= end)  # type: ignore[operator]
            .group_by(OutboxMessage.kind)
        ).all()
    return dict(sorted(Counter(dict(rows)).items()))


def per_recipient_week(engine: Engine, start: datetime, end: datetime) -> dict[str, Any]:
    """Return how many mails one person got in one week (ISO weeks, Shanghai), over every (recipient, week) that
    got any mail sent in [start, end]: median and max, the recipient and week of the max, and how many pairs."""
    with session_scope(engine) as session:
        rows = session.exec(
            select(OutboxMessage.recipient, OutboxMessage.sent_at)
            .where(OutboxMessage.state == OutboxState.SENT, OutboxMessage.sent_at >= start,  # type: ignore[operator]
                   OutboxMessage.sent_at <= end)  # type: ignore[operator]
        ).all()
    weeks: Counter[tuple[str, str]] = Counter()
    for recipient, sent_at in rows:
        assert sent_at is not None  # sent rows carry their time
        year, week, _day = sent_at.astimezone(SHANGHAI).isocalendar()
        weeks[(recipient, f"{year}-W{week:02d}")] += 1
    if not weeks:
        return {"pairs": 0, "median": 0, "max": 0, "max_recipient": None, "max_week": None}
    (busiest, busiest_week), most = weeks.most_common(1)[0]
    return {"pairs": len(weeks), "median": statistics.median(weeks.values()), "max": most,
            "max_recipient": busiest, "max_week": busiest_week}


class ReplaySetupError(Exception):
    """The replay cannot start: no contacts file (invalid files raise `InputInvalid`)."""


def replay_in_scratch_db(
    *, settings: Settings, start: datetime, end: datetime, workdir: Path, plan: Path | None = None,
    contacts: Path | None = None,
) -> dict[str, Any]:
    """Import the plan and contacts into a fresh SQLite file under `workdir` and replay through the configured SMTP."""
    from scheduler.contacts import read_contacts_file, replace_contacts
    from scheduler.mail.mailer import SMTPMailer
    from scheduler.plan.catalog import get_organizations
    from scheduler.plan.importer import import_plan
    from scheduler.plan.seed import read_plan_file

    contacts = contacts or settings.contacts_file
    if contacts is None:
        raise ReplaySetupError("重放需要联系人文件：--contacts PATH 或 SCHEDULER_CONTACTS_FILE")
    engine = make_engine(f"sqlite:///{workdir / 'replay.db'}")
    SQLModel.metadata.create_all(engine)
    with session_scope(engine, write=True) as session:  # an invalid plan or contacts file raises InputInvalid
        import_plan(session=session, doc=read_plan_file(plan or settings.seed_file), now=start)
        people = read_contacts_file(contacts, organizations=get_organizations(session=session))
        replace_contacts(session=session, people=people, now=start)
    mailer = SMTPMailer(settings)

    from scheduler.followups.action_links import mail_composer
    from scheduler.followups.checklists import read_checklists
    from scheduler.reports.mailing import attach_report_files

    async def run() -> dict[str, Any]:
        clock = FixedClock(start)
        composer = attach_report_files(mail_composer(settings, engine))
        try:
            return await replay(engine=engine, mailer=mailer, composer=composer, clock=clock,
                                rules=RuleBook.from_overrides(settings.reminder_rules), start=start, end=end,
                                policy=RetryPolicy.from_settings(settings),
                                followups=read_checklists(settings.checklist_file))
        finally:
            await mailer.close()

    try:
        return asyncio.run(run())
    finally:
        engine.dispose()
