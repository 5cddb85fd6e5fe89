"""Tables the office fills in or the reports freeze: targets, review notes, 整改 items, adjustments, snapshots."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Column, Numeric, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from scheduler.db import utc_column


class AnnualTarget(SQLModel, table=True):
    """One 板块's annual target for one metric (the plan sets none: the office enters or imports them)."""

    __tablename__ = "annual_target"
    __table_args__ = (UniqueConstraint("year", "organization_key", "metric", name="uq_annual_target"),)

    id: int | None = Field(default=None, primary_key=True)
    year: int
    organization_key: str = Field(sa_column=Column(String(64), nullable=False, index=True))
    metric: str = Field(max_length=32)  # targets.METRICS
    value: Decimal = Field(sa_column=Column(Numeric(14, 2), nullable=False))
    source: str = Field(default="", max_length=200)
    updated_at: datetime = Field(sa_column=utc_column(nullable=False))


class GoalSet(SQLModel, table=True):
    """A set of development goals over one horizon (the 2023 notice's 2025 targets, a 2026–2030 set …), with its 口径.

    Several sets coexist; a goals report reads the set of its plan's city whose horizon covers its day
    (`reports.goalsets`).
    """

    __tablename__ = "goal_set"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    # The city whose plans' reports read the set: the key prefix of those plans (nantong-2023 → nantong).
    city: str = Field(default="", sa_column=Column(String(64), nullable=False, server_default=""))
    title: str = Field(max_length=200)
    starts_on: date
    ends_on: date
    basis: str = Field(sa_column=Column(Text, nullable=False))  # 口径: how the values are counted
    source: str = Field(sa_column=Column(Text, nullable=False))  # the document that sets the targets
    updated_at: datetime = Field(sa_column=utc_column(nullable=False))


class Goal(SQLModel, table=True):
    """One goal of a set: label, unit, target value and how it is counted (cumulative/stock, derived/manual)."""

    __tablename__ = "goal"
    __table_args__ = (UniqueConstraint("goal_set_id", "key", name="uq_goal_set_key"),)

    id: int | None = Field(default=None, primary_key=True)
    goal_set_id: int = Field(foreign_key="goal_set.id", index=True)
    position: int = 0
    key: str = Field(max_length=32)  # the measure: GoalEntry.goal_key, shared by every set that tracks it
    label: str = Field(max_length=200)
    unit: str = Field(max_length=16)
    target: Decimal = Field(sa_column=Column(Numeric(16, 2), nullable=False))
    semantics: str = Field(max_length=16)  # cumulative | stock
    source: str = Field(max_length=16)  # derived | manual
    derive: str = Field(default="", max_length=64)  # project category, or "talent:<level>"


class GoalEntry(SQLModel, table=True):
    """A value of one goal's measure as of a date, from official statistics or the office (source and date kept)."""

    __tablename__ = "goal_entry"
    __table_args__ = (UniqueConstraint("goal_key", "as_of", name="uq_goal_entry"),)

    id: int | None = Field(default=None, primary_key=True)
    goal_key: str = Field(max_length=32, index=True)
    as_of: date
    value: Decimal = Field(sa_column=Column(Numeric(16, 2), nullable=False))
    source: str = Field(max_length=200)
    entered_by: str = Field(max_length=320)
    created_at: datetime = Field(sa_column=utc_column(nullable=False))


class ReviewNote(SQLModel, table=True):
    """The office's note on one unit for one bimonthly review (点评意见)."""

    __tablename__ = "review_note"
    __table_args__ = (UniqueConstraint("period", "organization_key", name="uq_review_note"),)

    id: int | None = Field(default=None, primary_key=True)
    period: str = Field(max_length=16)  # "2023-03/04"
    organization_key: str = Field(sa_column=Column(String(64), nullable=False))
    text: str = Field(sa_column=Column(Text, nullable=False))
    author: str = Field(max_length=320)
    updated_at: datetime = Field(sa_column=utc_column(nullable=False))


class RectificationItem(SQLModel, table=True):
    """A 整改 item raised at one review; open items carry over to every later review until closed."""

    __tablename__ = "rectification_item"

    id: int | None = Field(default=None, primary_key=True)
    opened_period: str = Field(max_length=16, index=True)  # bimonthly period text, sortable
    organization_key: str = Field(sa_column=Column(String(64), nullable=False, index=True))
    text: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="open", max_length=16)  # open | closed
    closed_period: str | None = Field(default=None, max_length=16)
    closed_note: str | None = Field(default=None, sa_column=Column(Text))
    author: str = Field(max_length=320)
    created_at: datetime = Field(sa_column=utc_column(nullable=False))
    updated_at: datetime = Field(sa_column=utc_column(nullable=False))


class AssessmentAdjustment(SQLModel, table=True):
    """A bonus (+) or deduction (−) item of one 板块 in one quarterly assessment (加分/减分项)."""

    __tablename__ = "assessment_adjustment"

    id: int | None = Field(default=None, primary_key=True)
    period: str = Field(max_length=16, index=True)  # "2023Q1"
    organization_key: str = Field(sa_column=Column(String(64), nullable=False))
    points: Decimal = Field(sa_column=Column(Numeric(6, 2), nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    author: str = Field(max_length=320)
    created_at: datetime = Field(sa_column=utc_column(nullable=False))


class ReportSnapshot(SQLModel, table=True):
    """An issued report, frozen: the computed JSON and its SHA-256; issuing the same period twice is refused."""

    __tablename__ = "report_snapshot"
    __table_args__ = (UniqueConstraint("kind", "period", name="uq_report_snapshot"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)
    period: str = Field(max_length=16)
    payload_text: str = Field(sa_column=Column(Text, nullable=False))  # the exact bytes hashed
    sha256: str = Field(max_length=64)
    issued_by: str = Field(max_length=320)
    issued_at: datetime = Field(sa_column=utc_column(nullable=False))
