"""When mail may go out: on working days of the calendar, and what a mail says about years not yet covered by it.

Planners compute a nominal send time (e.g. 09:00, 30 days before a window opens) and pass it through here with the
calendar they were given; the rule keys they build stay on the nominal day, so a calendar change moves a row's send
time in place rather than replacing the row.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from scheduler.clock import SHANGHAI
from scheduler.workdays import WorkCalendar

PROVISIONAL_LINE = "{year}年节假日安排尚未发布，日期按周末推算，待国务院办公厅通知后复核"
MAX_SHIFT_DAYS = 31  # no calendar has a month without a working day; a bound, not a rule


def _shift(due: datetime, calendar: WorkCalendar, step: int) -> datetime:
    local = due.astimezone(SHANGHAI)
    day = local.date()
    for _ in range(MAX_SHIFT_DAYS):
        if calendar.is_workday(day):
            break
        day += timedelta(days=step)
    # Same wall-clock time on the new day (a fixed offset in Shanghai, so no DST surprises).
    return datetime.combine(day, local.timetz().replace(tzinfo=None), SHANGHAI).astimezone(due.tzinfo)


def send_on_workday(due: datetime, calendar: WorkCalendar, *, before: datetime | None = None) -> datetime:
    """Return `due`, moved to the next working day at the same local time when it falls on a day off.

    When the next working day would reach `before` (the row's expiry, e.g. the window closing) the row goes out on
    the previous working day instead, so that it still goes out.
    """
    later = _shift(due, calendar, 1)
    if before is not None and later >= before and later != due:
        earlier = _shift(due, calendar, -1)
        return earlier if earlier < before else later
    return later


def send_before_on_workday(due: datetime, calendar: WorkCalendar) -> datetime:
    """Return `due`, moved to the previous working day at the same local time when it falls on a day off."""
    return _shift(due, calendar, -1)


def provisional_years(days: Iterable[date | None], calendar: WorkCalendar) -> list[int]:
    """Return the years of `days` whose holidays the calendar does not know yet, in order."""
    return sorted({d.year for d in days if d is not None and calendar.is_provisional(d.year)})


def provisional_lines(days: Iterable[date | None], calendar: WorkCalendar) -> list[str]:
    """Return the line a mail or page says for every year of `days` that is still provisional."""
    return [PROVISIONAL_LINE.format(year=y) for y in provisional_years(days, calendar)]


def provisional_context(days: Iterable[date | None], calendar: WorkCalendar) -> dict[str, list[str]]:
    """Return {"provisional": lines} for a mail context when a year of `days` is provisional, else {}.

    Left out when empty, so contexts of covered years are what they always were; a confirmation removes the key and
    the outbox sync updates the pending row.
    """
    lines = provisional_lines(days, calendar)
    return {"provisional": lines} if lines else {}
