"""How outbox rows read for people: a Chinese label for every mail kind and what each mail is about (活动/事项)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, select

from scheduler.followups.models import Task
from scheduler.mail.kinds import KIND_LABELS, occurrence_id_of, task_id_of
from scheduler.mail.models import OutboxMessage
from scheduler.plan.models import Event, Occurrence

GENERIC_KIND = "邮件"  # never show a raw kind code to office staff


def mail_kind_label(kind: str) -> str:
    """Return the Chinese label of a mail kind, or 邮件 for a kind nobody named yet."""
    return KIND_LABELS.get(kind) or GENERIC_KIND


def mail_topics(*, session: Session, rows: Sequence[OutboxMessage]) -> dict[int, tuple[str, str | None]]:
    """Return, per outbox row id, what the mail is about (task or activity title) and its admin page."""
    task_ids = {i for m in rows if (i := task_id_of(m.subject)) is not None}
    tasks = {t.id or 0: t for t in session.exec(select(Task).where(col(Task.id).in_(task_ids)))} if task_ids else {}
    occ_of = {
        m.id: m.occurrence_id if m.occurrence_id is not None else occurrence_id_of(m.subject) for m in rows
    }
    occ_ids = {i for i in occ_of.values() if i is not None} | {
        t.occurrence_id for t in tasks.values() if t.occurrence_id is not None
    }
    occs: dict[int, tuple[str, int]] = {}
    if occ_ids:
        query = select(Occurrence.id, Occurrence.title, Event.seq).join(Event, col(Event.id) == Occurrence.event_id)
        occs = {i or 0: (title, seq) for i, title, seq in session.exec(query.where(col(Occurrence.id).in_(occ_ids)))}
    out: dict[int, tuple[str, str | None]] = {}
    for m in rows:
        task_id = task_id_of(m.subject)
        task = tasks.get(task_id) if task_id is not None else None
        occ = occs.get(occ_of[m.id] or 0)
        if task is not None:
            out[m.id or 0] = (task.title, f"/admin/tasks/{task.id}")
        elif occ is not None:
            out[m.id or 0] = (occ[0], f"/admin/events/{occ[1]}")
    return out
