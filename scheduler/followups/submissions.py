"""Record a form submission on a task: apply it, keep it as a numbered revision, audit it, complete the task."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from scheduler.audit import audit, jsonable
from scheduler.clock import SHANGHAI, local_date
from scheduler.followups.links import LinkAction
from scheduler.followups.models import FormRevision, NegotiationCheckin, Task, TaskStatus
from scheduler.followups.tasks import complete_task
from scheduler.outcomes.filing import get_report, snapshot, store_report
from scheduler.outcomes.leads import change_stage
from scheduler.outcomes.models import Lead, ReportStatus
from scheduler.plan.models import Occurrence
from scheduler.plan.occurrences import (
    OccurrenceEditError,
    cancel_occurrence,
    fix_occurrence,
    mark_reported,
    move_occurrence,
)


@dataclass(frozen=True)
class Actor:
    """Who submits: the token's recipient, or an administrator (possibly on someone's behalf)."""

    who: str
    kind: str  # audit.ActorKind
    on_behalf_of: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    nonce: str | None = None


# An event held a little before its planned window/fixed date still counts; earlier than this is a typo.
ACTUAL_DATE_TOLERANCE = timedelta(days=7)


class SubmissionRejected(ValueError):
    """The data is well-formed but cannot be applied (e.g. a date outside the window); errors by field."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def latest_revision(*, session: Session, task_id: int) -> FormRevision | None:
    """Return the newest revision of a task's form."""
    return session.exec(select(FormRevision).where(FormRevision.task_id == task_id)
                        .order_by(col(FormRevision.number).desc())).first()


def list_revisions(*, session: Session, task_id: int) -> list[FormRevision]:
    """Return every revision of a task's form, oldest first."""
    return list(session.exec(select(FormRevision).where(FormRevision.task_id == task_id)
                             .order_by(col(FormRevision.number))).all())


def _occurrence(session: Session, task: Task) -> Occurrence:
    occ = session.get(Occurrence, task.occurrence_id) if task.occurrence_id else None
    if occ is None:
        raise SubmissionRejected({"task": "该事项没有对应的活动场次"})
    return occ


def _occ_state(occ: Occurrence) -> dict[str, Any]:
    return {k: getattr(occ, k) for k in ("status", "status_reason", "start_at", "end_at", "location", "window_start",
                                         "window_end", "sequence")}


def _apply_fix(session: Session, task: Task, data: dict[str, Any], actor: Actor, now: datetime
               ) -> tuple[str, int | None, Any, Any, bool]:
    occ = _occurrence(session, task)
    before = _occ_state(occ)
    day = date.fromisoformat(data["date"])
    start = datetime.combine(day, time.fromisoformat(data["start_time"]), SHANGHAI)
    end = datetime.combine(day, time.fromisoformat(data["end_time"]), SHANGHAI) if data.get("end_time") else None
    try:
        fix_occurrence(session=session, occurrence=occ, start_at=start, end_at=end, now=now, location=data["place"])
    except OccurrenceEditError as exc:
        raise SubmissionRejected({"date": str(exc)}) from None
    return "occurrence", occ.id, before, _occ_state(occ), True


def outcome_date_errors(occ: Occurrence, data: dict[str, Any], today: date) -> dict[str, str]:
    """Return errors for an outcome's dates: none in the future; 已举办 only once the window opened, and then
    dated from ACTUAL_DATE_TOLERANCE before the window's (or fixed date's) start up to today."""
    errors: dict[str, str] = {}
    actual = date.fromisoformat(data["actual_date"]) if data.get("actual_date") else None
    if actual is not None and actual > today:
        errors["actual_date"] = f"实际举办日期 {actual} 晚于今天（{today}），不能登记尚未发生的活动"
    if data.get("status") != ReportStatus.HELD:
        return errors
    planned = min(occ.window_start, local_date(occ.start_at)) if occ.start_at else occ.window_start
    if today < planned:
        errors["status"] = f"活动计划于 {planned} 起举办，尚未开始，不能登记为“已举办”"
    earliest = planned - ACTUAL_DATE_TOLERANCE
    if actual is not None and actual < earliest and "actual_date" not in errors:
        errors["actual_date"] = (f"实际举办日期 {actual} 早于本场活动的计划时间（{planned} 起），"
                                 f"最早可填 {earliest}；如日期无误，请联系科技招商推进领导小组办公室")
    return errors


