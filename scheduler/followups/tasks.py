"""Follow-up tasks (定档, 成效填报, checklist items, weekly 洽谈, monthly lead check-ins): table, state changes."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import Column, String, Text, update
from sqlmodel import Field, Session, SQLModel, col, select

from scheduler.db import utc_column


class TaskKind(enum.StrEnum):
    FIX_DATE = "fix_date"  # 定档
    OUTCOME = "outcome"  # 成效填报
    CHECKLIST = "checklist"  # 筹备事项 from a per-type template
    NEGOTIATION = "negotiation"  # 周周有洽谈: one per 板块 per ISO week
    LEAD_CHECKIN = "lead_checkin"  # 项目线索月度更新: one per 板块 per month


TASK_KIND_LABELS = {
    TaskKind.FIX_DATE: "定档",
    TaskKind.OUTCOME: "成效填报",
    TaskKind.CHECKLIST: "筹备事项",
    TaskKind.NEGOTIATION: "每周洽谈填报",
    TaskKind.LEAD_CHECKIN: "项目线索月度更新",
}


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


def task_subject(task_id: int) -> str:
    """Return the outbox subject of mail about a task."""
    return f"task:{task_id}"


def get_task(*, session: Session, task_id: int) -> Task | None:
    """Return the task with id `task_id`."""
    return session.get(Task, task_id)


def complete_task(*, session: Session, task: Task, by: str, now: datetime) -> bool:
    """Mark a task done by `by` (first completion wins; later edits keep it); return whether it changed."""
    if task.status == TaskStatus.DONE:
        return False
    task.status, task.done_at, task.done_by, task.updated_at = TaskStatus.DONE, now, by, now
    session.add(task)
    return True


FIX_MAIL_KINDS = ("fix_request", "fix_nudge")  # the reminders planner's 定档 mail, about occurrence:N


def note_mail_sent(session: Session, mails: Sequence[tuple[str, str]], now: datetime) -> int:
    """Stamp last_reminded_at on the tasks whose mail (kind, subject) the SMTP server just accepted."""
    ids = [int(s[5:]) for _k, s in mails if s.startswith("task:") and s[5:].isdigit()]
    fix_keys = [f"fix:occ:{s[11:]}" for k, s in mails if k in FIX_MAIL_KINDS and s.startswith("occurrence:")]
    if not ids and not fix_keys:
        return 0
    result = session.execute(
        update(Task).where(col(Task.id).in_(ids) | col(Task.key).in_(fix_keys))
        .values(last_reminded_at=now, reminders_sent=Task.reminders_sent + 1)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def list_tasks(
    *, session: Session, status: str | None = None, organization_key: str | None = None, kind: str | None = None,
    overdue_on: date | None = None, limit: int = 500,
) -> list[Task]:
    """Return tasks by due date, filtered by status, assignee, kind, or overdue as of `overdue_on`."""
    query = select(Task).order_by(col(Task.due_on), col(Task.id))
    if status:
        query = query.where(Task.status == status)
    if organization_key:
        query = query.where(Task.organization_key == organization_key)
    if kind:
        query = query.where(Task.kind == kind)
    if overdue_on is not None:
        query = query.where(Task.status == TaskStatus.OPEN, col(Task.due_on) < overdue_on)
    return list(session.exec(query.limit(limit)).all())
