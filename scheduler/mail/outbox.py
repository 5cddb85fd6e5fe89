"""The outbox: one row per message to send; enqueue, sync with a planner, claim, record results, recover.

Transient failures (connection refused or dropped, timeouts, 4xx, login trouble) never fail a row: it waits in
`deferred` with the reason until the wall clock reaches its retry time, or until the dispatcher's circuit breaker
sees the server answer again and releases every deferred row at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Text, and_, bindparam, case, func, or_, type_coerce, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from scheduler.mail.models import (
    CANCELLED_BY_ADMIN,
    CANCELLED_BY_PLANNER,
    CANCELLED_EXPIRED,
    STATE_LABELS,
    OutboxMessage,
    OutboxState,
)

QUEUED = (OutboxState.PENDING, OutboxState.DEFERRED)  # rows waiting to go out, which the planner may still change


@dataclass(frozen=True, kw_only=True)
class Recipient:
    """One person a row is addressed to, and why."""

    email: str
    name: str
    org_key: str
    org_name: str
    role: str  # host | co_organizer | escalation


@dataclass(frozen=True, kw_only=True)
class WantedMail:
    """One outbox row the planner wants to exist."""

    kind: str
    subject: str
    rule: str
    recipient: Recipient
    due_at: datetime
    expires_at: datetime | None
    context: dict[str, Any]
    occurrence_id: int | None = None  # set when the mail is about one occurrence, with that occurrence's sequence
    sequence: int | None = None
    skip_reason: str | None = None  # set: the row is recorded as skipped with this reason and never sent

    @property
    def key(self) -> tuple[str, str, str, str]:
        """The outbox key this row will have: kind, subject, recipient, rule."""
        return (self.kind, self.subject, self.recipient.email.lower(), self.rule)


def _row(origin: str, w: WantedMail, now: datetime) -> OutboxMessage:
    return OutboxMessage(
        origin=origin, kind=w.kind, subject=w.subject, rule=w.rule, occurrence_id=w.occurrence_id,
        sequence=w.sequence, recipient=w.recipient.email.lower(), recipient_name=w.recipient.name,
        recipient_org=w.recipient.org_key, context=w.context, due_at=w.due_at, expires_at=w.expires_at,
        next_attempt_at=w.due_at, created_at=now, updated_at=now,
    )


def _row_values(origin: str, w: WantedMail, now: datetime) -> dict[str, Any]:
    """Return the column values of a new pending row for `w` (what `_row` builds, for a bulk INSERT)."""
    return {"origin": origin, "kind": w.kind, "subject": w.subject, "rule": w.rule, "occurrence_id": w.occurrence_id,
            "sequence": w.sequence, "recipient": w.recipient.email.lower(), "recipient_name": w.recipient.name,
            "recipient_org": w.recipient.org_key, "context": w.context, "state": OutboxState.PENDING.value,
            "due_at": w.due_at, "expires_at": w.expires_at, "next_attempt_at": w.due_at, "attempts": 0,
            "last_error": None, "created_at": now, "updated_at": now}


def enqueue(
    *, session: Session, origin: str, kind: str, subject: str, rule: str, recipients: Sequence[Recipient],
    context: dict[str, Any], due_at: datetime, now: datetime, expires_at: datetime | None = None,
    occurrence_id: int | None = None, sequence: int | None = None,
) -> list[OutboxMessage]:
    """Add one row per recipient unless its key exists; return the rows (new or already stored)."""
    wanted = [WantedMail(kind=kind, subject=subject, rule=rule, recipient=r, due_at=due_at, expires_at=expires_at,
                         occurrence_id=occurrence_id, sequence=sequence,
                         context={**context, "org_name": r.org_name, "role": r.role}) for r in recipients]
    existing = {
        m.key: m
        for m in session.exec(select(OutboxMessage).where(OutboxMessage.kind == kind, OutboxMessage.subject == subject,
                                                          OutboxMessage.rule == rule))
    }
    out = []
    for w in wanted:
        row = existing.get(w.key)
        if row is None:
            row = _row(origin, w, now)
            session.add(row)
            existing[w.key] = row
        out.append(row)
    session.flush()
    return out


@dataclass
class SyncReport:
    """What a sync changed."""

    added: int = 0
    updated: int = 0
    cancelled: int = 0
    revived: int = 0
    skipped: int = 0
    missing_contacts: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Return the counts as JSON-ready data."""
        return {"added": self.added, "updated": self.updated, "cancelled": self.cancelled, "revived": self.revived,
                "skipped_by_policy": self.skipped, "missing_contacts": self.missing_contacts}


