"""What a task's form page shows: pre-filled values from the latest revision, options, and parsing by action."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlmodel import Session

from scheduler.clock import SHANGHAI, local_date
from scheduler.followups import forms
from scheduler.followups.links import LinkAction
from scheduler.followups.models import TASK_KIND_LABELS, TASK_STATUS_LABELS, Task, TaskKind, TaskStatus
from scheduler.followups.submissions import latest_revision
from scheduler.outcomes.leads import leads_of, occurrence_leads
from scheduler.outcomes.models import (
    COUNT_FIELDS,
    LEAD_STAGE_LABELS,
    PROJECT_CATEGORIES,
    REPORT_STATUS_LABELS,
    SIGN_FORMS,
    STALE_AFTER_DAYS,
    TALENT_LEVELS,
)
from scheduler.plan.catalog import get_organizations
from scheduler.plan.models import Event, Occurrence
from scheduler.plan.rows import occurrence_when

MAX_BODY_BYTES = 256 * 1024  # any real answer fits in far less
# Every row field of a form filled to MAX_ROWS in each table, plus the header fields.
MAX_FORM_FIELDS = forms.MAX_ROWS * sum(map(len, (forms.PROJECT_FIELDS, forms.TALENT_FIELDS, forms.ENTRY_FIELDS))) + 500


def flat_values(action: LinkAction, data: Mapping[str, Any]) -> dict[str, str]:
    """Turn stored (clean) form data back into field values to pre-fill the form."""
    out: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, list | dict):
            continue
        out[key] = "" if value is None else ("1" if value is True else str(value))
    for i, row in enumerate(data.get("projects", [])):
        for f in forms.PROJECT_FIELDS:
            v = row.get(f)
            out[f"p-{i}-{f}"] = "" if v is None or v is False else ("1" if v is True else str(v))
    for i, row in enumerate(data.get("talents", [])):
        for f in forms.TALENT_FIELDS:
            out[f"t-{i}-{f}"] = "" if row.get(f) is None else str(row.get(f))
    for i, row in enumerate(data.get("entries", [])):
        for f in forms.ENTRY_FIELDS:
            out[f"n-{i}-{f}"] = str(row.get(f) or "")
    for row in data.get("leads", []):
        for f in ("stage", "evidence", "reason"):
            out[f"l-{row['lead_id']}-{f}"] = str(row.get(f) or "")
    return out


def parse(action: LinkAction, form: Mapping[str, str], *, session: Session, task: Task) -> forms.Parsed:
    """Parse a form POST for `action`."""
    if action == LinkAction.FIX_DATE:
        return forms.parse_fix(form)
    if action == LinkAction.OUTCOME:
        lead_ids = {lead.id or 0 for lead in occurrence_leads(session=session, occurrence_id=task.occurrence_id or 0)}
        bankuai = {k for k, o in get_organizations(session=session).items() if o.is_bankuai}
        return forms.parse_outcome(form, lead_ids=lead_ids, bankuai_keys=bankuai)
    if action == LinkAction.NEGOTIATION:
        return forms.parse_negotiation(form)
    if action == LinkAction.LEAD_CHECKIN:
        return forms.parse_lead_checkin(form, lead_ids=[x.id or 0 for x in leads_of(
            session=session, bankuai_key=task.organization_key)])
    return forms.parse_checklist(form)


def form_context(
    *, session: Session, task: Task, action: LinkAction, values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None, extra_rows: int = 0,
) -> dict[str, Any]:
    """Return what the form templates need; `values` None means pre-fill from the latest revision."""
    assert task.id is not None
    revision = latest_revision(session=session, task_id=task.id)
    occ = session.get(Occurrence, task.occurrence_id) if task.occurrence_id else None
    event = session.get(Event, occ.event_id) if occ else None
    if values is None:
        values = flat_values(action, revision.data) if revision else {}
        if action == LinkAction.FIX_DATE and occ is not None and not values:
            values = {"place": occ.location}
            if occ.start_at is not None:
                start = occ.start_at.astimezone(SHANGHAI)
                values |= {"date": start.date().isoformat(), "start_time": start.strftime("%H:%M")}
        if action == LinkAction.OUTCOME and occ is not None and not values:
            values = {"actual_place": occ.location, "status": "held"}
            if occ.start_at is not None:
                values["actual_date"] = local_date(occ.start_at).isoformat()
    orgs = get_organizations(session=session)
    projects = forms.row_count(values, "p", forms.PROJECT_FIELDS)
    talents = forms.row_count(values, "t", forms.TALENT_FIELDS)
    entries = forms.row_count(values, "n", forms.ENTRY_FIELDS)
    leads = leads_of(session=session, bankuai_key=task.organization_key) if action == LinkAction.LEAD_CHECKIN else []
    values = {**{f"l-{lead.id}-stage": lead.stage for lead in leads}, **values}
    return {
        "task": task,
        "action": str(action),
        "kind_label": TASK_KIND_LABELS.get(TaskKind(task.kind), task.kind),
        "status_label": TASK_STATUS_LABELS.get(TaskStatus(task.status), task.status),
        "org_name": orgs[task.organization_key].short_name if task.organization_key in orgs else task.organization_key,
        "occurrence": occ,
        "event": event,
        "when": occurrence_when(occ) if occ else "",
        "revision": revision,
        "values": values,
        "errors": errors or {},
        "project_rows": max(projects + extra_rows, projects + (forms.BLANK_PROJECT_ROWS if not projects else 1),
                            forms.BLANK_PROJECT_ROWS),
        "talent_rows": max(talents + (extra_rows and 2), talents + 1, 2),
        "entry_rows": max(entries + (extra_rows and 3), entries + 1, 3),
        "leads": leads,
        "stale_ids": {lead.id for lead in leads if task.period_start is not None and
                      (task.period_start - local_date(lead.last_update_at)).days >= STALE_AFTER_DAYS},
        "lead_choices": occurrence_leads(session=session, occurrence_id=task.occurrence_id or 0)
        if action == LinkAction.OUTCOME else [],
        "stage_labels": {str(k): v for k, v in LEAD_STAGE_LABELS.items()},
        "report_statuses": {str(k): v for k, v in REPORT_STATUS_LABELS.items()},
        "count_fields": COUNT_FIELDS,
        "category_options": [(c, c) for c in PROJECT_CATEGORIES],
        "sign_form_options": [(c, c) for c in SIGN_FORMS],
        "talent_options": [(c, c) for c in TALENT_LEVELS],
        "tz": SHANGHAI,
        "bankuai": sorted(((k, o.short_name) for k, o in orgs.items() if o.is_bankuai and not o.members),
                          key=lambda x: x[0]),
        "narrative_max": forms.NARRATIVE_MAX,
    }
