"""Outcome tables: the current 成效填报 report per occurrence with its project and talent rows, and project leads
followed from 线索 to 达产 with every stage change kept."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Column, Numeric, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from scheduler.db import utc_column


class ReportStatus(enum.StrEnum):
    HELD = "held"  # 已举办
    POSTPONED = "postponed"  # 延期
    CANCELLED = "cancelled"  # 取消


REPORT_STATUS_LABELS = {ReportStatus.HELD: "已举办", ReportStatus.POSTPONED: "延期", ReportStatus.CANCELLED: "取消"}
PROJECT_CATEGORIES = ("科创项目", "人才项目", "平台载体", "成果转化", "产学研合作")
SIGN_FORMS = ("合同", "协议", "意向", "在谈")
SIGNED_FORMS = ("合同", "协议")  # counted as 签约; 意向 counts as intent, 在谈 as negotiating
TALENT_LEVELS = ("国家级顶尖", "省市级", "外籍高端")
# Participation counts: (field, label, required)
COUNT_FIELDS = (
    ("attendees", "参会人数", True),
    ("companies", "参会企业数", True),
    ("universities", "高校院所数", False),
    ("investors", "投资机构数", False),
    ("experts", "专家嘉宾数", False),
    ("meetings", "对接洽谈场次", False),
    ("releases", "发布成果/需求数", False),
)


class OutcomeReport(SQLModel, table=True):
    """The current outcome report of one occurrence; every submission is also kept in form_revision."""

    __tablename__ = "outcome_report"

    id: int | None = Field(default=None, primary_key=True)
    occurrence_id: int = Field(foreign_key="occurrence.id", sa_column_kwargs={"unique": True})
    task_id: int | None = Field(default=None, foreign_key="task.id", index=True)
    status: str = Field(max_length=16)  # ReportStatus
    status_reason: str | None = Field(default=None, sa_column=Column(Text))
    actual_date: date | None = None
    actual_place: str | None = Field(default=None, max_length=200)
    filer_name: str = Field(default="", max_length=100)
    filer_contact: str = Field(default="", max_length=100)
    attendees: int | None = None
    companies: int | None = None
    universities: int | None = None
    investors: int | None = None
    experts: int | None = None
    meetings: int | None = None
    releases: int | None = None
    narrative: str = Field(default="", sa_column=Column(Text, nullable=False))  # ≤ 500 characters
    next_steps: str = Field(default="", sa_column=Column(Text, nullable=False))
    revision: int = 1  # number of the latest form_revision of the task
    filed_by: str = Field(max_length=320)  # recipient address or "admin:<username>"
    created_at: datetime = Field(sa_column=utc_column(nullable=False))
    updated_at: datetime = Field(sa_column=utc_column(nullable=False, index=True))


class ProjectRow(SQLModel, table=True):
    """One project row of the current report; replaced as a whole on each revision (history in form_revision)."""

    __tablename__ = "outcome_project"
    __table_args__ = (UniqueConstraint("report_id", "position", name="uq_outcome_project_pos"),)

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="outcome_report.id", index=True)
    occurrence_id: int = Field(foreign_key="occurrence.id", index=True)
    position: int
    name: str = Field(max_length=200)  # 项目名称
    partner: str = Field(default="", max_length=200)  # 投资主体/合作单位
    category: str = Field(max_length=16)  # PROJECT_CATEGORIES
    sign_form: str = Field(max_length=8)  # SIGN_FORMS
    amount_wan: Decimal | None = Field(default=None, sa_column=Column(Numeric(14, 2)))  # 计划投资额（万元）
    chain: str = Field(default="", max_length=100)  # 产业链
    origin: str = Field(default="", max_length=100)  # 来源地
    bankuai_key: str | None = Field(default=None, sa_column=Column(String(64), index=True))  # 拟落地板块
    contact: str = Field(default="", max_length=100)  # 对接人
    signed_on_site: bool = False  # 现场签约
    lead_id: int | None = Field(default=None, foreign_key="lead.id", index=True)
    credited: bool = False  # this occurrence is the one the signed project counts for (first signing)


class TalentRow(SQLModel, table=True):
    """One talent row of the current report: level and, optionally, the project row it belongs to."""

    __tablename__ = "outcome_talent"
    __table_args__ = (UniqueConstraint("report_id", "position", name="uq_outcome_talent_pos"),)

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="outcome_report.id", index=True)
    occurrence_id: int = Field(foreign_key="occurrence.id", index=True)
    position: int
    level: str = Field(max_length=16)  # TALENT_LEVELS
    name: str = Field(default="", max_length=100)
    project_position: int | None = None  # position of the linked project row in the same report
    lead_id: int | None = Field(default=None, foreign_key="lead.id")


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