def _same_context(stored: Any, wanted: dict[str, Any]) -> bool:
    """Tell whether a stored context (its JSON text) equals `wanted`, decoding only when the texts differ.

    SQLite hands back the text; a driver that decodes JSON itself (psycopg) hands back the value.
    """
    if not isinstance(stored, str):
        return bool(stored == wanted)
    if stored == json.dumps(wanted):  # the default JSON serializer wrote it: the same dict gives the same text
        return True
    return bool(json.loads(stored) == wanted)


def sync_outbox(*, session: Session, origin: str, wanted: Iterable[WantedMail], now: datetime) -> SyncReport:
    """Make the stored pending rows of `origin` match `wanted`: add, update, cancel what no longer applies.

    Stored rows are read as columns, not ORM objects, and changed with one bulk UPDATE: a tick that changes
    nothing builds no objects and writes nothing.
    """
    report = SyncReport()
    t = OutboxMessage.__table__  # type: ignore[attr-defined]
    queued: dict[tuple[str, str, str, str], Any] = {}
    cancelled: dict[tuple[str, str, str, str], tuple[int, str | None]] = {}
    sent_keys: set[tuple[str, str, str, str]] = set()
    # Queued rows (pending, or deferred by an outage) with what the planner may change; the many cancelled rows a
    # year piles up only as keys, and one is revived when the planner wants it back.
    for row in session.execute(
        sa_select(t.c.id, t.c.kind, t.c.subject, t.c.recipient, t.c.rule, t.c.due_at, t.c.expires_at,
                  type_coerce(t.c.context, Text).label("context_text"), t.c.sequence, t.c.attempts,
                  t.c.next_attempt_at)
        .where(t.c.origin == origin, or_(*(t.c.state == s for s in QUEUED)))
    ):
        queued[(row.kind, row.subject, row.recipient.lower(), row.rule)] = row
    for row_id, kind, subject, recipient, rule, state, reason in session.execute(
        sa_select(t.c.id, t.c.kind, t.c.subject, t.c.recipient, t.c.rule, t.c.state, t.c.cancel_reason)
        .where(t.c.origin == origin, t.c.state.not_in(QUEUED))
    ):
        if state == OutboxState.CANCELLED:
            cancelled[(kind, subject, recipient.lower(), rule)] = (row_id, reason)
        else:  # sent, sending, failed or skipped: history, never planned again
            sent_keys.add((kind, subject, recipient, rule))
    seen: set[tuple[str, str, str, str]] = set()
    changes: list[dict[str, Any]] = []
    revivals: list[dict[str, Any]] = []
    added: list[dict[str, Any]] = []
    skips: list[dict[str, Any]] = []
    for w in wanted:
        key = w.key
        if key in seen or key in sent_keys:
            seen.add(key)
            continue
        seen.add(key)
        stored = queued.get(key)
        values = {"b_id": 0, "b_due": w.due_at, "b_expires": w.expires_at, "b_context": w.context,
                  "b_sequence": w.sequence, "b_next": w.due_at}
        if stored is None and key in cancelled:
            row_id, reason = cancelled[key]
            if reason != CANCELLED_BY_PLANNER:
                continue
            if w.skip_reason is not None:
                continue  # cancelled stays cancelled: nothing to skip
            revivals.append({**values, "b_id": row_id})
            report.revived += 1
            continue
        if w.skip_reason is not None:
            # Policy: never sent. A new row is stored as skipped (visible, counted); a queued one becomes skipped.
            if stored is None:
                added.append({**_row_values(origin, w, now), "state": OutboxState.SKIPPED.value,
                              "last_error": w.skip_reason})
            else:
                skips.append({"b_id": stored.id, "b_reason": w.skip_reason})
            report.skipped += 1
            continue
        if stored is None:
            added.append(_row_values(origin, w, now))
            report.added += 1
            continue
        if (stored.due_at, stored.expires_at, stored.sequence) == (w.due_at, w.expires_at, w.sequence) \
                and _same_context(stored.context_text, w.context):
            continue
        report.updated += 1
        nxt = max(w.due_at, stored.next_attempt_at) if stored.attempts else w.due_at
        changes.append({**values, "b_id": stored.id, "b_next": nxt})
    session.flush()
    if added:  # one executemany, no ORM object per new row
        session.connection().execute(t.insert(), added)
    fields = {"due_at": bindparam("b_due", type_=t.c.due_at.type),
              "expires_at": bindparam("b_expires", type_=t.c.expires_at.type),
              "context": bindparam("b_context", type_=t.c.context.type), "sequence": bindparam("b_sequence"),
              "next_attempt_at": bindparam("b_next", type_=t.c.next_attempt_at.type), "updated_at": now}
    if changes:  # guarded by state: a row a worker claimed meanwhile is left to the worker
        session.connection().execute(
            t.update().where(t.c.id == bindparam("b_id"), or_(*(t.c.state == s for s in QUEUED)))
            .values(**fields), changes)
    if skips:  # guarded by state like the other updates
        session.connection().execute(
            t.update().where(t.c.id == bindparam("b_id"), or_(*(t.c.state == s for s in QUEUED)))
            .values(state=OutboxState.SKIPPED, last_error=bindparam("b_reason"), updated_at=now), skips)
    if revivals:
        session.connection().execute(
            t.update().where(t.c.id == bindparam("b_id"), t.c.state == OutboxState.CANCELLED)
            .values(**fields, state=OutboxState.PENDING, cancel_reason=None, attempts=0, last_error=None), revivals)
    unwanted = [row.id for key, row in queued.items() if key not in seen]
    if unwanted:
        # Guarded by state: a row a worker claimed meanwhile is left to the worker.
        result = session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.id).in_(unwanted), col(OutboxMessage.state).in_(QUEUED))
            .values(state=OutboxState.CANCELLED, cancel_reason=CANCELLED_BY_PLANNER, updated_at=now,
                    last_error="计划已变更，不再需要发送")
            .execution_options(synchronize_session=False)
        )
        report.cancelled = int(result.rowcount or 0)  # type: ignore[attr-defined]
    return report


