"""Mail throughput: the whole pipeline (claim, render, send, mark) against raw aiosmtplib, and a replay of 2023.

The pipeline's composer is built by `scheduler.jobs.build_composer`, as `serve` and `worker` build it (action
links included), and the 定档 tasks exist (one follow-up tick), so 定档 requests and nudges carry their links.

Run: .venv/bin/python bench/dispatch.py [--messages N]
A local aiosmtpd (discarding sink) runs in a separate process on 127.0.0.1, so server and client do not share a GIL.
Targets: pipeline ≥ 0.5× raw; replay of 2023 under 10 s.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import aiosmtplib
from sqlmodel import SQLModel, select

import scheduler.metadata  # noqa: F401
from scheduler.clock import FixedClock
from scheduler.config import DEFAULT_SEED, PROJECT_ROOT, Settings
from scheduler.contacts import read_contacts_file, replace_contacts
from scheduler.db import make_engine, session_scope
from scheduler.followups.checklists import read_checklists
from scheduler.followups.sync import plan_followups
from scheduler.jobs import build_composer
from scheduler.mail.dispatcher import dispatch_due
from scheduler.mail.kinds import MailKind, occurrence_subject
from scheduler.mail.mailer import SMTPMailer
from scheduler.mail.models import OutboxMessage
from scheduler.mail.outbox import Recipient, enqueue
from scheduler.plan.catalog import get_organizations, get_plan, list_event_views
from scheduler.plan.importer import import_plan
from scheduler.plan.models import Occurrence
from scheduler.plan.seed import read_plan_file
from scheduler.reminders.planner import RuleBook, occurrence_context
from scheduler.replay import replay
from scheduler.runtime import Runtime

NOTICE = datetime(2023, 1, 22, 1, tzinfo=UTC)
CONTACTS = PROJECT_ROOT / "seeds" / "contacts.example.toml"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
                             "-c", "aiosmtpd.handlers.Sink"])
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("aiosmtpd did not start")


def fresh_db(workdir: Path, name: str):
    engine = make_engine(f"sqlite:///{workdir / name}")
    SQLModel.metadata.create_all(engine)
    with session_scope(engine, write=True) as session:
        import_plan(session=session, doc=read_plan_file(DEFAULT_SEED), now=NOTICE)
        people = read_contacts_file(CONTACTS, organizations=get_organizations(session=session))
        replace_contacts(session=session, people=people, now=NOTICE)
    with session_scope(engine, write=True) as session:  # the 定档 tasks the fix mail links to
        plan_followups(session=session, templates=read_checklists(Settings().checklist_file), now=NOTICE)
        session.execute(OutboxMessage.__table__.delete())  # type: ignore[attr-defined]  # only the bench's rows
    return engine


def fill_outbox(engine, n: int) -> None:
    """Queue n messages due now: a realistic mix of kinds, occurrences and recipients (most share a body)."""
    with session_scope(engine, write=True) as session:
        plan = get_plan(session=session)
        assert plan is not None
        views = list_event_views(session=session, plan=plan)
        pairs = [(v, o) for v in views for o in v.occurrences]
        kinds = (MailKind.FIX_REQUEST, MailKind.FIX_NUDGE, MailKind.REMINDER)
        i = 0
        while i < n:
            view, occ = pairs[i % len(pairs)]
            kind = kinds[(i // len(pairs)) % len(kinds)]
            batch = [Recipient(email=f"r{j}@example.org", name=f"联系人{j}", org_key=view.hosts[0].key,
                               org_name=view.hosts[0].short_name, role="host") for j in range(i, min(i + 8, n))]
            ctx = {**occurrence_context(view, occ), "window_close": occ.window_end.isoformat(), "days_before": 7}
            enqueue(session=session, origin="bench", kind=kind, subject=occurrence_subject(occ.id), rule=f"b{i}",
                    recipients=batch, context=ctx, due_at=NOTICE, now=NOTICE, occurrence_id=occ.id)
            i += len(batch)


async def pipeline(engine, settings: Settings) -> float:
    mailer = SMTPMailer(settings)
    t0 = time.perf_counter()
    report = await dispatch_due(engine=engine, mailer=mailer,
                                composer=build_composer(Runtime(settings, engine=engine)), clock=FixedClock(NOTICE),
                                worker="bench", batch_size=settings.dispatch_batch)
    elapsed = time.perf_counter() - t0
    await mailer.close()
    assert report.failed == 0 and report.retried == 0, report.as_dict()
    return report.sent / elapsed


async def raw(engine, settings: Settings) -> tuple[float, int]:
    """Send the same messages, rendered beforehand, one after another on one reused connection."""
    composer = build_composer(Runtime(settings, engine=engine))
    with session_scope(engine) as session:
        rows = list(session.exec(select(OutboxMessage)).all())
        occs = {o.id: o for o in session.exec(select(Occurrence))}
    messages = [composer.compose(r, occs[r.occurrence_id], now=NOTICE) for r in rows]
    client = aiosmtplib.SMTP(hostname=settings.smtp_host, port=settings.smtp_port, start_tls=False)
    await client.connect()
    t0 = time.perf_counter()
    for m in messages:
        await client.sendmail(m.sender, [m.recipient], m.data)
    elapsed = time.perf_counter() - t0
    await client.quit()
    return len(messages) / elapsed, len(messages)


async def replay_2023(engine, settings: Settings) -> dict:
    mailer = SMTPMailer(settings)
    try:
        return await replay(engine=engine, mailer=mailer,
                            composer=build_composer(Runtime(settings, engine=engine)), rules=RuleBook(),
                            start=NOTICE, end=datetime(2023, 12, 31, 16, tzinfo=UTC))
    finally:
        await mailer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=2000)
    args = parser.parse_args()
    port = free_port()
    server = start_server(port)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            settings = Settings(var_dir=workdir, smtp_host="127.0.0.1", smtp_port=port, secret_keys=["b" * 32])
            raw_engine = fresh_db(workdir, "raw.db")
            fill_outbox(raw_engine, args.messages)
            raw_rate, n = asyncio.run(raw(raw_engine, settings))
            pipe_engine = fresh_db(workdir, "pipe.db")
            fill_outbox(pipe_engine, args.messages)
            pipe_rate = asyncio.run(pipeline(pipe_engine, settings))
            replay_engine = fresh_db(workdir, "replay.db")
            t0 = time.perf_counter()
            result = asyncio.run(replay_2023(replay_engine, settings))
            replay_seconds = time.perf_counter() - t0
    finally:
        server.terminate()
        server.wait()
    ratio = pipe_rate / raw_rate
    print(f"messages: {n} to a local aiosmtpd (separate process), {settings.smtp_connections} pipeline connections")
    print(f"raw aiosmtplib, pre-rendered, one connection: {raw_rate:8.0f} msg/s")
    print(f"pipeline (claim, render, send, mark):         {pipe_rate:8.0f} msg/s")
    print(f"ratio pipeline / raw: {ratio:.2f}x  (target >= 0.5x) {'OK' if ratio >= 0.5 else 'BELOW TARGET'}")
    print(f"replay of 2023: {result['sent']} messages {result['by_kind']} in {replay_seconds:.2f} s "
          f"(target < 10 s) {'OK' if replay_seconds < 10 else 'BELOW TARGET'}")


if __name__ == "__main__":
    main()
