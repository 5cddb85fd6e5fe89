"""Real worker processes: SIGKILL mid-batch and restart; two workers side by side (SKIP LOCKED on PostgreSQL)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from scheduler.db import session_scope
from scheduler.mail.kinds import MailKind, occurrence_subject
from scheduler.mail.models import OutboxMessage
from scheduler.mail.outbox import Recipient, enqueue
from scheduler.plan.catalog import get_plan, list_event_views
from scheduler.reminders.planner import occurrence_context
from tests.factories.mail import Recorder, start_smtp
from tests.support.instants import NOTICE_DATE

DEADLINE = 180.0  # a safety net for a wedged process, not a pass criterion (3× the worst seen under load)


def queue(engine: Engine, n: int) -> None:
    """Queue n due messages (one per recipient) about real occurrences."""
    with session_scope(engine, write=True) as session:
        plan = get_plan(session=session)
        views = list_event_views(session=session, plan=plan)
        for i in range(n):
            view = views[i % len(views)]
            occ = view.occurrences[0]
            ctx = {**occurrence_context(view, occ), "window_close": occ.window_end.isoformat()}
            enqueue(session=session, origin="test", kind=MailKind.FIX_REQUEST, subject=occurrence_subject(occ.id),
                    rule=f"r{i}", recipients=[Recipient(email=f"p{i}@example.org", name=f"联系人{i}", org_key="kjj",
                                                        org_name="市科技局", role="host")],
                    context=ctx, due_at=NOTICE_DATE, now=NOTICE_DATE, occurrence_id=occ.id)


def cli(db_url: str, tmp_path: Path, port: int, *args: str, batch: int = 20, **env: str) -> subprocess.Popen:
    environment = {
        **os.environ,
        "SCHEDULER_DATABASE_URL": db_url,
        "SCHEDULER_VAR_DIR": str(tmp_path),
        "SCHEDULER_SECRET_KEYS": "w" * 32,
        "SCHEDULER_SMTP_HOST": "127.0.0.1",
        "SCHEDULER_SMTP_PORT": str(port),
        "SCHEDULER_SMTP_TIMEOUT": "10",
        "SCHEDULER_DISPATCH_BATCH": str(batch),
        "SCHEDULER_CLOCK": "real",
        **env,
    }
    return subprocess.Popen([sys.executable, "-m", "scheduler", *args], env=environment, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen) -> dict:
    out, err = proc.communicate(timeout=DEADLINE)
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def outbox(engine: Engine) -> list[OutboxMessage]:
    with session_scope(engine) as session:
        return list(session.exec(select(OutboxMessage)).all())


def test_sigkill_mid_batch_then_restart_delivers_everything(seeded_engine: Engine, db_url: str,
                                                             tmp_path: Path) -> None:
    n, batch = 120, 40
    queue(seeded_engine, n)
    recorder = Recorder(delay=0.05)
    controller = start_smtp(recorder)
    try:
        proc = cli(db_url, tmp_path, controller.port, "run-job", "dispatch", batch=batch)
        deadline = time.monotonic() + DEADLINE
        while len(recorder.received) < 30:
            assert time.monotonic() < deadline and proc.poll() is None, "the worker ended before it could be killed"
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        received_before = len(recorder.received)
        in_flight = {r.id for r in outbox(seeded_engine) if r.state == "sending"}
        assert 0 < received_before < n
        # Restart: the stuck rows are recovered (timeout 0: we know the worker is dead), then dispatched.
        recovered = finish(cli(db_url, tmp_path, controller.port, "run-job", "recover",
                               SCHEDULER_OUTBOX_SENDING_TIMEOUT="0"))
        assert recovered == {"recovered": len(in_flight)}
        finish(cli(db_url, tmp_path, controller.port, "run-job", "dispatch", batch=batch))
    finally:
        controller.stop()
    rows = outbox(seeded_engine)
    assert Counter(r.state for r in rows) == {"sent": n}
    ids = Counter(m["Message-ID"] for m in recorder.messages())
    assert set(ids) == {r.message_id for r in rows}
    duplicates = sum(c - 1 for c in ids.values())
    print(f"SIGKILL after {received_before} messages: {len(in_flight)} rows in flight, {duplicates} duplicates")
    assert duplicates <= batch
    duplicated_rows = {int(mid.strip("<>").split(".")[0]) for mid, c in ids.items() if c > 1}  # <row.install@…>
    assert duplicated_rows <= in_flight  # only what was in flight at the kill can go twice


@pytest.mark.timeout(300)
def test_two_workers_side_by_side_send_each_message_once(seeded_engine: Engine, db_url: str, tmp_path: Path,
                                                         backend: str) -> None:
    n = 160
    queue(seeded_engine, n)

    def both_claimed() -> bool:
        with session_scope(seeded_engine) as session:
            return len(set(session.exec(select(OutboxMessage.claimed_by)).all()) - {None}) >= 2

    # No message is accepted until both workers hold claimed rows: ordered by that event, not by how fast a
    # loaded host starts the second process (the SMTP timeout is raised so the first worker can wait for it).
    recorder = Recorder(hold_until=both_claimed)
    controller = start_smtp(recorder)
    try:
        workers = [cli(db_url, tmp_path, controller.port, "run-job", "dispatch", batch=10,
                       SCHEDULER_SMTP_TIMEOUT="120") for _ in range(2)]
        results = [finish(w) for w in workers]
    finally:
        controller.stop()
    ids = Counter(m["Message-ID"] for m in recorder.messages())
    assert len(ids) == n and max(ids.values()) == 1, f"duplicates on {backend}"
    assert sum(r["sent"] for r in results) == n
    rows = outbox(seeded_engine)
    assert Counter(r.state for r in rows) == {"sent": n}
    claimed_by = Counter(r.claimed_by for r in rows)
    assert len(claimed_by) == 2, f"both workers should have sent part of the queue: {claimed_by}"
