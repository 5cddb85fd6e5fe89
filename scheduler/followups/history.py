"""Who last changed an occurrence's field through a form, and when: read from the audit log for import conflicts."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlmodel import Session, col, or_, select

from scheduler.audit import AuditEntry
from scheduler.followups.kinds import TASK_KIND_LABELS
from scheduler.followups.models import Task, TaskKind
from scheduler.plan.merge import Conflict
from scheduler.plan.models import Organization, Role

ROLE_LABELS = {Role.HOST: "主办单位", Role.CO_ORGANIZER: "承办（配合）单位"}
# A conflict on the planned window was caused by a change of any of these fields.
FIELDS_OF = {"window": ("start_at", "window_start", "window_end")}


def _occurrence_state(snapshot: dict[str, Any] | None) -> dict[str, Any]:
    """Return the occurrence fields of an audit snapshot (定档 keeps them under "data", 成效填报 under "occurrence")."""
    if not snapshot:
        return {}
    state = snapshot.get("occurrence") or snapshot.get("data") or {}
    return state if isinstance(state, dict) else {}


def annotate_conflicts(*, session: Session, conflicts: Iterable[Conflict]) -> None:
    """Fill in who changed each conflicting occurrence field and when, where the audit log knows."""
    for conflict in conflicts:
        if conflict.entity != "occurrence" or conflict.entity_id is None:
            continue
        tasks = {t.id: t for t in session.exec(select(Task).where(Task.occurrence_id == conflict.entity_id))}
        query = select(AuditEntry).where(or_(
            (col(AuditEntry.entity) == "occurrence") & (col(AuditEntry.entity_id) == conflict.entity_id),
            col(AuditEntry.task_id).in_(list(tasks)),
        )).order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc())
        fields = FIELDS_OF.get(conflict.field, ("status",) if conflict.field == "withdrawn" else (conflict.field,))
        for entry in session.exec(query):
            before, after = _occurrence_state(entry.before), _occurrence_state(entry.after)
            if not any(name in after and after[name] != before.get(name) for name in fields):
                continue
            task = tasks.get(entry.task_id) if entry.task_id is not None else None
            conflict.changed_at = entry.at
            conflict.changed_by = _who(session, entry, task)
            conflict.changed_how = TASK_KIND_LABELS[TaskKind(task.kind)] if task else entry.action
            break


def _who(session: Session, entry: AuditEntry, task: Task | None) -> str:
    """Name the unit a form was filed for (and by whom), else the actor as logged."""
    key = entry.on_behalf_of or (task.organization_key if task else None)
    org = session.exec(select(Organization).where(Organization.key == key)).first() if key else None
    if org is None:
        return entry.actor
    role = ROLE_LABELS.get(Role(task.assignee_role), "") if task and task.assignee_role in set(Role) else ""
    return f"{role}{org.short_name}"
