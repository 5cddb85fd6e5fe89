"""Project lead tables: a project followed from 线索 to 达产, with every stage change kept."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Column, Numeric, String, Text
from sqlmodel import Field, SQLModel

from scheduler.db import utc_column


class LeadStage(enum.StrEnum):
    LEAD = "lead"  # 线索
    NEGOTIATING = "negotiating"  # 在谈
    SIGNED = "signed"  # 签约
    REGISTERED = "registered"  # 注册落地
    STARTED = "started"  # 开工/入驻
    PRODUCING = "producing"  # 投产
    FULL = "full"  # 达产/成长
    STOPPED = "stopped"  # 中止 (reason required)
    PAUSED = "paused"  # 暂缓 (reason required)


LEAD_STAGE_LABELS = {
    LeadStage.LEAD: "线索",
    LeadStage.NEGOTIATING: "在谈",
    LeadStage.SIGNED: "签约",
    LeadStage.REGISTERED: "注册落地",
    LeadStage.STARTED: "开工/入驻",
    LeadStage.PRODUCING: "投产",
    LeadStage.FULL: "达产/成长",
    LeadStage.STOPPED: "中止",
    LeadStage.PAUSED: "暂缓",
}
EXIT_STAGES = (LeadStage.STOPPED, LeadStage.PAUSED)
PROGRESS_STAGES = tuple(s for s in LeadStage if s not in EXIT_STAGES)
STALE_AFTER_DAYS = 30


class Lead(SQLModel, table=True):
    """A project followed after the event that produced it."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    partner: str = Field(default="", max_length=200)
    category: str = Field(max_length=16)
    chain: str = Field(default="", max_length=100)
    origin: str = Field(default="", max_length=100)
    bankuai_key: str | None = Field(default=None, sa_column=Column(String(64), index=True))  # who follows it up
    contact: str = Field(default="", max_length=100)
    amount_wan: Decimal | None = Field(default=None, sa_column=Column(Numeric(14, 2)))
    stage: str = Field(default=LeadStage.LEAD, max_length=16, index=True)
    stage_reason: str | None = Field(default=None, sa_column=Column(Text))
    source_occurrence_id: int | None = Field(default=None, foreign_key="occurrence.id", index=True)  # first seen
    credited_occurrence_id: int | None = Field(default=None, foreign_key="occurrence.id", index=True)  # first signed
    signed_on: date | None = None
    last_update_at: datetime = Field(sa_column=utc_column(nullable=False, index=True))  # stale after 30 days
    created_at: datetime = Field(sa_column=utc_column(nullable=False))
    updated_at: datetime = Field(sa_column=utc_column(nullable=False))


class LeadStageChange(SQLModel, table=True):
    """One stage change (or confirmation) of a lead: when, evidence, who."""

    __tablename__ = "lead_stage_change"

    id: int | None = Field(default=None, primary_key=True)
    lead_id: int = Field(foreign_key="lead.id", index=True)
    from_stage: str | None = Field(default=None, max_length=16)
    to_stage: str = Field(max_length=16)
    changed_on: date  # the date the change happened (Shanghai), as reported
    evidence: str = Field(default="", sa_column=Column(Text, nullable=False))
    reason: str | None = Field(default=None, sa_column=Column(Text))
    occurrence_id: int | None = Field(default=None, foreign_key="occurrence.id")  # set when an outcome report did it
    actor: str = Field(max_length=320)
    created_at: datetime = Field(sa_column=utc_column(nullable=False))
