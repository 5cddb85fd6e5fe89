"""Weekly negotiation check-ins (周周有洽谈): one row per 板块 per ISO week (Monday, Asia/Shanghai)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from scheduler.db import utc_column


class NegotiationCheckin(SQLModel, table=True):
    """What one 板块 reported for one week: a count and short entries (zero is a valid answer)."""

    __tablename__ = "negotiation_checkin"
    __table_args__ = (UniqueConstraint("organization_key", "week_start", name="uq_negotiation_org_week"),)

    id: int | None = Field(default=None, primary_key=True)
    organization_key: str = Field(sa_column=Column(String(64), nullable=False, index=True))
    week_start: date = Field(index=True)  # ISO week Monday in Asia/Shanghai
    task_id: int | None = Field(default=None, foreign_key="task.id", index=True)
    count: int = 0  # 洽谈场次 this week; ≥ len(entries)
    entries: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # each entry: {"project": str, "partner": str, "note": str}
    revision: int = 1
    filed_by: str = Field(max_length=320)
    created_at: datetime = Field(sa_column=utc_column(nullable=False))
    updated_at: datetime = Field(sa_column=utc_column(nullable=False))
