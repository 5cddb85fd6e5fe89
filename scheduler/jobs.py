"""The ticker's jobs, declared once in JOBS and read by the ticker, `run-job` and the replay; APScheduler only ticks."""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from scheduler.clock import Clock, RealClock
from scheduler.db import session_scope
from scheduler.followups.action_links import mail_composer
from scheduler.followups.checklists import ChecklistItem, read_checklists
from scheduler.followups.sync import followups_fingerprint, plan_followups
from scheduler.followups.tasks import note_mail_sent
from scheduler.mail.compose import Composer
from scheduler.mail.dispatcher import CircuitBreaker, RetryPolicy, dispatch_due, recover, worker_id
from scheduler.mail.mailer import Mailer
from scheduler.reminders.planner import RuleBook
from scheduler.reminders.sync import plan_and_sync, planning_fingerprint
from scheduler.reports.mailing import plan_report_mail
from scheduler.runtime import Runtime

log = logging.getLogger(__name__)
MISFIRE_GRACE_SECONDS = 300
Checklists = dict[str, tuple[ChecklistItem, ...]]


class MailJobs:
    """What the jobs share in one process: runtime, mailer, composer, and what the last ticks planned from."""

    def __init__(self, runtime: Runtime, *, mailer: Mailer, composer: Composer | None = None,
                 wall: Clock | None = None, rules: RuleBook | None = None, policy: RetryPolicy | None = None,
                 batch_size: int | None = None, checklists: Checklists | None = None) -> None:
        """Take the runtime's settings unless told otherwise; `checklists` fixed, else read from file each tick."""
        self.runtime = runtime
        self.settings = runtime.settings
        self.mailer = mailer
        self.composer = composer if composer is not None else build_composer(runtime)
        self.rules = rules if rules is not None else RuleBook.from_overrides(runtime.settings.reminder_rules)
        self.policy = policy if policy is not None else RetryPolicy.from_settings(runtime.settings)
        self.batch_size = batch_size if batch_size is not None else runtime.settings.dispatch_batch
        self.checklists = checklists
        self.wall = wall or RealClock()
        self.worker = worker_id()
        self.breaker = CircuitBreaker()  # this process's view of the SMTP server, kept across dispatch ticks
        self._planned_fingerprint: tuple[Any, ...] | None = None
        self._followups_fingerprint: tuple[Any, ...] | None = None
        self._warned_missing: set[str] = set()

    def plan(self) -> dict[str, Any]:
        """Sync the planner's wanted rows into the outbox; skipped when no planner input changed."""
        now = self.runtime.clock.now()
        with session_scope(self.runtime.engine, write=True) as session:
            fingerprint = planning_fingerprint(session=session, now=now)
            if fingerprint == self._planned_fingerprint:
                # Unchanged inputs can only make rows expire, and claiming cancels expired rows itself.
                return {"skipped": True}
            report = plan_and_sync(session=session, rules=self.rules, now=now)
        self._planned_fingerprint = fingerprint
        missing = set(report.missing_contacts) - self._warned_missing
        if missing:
            log.warning("no contacts for organizations: %s", ", ".join(sorted(missing)))
            self._warned_missing |= missing
        return report.as_dict()

    def followups(self) -> dict[str, Any]:
        """Plan tasks and task mail; skipped when no input changed and it is still the same day."""
        now = self.runtime.clock.now()
        templates = self.checklists if self.checklists is not None else read_checklists(self.settings.checklist_file)
        with session_scope(self.runtime.engine, write=True) as session:
            fingerprint = (followups_fingerprint(session=session, now=now), tuple(sorted(templates.items())))
            if fingerprint == self._followups_fingerprint:
                return {"skipped": True}
            report = plan_followups(session=session, templates=templates, now=now)
        with session_scope(self.runtime.engine) as session:
            self._followups_fingerprint = (followups_fingerprint(session=session, now=now), fingerprint[1])
        return report.as_dict()

    def reports(self) -> dict[str, Any]:
        """Queue the monthly tracking report for the office once its month is over."""
        with session_scope(self.runtime.engine, write=True) as session:
            report = plan_report_mail(session=session, now=self.runtime.clock.now(), base_url=self.settings.base_url)
        return report.as_dict()

    async def dispatch(self) -> dict[str, Any]:
        """Send every due row."""
        report = await dispatch_due(
            engine=self.runtime.engine, mailer=self.mailer, composer=self.composer, clock=self.runtime.clock,
            worker=self.worker, batch_size=self.batch_size, policy=self.policy, wall=self.wall,
            on_sent=note_mail_sent, breaker=self.breaker,
        )
        return report.as_dict()

    def recover(self) -> dict[str, Any]:
        """Re-queue rows a crashed worker left in `sending`."""
        n = recover(engine=self.runtime.engine, wall=self.wall, timeout=self.settings.outbox_sending_timeout)
        return {"recovered": n}

    def forget(self) -> None:
        """Forget what earlier ticks planned from, so the next tick of every job does its work."""
        self._planned_fingerprint = None
        self._followups_fingerprint = None

    async def run(self, job: Job) -> dict[str, Any]:
        """Run one tick of `job` on the running loop."""
        result = job.tick(self)
        if inspect.isawaitable(result):
            return await result
        return result

    async def run_once(self, job_id: str) -> dict[str, Any]:
        """Run one tick of the job named `job_id`, whatever earlier ticks planned from."""
        job = job_by_id(job_id)
        self.forget()
        return await self.run(job)

    def ticker(self) -> AsyncIOScheduler:
        """Build (not start) the ticker: every job of JOBS, in memory, never overlapping itself."""
        sched = AsyncIOScheduler()
        for job in JOBS:
            # Synchronous ticks run in the loop's thread pool, coroutine ticks on the loop itself.
            sched.add_job(job.tick, "interval", args=(self,), seconds=getattr(self.settings, job.interval),
                          id=job.id, name=job.name, coalesce=True, max_instances=1,
                          misfire_grace_time=MISFIRE_GRACE_SECONDS)
        return sched