def claim_due(*, session: Session, now: datetime, wall_now: datetime, worker: str, limit: int,
              probe: bool = False) -> list[OutboxMessage]:
    """Move up to `limit` due rows to `sending` for `worker` (SKIP LOCKED on PostgreSQL); the caller commits.

    Pending rows are due at `now` (application clock); deferred rows also wait for `wall_now` to reach their
    retry time, unless `probe` (the circuit breaker testing the server with the oldest waiting row).
    """
    session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.state).in_(QUEUED), col(OutboxMessage.expires_at) <= now)
        .values(state=OutboxState.CANCELLED, cancel_reason=CANCELLED_EXPIRED, updated_at=now,
                last_error="已过期：所涉活动已开始或窗口已结束")
    )
    deferred_due = col(OutboxMessage.state) == OutboxState.DEFERRED
    if not probe:
        deferred_due = and_(deferred_due, or_(col(OutboxMessage.retry_at).is_(None),
                                              col(OutboxMessage.retry_at) <= wall_now))
    ids = list(session.exec(
        select(OutboxMessage.id)
        .where(or_(col(OutboxMessage.state) == OutboxState.PENDING, deferred_due),
               col(OutboxMessage.next_attempt_at) <= now)
        .order_by(col(OutboxMessage.next_attempt_at), col(OutboxMessage.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all())
    if not ids:
        return []
    session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id).in_(ids))
        .values(state=OutboxState.SENDING, claimed_at=wall_now, claimed_by=worker,
                attempts=OutboxMessage.attempts + 1, updated_at=now)
    )
    # Only ids were loaded so far, so these objects come fresh from the updated rows.
    return list(session.exec(select(OutboxMessage).where(col(OutboxMessage.id).in_(ids))
                             .order_by(col(OutboxMessage.id))).all())


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """What happened to one claimed row."""

    row_id: int
    message_id: str | None = None  # set when the server accepted the message
    error: str | None = None
    permanent: bool = False
    attempted: bool = True  # False: claimed but not tried (the circuit breaker opened first); goes back unchanged

    @property
    def transient(self) -> bool:
        """Whether this was a failure that retrying can cure."""
        return self.attempted and self.error is not None and not self.permanent


