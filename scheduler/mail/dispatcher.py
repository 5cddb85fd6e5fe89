"""The dispatcher: claim due outbox rows, render, send one message per recipient, then record what happened."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from scheduler.clock import Clock, RealClock
from scheduler.config import Settings
from scheduler.db import session_scope
from scheduler.mail.compose import Composer
from scheduler.mail.mailer import Mailer, MailError
from scheduler.mail.models import OutboxMessage
from scheduler.mail.outbox import Outcome, claim_due, record_outcomes, recover_stuck
from scheduler.plan.models import Occurrence

# Told, inside the transaction that records them, which (kind, subject) the server accepted: the job passes in
# whoever follows mail (follow-up tasks stamp their last reminder), so the mail path knows none of its clients.
OnSent = Callable[[Session, Sequence[tuple[str, str]], datetime], object]
RECORD_EVERY = 25  # results written per transaction: bounds the duplicates a crash can cause


def worker_id() -> str:
    """Name this process for claims (host, pid, random suffix)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently transient failures are retried."""

    max_attempts: int = 8
    base: float = 60.0
    cap: float = 6 * 3600.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        """Read the policy from settings."""
        return cls(settings.outbox_max_attempts, settings.outbox_retry_base, settings.outbox_retry_cap)


@dataclass
class DispatchReport:
    """What one dispatch tick did."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    sent_by_kind: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        """Return the counts as JSON-ready data."""
        return {"claimed": self.claimed, "sent": self.sent, "retried": self.retried, "failed": self.failed,
                "sent_by_kind": dict(self.sent_by_kind)}


def _claim(engine: Engine, now: datetime, wall: datetime, worker: str, limit: int
           ) -> tuple[list[OutboxMessage], dict[int, Occurrence]]:
    with session_scope(engine, write=True) as session:
        rows = claim_due(session=session, now=now, wall_now=wall, worker=worker, limit=limit)
        ids = {r.occurrence_id for r in rows if r.occurrence_id is not None}
        occs = {o.id: o for o in session.exec(select(Occurrence).where(col(Occurrence.id).in_(ids)))} if ids else {}
    return rows, occs  # type: ignore[return-value]


def _record(engine: Engine, outcomes: Sequence[Outcome], now: datetime, policy: RetryPolicy,
            on_sent: OnSent | None) -> None:
    with session_scope(engine, write=True) as session:
        accepted = record_outcomes(session=session, outcomes=outcomes, now=now, max_attempts=policy.max_attempts,
                                   base=policy.base, cap=policy.cap)
        if accepted and on_sent is not None:
            on_sent(session, accepted, now)


async def _send_one(row: OutboxMessage, occ: Occurrence | None, composer: Composer, mailer: Mailer,
                    now: datetime) -> Outcome:
    assert row.id is not None
    try:
        message = composer.compose(row, occ, now=now)
    except Exception as exc:  # a template bug must not block the queue: fail this row, keep the reason
        return Outcome(row_id=row.id, error=f"渲染失败：{type(exc).__name__}: {exc}", permanent=True)
    try:
        return Outcome(row_id=row.id, message_id=await mailer.send(message))
    except MailError as exc:
        return Outcome(row_id=row.id, error=exc.reason, permanent=exc.permanent)


async def dispatch_due(
    *, engine: Engine, mailer: Mailer, composer: Composer, clock: Clock, worker: str,
    batch_size: int = 100, policy: RetryPolicy | None = None, wall: Clock | None = None,
    on_sent: OnSent | None = None,
) -> DispatchReport:
    """Send every row due at clock.now(), batch by batch, until none is left; `on_sent` hears what was accepted."""
    policy = policy or RetryPolicy()
    wall = wall or RealClock()
    report = DispatchReport()
    while True:
        now = clock.now()
        rows, occs = await asyncio.to_thread(_claim, engine, now, wall.now(), worker, batch_size)
        if not rows:
            return report
        report.claimed += len(rows)
        kinds = {r.id: r.kind for r in rows}
        tasks = [asyncio.ensure_future(_send_one(r, occs.get(r.occurrence_id or -1), composer, mailer, now))
                 for r in rows]
        done: list[Outcome] = []
        for next_done in asyncio.as_completed(tasks):
            done.append(await next_done)
            if len(done) >= RECORD_EVERY:
                await asyncio.to_thread(_record, engine, done, clock.now(), policy, on_sent)
                _count(report, done, kinds, policy)
                done = []
        if done:
            await asyncio.to_thread(_record, engine, done, clock.now(), policy, on_sent)
            _count(report, done, kinds, policy)


def _count(report: DispatchReport, outcomes: Sequence[Outcome], kinds: dict[Any, str], policy: RetryPolicy) -> None:
    for o in outcomes:
        if o.error is None:
            report.sent += 1
            report.sent_by_kind[kinds[o.row_id]] += 1
        elif o.permanent:
            report.failed += 1
        else:
            report.retried += 1


def recover(*, engine: Engine, wall: Clock, timeout: float) -> int:
    """Put rows stuck in `sending` back in the queue."""
    with session_scope(engine, write=True) as session:
        return recover_stuck(session=session, wall_now=wall.now(), timeout=timedelta(seconds=timeout))
