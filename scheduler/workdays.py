"""Working days in mainland China: weekends, public holidays and the swapped working weekends (调休)."""

from __future__ import annotations

from datetime import date, timedelta

# 国务院办公厅关于2023年部分节假日安排的通知: days off on weekdays, and weekend days that are working days.
HOLIDAYS: frozenset[date] = frozenset(
    [date(2023, 1, 2)]
    + [date(2023, 1, d) for d in range(23, 28)]
    + [date(2023, 4, 5), date(2023, 5, 1), date(2023, 5, 2), date(2023, 5, 3), date(2023, 6, 22), date(2023, 6, 23)]
    + [date(2023, 9, 29), date(2023, 10, 2), date(2023, 10, 3), date(2023, 10, 4), date(2023, 10, 5), date(2023, 10, 6)]
)
SWAPPED_WORKDAYS: frozenset[date] = frozenset(
    [date(2023, 1, 28), date(2023, 1, 29), date(2023, 4, 23), date(2023, 5, 6), date(2023, 6, 25),
     date(2023, 10, 7), date(2023, 10, 8)]
)


def is_workday(day: date) -> bool:
    """Tell whether offices work on `day`."""
    if day in SWAPPED_WORKDAYS:
        return True
    return day.weekday() < 5 and day not in HOLIDAYS


def add_workdays(day: date, count: int) -> date:
    """Return the date `count` working days after `day` (`day` itself not counted)."""
    if count < 0:
        raise ValueError("count must be >= 0")
    current = day
    while count:
        current += timedelta(days=1)
        if is_workday(current):
            count -= 1
    return current