def build_composer(runtime: Runtime) -> Composer:
    """Build the composer the jobs render with, task mail's action links included."""
    return mail_composer(runtime.settings, runtime.engine)


Tick = Callable[[MailJobs], dict[str, Any] | Awaitable[dict[str, Any]]]


@dataclass(frozen=True, kw_only=True)
class Job:
    """One ticker job: its id, its Chinese name, the setting holding its period, and one tick of it."""

    id: str
    name: str
    interval: str  # name of the Settings field with the period in (real) seconds
    at_start: bool  # run once as soon as the ticker starts, not only after the first period
    tick: Tick
    replayed: bool = True  # run by each step of a replay (scheduler.replay)


# Planners first, then dispatch: a replay step runs these in order, so mail planned at an instant that is
# already due goes out in the same step, as the ticker's next dispatch tick would send it.
JOBS: tuple[Job, ...] = (
    Job(id="plan", name="计划→发件箱", interval="plan_interval", at_start=True, tick=MailJobs.plan),
    Job(id="followups", name="跟进事项→发件箱", interval="plan_interval", at_start=True, tick=MailJobs.followups),
    Job(id="reports", name="月度跟踪报表邮件", interval="plan_interval", at_start=False, tick=MailJobs.reports),
    Job(id="dispatch", name="发送到期邮件", interval="dispatch_interval", at_start=False, tick=MailJobs.dispatch),
    # Not replayed: a replay is one process whose sends finish before its clock moves on, so no row can be
    # left in `sending` by a crashed worker; and the lease timeout is wall time, which a replay skips over.
    Job(id="recover", name="恢复中断的发送", interval="recover_interval", at_start=True, tick=MailJobs.recover,
        replayed=False),
)
JOB_IDS = tuple(job.id for job in JOBS)


def job_by_id(job_id: str) -> Job:
    """Return the job named `job_id`; LookupError with a Chinese message listing the ids otherwise."""
    for job in JOBS:
        if job.id == job_id:
            return job
    raise LookupError(f"未知任务 {job_id!r}（可选：{'、'.join(JOB_IDS)}）")


def describe_jobs() -> str:
    """Return the ids and Chinese names of the jobs, for help texts."""
    return " | ".join(f"{job.id}（{job.name}）" for job in JOBS)


@asynccontextmanager
async def running_ticker(jobs: MailJobs) -> AsyncIterator[AsyncIOScheduler]:
    """Start the ticker on the running loop (planning at once) and stop it, closing connections, on exit."""
    sched = jobs.ticker()
    sched.start()
    for job in JOBS:
        if job.at_start:
            sched.modify_job(job.id, next_run_time=datetime.now(sched.timezone))
    try:
        yield sched
    finally:
        sched.shutdown(wait=False)
        await jobs.mailer.close()


def serve_lifespan(runtime: Runtime) -> Callable[[Any], AbstractAsyncContextManager[None]]:
    """Build the web app's lifespan: the local SMTP sink when configured, then the ticker."""

    @asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        from scheduler.mail.sink import start_sink

        s = runtime.settings
        sink = await start_sink(s.smtp_host, s.smtp_port, s.var_dir / "mail") if s.mail_sink else None
        if runtime.mailer is None:
            from scheduler.mail.mailer import SMTPMailer

            runtime.mailer = SMTPMailer(s)
        try:
            async with running_ticker(MailJobs(runtime, mailer=runtime.mailer)):
                yield
        finally:
            if sink is not None:
                sink.close()
                await sink.wait_closed()

    return lifespan
