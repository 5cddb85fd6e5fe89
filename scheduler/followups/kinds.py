"""Each kind of task declared once: its label, its form template, and how its form is parsed, pre-filled, offered
choices, applied and confirmed. A new kind is a `TaskKind` value, a form template and one `KINDS` entry."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from sqlmodel import Session

from scheduler.clock import SHANGHAI, local_date
from scheduler.followups import effects, forms
from scheduler.followups.effects import Actor, Applied
from scheduler.followups.models import Task, TaskKind
from scheduler.outcomes.filing import get_report, report_rows, report_totals
from scheduler.outcomes.leads import leads_of, occurrence_leads
from scheduler.outcomes.models import STALE_AFTER_DAYS
from scheduler.plan.catalog import get_organizations
from scheduler.plan.models import Occurrence
from scheduler.scheduling.checker import blocking, warnings
from scheduler.scheduling.publish import suggestion_for
from scheduler.scheduling.snapshot import check_occurrence


class ParseForm(Protocol):
    """Turn a form POST into clean data and errors by field."""

    def __call__(self, form: Mapping[str, str], *, session: Session, task: Task) -> forms.Parsed: ...


class ApplyForm(Protocol):
    """Apply clean data (the task's revision `number`) to what the task is about."""

    def __call__(self, *, session: Session, task: Task, data: dict[str, Any], actor: Actor, now: datetime,
                 number: int) -> Applied: ...


class ReadForTask(Protocol):
    """Read what a form page needs about a task (pre-filled values, choices, a receipt)."""

    def __call__(self, *, session: Session, task: Task) -> Any: ...


@dataclass(frozen=True, kw_only=True)
class KindSpec:
    """What one kind of task does: every per-kind decision of its form, in one place."""

    label: str  # shown as the form's title and in task lists
    template: str  # the form's fields, included by task_form.html
    parse: ParseForm
    apply: ApplyForm
    prefill: ReadForTask  # field values before anything was stored: dict[str, str]
    options: ReadForTask  # choices the form offers, merged into the page context: dict[str, Any]
    receipt: ReadForTask  # what the confirmation page sums up after an accepted submission (or None)
    still_open_note: str | None = None  # shown when an accepted submission leaves the task open


def _occurrence(session: Session, task: Task) -> Occurrence | None:
    return session.get(Occurrence, task.occurrence_id) if task.occurrence_id else None


def _nothing(*, session: Session, task: Task) -> dict[str, Any]:
    return {}


def _no_receipt(*, session: Session, task: Task) -> None:
    return None


def _parse_fix(form: Mapping[str, str], *, session: Session, task: Task) -> forms.Parsed:
    """Parse the 定档 form, then run the conflict checker: blocking findings refuse the date, warnings need the
    host to tick 确认 for that very date (a later change of date asks again)."""
    parsed = forms.parse_fix(form)
    occ = _occurrence(session, task)
    if not parsed.ok or occ is None:
        return parsed
    day = date.fromisoformat(parsed.data["date"])
    findings = check_occurrence(session=session, occurrence=occ, start=day)
    if refusals := blocking(findings):
        parsed.errors["date"] = "该日期不能选：" + "；".join(f.reason for f in refusals)
        return parsed
    warned = warnings(findings)
    if warned and (form.get("confirm") or "").strip() != day.isoformat():
        advice = [f.reason for f in findings if f not in warned]
        parsed.errors["confirm"] = "\n".join(["所选日期有以下问题需要确认：", *(f"· {f.reason}" for f in warned),
                                               *(f"· 建议：{a}" for a in advice),
                                               "如仍选择此日期，请勾选“确认”后再次提交；也可以另选日期。"])
        return parsed
    parsed.data["findings"] = [f.as_dict() for f in findings]  # what the host saw and confirmed, kept with the revision
    return parsed


def _parse_outcome(form: Mapping[str, str], *, session: Session, task: Task) -> forms.Parsed:
    lead_ids = {lead.id or 0 for lead in occurrence_leads(session=session, occurrence_id=task.occurrence_id or 0)}
    bankuai = {k for k, o in get_organizations(session=session).items() if o.is_bankuai}
    return forms.parse_outcome(form, lead_ids=lead_ids, bankuai_keys=bankuai)


def _parse_negotiation(form: Mapping[str, str], *, session: Session, task: Task) -> forms.Parsed:
    return forms.parse_negotiation(form)


def _parse_lead_checkin(form: Mapping[str, str], *, session: Session, task: Task) -> forms.Parsed:
    lead_ids = [lead.id or 0 for lead in leads_of(session=session, bankuai_key=task.organization_key)]
    return forms.parse_lead_checkin(form, lead_ids=lead_ids)


def _parse_checklist(form: Mapping[str, str], *, session: Session, task: Task) -> forms.Parsed:
    return forms.parse_checklist(form)


def _prefill_fix(*, session: Session, task: Task) -> dict[str, str]:
    """Start from the occurrence's place and, once set, its date and start time."""
    occ = _occurrence(session, task)
    if occ is None:
        return {}
    values = {"place": occ.location}
    if occ.start_at is not None:
        start = occ.start_at.astimezone(SHANGHAI)
        values |= {"date": start.date().isoformat(), "start_time": start.strftime("%H:%M")}
    elif (suggested := suggestion_for(session=session, occurrence=occ)) is not None:
        values["date"] = suggested.day.isoformat()
    return values


def _fix_options(*, session: Session, task: Task) -> dict[str, Any]:
    """Offer the office's published suggestion (day and why) for a session not fixed yet."""
    occ = _occurrence(session, task)
    suggested = suggestion_for(session=session, occurrence=occ) if occ is not None else None
    return {"suggestion": suggested.why if suggested else None}


def _prefill_outcome(*, session: Session, task: Task) -> dict[str, str]:
    """Start from 已举办 at the occurrence's place and (fixed) date."""
    occ = _occurrence(session, task)
    if occ is None:
        return {}
    values = {"actual_place": occ.location, "status": "held"}
    if occ.start_at is not None:
        values["actual_date"] = local_date(occ.start_at).isoformat()
    return values


def _outcome_options(*, session: Session, task: Task) -> dict[str, Any]:
    """Offer the leads a project row may link: this occurrence's and its hosts'."""
    return {"lead_choices": occurrence_leads(session=session, occurrence_id=task.occurrence_id or 0)}


def _lead_checkin_options(*, session: Session, task: Task) -> dict[str, Any]:
    """List the 板块's leads, flagging those without an update for STALE_AFTER_DAYS before the period."""
    leads = leads_of(session=session, bankuai_key=task.organization_key)
    stale = {lead.id for lead in leads if task.period_start is not None
             and (task.period_start - local_date(lead.last_update_at)).days >= STALE_AFTER_DAYS}
    return {"leads": leads, "stale_ids": stale}


def _outcome_receipt(*, session: Session, task: Task) -> Any:
    """Sum up the stored report (signed projects, amounts) for the confirmation page."""
    if not task.occurrence_id:
        return None
    report = get_report(session=session, occurrence_id=task.occurrence_id)
    return report_totals(*report_rows(session=session, report=report)) if report else None


KINDS: dict[TaskKind, KindSpec] = {
    TaskKind.FIX_DATE: KindSpec(
        label="定档", template="forms/_fix_date.html", parse=_parse_fix, apply=effects.apply_fix,
        prefill=_prefill_fix, options=_fix_options, receipt=_no_receipt,
    ),
    TaskKind.OUTCOME: KindSpec(
        label="成效填报", template="forms/_outcome.html", parse=_parse_outcome, apply=effects.apply_outcome,
        prefill=_prefill_outcome, options=_outcome_options, receipt=_outcome_receipt,
        still_open_note="活动已登记为延期；新的时间确定后，请继续通过此链接填报成效。",
    ),
    TaskKind.CHECKLIST: KindSpec(
        label="筹备事项", template="forms/_checklist.html", parse=_parse_checklist, apply=effects.apply_checklist,
        prefill=_nothing, options=_nothing, receipt=_no_receipt,
    ),
    TaskKind.NEGOTIATION: KindSpec(
        label="每周洽谈填报", template="forms/_negotiation.html", parse=_parse_negotiation,
        apply=effects.apply_negotiation, prefill=_nothing, options=_nothing, receipt=_no_receipt,
    ),
    TaskKind.LEAD_CHECKIN: KindSpec(
        label="项目线索月度更新", template="forms/_lead_checkin.html", parse=_parse_lead_checkin,
        apply=effects.apply_lead_checkin, prefill=_nothing, options=_lead_checkin_options, receipt=_no_receipt,
    ),
}
TASK_KIND_LABELS: dict[TaskKind, str] = {kind: KINDS[kind].label for kind in TaskKind}


def spec_for(task: Task) -> KindSpec:
    """Return the spec of a task's kind."""
    return KINDS[TaskKind(task.kind)]
