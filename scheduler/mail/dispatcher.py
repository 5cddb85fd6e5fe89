"""The dispatcher: claim due outbox rows, render, send one message per recipient, then record what happened.

A circuit breaker (wall clock) stops claiming once the server looks down and probes it with one message at growing
intervals; the first answer releases every deferred row.
"""

from __future__ import annotations

import asyncio
import logging
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
from scheduler.mail.models import BreakerState, OutboxMessage
from scheduler.mail.outbox import Outcome, claim_due, record_outcomes, recover_stuck, release_deferred
from scheduler.plan.models import Occurrence

# Told, inside the transaction that records them, which (kind, subject) the server accepted: the job passes in
# whoever follows mail (follow-up tasks stamp their last reminder), so the mail path knows none of its clients.
OnSent = Callable[[Session, Sequence[tuple[str, str]], datetime], object]
RECORD_EVERY = 25  # results sent concurrently and written per transaction: bounds duplicates and outage waste
log = logging.getLogger(__name__)


def worker_id() -> str:
    """Name this process for claims (host, pid, random suffix)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class RetryPolicy:
    """How soon (wall-clock seconds) a deferred row is tried again; `max_attempts` no longer fails anything."""

    max_attempts: int = 8  # kept for settings compatibility: transient failures never become permanent by count
    base: float = 60.0
    cap: float = 6 * 3600.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        """Read the policy from settings."""
        return cls(settings.outbox_max_attempts, settings.outbox_retry_base, settings.outbox_retry_cap)


class CircuitBreaker:
    """Whether the SMTP server is worth trying, on the wall clock: closed → open (probe at growing intervals) → closed.

    It opens after `threshold` transient failures in a row with no message accepted; while open, the dispatcher
    claims nothing but one probe message once `next_probe` has passed, the interval doubling up to `cap` seconds.
    Any answer from the server (accepted, or refused for good) closes it.
    """

    def __init__(self, *, threshold: int = 5, base: float = 5.0, cap: float = 300.0) -> None:
        self.threshold, self.base, self.cap = threshold, base, cap
        self.failures = 0
        self.open_since: datetime | None = None
        self.next_probe: datetime | None = None
        self.interval = base

    @property
    def is_open(self) -> bool:
        """Whether the server is considered down."""
        return self.open_since is not None

    def probe_due(self, wall_now: datetime) -> bool:
        """Whether an open breaker may try one message now."""
        return self.next_probe is not None and wall_now >= self.next_probe

    def record(self, outcomes: Sequence[Outcome], wall_now: datetime) -> bool:
        """Take in results; return True when this closed an open breaker (the server answers again)."""
        answered = any(o.attempted and (o.error is None or o.permanent) for o in outcomes)
        if answered:
            self.failures = 0
            if self.open_since is None:
                return False
            log.warning("SMTP server answers again after an outage since %s: releasing deferred mail",
                        self.open_since.isoformat())
            self.open_since = self.next_probe = None
            self.interval = self.base
            return True
        transient = sum(1 for o in outcomes if o.transient)
        if not transient:
            return False
        if self.open_since is not None:  # a failed probe: wait longer before the next one
            self.interval = min(self.cap, self.interval * 2)
            self.next_probe = wall_now + timedelta(seconds=self.interval)
            return False
        self.failures += transient
        if self.failures >= self.threshold:
            reason = next(o.error for o in outcomes if o.transient)
            log.warning("SMTP server unavailable (%s): holding mail, probing every %.0f s at most", reason, self.cap)
            self.open_since, self.interval = wall_now, self.base
            self.next_probe = wall_now + timedelta(seconds=self.base)
        return False


class SharedCircuitBreaker(CircuitBreaker):
    """The same breaker with its state in the database (`smtp_breaker`), shared by every worker process.

    Each decision is one short write transaction (SQLite BEGIN IMMEDIATE, PostgreSQL SELECT … FOR UPDATE): `sync`
    reads the state, `probe_due` takes the probe by moving `next_probe` one interval on (only the worker that moved
    it probes; a worker that dies mid-probe frees it when that interval ends), `record` applies the same rules as
    the in-process breaker to the stored state. So with several workers, a down server sees one probe per interval.
    """

    def __init__(self, engine: Engine, *, name: str = "smtp", threshold: int = 5, base: float = 5.0,
                 cap: float = 300.0) -> None:
        super().__init__(threshold=threshold, base=base, cap=cap)
        self.engine, self.name = engine, name

    def _row(self, session: Session, wall_now: datetime) -> BreakerState:
        row = session.exec(select(BreakerState).where(BreakerState.name == self.name).with_for_update()).first()
        if row is None:
            row = BreakerState(name=self.name, interval=self.base, updated_at=wall_now)
            session.add(row)
        return row

    def _load(self, row: BreakerState) -> None:
        self.failures, self.open_since, self.next_probe = row.failures, row.open_since, row.next_probe
        self.interval = row.interval

    def _store(self, row: BreakerState, wall_now: datetime) -> None:
        row.failures, row.open_since, row.next_probe = self.failures, self.open_since, self.next_probe
        row.interval, row.updated_at = self.interval, wall_now

    def sync(self) -> None:
        """Read the shared state (what other workers found since)."""
        with session_scope(self.engine) as session:
            row = session.get(BreakerState, self.name)
            if row is not None:
                self._load(row)

    def probe_due(self, wall_now: datetime) -> bool:
        """Take the probe of this interval if it is due and no other worker took it."""
        with session_scope(self.engine, write=True) as session:
            row = self._row(session, wall_now)
            self._load(row)
            if row.open_since is None or row.next_probe is None or wall_now < row.next_probe:
                return False
            self.next_probe = wall_now + timedelta(seconds=self.interval)  # the lease: others wait
            self._store(row, wall_now)
        return True

    def record(self, outcomes: Sequence[Outcome], wall_now: datetime) -> bool:
        """Apply results to the shared state; return True when this closed it."""
        with session_scope(self.engine, write=True) as session:
            row = self._row(session, wall_now)
            self._load(row)
            closed = super().record(outcomes, wall_now)
            self._store(row, wall_now)
        return closed


@dataclass
class DispatchReport:
    """What one dispatch tick did."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0  # transient failures: deferred, to go again
    failed: int = 0
    held: bool = False  # the circuit breaker was open when the tick ended
    sent_by_kind: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        """Return the counts as JSON-ready data."""
        return {"claimed": self.claimed, "sent": self.sent, "retried": self.retried, "failed": self.failed,
                "held": self.held, "sent_by_kind": dict(self.sent_by_kind)}


