"""The plan as rows for people: CLI table, plan page and JSON."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from scheduler.clock import SHANGHAI
from scheduler.plan.catalog import EventView, list_event_views, list_plans
from scheduler.plan.models import STATUS_LABELS, Occurrence, OccurrenceStatus, Plan, type_label
from scheduler.plan.windows import format_window


def occurrence_when(occ: Occurrence) -> str:
    """Say when an occurrence happens: the fixed time in Shanghai, else its window as the plan writes it."""
    if occ.start_at is not None:
        start = occ.start_at.astimezone(SHANGHAI)
        text = f"{start:%Y-%m-%d %H:%M}"
        if occ.end_at is not None:
            end = occ.end_at.astimezone(SHANGHAI)
            text += f"–{end:%H:%M}" if end.date() == start.date() else f"–{end:%Y-%m-%d %H:%M}"
        return text
    return format_window(occ.window_start, occ.window_end, occ.precision)


def event_row(view: EventView, types: dict[str, str] | None = None) -> dict[str, Any]:
    """Describe one event and its sessions (`types`: the plan's activity types, key → label)."""
    ev = view.event
    return {
        "seq": ev.seq,
        "quarter": ev.quarter,
        "type": ev.type,
        "type_label": type_label(ev.type, types),
        "theme": ev.theme,
        "title": ev.title,
        "content": ev.content,
        "locations": ev.locations,
        "date_text": ev.date_text,
        "chains": ev.chains,
        "series": ev.series,
        "hosts": [o.short_name for o in view.hosts],
        "co_organizers": [o.short_name for o in view.co_organizers],
        "sessions": [
            {
                "key": o.key,
                "uid": o.uid,
                "title": o.title,
                "location": o.location,
                "date_text": o.date_text,
                "window": occurrence_when(o),
                "start": o.window_start,
                "end": o.window_end,
                "precision": o.precision,
                "status": o.status,
                "status_label": STATUS_LABELS[OccurrenceStatus(o.status)],
                "sequence": o.sequence,
            }
            for o in view.occurrences
        ],
    }


def plan_rows(*, session: Session, plan: Plan) -> list[dict[str, Any]]:
    """Return every event of `plan` as a row."""
    return [event_row(v, plan.types) for v in list_event_views(session=session, plan=plan)]


def plan_choices(*, session: Session, chosen: Plan | None) -> list[dict[str, Any]]:
    """Describe every stored plan for a selector (newest first), marking the chosen one."""
    return [{"key": p.key, "year": p.year, "title": p.title, "selected": chosen is not None and p.id == chosen.id}
            for p in list_plans(session=session)]
