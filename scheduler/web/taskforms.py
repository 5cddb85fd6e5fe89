"""What a task's form page shows: values pre-filled from the latest revision (or its kind's defaults), the kind's
template, label and choices, and the limits a form body must keep."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from scheduler.clock import SHANGHAI
from scheduler.followups import forms
from scheduler.followups.kinds import spec_for
from scheduler.followups.models import TASK_STATUS_LABELS, Task, TaskKind, TaskStatus
from scheduler.followups.submissions import latest_revision
from scheduler.logistics.checkin import checkin_counts
from scheduler.outcomes.models import (
    COUNT_FIELDS,
    LEAD_STAGE_LABELS,
    PROJECT_CATEGORIES,
    REPORT_STATUS_LABELS,
    SIGN_FORMS,
    TALENT_LEVELS,
)
from scheduler.plan.catalog import get_organizations
from scheduler.plan.models import Event, Occurrence
from scheduler.plan.rows import occurrence_when
from scheduler.reminders.planner import stated_days
from scheduler.web.pages import provisional_banner

MAX_BODY_BYTES = 256 * 1024  # any real answer fits in far less
# Every row field of a form filled to MAX_ROWS in each table, plus the header fields.
MAX_FORM_FIELDS = forms.MAX_ROWS * sum(map(len, (forms.PROJECT_FIELDS, forms.TALENT_FIELDS, forms.ENTRY_FIELDS))) + 500


def _checkin_prefill(session: Session, task: Task) -> dict[str, str]:
    """Return 参会人数 / 参会企业数 counted at check-in for an outcome form not filled yet (nobody counts twice)."""
    if task.kind != TaskKind.OUTCOME or task.occurrence_id is None:
        return {}
    counts = checkin_counts(session=session, occurrence_id=task.occurrence_id)
    return {} if counts is None else {"attendees": str(counts.attendees), "companies": str(counts.companies)}


def form_context(
    *, session: Session, task: Task, values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
    extra_rows: int = 0,
) -> dict[str, Any]:
    """Return what the form templates need; `values` None means pre-fill from the latest revision."""
    assert task.id is not None
    spec = spec_for(task)
    revision = latest_revision(session=session, task_id=task.id)
    occ = session.get(Occurrence, task.occurrence_id) if task.occurrence_id else None
    event = session.get(Event, occ.event_id) if occ else None
    if values is None:
        values = forms.field_values(revision.data) if revision else {}
        if not values:
            values = spec.prefill(session=session, task=task)
            values = {**_checkin_prefill(session, task), **values}
    orgs = get_organizations(session=session)
    projects = forms.row_count(values, "p", forms.PROJECT_FIELDS)
    talents = forms.row_count(values, "t", forms.TALENT_FIELDS)
    entries = forms.row_count(values, "n", forms.ENTRY_FIELDS)
    choices: dict[str, Any] = {"leads": [], "stale_ids": set(), "lead_choices": [],
                               **spec.options(session=session, task=task)}
    values = {**{f"l-{lead.id}-stage": lead.stage for lead in choices["leads"]}, **values}
    return {
        "task": task,
        "form_template": spec.template,
        "kind_label": spec.label,
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
        **choices,
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
        "provisional": provisional_banner(
            session=session, days=[task.opens_on, task.due_on, *(stated_days(occ) if occ else [])]),
    }