def _claim(engine: Engine, now: datetime, wall: datetime, worker: str, limit: int, probe: bool,
           composer: Composer) -> tuple[list[OutboxMessage], dict[int, Occurrence]]:
    with session_scope(engine, write=True) as session:
        rows = claim_due(session=session, now=now, wall_now=wall, worker=worker, limit=limit, probe=probe)
        if rows:  # the batch's action links, in the claim's transaction: composing then writes nothing
            composer.prepare(session=session, rows=rows, now=now)
        ids = {r.occurrence_id for r in rows if r.occurrence_id is not None}
        occs = {o.id: o for o in session.exec(select(Occurrence).where(col(Occurrence.id).in_(ids)))} if ids else {}
    return rows, occs  # type: ignore[return-value]


def _record(engine: Engine, outcomes: Sequence[Outcome], now: datetime, wall: datetime, policy: RetryPolicy,
            on_sent: OnSent | None, release: bool) -> None:
    with session_scope(engine, write=True) as session:
        accepted = record_outcomes(session=session, outcomes=outcomes, now=now, wall_now=wall, base=policy.base,
                                   cap=policy.cap)
        if release:
            release_deferred(session=session, wall_now=wall)
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
    on_sent: OnSent | None = None, breaker: CircuitBreaker | None = None,
) -> DispatchReport:
    """Send every row due at clock.now(), batch by batch, until none is left; `on_sent` hears what was accepted.

    With a `breaker` (kept by the caller across ticks), a server that stops answering is probed, not hammered:
    rows claimed after it opened go back untried, and while it stays open only one probe row is claimed per
    probe interval. Without one, deferred rows simply wait for their own wall-clock retry time.
    """
    policy = policy or RetryPolicy()
    wall = wall or RealClock()
    breaker = breaker or CircuitBreaker(threshold=10**9)  # never opens: the per-row backoff alone
    report = DispatchReport()
    while True:
        if isinstance(breaker, SharedCircuitBreaker):
            await asyncio.to_thread(breaker.sync)
        probe = breaker.is_open
        if probe and not await asyncio.to_thread(breaker.probe_due, wall.now()):
            report.held = True
            return report
        now = clock.now()
        rows, occs = await asyncio.to_thread(_claim, engine, now, wall.now(), worker, 1 if probe else batch_size,
                                             probe, composer)
        if not rows:
            return report
        report.claimed += len(rows)
        kinds = {r.id: r.kind for r in rows}
        # Sent RECORD_EVERY at a time so that an outage noticed in one chunk leaves the rest of the batch untried.
        for start in range(0, len(rows), RECORD_EVERY):
            chunk = rows[start:start + RECORD_EVERY]
            if breaker.is_open and not probe:
                done = [Outcome(row_id=r.id or 0, attempted=False) for r in chunk]
            else:
                done = list(await asyncio.gather(*(
                    _send_one(r, occs.get(r.occurrence_id or -1), composer, mailer, now) for r in chunk)))
            wall_now = wall.now()
            closed = await asyncio.to_thread(breaker.record, done, wall_now)
            await asyncio.to_thread(_record, engine, done, clock.now(), wall_now, policy, on_sent, closed)
            _count(report, done, kinds)
        if breaker.is_open and not probe:
            report.held = True
            return report


def _count(report: DispatchReport, outcomes: Sequence[Outcome], kinds: dict[Any, str]) -> None:
    for o in outcomes:
        if not o.attempted:
            continue
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
