"""The ticker: the jobs of one table, which `run-job` reads too; `serve` and `worker` as real processes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from scheduler.cli import app
from scheduler.clock import FixedClock
from scheduler.config import DEFAULT_SEED, PROJECT_ROOT, Settings
from scheduler.jobs import JOB_IDS, JOBS, MailJobs, running_ticker
from scheduler.mail.mailer import MemoryMailer
from scheduler.runtime import Runtime
from tests.factories.mail import Recorder, start_smtp
from tests.support.instants import NOTICE_DATE
from tests.support.servers import free_port

EXAMPLE = PROJECT_ROOT / "seeds" / "contacts.example.toml"
FAST_CLOCK = "simulated:2023-01-22@172800"  # two simulated days per second
# Waits end on the event (mail seen); this bound only catches a wedged process: 3× the slowest run seen here
# (52 s for the serve test with the 2-core host at load average ~38; the old 40 s bound failed there).
WAIT_S = 160


def test_ticker_has_fixed_jobs_that_never_pile_up(settings: Settings) -> None:
    settings = settings.model_copy(update={"plan_interval": 7, "dispatch_interval": 2, "recover_interval": 90})
    jobs = MailJobs(Runtime(settings), mailer=MemoryMailer())
    sched = jobs.ticker()
    got = {j.id: j for j in sched.get_jobs()}
    assert set(got) == set(JOB_IDS) == {"plan", "followups", "reports", "logistics", "dispatch",
                                                   "recover"}
    for job in got.values():
        assert job.coalesce is True and job.max_instances == 1 and job.misfire_grace_time >= 60
    # Every job comes from the table: its name, and the period from the setting it names.
    for job in JOBS:
        assert got[job.id].name == job.name
        assert got[job.id].trigger.interval.total_seconds() == getattr(settings, job.interval)
    assert {j.id: j.interval for j in JOBS} == {"plan": "plan_interval", "followups": "plan_interval",
                                                 "reports": "plan_interval", "logistics": "plan_interval",
                                                 "dispatch": "dispatch_interval",
                                                 "recover": "recover_interval"}


def test_running_ticker_starts_the_jobs_marked_to_run_at_start(engine: Engine, tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path, secret_keys=["j" * 32], plan_interval=3600, dispatch_interval=3600,
                        recover_interval=3600)
    jobs = MailJobs(Runtime(settings, engine=engine, clock=FixedClock(NOTICE_DATE)), mailer=MemoryMailer())

    async def first_runs() -> dict[str, datetime]:
        async with running_ticker(jobs) as sched:
            return {j.id: j.next_run_time for j in sched.get_jobs()}

    before = datetime.now(UTC)
    first = asyncio.run(first_runs())
    soon = {job_id for job_id, when in first.items() if when < before + timedelta(minutes=1)}
    assert soon == {j.id for j in JOBS if j.at_start} == {"plan", "followups", "recover"}


def test_run_job_lists_the_table_in_its_help_and_refuses_unknown_ids(engine: Engine, tmp_path: Path) -> None:
    runner = CliRunner()
    rt = Runtime(Settings(var_dir=tmp_path, secret_keys=["j" * 32]), engine=engine, clock=FixedClock(NOTICE_DATE))
    shown = runner.invoke(app, ["run-job", "--help"], obj=rt, env={"COLUMNS": "400"})
    assert shown.exit_code == 0
    assert all(f"{job.id}（{job.name}）" in shown.output for job in JOBS), shown.output
    refused = runner.invoke(app, ["run-job", "nothing"], obj=rt)
    assert refused.exit_code == 2
    assert f"未知任务 'nothing'（可选：{'、'.join(JOB_IDS)}）" in refused.output
    for job in JOBS:  # every id of the table runs once
        done = runner.invoke(app, ["run-job", job.id], obj=rt)
        assert done.exit_code == 0, (job.id, done.output)
        assert isinstance(json.loads(done.output), dict)


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "SCHEDULER_VAR_DIR": str(tmp_path),
        "SCHEDULER_DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}",
        "SCHEDULER_SECRET_KEYS": "j" * 32,
        "SCHEDULER_CONTACTS_FILE": str(EXAMPLE),
        "SCHEDULER_CLOCK": FAST_CLOCK,
        **extra,
    }


def prepare(env: dict[str, str]) -> None:
    """What `make run` does before serving: migrate, import the plan and the contacts."""
    for args in (["db", "upgrade"], ["plan", "import", str(DEFAULT_SEED)], ["contacts", "import"]):
        done = subprocess.run([sys.executable, "-m", "scheduler", *args], env=env, capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, done.stderr


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


@pytest.mark.timeout(300)  # above WAIT_S plus start-up and shutdown
def test_serve_runs_the_sink_and_the_ticker_and_shows_mail(tmp_path: Path) -> None:
    http_port, smtp_port = free_port(), free_port()
    env = env_for(tmp_path, SCHEDULER_MAIL_SINK="true", SCHEDULER_SMTP_PORT=str(smtp_port),
                  SCHEDULER_MAILBOX_PUBLIC="true", SCHEDULER_HEALTH_TOKEN="h" * 24)
    prepare(env)
    proc = subprocess.Popen([sys.executable, "-m", "scheduler", "serve", "--port", str(http_port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + WAIT_S
        health: dict = {}
        while time.monotonic() < deadline:
            try:
                health = httpx.get(f"http://127.0.0.1:{http_port}/healthz", timeout=2,
                                   headers={"Authorization": f"Bearer {'h' * 24}"}).json()
            except httpx.HTTPError:
                health = {}
            page = httpx.get(f"http://127.0.0.1:{http_port}/mail", timeout=5).text if health else ""
            if "定档请求" in page and "定档催办" in page:
                break
            time.sleep(0.5)
        else:
            raise AssertionError(f"no 定档 request and nudge in the mailbox in time: {health}")
        assert "模拟时钟" in health["clock"] and "模拟时钟" in page
        # the snapshot above may predate the mail the page shows: read the counts again, after the page
        health = httpx.get(f"http://127.0.0.1:{http_port}/healthz", timeout=10,
                           headers={"Authorization": f"Bearer {'h' * 24}"}).json()
        # Every row marked sent is a message the sink stored (the sink may already hold a few more).
        assert 0 < health["outbox"]["sent"] <= len(list((tmp_path / "mail").glob("*.eml")))
        assert health["outbox"]["failed"] == 0
    finally:
        stop(proc)
    output = proc.stdout.read() if proc.stdout else ""
    # uvicorn re-raises SIGTERM once it has shut down gracefully.
    assert proc.returncode in (0, -signal.SIGTERM) and "Application shutdown complete" in output, output


@pytest.mark.timeout(300)  # above WAIT_S plus start-up and shutdown
def test_worker_sends_through_the_configured_server_and_stops_cleanly(tmp_path: Path) -> None:
    recorder = Recorder()
    controller = start_smtp(recorder)
    env = env_for(tmp_path, SCHEDULER_SMTP_PORT=str(controller.port), SCHEDULER_SMTP_HOST="127.0.0.1")
    try:
        prepare(env)
        proc = subprocess.Popen([sys.executable, "-m", "scheduler", "worker"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.monotonic() + WAIT_S
            while len(recorder.received) < 12 and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            stop(proc)
    finally:
        controller.stop()
    assert proc.returncode == 0
    kinds = {m["X-Scheduler-Kind"] for m in recorder.messages()}
    assert "fix_request" in kinds and len(recorder.received) >= 12


def test_a_new_day_replans_tasks_from_the_kept_plans_and_an_edit_makes_the_job_read_them_again(
        mail_engine: Engine, tmp_path: Path) -> None:
    from sqlalchemy import event

    from scheduler.followups.checklists import read_checklists
    from scheduler.plan.models import Event, OccurrenceStatus
    from tests.factories.followups import T_MARCH
    from tests.factories.followups import settings as link_settings
    from tests.factories.mail import edit_occurrence

    clock = FixedClock(T_MARCH)
    jobs = MailJobs(Runtime(link_settings(tmp_path), engine=mail_engine, clock=clock), mailer=MemoryMailer(),
                    wall=clock, checklists=read_checklists(Settings().checklist_file))
    loaded: list[object] = []

    def load(target: object, _context: object) -> None:
        loaded.append(target)

    event.listen(Event, "load", load)
    try:
        first = jobs.followups()
        assert not first.get("skipped") and first["tasks_added"] > 0 and loaded
        loaded.clear()
        clock.set(T_MARCH + timedelta(days=1))
        assert jobs.followups().get("skipped") is None, "a new day re-plans (tasks open and fall due by date)"
        assert loaded == [], "with nothing edited, from the plans the job kept"
        edit_occurrence(mail_engine, "04-1", T_MARCH + timedelta(days=1, hours=1), status=OccurrenceStatus.CANCELLED)
        clock.set(T_MARCH + timedelta(days=1, hours=2))
        edited = jobs.followups()
    finally:
        event.remove(Event, "load", load)
    assert loaded, "the edit changed the planner fingerprint: the plans are read again"
    assert edited["tasks_cancelled"] >= 1, "the cancelled occurrence's open tasks are cancelled"
