"""Using and renewing links: a token checked against its task and the task's current contacts, a fresh link for an
expired one (to its own recipient only), and an administrator's resend to the assignee's contacts."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlmodel import Session

from scheduler.audit import ActorKind, audit
from scheduler.auth import LoginThrottle
from scheduler.contacts import contacts_by_org
from scheduler.followups.action_links import link_recipients
from scheduler.followups.links import Grant, LinkExpired, LinkRefused, LinkSigner
from scheduler.followups.models import Task, TaskStatus
from scheduler.followups.planner import task_context
from scheduler.mail.kinds import MailKind, task_subject
from scheduler.mail.outbox import Recipient, enqueue
from scheduler.plan.catalog import get_organizations


class LinkStillValid(Exception):
    """A fresh link was asked for a link that still works."""


class Renewal(enum.StrEnum):
    """What asking for a fresh link came to."""

    SENT = "sent"
    REFUSED = "refused"  # the task is gone or the recipient is no longer one of its contacts
    DONE = "done"  # the task is done: nothing left to file
    CANCELLED = "cancelled"
    THROTTLED = "throttled"  # a fresh link for this one was sent moments ago


def still_contact(*, session: Session, grant: Grant) -> bool:
    """Tell whether the token's recipient is still a contact the task's mail goes to."""
    task = session.get(Task, grant.task_id)
    return task is not None and grant.recipient.lower() in link_recipients(session=session, task=task)


def check_link(*, session: Session, signer: LinkSigner, token: str, now: datetime) -> Grant:
    """Return the grant of a token usable now: genuine, live, for its task's kind, held by a current contact.

    Raises LinkRefused, or LinkExpired for a genuine, expired token whose recipient is still a contact.
    """
    try:
        grant = signer.verify(session=session, token=token, now=now)
    except LinkExpired as exc:
        if not still_contact(session=session, grant=exc.grant):
            raise LinkRefused() from None
        raise
    task = session.get(Task, grant.task_id)
    if task is None or task.kind != grant.action:
        raise LinkRefused()  # a token for another kind of work than this task's
    if not still_contact(session=session, grant=grant):
        raise LinkRefused()  # the person left the organization's contacts: the link dies with the role
    return grant


def expired_grant(*, session: Session, signer: LinkSigner, token: str, now: datetime) -> Grant:
    """Return the grant of an expired token; raise LinkStillValid for a live one, LinkRefused for a bad one."""
    try:
        signer.verify(session=session, token=token, now=now)
    except LinkExpired as exc:
        return exc.grant
    raise LinkStillValid()


def renew_link(*, session: Session, grant: Grant, now: datetime, throttle: LoginThrottle, ip: str | None,
               user_agent: str | None) -> Renewal:
    """Queue a fresh link to an expired grant's recipient, unless the task closed or one was sent just now."""
    task = session.get(Task, grant.task_id)
    if task is None or not still_contact(session=session, grant=grant):
        return Renewal.REFUSED
    if task.status == TaskStatus.DONE:
        return Renewal.DONE
    if task.status == TaskStatus.CANCELLED:
        return Renewal.CANCELLED
    if throttle.blocked(grant.nonce):
        return Renewal.THROTTLED
    throttle.fail(grant.nonce)
    orgs = get_organizations(session=session)
    org_name = orgs[task.organization_key].short_name if task.organization_key in orgs else ""
    rcpt = Recipient(email=grant.recipient, name="", org_key=task.organization_key, org_name=org_name, role="renewal")
    enqueue(session=session, origin="links", kind=MailKind.LINK_RENEWAL, subject=task_subject(task.id or 0),
            rule=f"renew:{grant.nonce}:{now.isoformat()}", recipients=[rcpt],
            context=task_context(task, org_name, None), due_at=now, now=now)
    audit(session=session, at=now, actor=grant.recipient, actor_kind=ActorKind.LINK, action="link.request",
          entity="issued_link", task_id=task.id, ip=ip, user_agent=user_agent, after={"expired_nonce": grant.nonce})
    session.flush()
    return Renewal.SENT


def resend_links(*, session: Session, task: Task, now: datetime, admin: str, revoke: bool, ip: str | None,
                 user_agent: str | None) -> int:
    """Queue the task's request to the assignee's contacts now (optionally revoking every older link).

    Returns how many recipients the mail goes to.
    """
    assert task.id is not None
    revoked = LinkSigner.revoke(session=session, task_id=task.id, now=now) if revoke else 0
    orgs = get_organizations(session=session)
    name = orgs[task.organization_key].short_name if task.organization_key in orgs else task.organization_key
    people = contacts_by_org(session=session).get(task.organization_key, [])
    rcpts = [Recipient(email=c.email, name=c.name, org_key=task.organization_key, org_name=name, role="assignee")
             for c in people]
    enqueue(session=session, origin="links", kind=MailKind.TASK_REQUEST, subject=task_subject(task.id),
            rule=f"resend:{now.isoformat()}", recipients=rcpts, context=task_context(task, name, None),
            due_at=now, now=now)
    audit(session=session, at=now, actor=f"admin:{admin}", actor_kind=ActorKind.ADMIN, action="link.resend",
          entity="task", entity_id=task.id, task_id=task.id, ip=ip, user_agent=user_agent,
          after={"recipients": [r.email for r in rcpts], "revoked": revoked})
    session.flush()
    return len(rcpts)
