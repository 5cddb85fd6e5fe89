"""Replay a period on a simulated clock as fast as possible: plan, dispatch, jump to the next due instant."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel, select

import scheduler.metadata  # noqa: F401  (create_all needs every table)
from scheduler.clock import FixedClock
from scheduler.config import Settings
from scheduler.db import make_engine, session_scope
from scheduler.followups.sync import plan_followups
from scheduler.followups.tasks import note_mail_sent
from scheduler.mail.compose import Composer
from scheduler.mail.dispatcher import RetryPolicy, dispatch_due, worker_id
from scheduler.mail.mailer import Mailer
from scheduler.mail.models import OutboxMessage, OutboxState
from scheduler.mail.outbox import next_due
from scheduler.reminders.planner import RuleBook
from scheduler.reminders.sync import plan_and_sync, planning_fingerprint

MIN_STEP = timedelta(seconds=1)
StepHook = Callable[[datetime], Awaitable[datetime | None]]


async def replay(
    *, engine: Engine, mailer: Mailer, composer: Composer, rules: RuleBook, start: datetime, end: datetime,
    batch_size: int = 200, policy: RetryPolicy | None = None, clock: FixedClock | None = None,
    followups: dict[str, Any] | None = None, on_step: StepHook | None = None,
) -> dict[str, Any]:
    """Run [start, end] on a clock that jumps from one due instant to the next; return counts.

    `followups` (checklist templates) also plans follow-up tasks each step; `on_step(now)` runs after each
    dispatch (e.g. people answering forms) and may name the next instant it wants to run at.
    """
    t0 = time.perf_counter()
    clock = clock or FixedClock(start)
    clock.set(start)
    worker = worker_id()
    fingerprint = None
    steps = 0
    sent_before = _states(engine)
    while True:
        steps += 1
        with session_scope(engine, write=True) as session:
            current = planning_fingerprint(session=session)
            if current != fingerprint:
                plan_and_sync(session=session, rules=rules, now=clock.now())
                fingerprint = current
        if followups is not None:
            with session_scope(engine, write=True) as session:
                plan_followups(session=session, templates=followups, now=clock.now())
        await dispatch_due(engine=engine, mailer=mailer, composer=composer, clock=clock, worker=worker,
                           batch_size=batch_size, policy=policy, wall=clock, on_sent=note_mail_sent)
        wants = await on_step(clock.now()) if on_step is not None else None
        with session_scope(engine) as session:
            upcoming = next_due(session=session)
        if wants is not None and (upcoming is None or wants < upcoming):
            upcoming = wants
        if upcoming is None or upcoming > end:
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
        "pending": after.get(OutboxState.PENDING, 0),
        "by_kind": by_kind,
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

    async def run() -> dict[str, Any]:
        clock = FixedClock(start)
        composer = mail_composer(settings, engine)
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
