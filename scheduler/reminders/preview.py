"""Render one kind of mail for one occurrence without sending or storing anything (`scheduler mail preview`).

The caller hands in the composer, built as the worker builds it (with a link issuer that records nothing), so a
preview shows the very mail the worker would send."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from scheduler.clock import local_date
from scheduler.contacts import contacts_by_org
from scheduler.mail.compose import Composer, Content, OutgoingMessage
from scheduler.mail.kinds import occurrence_subject
from scheduler.mail.models import OutboxMessage
from scheduler.plan.catalog import current_plan, list_event_views
from scheduler.plan.models import Occurrence, Plan
from scheduler.reminders.planner import ORIGIN, REMINDER_KINDS, occurrence_context


class PreviewError(Exception):
    """Nothing to preview (unknown kind or occurrence)."""


def find_occurrence(*, session: Session, occurrence: str, now: datetime, plan_key: str | None = None
                    ) -> Occurrence | None:
    """Return the occurrence with this id, or this key in plan `plan_key` (else the current plan, else the newest)."""
    if occurrence.isascii() and occurrence.isdigit():  # '²'.isdigit() is true too, and int() refuses it
        return session.get(Occurrence, int(occurrence))
    # Session keys repeat from year to year (01-1 in every plan): prefer the plan a page would show.
    query = select(Occurrence, Plan).join(Plan, col(Plan.id) == col(Occurrence.plan_id)).where(
        col(Occurrence.key) == occurrence)
    if plan_key:
        query = query.where(col(Plan.key) == plan_key)
    found = list(session.exec(query).all())
    current = current_plan(session=session, today=local_date(now))
    found.sort(key=lambda pair: (current is None or pair[1].id != current.id, -pair[1].year))
    return found[0][0] if found else None


def preview_message(
    *, session: Session, composer: Composer, kind: str, occurrence: str, now: datetime, plan_key: str | None = None
) -> tuple[Content, OutgoingMessage]:
    """Return the content and full message of `kind` about `occurrence` (its id or key), addressed to its host."""
    if kind not in REMINDER_KINDS:
        raise PreviewError(f"未知邮件类型 {kind!r}（可选：{'、'.join(REMINDER_KINDS)}）")
    occ = find_occurrence(session=session, occurrence=occurrence, now=now, plan_key=plan_key)
    plan = session.get(Plan, occ.plan_id) if occ is not None else None  # the occurrence's own plan
    if occ is None or occ.id is None or plan is None:
        raise PreviewError(f"没有场次 {occurrence!r}（可用场次编号或 key，如 01-1）")
    view = next(v for v in list_event_views(session=session, plan=plan, include_withdrawn=True)
                if v.event.id == occ.event_id)
    host = view.hosts[0]
    people = contacts_by_org(session=session).get(host.key, [])
    name, email = (people[0].name, people[0].email) if people else ("示例联系人", "preview@example.org")
    context = {**occurrence_context(view, occ), "org_name": host.short_name, "role": "host",
               "window_close": occ.window_end.isoformat(), "days_before": 7}
    row = OutboxMessage(
        id=0, origin=ORIGIN, kind=kind, subject=occurrence_subject(occ.id), rule="preview", occurrence_id=occ.id,
        recipient=email, recipient_name=name, recipient_org=host.key, context=context, due_at=now,
        next_attempt_at=now, created_at=now, updated_at=now,
    )
    return composer.content(row, occ, now=now), composer.compose(row, occ, now=now)
