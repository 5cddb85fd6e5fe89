"""Follow-up tables: tasks, issued links, form revisions and weekly 洽谈 check-ins (one per 板块 per ISO week)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, String, Text, UniqueConstraint
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


class TaskKind(enum.StrEnum):
    """The kinds of follow-up work; also the action a link grants (values are stored and inside tokens: keep them).

    What each kind's form does is declared in `followups.kinds.KINDS`.
    """

    FIX_DATE = "fix_date"  # 定档
    OUTCOME = "outcome"  # 成效填报
    CHECKLIST = "checklist"  # 筹备事项 from a per-type template
    NEGOTIATION = "negotiation"  # 周周有洽谈: one per 板块 per ISO week
    LEAD_CHECKIN = "lead_checkin"  # 项目线索月度更新: one per 板块 per month


class TaskStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


TASK_STATUS_LABELS = {TaskStatus.OPEN: "待办", TaskStatus.DONE: "已完成", TaskStatus.CANCELLED: "已取消"}


class Task(SQLModel, table=True):
    """One piece of follow-up work owed by one organization, unique by its natural key."""

    id: int | None = Field(default=None, primary_key=True)
    # Natural key the planner derives: "fix:occ:12", "outcome:occ:12", "checklist:occ:12:venue",
    # "negotiation:rugao:2023-01-02" (ISO week Monday), "leads:rugao:2023-02" (month).
    key: str = Field(sa_column=Column(String(128), unique=True, nullable=False))
    kind: str = Field(max_length=16, index=True)
    title: str
    occurrence_id: int | None = Field(default=None, foreign_key="occurrence.id", index=True)
    organization_key: str = Field(sa_column=Column(String(64), nullable=False, index=True))  # assignee
    assignee_role: str | None = Field(default=None, max_length=16)  # host | co_organizer | bankuai
    template_key: str | None = Field(default=None, max_length=64)  # checklist item key
    period_start: date | None = None  # week Monday (negotiation) or month's 1st (lead check-in)
    opens_on: date  # Shanghai date from which the task is shown and mailed
    due_on: date  # Shanghai date; overdue from the next day on
    status: str = Field(default=TaskStatus.OPEN, max_length=16, index=True)
    status_reason: str | None = Field(default=None, sa_column=Column(Text))
    done_at: datetime | None = Field(default=None, sa_column=utc_column())
    done_by: str | None = Field(default=None, max_length=320)  # token recipient's address, or "admin:<username>"
    last_reminded_at: datetime | None = Field(default=None, sa_column=utc_column())  # SMTP accepted a mail
    reminders_sent: int = 0
    created_at: datetime = Field(sa_column=utc_column(nullable=False))
    updated_at: datetime = Field(sa_column=utc_column(nullable=False, index=True))

    def is_overdue(self, today: date) -> bool:
        """Tell whether the task is still open after its due date."""
        return self.status == TaskStatus.OPEN and today > self.due_on


class IssuedLink(SQLModel, table=True):
    """Every token ever issued (by nonce), so a link can be revoked and its use audited."""

    __tablename__ = "issued_link"

    id: int | None = Field(default=None, primary_key=True)
    nonce: str = Field(sa_column=Column(String(32), unique=True, nullable=False))
    action: str = Field(max_length=32)
    task_id: int = Field(foreign_key="task.id", index=True)
    recipient: str = Field(max_length=320)
    expires_at: datetime = Field(sa_column=utc_column(nullable=False))
    created_at: datetime = Field(sa_column=utc_column(nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=utc_column())


class FormRevision(SQLModel, table=True):
    """Every accepted form POST on a task, numbered 1, 2, … (a second POST is an edit, kept)."""

    __tablename__ = "form_revision"
    __table_args__ = (UniqueConstraint("task_id", "number", name="uq_form_revision_task_number"),)

    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id", index=True)
    action: str = Field(max_length=32)  # the TaskKind the form was for
    number: int
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))  # the cleaned form, as stored
    actor: str = Field(max_length=320)
    actor_kind: str = Field(max_length=16)
    on_behalf_of: str | None = Field(default=None, max_length=320)
    link_nonce: str | None = Field(default=None, sa_column=Column(String(32)))
    ip: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(sa_column=utc_column(nullable=False))
