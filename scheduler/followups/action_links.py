"""Action links in follow-up mail: the issuer the mail composer is built with (one token per outbox message and
recipient, reused on retries), and who may hold a link for a task."""

from __future__ import annotations

from collections.abc import Sequence
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
    nonce = signer.derived_nonce(f"outbox:{outbox_id}") if outbox_id is not None else None
    known = session.exec(select(IssuedLink).where(IssuedLink.nonce == nonce)).first() if nonce else None
    return _issue(session=session, signer=signer, task=task, recipient=recipient, base_url=base_url, now=now,
                  nonce=nonce, known=known)


def _issue(*, session: Session, signer: LinkSigner, task: Task, recipient: str, base_url: str, now: datetime,
           nonce: str | None, known: IssuedLink | None) -> str:
    """Return the URL of `known` (the link stored under `nonce`) while it is live and fits, else issue one."""
    assert task.id is not None
    action, recipient = TaskKind(task.kind), recipient.lower()  # a link grants the work of its task's kind
    if known is not None:
        if (known.revoked_at is None and known.expires_at > now and known.task_id == task.id
                and known.recipient == recipient and known.action == str(action)):
            return f"{base_url.rstrip('/')}/o/{signer.token_for(known)}"
        nonce = None  # that row's link was revoked or ran out: a fresh random one
    token = signer.issue(session=session, action=action, task_id=task.id, recipient=recipient,
                         expires_at=link_expiry(task, now), now=now, nonce=nonce)
    return f"{base_url.rstrip('/')}/o/{token}"


def _row_ident(row: OutboxMessage) -> tuple[str, str, str, datetime | None]:
    return (row.kind, row.subject, row.recipient.lower(), row.claimed_at)


PREPARED_MAX = 10_000  # links issued for claimed rows not composed yet (a batch the breaker left untried)


class ActionLinkIssuer:
    """Issue the action link of task mail and the reminders' 定档 mail, at the `now` the composer renders with.

    The dispatcher issues a claimed batch's links in its claim transaction (`prepare`): composing then reads them
    from memory and writes nothing. A row composed without that (a test, a one-off) gets its link in one short
    write transaction of its own, so it exists before the message is sent.
    With `record=False` (previews) the link is signed the same way but nothing is stored, so it grants nothing.
    """

    def __init__(self, settings: Settings, *, engine: Engine, record: bool = True) -> None:
        self.engine = engine
        self.record = record
        self.base_url = settings.base_url
        self.signer = LinkSigner(settings.signing_keys())
        self._prepared: dict[int, tuple[tuple[str, str, str, datetime | None], datetime, str | None]] = {}

    def prepare(self, *, session: Session, rows: Sequence[OutboxMessage], now: datetime) -> None:
        """Issue the links of claimed `rows` inside the caller's transaction (reads and inserts, one batch)."""
        linked = [r for r in rows if r.kind in LINKED_KINDS and r.id is not None]
        if not self.record or not linked:
            return
        ids = {t for r in linked if (t := task_id_of(r.subject)) is not None}
        fix_keys = {k for r in linked if (k := fix_task_key_of_mail(r.kind, r.subject)) is not None}
        by_id = {t.id: t for t in session.exec(select(Task).where(col(Task.id).in_(ids)))} if ids else {}
        by_key = {t.key: t for t in session.exec(select(Task).where(col(Task.key).in_(fix_keys)))} if fix_keys \
            else {}
        nonces = {r.id: self.signer.derived_nonce(f"outbox:{r.id}") for r in linked}
        known = {k.nonce: k for k in session.exec(select(IssuedLink).where(
            col(IssuedLink.nonce).in_(list(nonces.values()))))}
        if len(self._prepared) + len(linked) > PREPARED_MAX:
            self._prepared.clear()
        for row in linked:
            assert row.id is not None
            task_id, fix_key = task_id_of(row.subject), fix_task_key_of_mail(row.kind, row.subject)
            task = by_id.get(task_id) if task_id is not None else by_key.get(fix_key or "")
            url = None
            if task is not None:
                nonce = nonces[row.id]
                url = _issue(session=session, signer=self.signer, task=task, recipient=row.recipient,
                             base_url=self.base_url, now=now, nonce=nonce, known=known.get(nonce))
            self._prepared[row.id] = (_row_ident(row), now, url)
        session.flush()

    def __call__(self, row: OutboxMessage, *, now: datetime) -> str | None:
        """Return the form URL for the row's recipient, or None when the row is about no open-able task."""
        if row.kind not in LINKED_KINDS:
            return None
        prepared = self._prepared.pop(row.id, None) if row.id is not None else None
        if prepared is not None and prepared[0] == _row_ident(row) and prepared[1] == now:
            return prepared[2]
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