def backoff(attempts: int, *, base: float, cap: float) -> timedelta:
    """Return the wait before retry number `attempts` (exponential, capped)."""
    return timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


def record_outcomes(
    *, session: Session, outcomes: Sequence[Outcome], now: datetime, wall_now: datetime, base: float, cap: float
) -> list[tuple[str, str]]:
    """Mark rows sent, defer transient failures (wall-clock backoff), fail permanent ones with the server's reply.

    Returns (kind, subject) of every row the server accepted, for the caller to pass on to whoever follows mail.
    A transient failure never becomes permanent however often it repeats: the row stays deferred (and visible)
    until the server takes it or its expiry cancels it. Rows claimed but not tried go back as they were.
    """
    accepted: list[tuple[str, str]] = []
    sent = [{"b_id": o.row_id, "b_mid": o.message_id} for o in outcomes if o.message_id and o.error is None]
    if sent:
        table = OutboxMessage.__table__  # type: ignore[attr-defined]
        # Also when recovery put it back to pending meanwhile: the server accepted it, so it must not go again.
        session.connection().execute(
            table.update()
            .where(table.c.id == bindparam("b_id"),
                   or_(table.c.state == OutboxState.SENDING, table.c.state == OutboxState.PENDING))
            .values(state=OutboxState.SENT, sent_at=now, message_id=bindparam("b_mid"), last_error=None,
                    retry_at=None, deferred_since=None, updated_at=now),
            sent,
        )
        accepted = list(session.exec(select(OutboxMessage.kind, OutboxMessage.subject).where(
            col(OutboxMessage.id).in_([s["b_id"] for s in sent]), OutboxMessage.state == OutboxState.SENT)).all())
    failed = [o for o in outcomes if o.error is not None or not o.attempted]
    if not failed:
        return accepted
    rows = {r.id: r for r in session.exec(select(OutboxMessage).where(col(OutboxMessage.id).in_(
        [o.row_id for o in failed])))}
    for o in failed:
        row = rows.get(o.row_id)
        if row is None or row.state != OutboxState.SENDING:
            continue
        row.claimed_by = None
        if not o.attempted:
            row.attempts -= 1
            row.state = OutboxState.DEFERRED if row.deferred_since is not None else OutboxState.PENDING
            continue
        row.last_error, row.updated_at = o.error, now
        if o.permanent:
            row.state, row.retry_at, row.deferred_since = OutboxState.FAILED, None, None
        else:
            row.state = OutboxState.DEFERRED
            row.retry_at = wall_now + backoff(row.attempts, base=base, cap=cap)
            row.deferred_since = row.deferred_since or wall_now
    session.flush()
    return accepted


def release_deferred(*, session: Session, wall_now: datetime) -> int:
    """Make every deferred row due again at `wall_now` (the server answers again); return how many."""
    result = session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.state) == OutboxState.DEFERRED,
               or_(col(OutboxMessage.retry_at).is_(None), col(OutboxMessage.retry_at) > wall_now))
        .values(retry_at=wall_now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def recover_stuck(*, session: Session, wall_now: datetime, timeout: timedelta) -> int:
    """Put rows left in `sending` longer than `timeout` (a crashed worker) back in the queue; return how many."""
    result = session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.state) == OutboxState.SENDING, col(OutboxMessage.claimed_at) <= wall_now - timeout)
        .values(state=case((col(OutboxMessage.deferred_since).is_(None), OutboxState.PENDING.value),
                           else_=OutboxState.DEFERRED.value),
                claimed_by=None, last_error="发送中断（进程退出或超时），已重新排队")
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _row_for(session: Session, row_id: int, allowed: tuple[OutboxState, ...], action: str) -> OutboxMessage:
    """Return the row, or raise LookupError (no such row) / ValueError (its state does not allow `action`)."""
    row = session.get(OutboxMessage, row_id)
    if row is None:
        raise LookupError(f"没有编号为 {row_id} 的邮件")
    if row.state not in allowed:
        states = "或".join(STATE_LABELS[s] for s in allowed)
        raise ValueError(f"邮件 {row_id} 状态为“{STATE_LABELS[OutboxState(row.state)]}”，只能{action}{states}的邮件")
    return row


