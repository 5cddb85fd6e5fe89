"""Read the follow-up planner's inputs, make stored tasks match what it wants, and sync task mail into the outbox."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from scheduler.audit import ActorKind, audit
from scheduler.clock import first_full_week, local_date
from scheduler.contacts import contacts_by_org
from scheduler.db import advisory_lock
from scheduler.followups.checklists import ChecklistItem
from scheduler.followups.models import Task, TaskKind, TaskStatus
from scheduler.followups.planner import ORIGIN, WantedTask, plan_task_mail, plan_tasks
from scheduler.mail.outbox import sync_outbox
from scheduler.mail.policy import DEFAULT_POLICY, MailPolicy
from scheduler.mail.senddays import provisional_context
from scheduler.outcomes.models import EXIT_STAGES, Lead, LeadStage
from scheduler.plan.catalog import EventView, get_organizations, list_event_views, running_plans
from scheduler.plan.models import Occurrence, OccurrenceStatus, Organization, Plan
from scheduler.plan.vocabulary import offices_by_plan, participant_offices
from scheduler.reminders.planner import PersonRef, occurrence_context, stated_days
from scheduler.workdays import load_calendar

SYNC_LOCK_ID = 0x6B6A6675  # "kjfu"
SYSTEM = "system"


@dataclass
class FollowupReport:
    """What one followups tick changed."""

    tasks_added: int = 0
    tasks_updated: int = 0
    tasks_cancelled: int = 0
    tasks_closed: int = 0
    mail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Return the counts as JSON-ready data."""
        return {"tasks_added": self.tasks_added, "tasks_updated": self.tasks_updated,
                "tasks_cancelled": self.tasks_cancelled, "tasks_closed": self.tasks_closed, "mail": self.mail}


def _apply(task: Task, w: WantedTask, now: datetime) -> bool:
    values = {"title": w.title, "organization_key": w.organization_key, "opens_on": w.opens_on, "due_on": w.due_on}
    changed = {k: v for k, v in values.items() if getattr(task, k) != v}
    reopened = task.status == TaskStatus.CANCELLED and task.done_by == SYSTEM
    if not changed and not reopened:
        return False
    for k, v in changed.items():
        setattr(task, k, v)
    if reopened:  # cancelled by the planner (e.g. occurrence cancelled, then restored)
        task.status, task.status_reason, task.done_by = TaskStatus.OPEN, None, None
    task.updated_at = now
    return True


@dataclass(frozen=True)
class PlanInputs:
    """What follow-up planning reads of the plans: running plans, their event views, organizations, occurrence ids.

    Read-only to the planner, so a caller may keep it while the planner inputs' fingerprint
    (`reminders.sync.planning_fingerprint`) stays the same, e.g. from one day's tick to the next.
    """

    plans: list[Plan]
    views: list[EventView]
    orgs: dict[str, Organization]
    live: frozenset[int]  # occurrence ids of the running plans, withdrawn ones included


def load_plan_inputs(*, session: Session, now: datetime) -> PlanInputs:
    """Read the plans running at `now` with their events, occurrences and organizations."""
    plans = running_plans(session=session, today=local_date(now))
    if not plans:
        return PlanInputs([], [], get_organizations(session=session), frozenset())
    # Withdrawn occurrences included: their open tasks are this sync's to cancel.
    live = frozenset(i for i in session.exec(
        select(Occurrence.id).where(col(Occurrence.plan_id).in_([p.id for p in plans]))).all() if i is not None)
    return PlanInputs(plans, list_event_views(session=session, plans=plans), get_organizations(session=session), live)


