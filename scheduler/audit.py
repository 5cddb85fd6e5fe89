"""Who changed what: the audit log (form submissions are kept as numbered revisions in followups.models)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, Session, SQLModel

from scheduler.db import utc_column


class ActorKind:
    LINK = "link"  # the recipient of a token
    ADMIN = "admin"  # a signed-in administrator (possibly on someone's behalf)
    SYSTEM = "system"  # the planner


class AuditEntry(SQLModel, table=True):
    """One change to stored data, with before/after snapshots of the fields that changed."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=utc_column(nullable=False, index=True))
    actor: str = Field(max_length=320)  # recipient address, "admin:<username>" or "system"
    actor_kind: str = Field(max_length=16)
    on_behalf_of: str | None = Field(default=None, max_length=320)  # admin filing for an organization/recipient
    action: str = Field(max_length=48)  # e.g. "outcome.submit", "fix_date.submit", "lead.stage", "link.resend"
    entity: str = Field(max_length=32)  # table name
    entity_id: int | None = Field(default=None, index=True)
    task_id: int | None = Field(default=None, index=True)
    ip: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=400)
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))


def jsonable(value: Any) -> Any:
    """Return `value` as JSON-ready data (dates as ISO text, decimals as strings)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def audit(
    *, session: Session, at: datetime, actor: str, actor_kind: str, action: str, entity: str,
    entity_id: int | None = None, task_id: int | None = None, before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None, ip: str | None = None, user_agent: str | None = None,
    on_behalf_of: str | None = None,
) -> AuditEntry:
    """Add one audit entry (the caller commits with the change itself)."""
    entry = AuditEntry(
        at=at, actor=actor, actor_kind=actor_kind, on_behalf_of=on_behalf_of, action=action, entity=entity,
        entity_id=entity_id, task_id=task_id, ip=ip, user_agent=(user_agent or "")[:400] or None,
        before=jsonable(before) if before is not None else None, after=jsonable(after) if after is not None else None,
    )
    session.add(entry)
    return entry


