"""The ticker's jobs, declared once in JOBS and read by the ticker, `run-job` and the replay; APScheduler only ticks."""

from __future__ import annotations

import inspect
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from scheduler.clock import Clock, NonDecreasingClock, RealClock
from scheduler.clockstate import record_instant, stored_instant
from scheduler.db import session_scope
from scheduler.faults import FAULT_TEXT, classify
from scheduler.followups.action_links import mail_composer
from scheduler.followups.checklists import ChecklistItem, read_checklists
from scheduler.followups.sync import PlanInputs, followups_fingerprint, load_plan_inputs, plan_followups
from scheduler.followups.tasks import note_mail_sent
from scheduler.logistics.mailing import confirmation_renderer, plan_logistics_mail
from scheduler.logistics.roster import purge_due
from scheduler.mail.compose import Composer
from scheduler.mail.dispatcher import RetryPolicy, SharedCircuitBreaker, dispatch_due, recover, worker_id
from scheduler.mail.kinds import MailKind
from scheduler.mail.mailer import Mailer
from scheduler.mail.policy import MailPolicy
from scheduler.reminders.planner import RuleBook
from scheduler.reminders.sync import plan_and_sync, planning_fingerprint
from scheduler.reports.mailing import attach_report_files, plan_report_mail
from scheduler.runtime import Runtime

log = logging.getLogger(__name__)
MISFIRE_GRACE_SECONDS = 300
Checklists = dict[str, tuple[ChecklistItem, ...]]


