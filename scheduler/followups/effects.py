"""What an accepted form changes, per task kind: the occurrence (定档), the outcome report, the week's 洽谈 check-in,
the leads. Each `apply_*` takes the same keywords and returns what changed, for the audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session, select

from scheduler.clock import SHANGHAI, local_date
from scheduler.followups.models import NegotiationCheckin, Task
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

# An event held a little before its planned window/fixed date still counts; earlier than this is a typo.
ACTUAL_DATE_TOLERANCE = timedelta(days=7)


@dataclass(frozen=True)
class Actor:
    """Who submits: the token's recipient, or an administrator (possibly on someone's behalf)."""

    who: str
    kind: str  # audit.ActorKind
    on_behalf_of: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    nonce: str | None = None


@dataclass(frozen=True, kw_only=True)
class Applied:
    """What applying a form changed: the entity (audited before/after) and whether the task is now done."""

    entity: str
    entity_id: int | None
    before: Any
    after: Any
    done: bool = True


class SubmissionRejected(ValueError):
    """The data is well-formed but cannot be applied (e.g. a date outside the window); errors by field."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def _occurrence(session: Session, task: Task) -> Occurrence:
    occ = session.get(Occurrence, task.occurrence_id) if task.occurrence_id else None
    if occ is None:
        raise SubmissionRejected({"task": "该事项没有对应的活动场次"})
    return occ


def _occ_state(occ: Occurrence) -> dict[str, Any]:
    return {k: getattr(occ, k) for k in ("status", "status_reason", "start_at", "end_at", "location", "window_start",
                                         "window_end", "sequence")}


def apply_fix(*, session: Session, task: Task, data: dict[str, Any], actor: Actor, now: datetime,
              number: int) -> Applied:
    """Fix the occurrence's date, times and place (定档)."""
    occ = _occurrence(session, task)
    before = _occ_state(occ)
    day = date.fromisoformat(data["date"])
    start = datetime.combine(day, time.fromisoformat(data["start_time"]), SHANGHAI)
    end = datetime.combine(day, time.fromisoformat(data["end_time"]), SHANGHAI) if data.get("end_time") else None
    try:
        fix_occurrence(session=session, occurrence=occ, start_at=start, end_at=end, now=now, location=data["place"])
    except OccurrenceEditError as exc:
        raise SubmissionRejected({"date": str(exc)}) from None
    return Applied(entity="occurrence", entity_id=occ.id, before=before, after=_occ_state(occ))


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


def apply_outcome(*, session: Session, task: Task, data: dict[str, Any], actor: Actor, now: datetime,
                  number: int) -> Applied:
    """Store the outcome report as revision `number` and move the occurrence: reported, cancelled or postponed."""
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
    return Applied(entity="outcome_report", entity_id=report.id, before=before, after=after, done=done)


def apply_negotiation(*, session: Session, task: Task, data: dict[str, Any], actor: Actor, now: datetime,
                      number: int) -> Applied:
    """Store the 板块's 洽谈 count and entries for the task's week (one row per week, revised in place)."""
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
    return Applied(entity="negotiation_checkin", entity_id=row.id, before=before,
                   after={"count": row.count, "entries": row.entries})


def apply_lead_checkin(*, session: Session, task: Task, data: dict[str, Any], actor: Actor, now: datetime,
                       number: int) -> Applied:
    """Move each of the 板块's leads to the stage reported for it."""
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
    return Applied(entity="lead", entity_id=None, before=before, after=after)


def apply_checklist(*, session: Session, task: Task, data: dict[str, Any], actor: Actor, now: datetime,
                    number: int) -> Applied:
    """Change nothing beyond the task: a checklist item is done once confirmed."""
    return Applied(entity="task", entity_id=task.id, before=None, after=data)
