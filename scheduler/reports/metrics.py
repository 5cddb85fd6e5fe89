"""Per-板块 figures shared by the monthly, bimonthly and quarterly reports (pure functions of Facts)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from scheduler.outcomes.models import STALE_AFTER_DAYS
from scheduler.reports.cadence import week_mondays, week_state
from scheduler.reports.facts import Facts, LeadFact, OccFact, ReportTask

QUIET_STAGES = ("stopped", "paused", "full")  # leads not expected to move: never flagged stalled


@dataclass(frozen=True)
class Span:
    """An inclusive date span [start, end]."""

    start: date
    end: date

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end


def unit_occurrences(facts: Facts, unit: str) -> list[OccFact]:
    """Return the active occurrences credited to a 板块."""
    return [o for o in facts.occurrences if unit in o.credited and o.active]


def planned_count(occs: list[OccFact], year: int, months: range | list[int]) -> int:
    """Count occurrences planned for the given months (their day once known, else their window's last month)."""
    return sum(1 for o in occs if (o.start_on or o.window_end).year == year and o.due_month in months)


def held_count(occs: list[OccFact], span: Span) -> int:
    """Count occurrences held within the span."""
    return sum(1 for o in occs if o.held and o.start_on in span)


def signed(facts: Facts, unit: str | None, span: Span) -> tuple[int, Decimal]:
    """Return (number, amount in 万元) of projects credited as signed to `unit` (None: all) within the span."""
    rows = [p for p in facts.projects if (unit is None or p.unit == unit) and p.signed_on in span]
    return len(rows), sum((p.amount_wan for p in rows), Decimal(0))


def talents(facts: Facts, unit: str | None, span: Span) -> int:
    """Count talents brought in for `unit` (None: all) within the span."""
    return sum(1 for t in facts.talents if (unit is None or t.unit == unit) and t.on in span)


def open_report_tasks(facts: Facts, unit: str, as_of: date) -> tuple[list[ReportTask], list[ReportTask]]:
    """Return (missing, overdue) outcome-report tasks of a 板块 as they stood on `as_of`."""
    missing: list[ReportTask] = []
    overdue: list[ReportTask] = []
    for t in facts.report_tasks:
        if t.unit != unit or t.status == "cancelled" or t.opens_on > as_of:
            continue
        if t.done_on is not None and t.done_on <= as_of:
            continue
        (overdue if t.due_on < as_of else missing).append(t)
    return missing, overdue


def reports_on_time(facts: Facts, unit: str, as_of: date) -> tuple[int, int]:
    """Return (filed by their due day, due by `as_of`) for a 板块's outcome reports."""
    due = [t for t in facts.report_tasks if t.unit == unit and t.status != "cancelled" and t.due_on < as_of]
    return sum(1 for t in due if t.done_on is not None and t.done_on <= t.due_on), len(due)


def new_leads(facts: Facts, unit: str | None, span: Span) -> list[LeadFact]:
    """Return leads first recorded within the span."""
    return [lead for lead in facts.leads if (unit is None or lead.unit == unit) and lead.created_on in span]


def stalled_leads(facts: Facts, unit: str | None, as_of: date) -> list[LeadFact]:
    """Return leads that had gone 30 days without an update by `as_of`."""
    limit = as_of - timedelta(days=STALE_AFTER_DAYS)
    return [
        lead
        for lead in facts.leads
        if (unit is None or lead.unit == unit)
        and lead.stage not in QUIET_STAGES
        and lead.created_on <= as_of
        and lead.last_update_on <= limit
    ]


def checkin_weeks(facts: Facts, unit: str, span: Span, as_of: date) -> tuple[int, int]:
    """Return (weeks logged, weeks due) for 周周有洽谈 among the weeks starting within the span, as of `as_of`."""
    logged = facts.checkins.get(unit, set())
    due = [m for m in week_mondays(facts)
           if m in span and week_state(m in logged, m, as_of, facts.calendar) in ("logged", "missed")]
    return sum(1 for m in due if m in logged), len(due)


def ytd(year: int, as_of: date) -> Span:
    """Return the span from 1 January to `as_of`."""
    return Span(date(year, 1, 1), as_of)
