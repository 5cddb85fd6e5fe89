"""Action links in follow-up mail: the issuer the mail composer is built with (one token per outbox message and
recipient, reused on retries), and who may hold a link for a task."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from scheduler.clock import at_local
from scheduler.config import Settings
from scheduler.contacts import Contact
from scheduler.db import session_scope
from scheduler.followups.links import LinkSigner
from scheduler.followups.models import IssuedLink, Task, TaskKind
from scheduler.followups.tasks import fix_task_key_of_mail
from scheduler.mail.compose import Composer
from scheduler.mail.kinds import MailKind, task_id_of
from scheduler.mail.models import OutboxMessage
from scheduler.plan.catalog import expand_members, get_organizations, occurrence_org_keys
from scheduler.plan.models import Role

LINK_GRACE = timedelta(days=30)  # a link stays valid this long after the task's due date
MIN_LIFETIME = timedelta(days=14)
# Mail that carries a link to the form of the task it is about (task:N, or the 定档 task of occurrence:N).
LINKED_KINDS = frozenset({MailKind.TASK_REQUEST, MailKind.TASK_NUDGE, MailKind.LINK_RENEWAL, MailKind.FIX_REQUEST,
                          MailKind.FIX_NUDGE})


def link_expiry(task: Task, now: datetime) -> datetime:
    """Return when a link issued now for `task` expires: due date + 30 days, at least two weeks from now."""
    return max(at_local(task.due_on + timedelta(days=1), time(0, 0)) + LINK_GRACE, now + MIN_LIFETIME)


def task_for_mail(*, session: Session, kind: str, subject: str) -> Task | None:
    """Return the task a mail is about (task:N, or the 定档 task of occurrence:N)."""
    task_id = task_id_of(subject)
    if task_id is not None:
        return session.get(Task, task_id)
    fix_key = fix_task_key_of_mail(kind, subject)
    if fix_key is not None:
        return session.exec(select(Task).where(Task.key == fix_key)).first()
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


class ActionLinkIssuer:
    """Issue the action link of task mail and the reminders' 定档 mail, at the `now` the composer renders with.

    Each link is recorded in one short write transaction of its own, so it exists before the message is sent.
    With `record=False` (previews) the link is signed the same way but nothing is stored, so it grants nothing.
    """

    def __init__(self, settings: Settings, *, engine: Engine, record: bool = True) -> None:
        self.engine = engine
        self.record = record
        self.base_url = settings.base_url
        self.signer = LinkSigner(settings.signing_keys())

    def __call__(self, row: OutboxMessage, *, now: datetime) -> str | None:
        """Return the form URL for the row's recipient, or None when the row is about no open-able task."""
        if row.kind not in LINKED_KINDS:
            return None
        if not self.record:
            with Session(self.engine) as session:  # closed without a commit: the preview leaves nothing behind
                return self._link(session, row, now)
        with session_scope(self.engine, write=True) as session:
            return self._link(session, row, now)

    def _link(self, session: Session, row: OutboxMessage, now: datetime) -> str | None:
        task = task_for_mail(session=session, kind=row.kind, subject=row.subject)
        if task is None:
            return None
        return issue_task_link(session=session, signer=self.signer, task=task, recipient=row.recipient,
                               base_url=self.base_url, now=now, outbox_id=row.id)


def mail_composer(settings: Settings, engine: Engine, *, record_links: bool = True) -> Composer:
    """Build the composer every mail path uses: .ics from the feeds, action links from follow-up tasks."""
    return Composer.for_engine(settings, engine,
                               links=ActionLinkIssuer(settings, engine=engine, record=record_links))
