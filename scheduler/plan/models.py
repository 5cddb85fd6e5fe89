"""Plan tables: plans, organizations, events, their host/co-organizer links and occurrences."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from scheduler.db import json_column, utc_column


class OrgKind(enum.StrEnum):
    CITY_DEPARTMENT = "city_department"
    PLATFORM = "platform"
    DISTRICT = "district"
    PARK = "park"
    GROUP = "group"
    EXTERNAL = "external"


BANKUAI_KINDS = (OrgKind.DISTRICT, OrgKind.PARK)


class EventType(enum.StrEnum):
    QUARTERLY_THEME = "quarterly_theme"
    CITY_COORDINATED = "city_coordinated"
    CITY_SERVICE = "city_service"
    DISTRICT = "district"


EVENT_TYPE_LABELS = {
    EventType.QUARTERLY_THEME: "季度主题活动",
    EventType.CITY_COORDINATED: "市级统筹活动",
    EventType.CITY_SERVICE: "市级服务活动",
    EventType.DISTRICT: "板块招商活动",
}
# The 2023 notice's activity types are every plan's default; a plan may list its own (Plan.types: key → label).
# Two keys keep their meaning in any plan that lists them: quarterly_theme rows carry their quarter's theme, and
# district rows count for the 板块 that host or co-organize them. A type a plan adds has its label as its key.


def type_label(key: str, types: dict[str, str] | None = None) -> str:
    """Return the label of an activity type: the plan's, else the default's, else the key (a plan's own type)."""
    return (types or {}).get(key) or EVENT_TYPE_LABELS.get(key) or key  # type: ignore[call-overload]


class Precision(enum.StrEnum):
    """How a plan date text was written; stored as a string (at most 16 characters)."""

    DAY = "day"  # 4月15日, 4月15-16日
    DEKAD = "dekad"  # 3月上旬, 3月中下旬
    MONTH = "month"  # 5月
    MONTH_RANGE = "month_range"  # 2-3月, 12月-次年1月
    QUARTER = "quarter"  # 二季度
    QUARTER_RANGE = "quarter_range"  # 二、三季度
    HALF_YEAR = "half_year"  # 上半年
    DEADLINE = "deadline"  # 9月底前, 年底前: from the plan's start (or publication) to that month's end
    YEAR = "year"  # 全年


class OccurrenceStatus(enum.StrEnum):
    PLANNED = "planned"
    FIXED = "fixed"
    HELD = "held"
    REPORTED = "reported"
    POSTPONED = "postponed"
    CANCELLED = "cancelled"


STATUS_LABELS = {
    OccurrenceStatus.PLANNED: "计划",
    OccurrenceStatus.FIXED: "已定档",
    OccurrenceStatus.HELD: "已举办",
    OccurrenceStatus.REPORTED: "已填报",
    OccurrenceStatus.POSTPONED: "延期",
    OccurrenceStatus.CANCELLED: "取消",
}


class Role(enum.StrEnum):
    HOST = "host"
    CO_ORGANIZER = "co_organizer"


class Plan(SQLModel, table=True):
    """One yearly activity plan (附件4 of a notice)."""

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    year: int
    title: str
    source: str
    published: date
    timezone: str = "Asia/Shanghai"
    themes: dict[str, str] = Field(default_factory=dict, sa_column=json_column())
    office: str | None = Field(default=None, max_length=64)  # unit key: escalations, digests, report mail
    chains: list[str] = Field(default_factory=list, sa_column=json_column())  # the plan's industry chains
    types: dict[str, str] = Field(default_factory=dict, sa_column=json_column())  # activity types, key → label
    bankuai: list[str] = Field(default_factory=list, sa_column=json_column())  # [] = its district/park units
    imported: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())  # as last imported (plan.importer)
    created_at: datetime = Field(sa_column=utc_column(nullable=False))
    updated_at: datetime = Field(sa_column=utc_column(nullable=False))


class Organization(SQLModel, table=True):
    """A host, co-organizer or member unit; groups list their members by key."""

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    name: str
    short_name: str
    aliases: list[str] = Field(default_factory=list, sa_column=json_column())
    kind: str = Field(max_length=32)
    duties: str | None = None
    members: list[str] = Field(default_factory=list, sa_column=json_column())
    parent: str | None = Field(default=None, max_length=64)
    withdrawn: bool = False
    # Shared by every plan: the values as last imported, per plan key ({plan_key: {field: value}}).
    imported: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())
    created_at: datetime = Field(sa_column=utc_column(nullable=False))
    updated_at: datetime = Field(sa_column=utc_column(nullable=False))

    @property
    def is_bankuai(self) -> bool:
        return self.kind in BANKUAI_KINDS


class Event(SQLModel, table=True):
    """One numbered row (序号) of the plan, as published."""

    __table_args__ = (UniqueConstraint("plan_id", "seq", name="uq_event_plan_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id", index=True)
    seq: int
    quarter: int
    type: str = Field(max_length=32)
    theme: str | None = None
    title: str
    content: str
    locations: list[str] = Field(default_factory=list, sa_column=json_column())
    date_text: str
    chains: list[str] = Field(default_factory=list, sa_column=json_column())
    series: str | None = Field(default=None, max_length=64)
    withdrawn: bool = False
    imported: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())  # as last imported (plan.importer)
    created_at: datetime = Field(sa_column=utc_column(nullable=False))
    updated_at: datetime = Field(sa_column=utc_column(nullable=False))


class EventOrganization(SQLModel, table=True):
    """Who hosts (主办) or co-organizes (承办/配合) an event, in the plan's order."""

    __tablename__ = "event_organization"

    event_id: int = Field(foreign_key="event.id", primary_key=True)
    organization_id: int = Field(foreign_key="organization.id", primary_key=True)
    role: str = Field(max_length=16, primary_key=True)
    position: int = 0


class PlanOrganization(SQLModel, table=True):
    """A unit that takes part in a plan (the directory itself is shared by every plan and never shrinks)."""

    __tablename__ = "plan_organization"

    plan_id: int = Field(foreign_key="plan.id", primary_key=True)
    organization_id: int = Field(foreign_key="organization.id", primary_key=True)


class Occurrence(SQLModel, table=True):
    """One session of an event: its window, exact time once fixed, status and feed identity."""

    __table_args__ = (UniqueConstraint("plan_id", "key", name="uq_occurrence_plan_key"),)

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id", index=True)
    event_id: int = Field(foreign_key="event.id", index=True)
    key: str = Field(max_length=64)
    uid: str = Field(sa_column=Column(String(255), unique=True, nullable=False))
    position: int = 0
    title: str
    location: str
    date_text: str
    window_start: date
    window_end: date
    precision: str = Field(max_length=16)
    start_at: datetime | None = Field(default=None, sa_column=utc_column())
    end_at: datetime | None = Field(default=None, sa_column=utc_column())
    status: str = Field(default=OccurrenceStatus.PLANNED, max_length=16)
    status_reason: str | None = None
    sequence: int = 0
    withdrawn: bool = False
    imported: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())  # as last imported (plan.importer)
    created_at: datetime = Field(sa_column=utc_column(nullable=False))
    updated_at: datetime = Field(sa_column=utc_column(nullable=False, index=True))

    @property
    def is_fixed(self) -> bool:
        return self.start_at is not None

    @property
    def is_active(self) -> bool:
        return not self.withdrawn and self.status != OccurrenceStatus.CANCELLED


MATERIAL_OCCURRENCE_FIELDS = (
    "title",
    "location",
    "window_start",
    "window_end",
    "precision",
    "start_at",
    "end_at",
    "status",
    "withdrawn",
)