def _apply_outcome(session: Session, task: Task, data: dict[str, Any], actor: Actor, now: datetime, number: int
                   ) -> tuple[str, int | None, Any, Any, bool]:
    occ = _occurrence(session, task)
    assert occ.id is not None
    date_errors = outcome_date_errors(occ, data, local_date(now))
    if date_errors:
        raise SubmissionRejected(date_errors)
    before = {"report": snapshot(session=session, report=get_report(session=session, occurrence_id=occ.id)),
              "occurrence": _occ_state(occ)}
    report = store_report(session=session, occurrence=occ, task_id=task.id, data=data, revision=number,
                          actor=actor.who, now=now)
    done = True
    try:
        if data["status"] == ReportStatus.HELD:
            mark_reported(session=session, occurrence=occ, now=now)
        elif data["status"] == ReportStatus.CANCELLED:
            cancel_occurrence(session=session, occurrence=occ, reason=data["status_reason"], now=now)
        else:  # 延期: the occurrence moves; the report task stays open and is re-dated by the planner
            move_occurrence(session=session, occurrence=occ, now=now,
                            window_start=date.fromisoformat(data["new_start"]),
                            window_end=date.fromisoformat(data["new_end"]), reason=data["status_reason"])
            done = False
    except OccurrenceEditError as exc:
        raise SubmissionRejected({"status": str(exc)}) from None
    after = {"report": snapshot(session=session, report=report), "occurrence": _occ_state(occ)}
    return "outcome_report", report.id, before, after, done


def _apply_negotiation(session: Session, task: Task, data: dict[str, Any], actor: Actor, now: datetime, number: int
                       ) -> tuple[str, int | None, Any, Any, bool]:
    week = task.period_start or task.opens_on
    row = session.exec(select(NegotiationCheckin).where(NegotiationCheckin.organization_key == task.organization_key,
                                                        NegotiationCheckin.week_start == week)).first()
    before = {"count": row.count, "entries": row.entries} if row else None
    if row is None:
        row = NegotiationCheckin(organization_key=task.organization_key, week_start=week, task_id=task.id,
                                 filed_by=actor.who, created_at=now, updated_at=now)
    row.count, row.entries, row.revision, row.filed_by, row.updated_at = (data["count"], data["entries"], number,
                                                                         actor.who, now)
    session.add(row)
    session.flush()
    return "negotiation_checkin", row.id, before, {"count": row.count, "entries": row.entries}, True


def _apply_leads(session: Session, task: Task, data: dict[str, Any], actor: Actor, now: datetime
                 ) -> tuple[str, int | None, Any, Any, bool]:
    before, after = {}, {}
    today = local_date(now)
    for row in data["leads"]:
        lead = session.get(Lead, row["lead_id"])
        if lead is None or lead.bankuai_key != task.organization_key:
            raise SubmissionRejected({f"l-{row['lead_id']}-stage": f"线索 {row['lead_id']} 不属于本板块"})
        before[str(lead.id)] = {"stage": lead.stage, "last_update_at": lead.last_update_at}
        change_stage(session=session, lead=lead, stage=row["stage"], actor=actor.who, now=now, changed_on=today,
                     evidence=row["evidence"], reason=row["reason"] or None)
        after[str(lead.id)] = {"stage": lead.stage, "last_update_at": lead.last_update_at}
    return "lead", None, before, after, True


def submit(*, session: Session, task: Task, action: LinkAction, data: dict[str, Any], actor: Actor, now: datetime
           ) -> FormRevision:
    """Apply `data` to the task's subject, store it as the next revision, audit it, and complete the task."""
    assert task.id is not None
    if task.status == TaskStatus.CANCELLED:
        raise SubmissionRejected({"task": "该事项已取消（活动取消或计划变更），无需填报"})
    number = next_revision_number(session=session, task_id=task.id)
    if action == LinkAction.FIX_DATE:
        entity, entity_id, before, after, done = _apply_fix(session, task, data, actor, now)
    elif action == LinkAction.OUTCOME:
        entity, entity_id, before, after, done = _apply_outcome(session, task, data, actor, now, number)
    elif action == LinkAction.NEGOTIATION:
        entity, entity_id, before, after, done = _apply_negotiation(session, task, data, actor, now, number)
    elif action == LinkAction.LEAD_CHECKIN:
        entity, entity_id, before, after, done = _apply_leads(session, task, data, actor, now)
    else:
        entity, entity_id, before, after, done = "task", task.id, None, data, True
    revision = FormRevision(task_id=task.id, action=str(action), number=number, data=jsonable(data), actor=actor.who,
                            actor_kind=actor.kind, on_behalf_of=actor.on_behalf_of, link_nonce=actor.nonce,
                            ip=actor.ip, user_agent=actor.user_agent, created_at=now)
    session.add(revision)
    task_before = {"status": task.status, "done_by": task.done_by}
    if done:
        complete_task(session=session, task=task, by=actor.who, now=now)
    else:
        task.updated_at = now
        session.add(task)
    audit(session=session, at=now, actor=actor.who, actor_kind=actor.kind, on_behalf_of=actor.on_behalf_of,
          action=f"{action}.submit", entity=entity, entity_id=entity_id, task_id=task.id, ip=actor.ip,
          user_agent=actor.user_agent, before={"data": before, "task": task_before},
          after={"data": after, "task": {"status": task.status, "done_by": task.done_by}, "revision": number})
    session.flush()
    return revision


def next_revision_number(*, session: Session, task_id: int) -> int:
    """Return the number the next revision of a task gets (the unique constraint guards races)."""
    current = session.exec(select(func.max(FormRevision.number)).where(FormRevision.task_id == task_id)).one()
    return int(current or 0) + 1
