"""Follow-up tasks (定档, 成效填报, checklist items, weekly 洽谈, monthly lead check-ins): table, state changes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from scheduler.audit import AuditEntry
from scheduler.followups.models import IssuedLink, Task, TaskStatus
from scheduler.mail.kinds import MailKind, occurrence_id_of, task_id_of


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


FIX_MAIL_KINDS = frozenset({MailKind.FIX_REQUEST, MailKind.FIX_NUDGE})  # the reminders' 定档 mail, about occurrence:N


def fix_task_key(occurrence_id: int) -> str:
    """Return the key of the 定档 task of one occurrence."""
    return f"fix:occ:{occurrence_id}"


def fix_task_key_of_mail(kind: str, subject: str) -> str | None:
    """Return the key of the 定档 task a reminders' 定档 mail is about, or None for any other mail."""
    occurrence_id = occurrence_id_of(subject) if kind in FIX_MAIL_KINDS else None
    return fix_task_key(occurrence_id) if occurrence_id is not None else None


def note_mail_sent(session: Session, mails: Sequence[tuple[str, str]], now: datetime) -> int:
    """Stamp last_reminded_at on the tasks whose mail (kind, subject) the SMTP server just accepted."""
    ids = [task_id for _kind, subject in mails if (task_id := task_id_of(subject)) is not None]
    fix_keys = [key for kind, subject in mails if (key := fix_task_key_of_mail(kind, subject)) is not None]
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


def task_trail(*, session: Session, task_id: int) -> tuple[list[IssuedLink], list[AuditEntry]]:
    """Return a task's issued links and audit entries, newest first."""
    links = session.exec(select(IssuedLink).where(IssuedLink.task_id == task_id)
                         .order_by(col(IssuedLink.id).desc())).all()
    entries = session.exec(select(AuditEntry).where(AuditEntry.task_id == task_id)
                           .order_by(col(AuditEntry.id).desc())).all()
    return list(links), list(entries)
