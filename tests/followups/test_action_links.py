"""The link issuer the mail composer is built with: a link at the `now` the composer renders with, one per outbox
row however often it is rendered, none for mail about no task, and nothing stored by previews."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from scheduler.clock import FixedClock
from scheduler.db import session_scope
from scheduler.followups.action_links import LINKED_KINDS, link_expiry, mail_composer, task_for_mail
from scheduler.followups.links import LinkRefused, LinkSigner
from scheduler.followups.models import IssuedLink
from scheduler.mail.compose import OutgoingMessage
from scheduler.mail.dispatcher import dispatch_due
from scheduler.mail.kinds import MailKind, occurrence_subject
from scheduler.mail.mailer import MemoryMailer
from scheduler.mail.models import OutboxMessage
from scheduler.plan.models import Occurrence
from scheduler.reminders.planner import RuleBook
from scheduler.reminders.preview import preview_message
from scheduler.reminders.sync import plan_and_sync
from tests.factories.followups import KEYS, T_MARCH, plan, settings

LATER = T_MARCH + timedelta(days=3, hours=5)  # the clock of whoever planned is long gone by then


def queue(engine: Engine) -> None:
    plan(engine, T_MARCH)
    with session_scope(engine, write=True) as session:
        plan_and_sync(session=session, rules=RuleBook(), now=T_MARCH)


def pending(engine: Engine, kind: str, subject_prefix: str) -> OutboxMessage:
    with session_scope(engine) as session:
        return session.exec(select(OutboxMessage).where(
            OutboxMessage.kind == kind, col(OutboxMessage.subject).startswith(subject_prefix))
            .order_by(col(OutboxMessage.id))).first()  # type: ignore[return-value]


def body(message: OutgoingMessage) -> str:
    return message_from_bytes(message.data, policy=policy.default).get_body(("plain",)).get_content()  # type: ignore[union-attr]


def links(engine: Engine) -> list[IssuedLink]:
    with session_scope(engine) as session:
        return list(session.exec(select(IssuedLink)))


@pytest.mark.parametrize(("kind", "subject_prefix", "action"), [
    (MailKind.FIX_REQUEST, "occurrence:", "fix_date"),
    (MailKind.TASK_REQUEST, "task:", None),
])
def test_a_linked_mail_gets_one_link_issued_at_the_composers_now(mail_engine: Engine, tmp_path: Path, kind: str,
                                                                  subject_prefix: str, action: str | None) -> None:
    queue(mail_engine)
    row = pending(mail_engine, kind, subject_prefix)
    assert row is not None and kind in LINKED_KINDS
    with session_scope(mail_engine) as session:
        task = task_for_mail(session=session, kind=row.kind, subject=row.subject)
        occ = session.get(Occurrence, row.occurrence_id) if row.occurrence_id is not None else None
    assert task is not None
    composer = mail_composer(settings(tmp_path), mail_engine)
    first = body(composer.compose(row, occ, now=LATER))
    [link] = links(mail_engine)
    assert (link.created_at, link.expires_at) == (LATER, link_expiry(task, LATER))
    assert (link.task_id, link.recipient) == (task.id, row.recipient)
    token = re.search(r"/o/(\S+)", first)
    assert token is not None and token.group(1) == LinkSigner(KEYS).token_for(link)
    assert action is None or token.group(1).startswith(f"{action}.")
    retry = body(composer.compose(row, occ, now=LATER + timedelta(hours=1)))
    assert retry == first and len(links(mail_engine)) == 1, "a retry carries the same link"


def test_mail_about_no_task_carries_no_link_and_stores_nothing(mail_engine: Engine, tmp_path: Path) -> None:
    queue(mail_engine)
    composer = mail_composer(settings(tmp_path), mail_engine)
    # the digest lists overdue tasks: none is overdue on the day tasks are born (issue 14's minimum due date), so
    # the follow-ups are planned again two weeks on
    plan(mail_engine, T_MARCH + timedelta(days=14))
    for kind in (MailKind.FIX_ESCALATION, MailKind.TASK_DIGEST):
        row = pending(mail_engine, kind, "")
        assert row is not None and kind not in LINKED_KINDS
        assert "/o/" not in body(composer.compose(row, None, now=LATER))
    row = pending(mail_engine, MailKind.FIX_REQUEST, "occurrence:")
    stray = OutboxMessage(**{**row.model_dump(), "id": None, "subject": occurrence_subject(999_999),
                             "rule": "no-such-task"})
    assert "/o/" not in body(composer.compose(stray, None, now=LATER)), "定档 mail about an occurrence without a task"
    assert links(mail_engine) == []


def test_a_preview_shows_the_link_the_mail_would_carry_and_stores_nothing(mail_engine: Engine,
                                                                          tmp_path: Path) -> None:
    plan(mail_engine, T_MARCH)
    composer = mail_composer(settings(tmp_path), mail_engine, record_links=False)
    with session_scope(mail_engine) as session:
        content, message = preview_message(session=session, composer=composer, kind=MailKind.FIX_REQUEST,
                                           occurrence="12", now=LATER)
    token = re.search(r"/o/(fix_date\.\S+)", content.text)
    assert token is not None and token.group(1) in body(message)
    assert links(mail_engine) == [], "a preview records no link"
    with session_scope(mail_engine) as session, pytest.raises(LinkRefused):
        LinkSigner(KEYS).verify(session=session, token=token.group(1), now=LATER)


def test_a_dispatch_issues_its_batchs_links_in_the_claim_not_one_write_per_message(mail_engine: Engine,
                                                                                   tmp_path: Path) -> None:
    queue(mail_engine)
    commits: list[int] = []

    def count(_conn: object) -> None:
        commits.append(1)

    event.listen(mail_engine, "commit", count)
    mailer = MemoryMailer()
    try:
        report = asyncio.run(dispatch_due(engine=mail_engine, mailer=mailer, composer=mail_composer(
            settings(tmp_path), mail_engine), clock=FixedClock(LATER), worker="t", wall=FixedClock(LATER),
            batch_size=500))
    finally:
        event.remove(mail_engine, "commit", count)
    sent = mailer.sent
    with session_scope(mail_engine) as session:
        rows = list(session.exec(select(OutboxMessage).where(col(OutboxMessage.kind).in_(list(LINKED_KINDS)),
                                                             OutboxMessage.state == "sent")))
        signer = LinkSigner(KEYS)
        by_id = {r.id: r for r in rows}
        tokens = {}
        for message in sent:
            row_id = int(re.search(r"<(\d+)\.", message.message_id).group(1))  # type: ignore[union-attr]
            if row_id in by_id:
                token = re.search(r"/o/(\S+)", body(message))
                assert token is not None, f"row {row_id} carries no link"
                grant = signer.verify(session=session, token=token.group(1), now=LATER)
                assert grant.recipient == by_id[row_id].recipient
                tokens[row_id] = token.group(1)
    assert len(rows) >= 5 and len(tokens) == len(rows) and len(links(mail_engine)) == len(rows)
    # One batch: the claim (with every link), one record per 25 results, the claim that finds nothing left, and
    # the installation id's read-or-create once per composer (up to 3 short transactions); never one per message.
    assert report.sent == len(sent) and len(commits) <= 2 + 3 + -(-len(sent) // 25)
