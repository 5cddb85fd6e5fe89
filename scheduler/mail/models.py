"""The outbox table: one row per message to send, with its state."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from scheduler.db import utc_column


class OutboxState(enum.StrEnum):
    """pending → sending → sent | deferred | failed | cancelled; deferred → sending when SMTP answers again.

    skipped: recorded but never sent (the mail policy: its period was over when first planned).
    """

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DEFERRED = "deferred"  # a transient (transport-level) failure: waits on the wall clock, never fails by count
    FAILED = "failed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"  # never sent by policy (its period was over when first planned); last_error says why


STATE_LABELS = {
    OutboxState.PENDING: "待发送",
    OutboxState.SENDING: "发送中",
    OutboxState.SENT: "已发送",
    OutboxState.DEFERRED: "暂缓重试",
    OutboxState.FAILED: "失败",
    OutboxState.CANCELLED: "已取消",
    OutboxState.SKIPPED: "已跳过",
}
# Why a row was cancelled: only rows the planner cancelled come back when wanted again.
CANCELLED_BY_PLANNER = "planner"
CANCELLED_BY_ADMIN = "admin"
CANCELLED_EXPIRED = "expired"


class OutboxMessage(SQLModel, table=True):
    """One email to one recipient, unique by (kind, subject, recipient, rule)."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("kind", "subject", "recipient", "rule", name="uq_outbox_key"),
        Index("ix_outbox_state_next", "state", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    origin: str = Field(sa_column=Column(String(32), nullable=False, index=True))
    kind: str = Field(max_length=48)
    subject: str = Field(max_length=96)  # what the mail is about: "occurrence:12", "task:7"
    rule: str = Field(max_length=96)
    occurrence_id: int | None = Field(default=None, index=True)
    sequence: int | None = None
    recipient: str = Field(max_length=254)
    recipient_name: str = Field(default="", max_length=100)
    recipient_org: str | None = Field(default=None, max_length=64)
    context: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    state: str = Field(default=OutboxState.PENDING, max_length=16)
    due_at: datetime = Field(sa_column=utc_column(nullable=False))
    expires_at: datetime | None = Field(default=None, sa_column=utc_column())
    next_attempt_at: datetime = Field(sa_column=utc_column(nullable=False))
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    cancel_reason: str | None = Field(default=None, max_length=16)
    message_id: str | None = Field(default=None, max_length=255)
    claimed_at: datetime | None = Field(default=None, sa_column=utc_column())  # wall clock: a lease, not domain time
    claimed_by: str | None = Field(default=None, max_length=100)
    sent_at: datetime | None = Field(default=None, sa_column=utc_column())
    # Wall clock (like claimed_at): a deferred row is tried again from retry_at on; deferred_since is when its
    # current run of transient failures began (what the dashboard and /healthz report as "held back since").
    retry_at: datetime | None = Field(default=None, sa_column=utc_column())
    deferred_since: datetime | None = Field(default=None, sa_column=utc_column())
    created_at: datetime = Field(sa_column=utc_column(nullable=False))
    updated_at: datetime = Field(sa_column=utc_column(nullable=False))

    @property
    def key(self) -> tuple[str, str, str, str]:
        """The unique key: kind, subject, recipient, rule."""
        return (self.kind, self.subject, self.recipient.lower(), self.rule)


class BreakerState(SQLModel, table=True):
    """The SMTP circuit breaker shared by every worker process (one row per breaker name; wall-clock instants).

    `next_probe` doubles as the probe lease: the worker that moves it forward owns the one probe of that interval.
    """

    __tablename__ = "smtp_breaker"

    name: str = Field(sa_column=Column(String(32), primary_key=True))
    failures: int = 0  # transient failures in a row while closed
    open_since: datetime | None = Field(default=None, sa_column=utc_column())
    next_probe: datetime | None = Field(default=None, sa_column=utc_column())
    interval: float = 5.0  # seconds until the next probe after a failed one
    updated_at: datetime = Field(sa_column=utc_column(nullable=False))


class Installation(SQLModel, table=True):
    """This installation's identity: one row, a random id generated the first time mail is composed.

    Message-IDs carry it, so two installations (or one rebuilt from scratch) never share an id.
    """

    __tablename__ = "installation"

    id: int = Field(default=1, primary_key=True)
    token: str = Field(max_length=64)
    created_at: datetime = Field(sa_column=utc_column(nullable=False))
