"""Action links in follow-up mail: each rendered task email gets a fresh token for its recipient."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from scheduler.clock import Clock
from scheduler.db import session_scope
from scheduler.followups import LINK_RENEWAL, TASK_NUDGE, TASK_REQUEST, at_local
from scheduler.links import LinkAction, LinkSigner
from scheduler.reminders.outbox import OutboxMessage
from scheduler.reminders.planner import FIX_NUDGE, FIX_REQUEST
from scheduler.reminders.render import Composer
from scheduler.tasks import Task, TaskKind

LINK_GRACE = timedelta(days=30)  # a link stays valid this long after the task's due date
MIN_LIFETIME = timedelta(days=14)
ACTIONS = {
    TaskKind.FIX_DATE: LinkAction.FIX_DATE,
    TaskKind.OUTCOME: LinkAction.OUTCOME,
    TaskKind.CHECKLIST: LinkAction.CHECKLIST,
    TaskKind.NEGOTIATION: LinkAction.NEGOTIATION,
    TaskKind.LEAD_CHECKIN: LinkAction.LEAD_CHECKIN,
}


def link_expiry(task: Task, now: datetime) -> datetime:
    """Return when a link issued now for `task` expires: due date + 30 days, at least two weeks from now."""
    return max(at_local(task.due_on + timedelta(days=1), time(0, 0)) + LINK_GRACE, now + MIN_LIFETIME)


def task_for_mail(*, session: Session, kind: str, subject: str) -> Task | None:
    """Return the task a mail is about (task:N, or the 定档 task of occurrence:N)."""
    if subject.startswith("task:"):
        return session.get(Task, int(subject[5:]))
    if kind in (FIX_REQUEST, FIX_NUDGE) and subject.startswith("occurrence:"):
        return session.exec(select(Task).where(Task.key == f"fix:occ:{subject[11:]}")).first()
    return None


def issue_task_link(*, session: Session, signer: LinkSigner, task: Task, recipient: str, base_url: str,
                    now: datetime) -> str:
    """Issue a token for `recipient` on `task` and return its form URL."""
    assert task.id is not None
    token = signer.issue(session=session, action=ACTIONS[TaskKind(task.kind)], task_id=task.id,
                         recipient=recipient.lower(), expires_at=link_expiry(task, now), now=now)
    return f"{base_url.rstrip('/')}/o/{token}"


def register_followup_mail(composer: Composer, *, engine: Engine, clock: Clock) -> None:
    """Give task mail and the reminders' 定档 mail their action links (one token per rendered message)."""
    signer = LinkSigner(composer.settings.signing_keys())

    def link(row: OutboxMessage) -> str | None:
        with session_scope(engine, write=True) as session:
            task = task_for_mail(session=session, kind=row.kind, subject=row.subject)
            if task is None:
                return None
            return issue_task_link(session=session, signer=signer, task=task, recipient=row.recipient,
                                   base_url=composer.settings.base_url, now=clock.now())

    for kind in (TASK_REQUEST, TASK_NUDGE, LINK_RENEWAL, FIX_REQUEST, FIX_NUDGE):
        composer.action_links[kind] = link