def retry_row(*, session: Session, row_id: int, now: datetime) -> OutboxMessage:
    """Queue a failed, deferred or cancelled row again, now; raise LookupError / ValueError when impossible."""
    row = _row_for(session, row_id, (OutboxState.FAILED, OutboxState.DEFERRED, OutboxState.CANCELLED), "重发")
    row.state, row.cancel_reason, row.attempts, row.last_error = OutboxState.PENDING, None, 0, None
    row.retry_at = row.deferred_since = None
    row.next_attempt_at, row.updated_at = now, now
    if row.expires_at is not None and row.expires_at <= now:
        row.expires_at = None  # an administrator asked for it explicitly
    session.flush()
    return row


def cancel_row(*, session: Session, row_id: int, now: datetime) -> OutboxMessage:
    """Cancel a pending, deferred or failed row for good (the planner will not revive it)."""
    row = _row_for(session, row_id, (OutboxState.PENDING, OutboxState.DEFERRED, OutboxState.FAILED), "取消")
    row.state, row.cancel_reason, row.updated_at = OutboxState.CANCELLED, CANCELLED_BY_ADMIN, now
    row.last_error = "管理员已取消"
    session.flush()
    return row


def list_rows(*, session: Session, state: str | None = None, limit: int = 100) -> list[OutboxMessage]:
    """Return rows, newest due first, optionally of one state."""
    query = select(OutboxMessage).order_by(col(OutboxMessage.due_at).desc(), col(OutboxMessage.id).desc())
    if state:
        query = query.where(OutboxMessage.state == state)
    return list(session.exec(query.limit(limit)).all())


def _reading_order(state: str | None) -> tuple[Any, ...]:
    """Pending mail by when it goes out (soonest first); sent and failed mail newest first."""
    if state in (OutboxState.PENDING, OutboxState.SENDING):
        return col(OutboxMessage.due_at).asc(), col(OutboxMessage.id).asc()
    if state == OutboxState.SENT:
        return col(OutboxMessage.sent_at).desc(), col(OutboxMessage.id).desc()
    if state:
        return col(OutboxMessage.updated_at).desc(), col(OutboxMessage.id).desc()
    return col(OutboxMessage.due_at).desc(), col(OutboxMessage.id).desc()


def list_page(*, session: Session, state: str | None, offset: int, limit: int) -> list[OutboxMessage]:
    """Return one page of rows, optionally of one state, in the order people read the mail log."""
    query = select(OutboxMessage)
    if state:
        query = query.where(OutboxMessage.state == state)
    return list(session.exec(query.order_by(*_reading_order(state)).offset(offset).limit(limit)))


def count_by_state(*, session: Session) -> dict[str, int]:
    """Return the number of rows in each state (every state present, zero included)."""
    counts = {str(s): 0 for s in OutboxState}
    for state, n in session.exec(select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)).all():
        counts[state] = n
    return counts


def next_due(*, session: Session) -> datetime | None:
    """Return when the next queued row becomes due, or None (a deferred row: the later of due and retry time).

    Meaningful where the wall clock is the application clock (a replay); elsewhere deferred rows wait on the wall.
    """
    pending = session.exec(select(func.min(OutboxMessage.next_attempt_at))
                           .where(OutboxMessage.state == OutboxState.PENDING)).one()
    later = case((col(OutboxMessage.retry_at) > col(OutboxMessage.next_attempt_at), col(OutboxMessage.retry_at)),
                 else_=col(OutboxMessage.next_attempt_at))
    deferred = session.execute(sa_select(func.min(later)).where(
        col(OutboxMessage.state) == OutboxState.DEFERRED)).scalar_one()
    times = [t for t in (pending, deferred) if t is not None]
    return min(times) if times else None
