"""Scheduling tables: units' blackout days and the checker's configurable limits (one row)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from scheduler.db import utc_column


class ScheduleBlackout(SQLModel, table=True):
    """Days a unit declared it cannot hold or join an activity (两会, leaders away)."""

    __tablename__ = "schedule_blackout"

    id: int | None = Field(default=None, primary_key=True)
    organization_key: str = Field(max_length=64, index=True)
    start: date
    end: date
    reason: str = Field(max_length=200)
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(sa_column=utc_column(nullable=False))


class ScheduleRules(SQLModel, table=True):
    """The checker's limits, one row (id 1): travel buffer around out-of-town trips, delegations away per day."""

    __tablename__ = "schedule_rules"

    id: int | None = Field(default=None, primary_key=True)
    travel_buffer_days: int = 1
    away_cap: int = 3
    updated_at: datetime = Field(sa_column=utc_column(nullable=False))


class ScheduleProposal(SQLModel, table=True):
    """One session's suggested day in a published version of a plan's proposal (versions are never changed)."""

    __tablename__ = "schedule_proposal"
    __table_args__ = (UniqueConstraint("plan_id", "version", "occurrence_key", name="uq_schedule_proposal"),)

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id", index=True)
    version: int
    occurrence_key: str = Field(max_length=64)
    day: date
    why: str = Field(max_length=400)
    published_by: str = Field(max_length=100)
    published_at: datetime = Field(sa_column=utc_column(nullable=False))
