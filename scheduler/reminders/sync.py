"""Read the planner's inputs from the database, run it over every running plan, and sync its wanted rows into the
outbox."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from scheduler.clock import local_date
from scheduler.contacts import Contact, MailOptOut, contacts_by_org, opted_out
from scheduler.db import advisory_lock
from scheduler.mail.kinds import MailKind
from scheduler.mail.models import OutboxMessage, OutboxState
from scheduler.mail.outbox import SyncReport, WantedMail, sync_outbox
from scheduler.mail.policy import DEFAULT_POLICY, MailPolicy
from scheduler.plan.catalog import get_organizations, list_event_views, run_span, running_plans
from scheduler.plan.models import Event, EventOrganization, Occurrence, Organization, Plan
from scheduler.plan.vocabulary import offices_by_plan
from scheduler.reminders.planner import ORIGIN, PersonRef, RuleBook, plan_mail
from scheduler.workdays import WorkdayOverride, WorkdayYear, load_calendar

SYNC_LOCK_ID = 0x6B6A6D6C  # "kjml"


def summary(*columns: Any) -> tuple[Any, ...]:
    """Return one SELECT of scalar subqueries (`func.count()` over a model, `func.max(Model.col)`, …) as columns."""
    return tuple(c.scalar_subquery() for c in columns)


def planner_summary() -> tuple[Any, ...]:
    """Return the scalar subqueries summarizing every planner input (see `planning_fingerprint`)."""
    parts: list[Any] = [select(func.count()).select_from(Plan), select(func.max(Plan.updated_at))]
    for model in (Occurrence, Event, Organization):
        parts += [select(func.count()).select_from(model), select(func.max(model.updated_at))]
    parts += [select(func.sum(Occurrence.sequence)), select(func.count()).select_from(EventOrganization),
              select(func.count()).select_from(Contact), select(func.max(Contact.created_at)),
              select(func.max(Contact.id)), select(func.count()).select_from(MailOptOut),
              select(func.max(MailOptOut.id))]
    # send times and provisional lines follow the working days
    parts += [select(func.count()).select_from(WorkdayOverride), select(func.max(WorkdayOverride.created_at)),
              select(func.count()).select_from(WorkdayYear), select(func.max(WorkdayYear.confirmed_at))]
    return summary(*parts)


def running_plan_ids(*, session: Session, now: datetime) -> tuple[int, ...]:
    """Return the ids of the plans running at `now`, read as two columns (no Plan objects)."""
    today = local_date(now)
    rows = session.exec(select(Plan.id, Plan.year)).all()
    return tuple(pid for pid, year in sorted(rows, key=lambda r: (r[1], r[0] or 0))
                 if pid is not None and run_span(year)[0] <= today <= run_span(year)[1])


def planning_fingerprint(*, session: Session, now: datetime | None = None) -> tuple[Any, ...]:
    """Return a cheap summary of every planner input; equal summaries mean the wanted rows can only have expired.

    Pass `now`: which plans run depends on the date (a plan starts running on 1 October of the year before).
    One round trip for the counts and latest edit times.
    """
    parts: list[Any] = []
    if now is not None:
        parts.append(running_plan_ids(session=session, now=now))
    parts += list(session.execute(sa_select(*planner_summary())).one())
    return tuple(parts)


def wanted_mail(*, session: Session, rules: RuleBook, now: datetime, policy: MailPolicy = DEFAULT_POLICY,
                ) -> tuple[list[WantedMail], set[str]]:
    """Run the planner on every plan running at `now`; return wanted rows and organizations lacking contacts."""
    plans = running_plans(session=session, today=local_date(now))
    if not plans:
        return [], set()
    views = list_event_views(session=session, plans=plans)
    contacts = {k: [PersonRef(c.name, c.email) for c in v] for k, v in contacts_by_org(session=session).items()}
    result = plan_mail(views, get_organizations(session=session), contacts, rules, now,
                       opted_out=frozenset(opted_out(session=session)), calendar=load_calendar(session=session),
                       offices=offices_by_plan(plans), policy=policy)
    return _with_previous(session, result.wanted), result.missing_contacts


def _with_previous(session: Session, wanted: list[WantedMail]) -> list[WantedMail]:
    """Add to each change notice what its recipient was last told (when, place, status), to say what changed."""
    notices = [w for w in wanted if w.kind == MailKind.CHANGE_NOTICE]
    if not notices:
        return wanted
    subjects = {w.subject for w in notices}
    last: dict[tuple[str, str], tuple[int, Any]] = {}
    rows = session.exec(
        select(OutboxMessage.subject, OutboxMessage.recipient, OutboxMessage.sequence, OutboxMessage.context)
        .where(col(OutboxMessage.subject).in_(subjects), OutboxMessage.state == OutboxState.SENT)
        .order_by(col(OutboxMessage.sequence), col(OutboxMessage.id))
    ).all()
    for subject, recipient, sequence, context in rows:
        last[(subject, recipient)] = (sequence or 0, context)
    out = []
    for w in wanted:
        seen = last.get((w.subject, w.recipient.email.lower())) if w.kind == MailKind.CHANGE_NOTICE else None
        if seen is not None and seen[0] < (w.sequence or 0):
            before = {k: seen[1].get(k) for k in ("when", "location", "status_label", "title")}
            w = replace(w, context={**w.context, "previous": before})
        out.append(w)
    return out


def plan_and_sync(*, session: Session, rules: RuleBook, now: datetime, policy: MailPolicy = DEFAULT_POLICY,
                  ) -> SyncReport:
    """Plan at `now` and make the outbox match (the caller commits)."""
    # Several workers may plan at once: one at a time, so none trips over the other's new rows.
    advisory_lock(session, SYNC_LOCK_ID)
    wanted, missing = wanted_mail(session=session, rules=rules, now=now, policy=policy)
    report = sync_outbox(session=session, origin=ORIGIN, wanted=wanted, now=now)
    report.missing_contacts = sorted(missing)
    return report
