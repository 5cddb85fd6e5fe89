"""The ticker's jobs (plan, dispatch, recover, followups), each runnable once from the CLI; APScheduler only ticks."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from scheduler.clock import Clock, RealClock
from scheduler.db import session_scope
from scheduler.followups.action_links import mail_composer
from scheduler.followups.job import FollowupJob
from scheduler.followups.tasks import note_mail_sent
from scheduler.mail.compose import Composer
from scheduler.mail.dispatcher import RetryPolicy, dispatch_due, recover, worker_id
from scheduler.mail.mailer import Mailer
from scheduler.reminders.planner import RuleBook
from scheduler.reminders.sync import plan_and_sync, planning_fingerprint
from scheduler.runtime import Runtime

log = logging.getLogger(__name__)
JOB_IDS = ("plan", "dispatch", "recover", "followups", "reports")
MISFIRE_GRACE_SECONDS = 300


class MailJobs:
    """Plan → outbox, outbox → SMTP, and recovery of stuck rows, for one process."""

    def __init__(self, runtime: Runtime, *, mailer: Mailer, composer: Composer | None = None,
                 wall: Clock | None = None) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self.mailer = mailer
        self.composer = composer or mail_composer(runtime.settings, runtime.engine)
        self.followups = FollowupJob(runtime)
        self.rules = RuleBook.from_overrides(runtime.settings.reminder_rules)
        self.policy = RetryPolicy.from_settings(runtime.settings)
        self.wall = wall or RealClock()
        self.worker = worker_id()
        self._planned_fingerprint: tuple[Any, ...] | None = None
        self._warned_missing: set[str] = set()

    def plan(self, *, force: bool = False) -> dict[str, Any]:
        """Sync the planner's wanted rows into the outbox; skipped when no planner input changed."""
        now = self.runtime.clock.now()
        with session_scope(self.runtime.engine, write=True) as session:
            fingerprint = planning_fingerprint(session=session)
            if not force and fingerprint == self._planned_fingerprint:
                # Unchanged inputs can only make rows expire, and claiming cancels expired rows itself.
                return {"skipped": True}
            report = plan_and_sync(session=session, rules=self.rules, now=now)
        self._planned_fingerprint = fingerprint
        missing = set(report.missing_contacts) - self._warned_missing
        if missing:
            log.warning("no contacts for organizations: %s", ", ".join(sorted(missing)))
            self._warned_missing |= missing
        return report.as_dict()

    async def dispatch(self) -> dict[str, Any]:
        """Send every due row."""
        report = await dispatch_due(
            engine=self.runtime.engine, mailer=self.mailer, composer=self.composer, clock=self.runtime.clock,
            worker=self.worker, batch_size=self.settings.dispatch_batch, policy=self.policy, wall=self.wall,
            on_sent=note_mail_sent,
        )
        return report.as_dict()

    def recover(self) -> dict[str, Any]:
        """Re-queue rows a crashed worker left in `sending`."""
        n = recover(engine=self.runtime.engine, wall=self.wall, timeout=self.settings.outbox_sending_timeout)
        return {"recovered": n}

    def reports(self) -> dict[str, Any]:
        """Queue the monthly tracking report for the office once its month is over (reports_mail)."""
        from scheduler.reports.mailing import plan_report_mail

        with session_scope(self.runtime.engine, write=True) as session:
            report = plan_report_mail(session=session, now=self.runtime.clock.now(), base_url=self.settings.base_url)
        return report.as_dict()

    async def run_once(self, job_id: str) -> dict[str, Any]:
        """Run one tick of one job."""
        if job_id == "plan":
            return self.plan(force=True)
        if job_id == "dispatch":
            return await self.dispatch()
        if job_id == "recover":
            return self.recover()
        if job_id == "followups":
            return self.followups.run(force=True)
        if job_id == "reports":
            return self.reports()
        raise LookupError(f"未知任务 {job_id!r}（可选：{'、'.join(JOB_IDS)}）")

    def ticker(self) -> AsyncIOScheduler:
        """Build (not start) the ticker: fixed jobs, in memory, never overlapping themselves."""
        s = self.settings
        sched = AsyncIOScheduler()
        once = {"coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE_SECONDS}
        sched.add_job(self.plan, "interval", seconds=s.plan_interval, id="plan", name="计划→发件箱", **once)
        sched.add_job(self.dispatch, "interval", seconds=s.dispatch_interval, id="dispatch", name="发送到期邮件",
                      **once)
        sched.add_job(self.recover, "interval", seconds=s.recover_interval, id="recover", name="恢复中断的发送",
                      **once)
        sched.add_job(self.followups.run, "interval", seconds=s.plan_interval, id="followups",
                      name="跟进事项→发件箱", **once)
        sched.add_job(self.reports, "interval", seconds=s.plan_interval, id="reports", name="月度跟踪报表邮件", **once)
        return sched


@asynccontextmanager
async def running_ticker(jobs: MailJobs) -> AsyncIterator[AsyncIOScheduler]:
    """Start the ticker on the running loop (planning at once) and stop it, closing connections, on exit."""
    sched = jobs.ticker()
    sched.start()
    for job in sched.get_jobs():
        if job.id in ("plan", "recover", "followups"):
            job.modify(next_run_time=datetime.now(sched.timezone))
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
