"""Action links in follow-up mail: each outbox message gets one token for its recipient, reused on retries."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from scheduler.clock import Clock, at_local
from scheduler.contacts import Contact
from scheduler.db import session_scope
from scheduler.followups.links import LinkSigner
from scheduler.followups.models import IssuedLink, Task, TaskKind
from scheduler.followups.planner import LINK_RENEWAL, TASK_NUDGE, TASK_REQUEST
from scheduler.mail.compose import Composer
from scheduler.mail.models import OutboxMessage
from scheduler.plan.catalog import expand_members, get_organizations, occurrence_org_keys
from scheduler.plan.models import Role
from scheduler.reminders.planner import FIX_NUDGE, FIX_REQUEST

LINK_GRACE = timedelta(days=30)  # a link stays valid this long after the task's due date
MIN_LIFETIME = timedelta(days=14)


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


def link_recipients(*, session: Session, task: Task) -> set[str]:
    """Return who may hold a link for `task` now: the current contacts its task mail goes to.

    Task mail goes to the assignee's contacts (groups expanded); 定档 mail goes to every host of the event.
    """
    orgs = get_organizations(session=session)
    keys = [task.organization_key]
    if task.kind == TaskKind.FIX_DATE and task.occurrence_id is not None:
        keys += sorted(occurrence_org_keys(session=session, occurrence_id=task.occurrence_id, role=Role.HOST))
    keys = [*keys, *expand_members(keys, orgs)]
    return {c.email.lower() for c in session.exec(select(Contact).where(col(Contact.organization_key).in_(keys)))}


def issue_task_link(*, session: Session, signer: LinkSigner, task: Task, recipient: str, base_url: str,
                    now: datetime, outbox_id: int | None = None) -> str:
    """Issue a token for `recipient` on `task` and return its form URL.

    With `outbox_id`, every send attempt of that outbox row gets the same link while it is live, so retries of
    an undelivered message leave no extra live tokens behind.
    """
    assert task.id is not None
    action, recipient = TaskKind(task.kind), recipient.lower()  # a link grants the work of its task's kind
    nonce = signer.derived_nonce(f"outbox:{outbox_id}") if outbox_id is not None else None
    known = session.exec(select(IssuedLink).where(IssuedLink.nonce == nonce)).first() if nonce else None
    if known is not None:
        if (known.revoked_at is None and known.expires_at > now and known.task_id == task.id
                and known.recipient == recipient and known.action == str(action)):
            return f"{base_url.rstrip('/')}/o/{signer.token_for(known)}"
        nonce = None  # that row's link was revoked or ran out: a fresh random one
    token = signer.issue(session=session, action=action, task_id=task.id, recipient=recipient,
                         expires_at=link_expiry(task, now), now=now, nonce=nonce)
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
                                   base_url=composer.settings.base_url, now=clock.now(),
                                   outbox_id=row.id)

    for kind in (TASK_REQUEST, TASK_NUDGE, LINK_RENEWAL, FIX_REQUEST, FIX_NUDGE):
        composer.action_links[kind] = link
