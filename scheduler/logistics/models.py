"""Logistics tables: participation opened on one occurrence, the units asked to nominate, their people, revisions."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from scheduler.db import utc_column


class NomineeRole(enum.StrEnum):
    """What a nominated person goes as (the form's 角色)."""

    LEADER = "leader"
    STAFF = "staff"
    COMPANY = "company"
    ACCOMPANYING = "accompanying"


ROLE_LABELS = {NomineeRole.LEADER: "带队领导", NomineeRole.STAFF: "工作人员", NomineeRole.COMPANY: "企业代表",
               NomineeRole.ACCOMPANYING: "随行"}
TRANSPORT_CHOICES = ("飞机", "高铁/火车", "统一乘车", "自驾", "其他")
ROOM_CHOICES = ("单住", "合住")


class NomineeStatus(enum.StrEnum):
    """Where one person stands on the roster: nominated by the unit, confirmed or declined (trimmed) by the host."""

    NOMINATED = "nominated"
    CONFIRMED = "confirmed"
    DECLINED = "declined"


NOMINEE_STATUS_LABELS = {NomineeStatus.NOMINATED: "已报名", NomineeStatus.CONFIRMED: "已确认",
                         NomineeStatus.DECLINED: "未采纳"}
# What participation may collect beyond name/unit/title/role/mobile/email.
COLLECT_LABELS = {"travel": "行程（出发/返回、交通方式、车次/航班）", "lodging": "住宿（入住/退房、单住/合住）",
                  "diet": "饮食需求"}


class Participation(SQLModel, table=True):
    """Participation opened on one occurrence: total capacity, nomination deadline, what is collected."""

    id: int | None = Field(default=None, primary_key=True)
    occurrence_id: int = Field(foreign_key="occurrence.id", unique=True)
    total_capacity: int | None = None  # None: no cap beyond the units' own
    deadline_at: datetime = Field(sa_column=utc_column(nullable=False))  # nominations refused from then on
    collect: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # COLLECT_LABELS keys
    note: str | None = Field(default=None, sa_column=Column(Text))  # what the host tells the units
    opened_by: str = Field(max_length=320)
    purged_at: datetime | None = Field(default=None, sa_column=utc_column())  # personal fields removed
    created_at: datetime = Field(sa_column=utc_column(nullable=False))
    updated_at: datetime = Field(sa_column=utc_column(nullable=False))


class DelegationUnit(SQLModel, table=True):
    """One unit asked to nominate people, its capacity, its contact and its nomination link."""

    __tablename__ = "delegation_unit"
    __table_args__ = (UniqueConstraint("participation_id", "organization_key", name="uq_delegation_unit_org"),)

    id: int | None = Field(default=None, primary_key=True)
    participation_id: int = Field(foreign_key="participation.id", index=True)
    organization_key: str = Field(sa_column=Column(String(64), nullable=False))
    org_name: str = Field(max_length=100)
    capacity: int | None = None  # None: no per-unit cap
    contact_name: str = Field(max_length=100)
    contact_email: str = Field(max_length=254)
    # The nomination link: an opaque nonce, signed in the token; expiry and revocation live here, never in the token.
    link_nonce: str = Field(sa_column=Column(String(32), unique=True, nullable=False))
    link_expires_at: datetime = Field(sa_column=utc_column(nullable=False))
    link_revoked_at: datetime | None = Field(default=None, sa_column=utc_column())
    revisions: int = 0  # accepted nominations (each POST is one)
    submitted_at: datetime | None = Field(default=None, sa_column=utc_column())  # the latest accepted POST
    purged_count: int | None = None  # people on the list when personal fields were purged
    created_at: datetime = Field(sa_column=utc_column(nullable=False))


class Nominee(SQLModel, table=True):
    """One person a unit nominated (personal fields are emptied after the retention period, the row is kept)."""

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="delegation_unit.id", index=True)
    participation_id: int = Field(foreign_key="participation.id", index=True)
    position: int = 0
    name: str = Field(max_length=50)
    org: str = Field(max_length=100)
    title: str = Field(default="", max_length=50)
    role: str = Field(max_length=16)
    mobile: str | None = Field(default=None, max_length=11)
    email: str | None = Field(default=None, max_length=254)
    depart_on: date | None = None
    return_on: date | None = None
    transport: str | None = Field(default=None, max_length=16)
    train_no: str | None = Field(default=None, max_length=32)
    checkin_on: date | None = None
    checkout_on: date | None = None
    room: str | None = Field(default=None, max_length=8)
    diet: str | None = Field(default=None, max_length=100)
    status: str = Field(default=NomineeStatus.NOMINATED, max_length=16)
    status_reason: str | None = Field(default=None, max_length=200)
    checked_in_at: datetime | None = Field(default=None, sa_column=utc_column())
    created_at: datetime = Field(sa_column=utc_column(nullable=False))
    updated_at: datetime = Field(sa_column=utc_column(nullable=False))


class NominationRevision(SQLModel, table=True):
    """Every accepted nomination POST of one unit, numbered 1, 2, … (the list as submitted)."""

    __tablename__ = "nomination_revision"
    __table_args__ = (UniqueConstraint("unit_id", "number", name="uq_nomination_revision_unit_number"),)

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="delegation_unit.id", index=True)
    number: int
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))  # {"people": [...]}; emptied when purged
    actor: str = Field(max_length=320)
    ip: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=400)
    created_at: datetime = Field(sa_column=utc_column(nullable=False))


class GuestStatus(enum.StrEnum):
    """Where an invited guest stands."""

    INVITED = "invited"
    ACCEPTED = "accepted"
    DECLINED = "declined"


GUEST_STATUS_LABELS = {GuestStatus.INVITED: "未回复", GuestStatus.ACCEPTED: "接受", GuestStatus.DECLINED: "谢绝"}


class Guest(SQLModel, table=True):
    """One invited guest (请进来) of a participation, with their personal RSVP link and check-in code."""

    __table_args__ = (UniqueConstraint("participation_id", "email", name="uq_guest_participation_email"),
                      UniqueConstraint("participation_id", "checkin_code", name="uq_guest_checkin_code"))

    id: int | None = Field(default=None, primary_key=True)
    participation_id: int = Field(foreign_key="participation.id", index=True)
    name: str = Field(max_length=50)
    org: str = Field(default="", max_length=100)
    email: str | None = Field(default=None, max_length=254)  # None once purged
    link_nonce: str = Field(sa_column=Column(String(32), unique=True, nullable=False))
    link_expires_at: datetime = Field(sa_column=utc_column(nullable=False))
    link_revoked_at: datetime | None = Field(default=None, sa_column=utc_column())
    status: str = Field(default=GuestStatus.INVITED, max_length=16)
    companions: int = 0
    arrival: str | None = Field(default=None, max_length=100)
    answered_at: datetime | None = Field(default=None, sa_column=utc_column())
    checkin_code: str = Field(max_length=8)
    sequence: int = 0  # the calendar invitation's SEQUENCE
    checked_in_at: datetime | None = Field(default=None, sa_column=utc_column())
    created_at: datetime = Field(sa_column=utc_column(nullable=False))
    updated_at: datetime = Field(sa_column=utc_column(nullable=False))
