"""The SMTP circuit breaker shared by worker processes through the database (issue 15): two dispatchers on one
database against a server that is down, then up. While it is down only one of them probes per interval (never both
at once); once it answers, every due row is delivered exactly once. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from itertools import pairwise
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import select

from scheduler.clock import FixedClock
from scheduler.config import Settings
from scheduler.db import session_scope
from scheduler.mail.compose import Composer
from scheduler.mail.dispatcher import DispatchReport, RetryPolicy, SharedCircuitBreaker, dispatch_due
from scheduler.mail.mailer import SMTPMailer
from scheduler.mail.models import BreakerState, OutboxMessage
from scheduler.reminders.planner import RuleBook
from scheduler.reminders.sync import plan_and_sync
from tests.factories.mail import Recorder, start_smtp
from tests.support.instants import FIRST_WORKDAY
from tests.support.servers import reserve_port

WALL0 = datetime.fromisoformat("2026-03-01T08:00:00+00:00")
STEP = timedelta(seconds=30)


class Worker:
    """One worker process's dispatch job: its own mailer and its own breaker object, the state in the database."""

    def __init__(self, engine: Engine, s: Settings, name: str, *, app: FixedClock, wall: FixedClock) -> None:
        self.engine, self.name, self.app, self.wall = engine, name, app, wall
        self.mailer = SMTPMailer(s, unreachable_pause=0.0)
        self.composer = Composer.for_engine(s, engine)
        self.breaker = SharedCircuitBreaker(engine, threshold=5, base=5.0, cap=300.0)

    async def tick(self) -> DispatchReport:
        return await dispatch_due(engine=self.engine, mailer=self.mailer, composer=self.composer, clock=self.app,
                                  worker=self.name, policy=RetryPolicy(base=60, cap=6 * 3600), wall=self.wall,
                                  breaker=self.breaker)


def states(engine: Engine) -> Counter[str]:
    with session_scope(engine) as session:
        return Counter(session.exec(select(OutboxMessage.state)).all())


def test_two_workers_probe_a_down_server_once_per_interval_then_deliver_everything_once(
    mail_engine: Engine, tmp_path: Path
) -> None:
    with session_scope(mail_engine, write=True) as session:
        plan_and_sync(session=session, rules=RuleBook(), now=FIRST_WORKDAY)
        due = len(session.exec(select(OutboxMessage).where(OutboxMessage.next_attempt_at <= FIRST_WORKDAY)).all())
    assert due >= 5  # enough to open the breaker
    reserved = reserve_port()  # bound, not listening: connections are refused until the server takes it
    port = reserved.getsockname()[1]
    s = Settings(var_dir=tmp_path, smtp_host="127.0.0.1", smtp_port=port, secret_keys=["k" * 32], smtp_timeout=2)
    app, wall = FixedClock(FIRST_WORKDAY), FixedClock(WALL0)
    a, b = (Worker(mail_engine, s, name, app=app, wall=wall) for name in ("a", "b"))
    recorder = Recorder()
    claimed_at: list[tuple[int, int]] = []  # per wall step after the first: rows claimed by a and by b

    async def scenario() -> None:
        try:
            first = await a.tick()
            assert first.held and first.retried == due  # every due row fails once; the breaker opens
            for _ in range(int(timedelta(hours=1) / STEP)):
                wall.advance(STEP)
                claimed_at.append(((await a.tick()).claimed, (await b.tick()).claimed))
            assert states(mail_engine)["failed"] == 0
            controller = start_smtp(recorder, sock=reserved)
            try:
                for _ in range(30):
                    wall.advance(STEP)
                    await a.tick()
                    await b.tick()
                    left = states(mail_engine)
                    if not left["deferred"] and not left["sending"]:
                        break
            finally:
                controller.stop()
        finally:
            await a.mailer.close()
            await b.mailer.close()

    asyncio.run(asyncio.wait_for(scenario(), timeout=120))

    # While down: never both at the same instant, one row per probe, and the intervals grow as for one worker
    # (5 s doubling, capped at 300 s: with 30 s steps, a probe every step, then every 2, 4, 8 and 10 steps).
    assert all(n <= 1 for pair in claimed_at for n in pair)
    assert all(x + y <= 1 for x, y in claimed_at), claimed_at
    probes = [i for i, (x, y) in enumerate(claimed_at) if x + y]
    gaps = [q - p for p, q in pairwise(probes)]
    assert gaps == sorted(gaps) and max(gaps) == 10, gaps
    assert len(probes) <= 120 / 10 + 6
    with session_scope(mail_engine) as session:
        row = session.get(BreakerState, "smtp")
        assert row is not None and row.open_since is None and row.failures == 0  # closed again, for both
    counts = states(mail_engine)
    assert counts["failed"] == counts["deferred"] == counts["sending"] == 0  # pending: rows due later in the year
    ids = [message_from_bytes(data, policy=policy.default)["Message-ID"] for _, _, data in recorder.received]
    assert len(ids) == len(set(ids)) == counts["sent"] >= due