FOLLOWUPS_WAIT_TICKS = 3  # dispatch waits for follow-up planning at most this many planning periods


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
        self.mail_policy = MailPolicy.from_settings(runtime.settings.mail_policy)  # when and how often mail goes
        self.batch_size = batch_size if batch_size is not None else runtime.settings.dispatch_batch
        self.checklists = checklists
        self.wall = wall or RealClock()
        # Every job reads this clock: it never runs back (a backward jump holds time at the latest instant seen).
        clock = runtime.clock
        self.clock = clock if isinstance(clock, NonDecreasingClock) else NonDecreasingClock(clock)
        self._floor_loaded = False
        self.watch = DatabaseWatch()
        self.worker = worker_id()
        # the SMTP server's state as every worker process sees it (in the database): only one of them probes
        self.breaker = SharedCircuitBreaker(runtime.engine)
        self._planned_fingerprint: tuple[Any, ...] | None = None
        self._followups_fingerprint: tuple[Any, ...] | None = None
        # The plans as the followups job last read them, with the planner fingerprint they were read at: a new day
        # with nothing edited re-plans tasks without reading every event and occurrence again.
        self._plan_inputs: tuple[tuple[Any, ...], PlanInputs] | None = None
        self._warned_missing: set[str] = set()
        # Start-up race (issue 14): the plan and followups ticks run side by side, so the plan job can queue 定档
        # mail due at once before the followups job has created the 定档 task its link points to. Each plan tick
        # that queues or changes rows raises `_plan_generation`; a followups tick, once over, records the
        # generation it began after; dispatch waits while follow-up planning has not caught up.
        # Only the ticker runs jobs side by side; a replay or `run-job` runs them one after another, in table order.
        self._plan_generation = 0
        self._followups_generation = 0
        self._concurrent = False
        self._plan_generation_at = 0.0

    def plan(self) -> dict[str, Any]:
        """Sync the planner's wanted rows into the outbox; skipped when no planner input changed."""
        now = self.clock.now()
        with session_scope(self.runtime.engine, write=True) as session:
            fingerprint = planning_fingerprint(session=session, now=now)
            if fingerprint == self._planned_fingerprint:
                # Unchanged inputs can only make rows expire, and claiming cancels expired rows itself.
                return {"skipped": True}
            report = plan_and_sync(session=session, rules=self.rules, now=now, policy=self.mail_policy)
        if report.added:  # new rows (a new occurrence, window or change) may point at tasks not made yet
            self._plan_generation += 1
            self._plan_generation_at = time.monotonic()
        self._planned_fingerprint = fingerprint
        missing = set(report.missing_contacts) - self._warned_missing
        if missing:
            log.warning("no contacts for organizations: %s", ", ".join(sorted(missing)))
            self._warned_missing |= missing
        return report.as_dict()

    def followups(self) -> dict[str, Any]:
        """Plan tasks and task mail; skipped when no input changed and it is still the same day."""
        generation = self._plan_generation
        try:
            return self._followups()
        finally:
            # Also after a failure: waiting longer would not create the tasks, and must not stop all mail.
            self._followups_generation = max(self._followups_generation, generation)

    def followups_behind(self) -> bool:
        """Whether the plan job queued rows that follow-up planning has not caught up with yet."""
        if not self._concurrent or self._followups_generation >= self._plan_generation:
            return False
        # Never hold mail back for long: a followups job that keeps failing must not stop all mail.
        return time.monotonic() - self._plan_generation_at < FOLLOWUPS_WAIT_TICKS * self.settings.plan_interval

    def _followups(self) -> dict[str, Any]:
        now = self.clock.now()
        templates = self.checklists if self.checklists is not None else read_checklists(self.settings.checklist_file)
        with session_scope(self.runtime.engine, write=True) as session:
            fingerprint = (followups_fingerprint(session=session, now=now), tuple(sorted(templates.items())))
            if fingerprint == self._followups_fingerprint:
                return {"skipped": True}
            inputs_key = planning_fingerprint(session=session, now=now)
            if self._plan_inputs is None or self._plan_inputs[0] != inputs_key:
                self._plan_inputs = (inputs_key, load_plan_inputs(session=session, now=now))
            report = plan_followups(session=session, templates=templates, now=now, inputs=self._plan_inputs[1],
                                    policy=self.mail_policy)
        with session_scope(self.runtime.engine) as session:
            self._followups_fingerprint = (followups_fingerprint(session=session, now=now), fingerprint[1])
        return report.as_dict()

    def reports(self) -> dict[str, Any]:
        """Queue the monthly tracking report for the office once its month is over."""
        with session_scope(self.runtime.engine, write=True) as session:
            report = plan_report_mail(session=session, now=self.clock.now(), base_url=self.settings.base_url)
        return report.as_dict()

    def logistics(self) -> dict[str, Any]:
        """Queue nomination requests and deadline nudges; purge rosters past their retention period."""
        now = self.clock.now()
        with session_scope(self.runtime.engine, write=True) as session:
            report = plan_logistics_mail(session=session, keys=self.settings.signing_keys(),
                                         base_url=self.settings.base_url, mail_from=self.settings.mail_from, now=now)
            purged = purge_due(session=session, now=now, retention_days=self.settings.logistics_retention_days)
        return {**report.as_dict(), "purged": purged}

    async def dispatch(self) -> dict[str, Any]:
        """Send every due row (once follow-up planning has caught up with the plan job: links need their tasks)."""
        if self.followups_behind():
            return {"waiting": "followups"}
        report = await dispatch_due(
            engine=self.runtime.engine, mailer=self.mailer, composer=self.composer, clock=self.clock,
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
        self._plan_inputs = None

    def mark_instant(self) -> datetime:
        """Keep the instant the planners are about to act on in the database, and return it.

        On the first call the instant kept by an earlier process becomes the floor of the clock: after a restart
        (or a clock set back) the planners never see an earlier `now` than one they already acted on.
        """
        if not self._floor_loaded:
            last = stored_instant(engine=self.runtime.engine)
            if last is not None:
                self.clock.raise_floor(last)
            self._floor_loaded = True
        instant = self.clock.now()
        record_instant(engine=self.runtime.engine, instant=instant, wall=self.wall.now())
        return instant

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
        if job.plans:
            self.mark_instant()
        return await self.run(job)

    def guarded(self, job: Job) -> Callable[[], Any]:
        """Return the ticker's callable for `job`: the instant kept first, database outages logged once, not raised.

        While the database is away the job backs off (DatabaseWatch) and says so in one log line when it goes and
        one when it returns, instead of a traceback every tick. Other errors still raise (APScheduler logs them).
        """
        watch = self.watch

        def before() -> dict[str, Any] | None:
            if not watch.due():
                return {"skipped": "database"}
            if job.plans:
                self.mark_instant()
            return None

        if inspect.iscoroutinefunction(job.tick):
            async def tick_async() -> dict[str, Any]:
                try:
                    skipped = before()
                    if skipped is not None:
                        return skipped
                    result = await job.tick(self)  # type: ignore[misc]
                except Exception as exc:
                    return watch.failed(job, exc)
                watch.succeeded()
                return result

            return tick_async

        def tick_sync() -> dict[str, Any]:
            try:
                skipped = before()
                if skipped is not None:
                    return skipped
                result = job.tick(self)
            except Exception as exc:
                return watch.failed(job, exc)
            watch.succeeded()
            assert isinstance(result, dict)
            return result

        return tick_sync

    def ticker(self) -> AsyncIOScheduler:
        """Build (not start) the ticker: every job of JOBS, in memory, never overlapping itself."""
        self._concurrent = True  # jobs now overlap each other: dispatch minds the start-up race
        sched = AsyncIOScheduler()
        for job in JOBS:
            # Synchronous ticks run in the loop's thread pool, coroutine ticks on the loop itself.
            sched.add_job(self.guarded(job), "interval", seconds=getattr(self.settings, job.interval),
                          id=job.id, name=job.name, coalesce=True, max_instances=1,
                          misfire_grace_time=MISFIRE_GRACE_SECONDS)
        return sched


class DatabaseWatch:
    """Whether the ticker's database answers; while it does not, ticks back off and one line per change is logged."""

    FIRST_DELAY = 5.0  # real seconds before the first retry; doubled up to MAX_DELAY
    MAX_DELAY = 300.0

    def __init__(self, *, wall: Callable[[], float] = time.monotonic) -> None:
        self._wall = wall
        self._lock = threading.Lock()
        self.down_since: float | None = None
        self.reason = ""
        self._delay = 0.0
        self._next_try = 0.0

    def due(self) -> bool:
        """Tell whether a tick may try the database now (always while it is up)."""
        with self._lock:
            return self.down_since is None or self._wall() >= self._next_try

    def failed(self, job: Job, exc: Exception) -> dict[str, Any]:
        """Note a failed tick: an outage is logged once and backed off; anything else raises again."""
        fault = classify(exc)
        if fault is None:
            raise exc
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()
        with self._lock:
            now = self._wall()
            first = self.down_since is None
            if first:
                self.down_since, self._delay = now, self.FIRST_DELAY
            else:
                self._delay = min(self._delay * 2, self.MAX_DELAY)
            self._next_try = now + self._delay
            self.reason = f"{FAULT_TEXT[fault]}（{reason[0] if reason else type(exc).__name__}）"
        if first:
            log.warning("数据库不可用，定时任务暂停并自动重试：%s（任务 %s）", self.reason, job.id)
        return {"skipped": "database", "reason": self.reason}

    def succeeded(self) -> None:
        """Note a tick that reached the database; logs once when it comes back."""
        with self._lock:
            if self.down_since is None:
                return
            away = self._wall() - self.down_since
            self.down_since, self.reason, self._delay = None, "", 0.0
        log.warning("数据库已恢复（中断约 %.0f 秒），定时任务继续", away)


def build_composer(runtime: Runtime) -> Composer:
    """Build the composer the jobs render with: task mail's action links, the monthly report's files and guests'
    invitations included."""
    composer = attach_report_files(mail_composer(runtime.settings, runtime.engine))
    composer.register(MailKind.GUEST_CONFIRMATION, confirmation_renderer(composer))
    return composer


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
    plans: bool = False  # decides what is due from `now`: the instant is kept first (scheduler.clockstate)


# Planners first, then dispatch: a replay step runs these in order, so mail planned at an instant that is
# already due goes out in the same step, as the ticker's next dispatch tick would send it.
JOBS: tuple[Job, ...] = (
    Job(id="plan", name="计划→发件箱", interval="plan_interval", at_start=True, tick=MailJobs.plan,
        plans=True),
    Job(id="followups", name="跟进事项→发件箱", interval="plan_interval", at_start=True,
        tick=MailJobs.followups, plans=True),
    Job(id="reports", name="月度跟踪报表邮件", interval="plan_interval", at_start=False, tick=MailJobs.reports,
        plans=True),
    Job(id="logistics", name="会务报名通知与名单清理", interval="plan_interval", at_start=False,
        tick=MailJobs.logistics, plans=True),
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
