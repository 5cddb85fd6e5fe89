"""Working days in mainland China: statutory holidays and 调休 from `chinesecalendar`, the office's overrides on top.

`WorkCalendar` is pure (built from override rows, no database access); `load_calendar` builds it from the tables
the office edits. A year the library does not cover and the office has not confirmed is provisional: weekends only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

import chinese_calendar
from sqlalchemy import func
from sqlmodel import Field, Session, SQLModel, col, select

from scheduler.db import utc_column

LIBRARY = "chinesecalendar"
MAX_TEXT = 200
# chinesecalendar's English holiday names, as the State Council's notice names them.
HOLIDAY_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}


class WorkdayOverride(SQLModel, table=True):
    """One day the office sets as working or off (e.g. from next year's 国务院办公厅 notice); wins over the library."""

    __tablename__ = "workday_override"

    day: date = Field(primary_key=True)
    is_workday: bool
    note: str = Field(max_length=MAX_TEXT)  # the reason shown, e.g. 春节 or 春节调休上班
    source: str = Field(max_length=MAX_TEXT)  # e.g. 国办发明电〔2026〕X号
    created_at: datetime = Field(sa_column=utc_column(nullable=False))


class WorkdayYear(SQLModel, table=True):
    """A year the office confirmed as fully entered: it is no longer provisional."""

    __tablename__ = "workday_year"

    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    source: str = Field(max_length=MAX_TEXT)
    confirmed_at: datetime = Field(sa_column=utc_column(nullable=False))


class WorkdaysInvalid(ValueError):
    """An override or confirmation the office asked for is refused (Chinese message naming the field)."""


@dataclass(frozen=True)
class Override:
    """An override as the calendar sees it."""

    day: date
    is_workday: bool
    note: str
    source: str


@dataclass(frozen=True)
class SpecialDay:
    """A day that is not an ordinary weekday or weekend: a holiday, a 调休 working weekend, or an override."""

    day: date
    is_workday: bool
    name: str | None
    source: str
    overridden: bool


@cache
def _library_days(year: int) -> dict[date, tuple[bool, str | None]] | None:
    """Return chinesecalendar's (off, name) for every day of `year`, or None when it has no data for it.

    The library's tables are fixed for the life of the process, so each year is read once, not once per calendar
    (planners build a calendar every tick; the library checks its whole table on every lookup).
    """
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:  # "no available data for year …": the year is not covered
        return None
    days: dict[date, tuple[bool, str | None]] = {}
    day = date(year, 1, 1)
    while day.year == year:
        days[day] = chinese_calendar.get_holiday_detail(day)
        day += timedelta(days=1)
    return days


class WorkCalendar:
    """Tell working days apart: overrides first, then chinesecalendar, then (provisional years) weekends only."""

    def __init__(self, overrides: Iterable[Override] = (), confirmed: Mapping[int, str] | None = None) -> None:
        self._overrides = {o.day: o for o in overrides}
        self._confirmed = dict(confirmed or {})
        self._library: dict[int, dict[date, tuple[bool, str | None]] | None] = {}

    def _library_year(self, year: int) -> dict[date, tuple[bool, str | None]] | None:
        """Return the library's (off, name) for every day of `year`, or None when it has no data for it."""
        if year not in self._library:
            self._library[year] = _library_days(year)
        return self._library[year]

    def library_covers(self, year: int) -> bool:
        """Tell whether chinesecalendar has the State Council's calendar for `year`."""
        return self._library_year(year) is not None

    def confirmed_source(self, year: int) -> str | None:
        """Return the notice the office confirmed `year` from, if it did."""
        return self._confirmed.get(year)

    def covers(self, year: int) -> bool:
        """Tell whether `year`'s holidays and 调休 are known (library data, or confirmed by the office)."""
        return year in self._confirmed or self.library_covers(year)

    def is_provisional(self, year: int) -> bool:
        """Tell whether `year` is counted on weekends only until the notice is entered."""
        return not self.covers(year)

    def is_workday(self, day: date) -> bool:
        """Tell whether offices work on `day`."""
        override = self._overrides.get(day)
        if override is not None:
            return override.is_workday
        library = self._library_year(day.year)
        if library is not None:
            return not library[day][0]
        return day.weekday() < 5

    def holiday_name(self, day: date) -> str | None:
        """Return why `day` is off (e.g. 春节, 国庆节) where known; None for working days and plain weekends."""
        override = self._overrides.get(day)
        if override is not None:
            return None if override.is_workday else (override.note or None)
        library = self._library_year(day.year)
        if library is None:
            return None
        off, name = library[day]
        return HOLIDAY_NAMES.get(name, name) if off and name else None

    def add_workdays(self, day: date, n: int) -> date:
        """Return the date `n` working days after `day` (before it when `n` < 0); `day` itself is not counted."""
        step = timedelta(days=1 if n >= 0 else -1)
        left, current = abs(n), day
        while left:
            current += step
            if self.is_workday(current):
                left -= 1
        return current

    def workdays_between(self, a: date, b: date) -> int:
        """Count working days after `a` up to and including `b` (negative when `b` is before `a`)."""
        if b < a:
            return -self.workdays_between(b, a)
        count, day = 0, a
        while day < b:
            day += timedelta(days=1)
            count += self.is_workday(day)
        return count

    def special_days(self, year: int) -> list[SpecialDay]:
        """List `year`'s holidays, 调休 working weekends and overridden days, in date order."""
        library = self._library_year(year) or {}
        out: list[SpecialDay] = []
        day = date(year, 1, 1)
        while day.year == year:
            override = self._overrides.get(day)
            if override is not None:
                out.append(SpecialDay(day, override.is_workday, override.note or None, override.source, True))
            elif day in library:
                off, name = library[day]
                if name is not None or off != (day.weekday() >= 5):
                    label = HOLIDAY_NAMES.get(name, name) if name else None
                    out.append(SpecialDay(day, not off, label, LIBRARY, False))
            day += timedelta(days=1)
        return out


def load_calendar(*, session: Session) -> WorkCalendar:
    """Build the working-day calendar with the office's overrides and confirmed years."""
    overrides = [Override(o.day, o.is_workday, o.note, o.source) for o in session.exec(select(WorkdayOverride))]
    confirmed = {y.year: y.source for y in session.exec(select(WorkdayYear))}
    return WorkCalendar(overrides, confirmed)


def calendar_fingerprint(*, session: Session) -> tuple[Any, ...]:
    """Summarize the office's overrides and confirmations, so planners re-run when they change."""
    overrides = session.exec(select(func.count(), func.max(WorkdayOverride.created_at))).one()
    years = session.exec(select(func.count(), func.max(WorkdayYear.confirmed_at))).one()
    return (*overrides, *years)


def get_year(*, session: Session, year: int) -> WorkdayYear | None:
    """Return the office's confirmation of `year`, if any."""
    return session.get(WorkdayYear, year)


def _text(field: str, value: str) -> str:
    value = value.strip()
    if not value:
        raise WorkdaysInvalid(f"{field}不能为空")
    if len(value) > MAX_TEXT:
        raise WorkdaysInvalid(f"{field}过长（最多 {MAX_TEXT} 字，现有 {len(value)} 字）")
    return value


def set_override(
    *, session: Session, day: date, is_workday: bool, note: str, source: str, now: datetime
) -> WorkdayOverride:
    """Make `day` a working day or a day off, replacing any earlier override of it (the caller commits)."""
    note, source = _text("说明（--note）", note), _text("依据（--source）", source)
    row = session.get(WorkdayOverride, day)
    if row is None:
        row = WorkdayOverride(day=day, is_workday=is_workday, note=note, source=source, created_at=now)
        session.add(row)
    else:
        row.is_workday, row.note, row.source, row.created_at = is_workday, note, source, now
    session.flush()
    return row


def remove_override(*, session: Session, day: date) -> bool:
    """Delete the override of `day`; tell whether there was one (the caller commits)."""
    row = session.get(WorkdayOverride, day)
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


def confirm_year(*, session: Session, year: int, source: str, now: datetime) -> WorkdayYear:
    """Mark `year` as entered from the State Council's notice, so it is no longer provisional (the caller commits)."""
    source = _text("依据（--source）", source)
    start, end = date(year, 1, 1), date(year, 12, 31)
    entered = session.exec(select(WorkdayOverride).where(col(WorkdayOverride.day) >= start,
                                                         col(WorkdayOverride.day) <= end)).first()
    if entered is None and WorkCalendar().library_covers(year):
        raise WorkdaysInvalid(f"年份 {year}：日历库（{LIBRARY}）已有该年的放假安排，无需确认")
    if entered is None:
        raise WorkdaysInvalid(
            f"年份 {year}：尚未录入任何放假或调休日期，请先按国务院办公厅通知用 scheduler workdays set 逐日录入")
    row = session.get(WorkdayYear, year)
    if row is None:
        row = WorkdayYear(year=year, source=source, confirmed_at=now)
        session.add(row)
    else:
        row.source, row.confirmed_at = source, now
    session.flush()
    return row


# --- The admin page: the same rules, problems keyed by form field (the page records the audit entries). ---

YEARS = range(2000, 2101)  # the years the CLI and the admin page accept


@dataclass(frozen=True)
class YearView:
    """A year as the office reads it: its special days, whether it is provisional, and its totals."""

    year: int
    days: list[SpecialDay]
    library: bool  # chinesecalendar has the State Council's calendar for the year
    confirmed_source: str | None
    confirmed_at: datetime | None
    provisional: bool
    days_off: int  # holidays, including those falling on a weekend
    swapped: int  # weekends worked (调休上班)
    workdays: int


def view_year(*, session: Session, year: int) -> YearView:
    """Return `year`'s holidays, 调休 and overrides with its status and totals."""
    calendar = load_calendar(session=session)
    confirmed = get_year(session=session, year=year)
    days = calendar.special_days(year)
    return YearView(
        year=year, days=days, library=calendar.library_covers(year),
        confirmed_source=confirmed.source if confirmed else None,
        confirmed_at=confirmed.confirmed_at if confirmed else None, provisional=calendar.is_provisional(year),
        days_off=sum(not d.is_workday for d in days), swapped=sum(d.is_workday and d.day.weekday() >= 5 for d in days),
        workdays=calendar.workdays_between(date(year - 1, 12, 31), date(year, 12, 31)),
    )


def _text_problem(label: str, value: str) -> str | None:
    try:
        _text(label, value)
    except WorkdaysInvalid as exc:
        return str(exc)
    return None


def override_problems(*, note: str, source: str) -> dict[str, str]:
    """Return what is wrong with an override's note and source, by form field (empty: it can be stored)."""
    problems = {"note": _text_problem("说明", note), "source": _text_problem("依据", source)}
    return {k: v for k, v in problems.items() if v}


def confirm_problems(*, session: Session, year: int, source: str) -> dict[str, str]:
    """Return why `year` cannot be confirmed from `source`, by form field (empty: it can)."""
    if year not in YEARS:
        return {"year": f"年份 {year} 超出范围（须在 {YEARS[0]}–{YEARS[-1]} 之间）"}
    problem = _text_problem("依据", source)
    if problem:
        return {"source": problem}
    start, end = date(year, 1, 1), date(year, 12, 31)
    entered = session.exec(select(WorkdayOverride).where(col(WorkdayOverride.day) >= start,
                                                         col(WorkdayOverride.day) <= end)).first()
    if entered is None and WorkCalendar().library_covers(year):
        return {"year": f"年份 {year}：日历库（{LIBRARY}）已有该年的放假安排，无需确认"}
    if entered is None:
        return {"year": f"年份 {year}：尚未录入任何放假或调休日期，请先按国务院办公厅通知逐日录入"}
    return {}


def override_fields(row: WorkdayOverride | None) -> dict[str, Any] | None:
    """Return an override's fields as an audit entry records them (None for no override)."""
    if row is None:
        return None
    return {"day": row.day, "is_workday": row.is_workday, "note": row.note, "source": row.source}