def sync_tasks(
    *, session: Session, templates: dict[str, tuple[ChecklistItem, ...]], now: datetime,
    inputs: PlanInputs | None = None,
    policy: MailPolicy = DEFAULT_POLICY,
) -> tuple[FollowupReport, list[Task], dict[int, dict[str, Any]]]:
    """Plan tasks at `now` over every running plan and make their tasks match (the caller commits).

    Tasks of a plan that no longer runs are left as they are: neither cancelled nor mailed about.
    `inputs`: the plans as read by `load_plan_inputs` (read now when not given).
    """
    report = FollowupReport()
    inputs = inputs or load_plan_inputs(session=session, now=now)
    plans, views, orgs, live = inputs.plans, inputs.views, inputs.orgs, inputs.live
    if not plans:
        return report, [], {}
    stored = {t.key: t for t in session.exec(select(Task))
              if t.occurrence_id is None or t.occurrence_id in live}
    lead_orgs = set(session.exec(select(Lead.bankuai_key).where(
        col(Lead.stage).not_in([*EXIT_STAGES, LeadStage.FULL]), col(Lead.bankuai_key).is_not(None))).all())
    # Weekly 洽谈 and monthly lead check-ins are per 板块, not per plan: one series, from the earliest running
    # plan's notice (it came out on a Sunday: weekly check-ins start the week after).
    first_week = first_full_week(min(p.published for p in plans))
    calendar = load_calendar(session=session)
    wanted = plan_tasks(views, orgs, templates, stored, {k for k in lead_orgs if k}, first_week, now,
                        calendar=calendar, policy=policy)
    occs = {o.id: (v, o) for v in views for o in v.occurrences}
    for key, w in wanted.items():
        task = stored.get(key)
        if task is None:
            task = Task(key=key, kind=str(w.kind), title=w.title, occurrence_id=w.occurrence_id,
                        organization_key=w.organization_key, assignee_role=w.assignee_role,
                        template_key=w.template_key, period_start=w.period_start, opens_on=w.opens_on,
                        due_on=w.due_on, created_at=now, updated_at=now)
            session.add(task)
            stored[key] = task
            report.tasks_added += 1
        elif task.status != TaskStatus.DONE and _apply(task, w, now):
            report.tasks_updated += 1
    for key, task in stored.items():
        if task.status != TaskStatus.OPEN:
            continue
        pair = occs.get(task.occurrence_id) if task.occurrence_id is not None else None
        if task.kind == TaskKind.FIX_DATE and pair is not None and pair[1].start_at is not None:
            # Fixed some other way (admin edit, plan import): the 定档 is done.
            before = {"status": task.status}
            task.status, task.done_at, task.done_by, task.updated_at = TaskStatus.DONE, now, SYSTEM, now
            audit(session=session, at=now, actor=SYSTEM, actor_kind=ActorKind.SYSTEM, action="task.close",
                  entity="task", task_id=task.id, entity_id=task.id, before=before, after={"status": task.status})
            report.tasks_closed += 1
        elif key not in wanted:
            occ = pair[1] if pair else None
            reason = "活动已取消" if occ is None or occ.status == OccurrenceStatus.CANCELLED else "计划已变更"
            task.status, task.status_reason, task.done_by, task.updated_at = TaskStatus.CANCELLED, reason, SYSTEM, now
            audit(session=session, at=now, actor=SYSTEM, actor_kind=ActorKind.SYSTEM, action="task.cancel",
                  entity="task", task_id=task.id, entity_id=task.id, before={"status": "open"},
                  after={"status": "cancelled", "reason": reason})
            report.tasks_cancelled += 1
    session.flush()
    contexts: dict[int, dict[str, Any]] = {}
    for occ_id, (view, occ) in occs.items():
        if occ_id is not None:
            end = occ.end_at or occ.start_at
            contexts[occ_id] = {**occurrence_context(view, occ), "end_at": end.isoformat() if end else None,
                                **provisional_context(stated_days(occ), calendar)}
    return report, list(stored.values()), contexts


def task_offices(*, session: Session, tasks: list[Task], now: datetime,
                 plans: list[Plan] | None = None) -> dict[int, list[str]]:
    """Return, per task id, the office units whose weekly digest lists it: its occurrence's plan's office; for a
    板块's weekly or monthly task, the offices of the running plans the unit takes part in (else of every one)."""
    plans = plans if plans is not None else running_plans(session=session, today=local_date(now))
    by_plan = offices_by_plan(plans)
    everyone = list(dict.fromkeys(by_plan.values()))
    by_unit = participant_offices(session=session, plans=plans)
    occ_ids = [t.occurrence_id for t in tasks if t.occurrence_id is not None]
    occ_plan = dict(session.exec(select(Occurrence.id, Occurrence.plan_id)
                                 .where(col(Occurrence.id).in_(occ_ids))).all())
    out: dict[int, list[str]] = {}
    for task in tasks:
        if task.id is None:
            continue
        if task.occurrence_id is not None:
            office = by_plan.get(occ_plan.get(task.occurrence_id, -1))
            out[task.id] = [office] if office else []
        else:
            out[task.id] = by_unit.get(task.organization_key) or everyone
    return out


def followups_fingerprint(*, session: Session, now: datetime) -> tuple[Any, ...]:
    """Summarize the inputs of follow-up planning; the day is part of it (tasks open and fall due by date).

    The planner's inputs plus tasks and leads, in one round trip (working-day edits are among the planner's).
    """
    from scheduler.reminders.sync import planner_summary, running_plan_ids, summary

    parts: list[Any] = [running_plan_ids(session=session, now=now)]
    extra = summary(select(func.count()).select_from(Task), select(func.max(Task.updated_at)),
                    select(func.count()).select_from(Lead), select(func.max(Lead.updated_at)))
    parts += list(session.execute(sa_select(*planner_summary(), *extra)).one())
    parts.append(local_date(now))
    return tuple(parts)


def plan_followups(*, session: Session, templates: dict[str, tuple[ChecklistItem, ...]], now: datetime,
                   inputs: PlanInputs | None = None, policy: MailPolicy = DEFAULT_POLICY) -> FollowupReport:
    """Sync tasks, then their mail (origin "followups"); the caller commits.

    `inputs`: the plans as `load_plan_inputs` read them, kept by a caller whose planner fingerprint is unchanged.
    """
    advisory_lock(session, SYNC_LOCK_ID)
    inputs = inputs or load_plan_inputs(session=session, now=now)
    report, tasks, contexts = sync_tasks(session=session, templates=templates, now=now, inputs=inputs, policy=policy)
    orgs = inputs.orgs
    contacts = {k: [PersonRef(c.name, c.email) for c in v] for k, v in contacts_by_org(session=session).items()}
    offices = task_offices(session=session, tasks=tasks, now=now, plans=inputs.plans)
    wanted, missing = plan_task_mail(tasks, orgs, contacts, contexts, now, calendar=load_calendar(session=session),
                                     offices=offices, policy=policy)
    mail = sync_outbox(session=session, origin=ORIGIN, wanted=wanted, now=now)
    mail.missing_contacts = sorted(missing)
    report.mail = mail.as_dict()
    return report
