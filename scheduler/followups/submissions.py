"""Record a form submission on a task: parse and apply it as its kind says, keep it as a numbered revision, audit it,
complete the task — in one write transaction, retried when a concurrent submission took the same number."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, col, select

from scheduler.audit import ActorKind, audit, jsonable
from scheduler.db import session_scope
from scheduler.followups.effects import Actor, SubmissionRejected
from scheduler.followups.forms import check_rows
from scheduler.followups.kinds import spec_for
from scheduler.followups.links import Grant
from scheduler.followups.models import FormRevision, Task, TaskStatus
from scheduler.followups.tasks import complete_task

SUBMIT_ATTEMPTS = 5


@dataclass(frozen=True)
class Accepted:
    """A submission stored as `revision`; `receipt` sums it up, `note` says why the task stays open."""

    task: Task
    revision: FormRevision
    receipt: Any = None
    note: str | None = None


@dataclass(frozen=True)
class Refused:
    """A submission not stored, with errors by field to show next to the fields."""

    errors: dict[str, str]


def latest_revision(*, session: Session, task_id: int) -> FormRevision | None:
    """Return the newest revision of a task's form."""
    return session.exec(select(FormRevision).where(FormRevision.task_id == task_id)
                        .order_by(col(FormRevision.number).desc())).first()


def list_revisions(*, session: Session, task_id: int) -> list[FormRevision]:
    """Return every revision of a task's form, oldest first."""
    return list(session.exec(select(FormRevision).where(FormRevision.task_id == task_id)
                             .order_by(col(FormRevision.number))).all())


def next_revision_number(*, session: Session, task_id: int) -> int:
    """Return the number the next revision of a task gets (the unique constraint guards races)."""
    current = session.exec(select(func.max(FormRevision.number)).where(FormRevision.task_id == task_id)).one()
    return int(current or 0) + 1


def submit(*, session: Session, task: Task, data: dict[str, Any], actor: Actor, now: datetime) -> FormRevision:
    """Apply `data` to the task's subject, store it as the next revision, audit it, and complete the task."""
    assert task.id is not None
    if task.status == TaskStatus.CANCELLED:
        raise SubmissionRejected({"task": "该事项已取消（活动取消或计划变更），无需填报"})
    kind = task.kind
    number = next_revision_number(session=session, task_id=task.id)
    applied = spec_for(task).apply(session=session, task=task, data=data, actor=actor, now=now, number=number)
    revision = FormRevision(task_id=task.id, action=str(kind), number=number, data=jsonable(data), actor=actor.who,
                            actor_kind=actor.kind, on_behalf_of=actor.on_behalf_of, link_nonce=actor.nonce,
                            ip=actor.ip, user_agent=actor.user_agent, created_at=now)
    session.add(revision)
    task_before = {"status": task.status, "done_by": task.done_by}
    if applied.done:
        complete_task(session=session, task=task, by=actor.who, now=now)
    else:
        task.updated_at = now
        session.add(task)
    audit(session=session, at=now, actor=actor.who, actor_kind=actor.kind, on_behalf_of=actor.on_behalf_of,
          action=f"{kind}.submit", entity=applied.entity, entity_id=applied.entity_id, task_id=task.id, ip=actor.ip,
          user_agent=actor.user_agent, before={"data": applied.before, "task": task_before},
          after={"data": applied.after, "task": {"status": task.status, "done_by": task.done_by}, "revision": number})
    session.flush()
    return revision


def record_submission(*, engine: Engine, task_id: int, form: dict[str, str], actor: Actor, now: datetime,
                      attempts: int = SUBMIT_ATTEMPTS) -> Accepted | Refused:
    """Parse and record one submission in its own committed transaction, retrying on a revision-number race.

    Raises forms.FormTooLarge, before touching the database, when the form carries too many rows.
    """
    check_rows(form)
    for attempt in range(attempts):
        try:
            with session_scope(engine, write=True) as session:
                task = session.exec(select(Task).where(Task.id == task_id).with_for_update()).one()
                spec = spec_for(task)
                parsed = spec.parse(form, session=session, task=task)
                if not parsed.ok:
                    return Refused(parsed.errors)
                try:
                    revision = submit(session=session, task=task, data=parsed.data, actor=actor, now=now)
                except SubmissionRejected as exc:
                    session.rollback()
                    return Refused(exc.errors)
                note = spec.still_open_note if task.status == TaskStatus.OPEN else None
                return Accepted(task, revision, spec.receipt(session=session, task=task), note)
        except (IntegrityError, OperationalError):
            if attempt == attempts - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def submit_through_link(*, engine: Engine, grant: Grant, form: dict[str, str], ip: str | None,
                        user_agent: str | None, now: datetime) -> Accepted | Refused:
    """Record a submission made through a link, as the link's recipient."""
    actor = Actor(grant.recipient, ActorKind.LINK, ip=ip, user_agent=user_agent, nonce=grant.nonce)
    return record_submission(engine=engine, task_id=grant.task_id, form=form, actor=actor, now=now)


def file_on_behalf(*, engine: Engine, task: Task, form: dict[str, str], admin: str, ip: str | None,
                   user_agent: str | None, now: datetime) -> Accepted | Refused:
    """Record a submission an administrator files for the task's assignee (audited as on its behalf)."""
    assert task.id is not None
    actor = Actor(f"admin:{admin}", ActorKind.ADMIN, on_behalf_of=task.organization_key, ip=ip,
                  user_agent=user_agent)
    return record_submission(engine=engine, task_id=task.id, form=form, actor=actor, now=now)
