"""Mail that has not gone out: re-queue failed or deferred rows in bulk; say whether (since when) mail is held back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import func, or_, update
from sqlmodel import Session, col, select

from scheduler.clock import SHANGHAI
from scheduler.mail.models import STATE_LABELS, OutboxMessage, OutboxState

REQUEUABLE = (OutboxState.FAILED, OutboxState.DEFERRED)


@dataclass(frozen=True)
class Requeued:
    """What a bulk retry did: rows queued again, and rows left alone because their mail has expired."""

    requeued: int
    expired: int

    def as_dict(self) -> dict[str, int]:
        """Return the counts as JSON-ready data."""
        return {"requeued": self.requeued, "expired": self.expired}


def retry_all(*, session: Session, state: str, now: datetime, since: date | None = None) -> Requeued:
    """Queue every `state` row (failed or deferred; last changed on or after local date `since`) again, now.

    Rows whose mail has expired (the activity began, the window closed) stay as they are: sending them late is
    worse than not at all, and `retry ID` is there for the one an administrator really wants.
    """
    if state not in REQUEUABLE:
        allowed = "或".join(f"{s.value}（{STATE_LABELS[s]}）" for s in REQUEUABLE)
        raise ValueError(f"只能批量重发状态为 {allowed} 的邮件，不能是 {state[:40]!r}")
    chosen = [col(OutboxMessage.state) == state]
    if since is not None:
        chosen.append(col(OutboxMessage.updated_at) >= datetime.combine(since, time.min, SHANGHAI))
    live = or_(col(OutboxMessage.expires_at).is_(None), col(OutboxMessage.expires_at) > now)
    expired = session.exec(select(func.count()).select_from(OutboxMessage).where(*chosen, ~live)).one()
    result = session.execute(
        update(OutboxMessage)
        .where(*chosen, live)
        .values(state=OutboxState.PENDING, attempts=0, last_error=None, retry_at=None, deferred_since=None,
                claimed_by=None, next_attempt_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return Requeued(requeued=int(result.rowcount or 0), expired=int(expired))  # type: ignore[attr-defined]


@dataclass(frozen=True)
class HeldBack:
    """Mail waiting for the SMTP server: how many rows, since when (wall clock) and the latest reason."""

    rows: int
    since: datetime
    reason: str

    def as_dict(self) -> dict[str, Any]:
        """Return it as JSON-ready data."""
        return {"held_back": True, "deferred": self.rows, "since": self.since.isoformat(), "reason": self.reason}


def held_back(*, session: Session) -> HeldBack | None:
    """Return what is held back by transient failures, or None when no row is deferred."""
    rows, since = session.exec(select(func.count(), func.min(OutboxMessage.deferred_since))
                               .where(OutboxMessage.state == OutboxState.DEFERRED)).one()
    if not rows:
        return None
    reason = session.exec(select(OutboxMessage.last_error).where(OutboxMessage.state == OutboxState.DEFERRED)
                          .order_by(col(OutboxMessage.updated_at).desc(), col(OutboxMessage.id).desc())
                          .limit(1)).first()
    return HeldBack(rows=int(rows), since=since or datetime.min.replace(tzinfo=SHANGHAI), reason=reason or "")
