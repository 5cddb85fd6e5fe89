"""Cadence (季度有主题 · 月度有活动 · 周周有洽谈): kept or missed for past periods, foreseen gaps for future ones.

Pure functions of (Facts, today). What counts for a 板块 in 月度有活动: the occurrences it hosts (directly or
through a sub-unit such as 海门区科技局) and the 板块招商活动 where it is named as 承办; being one of a group
co-organizer (各县（市、区）、各板块) of a city event is participation, not its own activity. City events hosted by
市科技局 and other city units count for the city-wide row (全市) only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from scheduler.plan.windows import month_end
from scheduler.reports.facts import Facts, OccFact
from scheduler.workdays import WorkCalendar

CITY = "全市"
CLOSING_DAYS = 14  # a theme window closing within this many days, still unfixed, is flagged
CHECKIN_GRACE_DAYS = 1  # a week's check-in is due the first working day after its Sunday

MONTH_STATES = {
    "kept": "已举办",
    "missed": "未举办",
    "fixed": "已定档",
    "planned": "计划内（待定档）",
    "possible": "窗口可能落在本月",
    "gap": "预见空档",
}
THEME_STATES = {
    "kept": "已举办",
    "missed": "未举办",
    "scheduled": "已定档",
    "open": "待定档",
    "closing": "窗口将关闭仍未定档",
    "gap": "无主题活动",
}
WEEK_STATES = {"logged": "已填报", "missed": "未填报", "pending": "本周待填", "future": "未到"}


@dataclass(frozen=True)
class MonthCell:
    unit: str
    month: int
    state: str
    titles: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return MONTH_STATES[self.state]


@dataclass(frozen=True)
class ThemeCell:
    quarter: int
    theme: str | None
    state: str
    title: str | None = None
    window_end: date | None = None

    @property
    def label(self) -> str:
        return THEME_STATES[self.state]


@dataclass(frozen=True)
class WeekCell:
    unit: str
    week_start: date
    state: str
    count: int | None = None


@dataclass(frozen=True)
class Gap:
    """A foreseen (or past) hole in the cadence, for the dashboard and the reports."""

    unit: str  # 板块 key, or CITY
    month: int | None
    kind: str  # month | theme
    text: str


@dataclass
class Cadence:
    year: int
    today: date
    units: list[tuple[str, str]]  # (key, name), city first
    months: dict[str, list[MonthCell]] = field(default_factory=dict)
    themes: list[ThemeCell] = field(default_factory=list)
    weeks: dict[str, list[WeekCell]] = field(default_factory=dict)
    gaps: list[Gap] = field(default_factory=list)


def occ_day(o: OccFact) -> date | None:
    """Return the day an occurrence happens (fixed or reported), or None while only a window is known."""
    return o.start_on


def month_state(occs: list[OccFact], year: int, month: int, today: date) -> tuple[str, tuple[str, ...]]:
    """Classify one month for the given occurrences: kept/missed (past) or fixed/planned/possible/gap."""
    first, last = date(year, month, 1), month_end(year, month)
    held = [o for o in occs if o.held and o.start_on and first <= o.start_on <= last]
    if held:
        return "kept", tuple(o.title for o in held)
    if last < today:
        return "missed", ()
    live = [o for o in occs if o.active and not o.held]
    fixed = [o for o in live if o.start_on and first <= o.start_on <= last]
    if fixed:  # a date is set in this month
        return "fixed", tuple(o.title for o in fixed)
    planned = [o for o in live if o.start_on is None and first <= o.window_start and o.window_end <= last]
    if planned:  # only a window inside the month: planned, no date yet
        return "planned", tuple(o.title for o in planned)
    possible = [o for o in live if o.start_on is None and max(first, o.window_start, today) <= min(last, o.window_end)]
    if possible:
        return "possible", tuple(o.title for o in possible)
    return "gap", ()


def theme_cell(facts: Facts, quarter: int, today: date) -> ThemeCell:
    """Classify one quarter's theme activity (held with the plan's theme, or what is foreseen)."""
    theme = facts.themes.get(quarter)
    occs = [
        o
        for o in facts.occurrences
        if o.type == "quarterly_theme" and o.quarter == quarter and o.active and (theme is None or o.theme == theme)
    ]
    q_end = month_end(facts.year, quarter * 3)
    if not occs:
        return ThemeCell(quarter, theme, "missed" if q_end < today else "gap")
    title = occs[0].title
    if any(o.held for o in occs):
        return ThemeCell(quarter, theme, "kept", title)
    closes = max(o.window_end for o in occs)
    if q_end < today:
        return ThemeCell(quarter, theme, "missed", title, closes)
    if any(o.start_on is not None for o in occs):  # fixed: waits for the day (and its outcome report)
        return ThemeCell(quarter, theme, "scheduled", title, closes)
    if closes < today:
        return ThemeCell(quarter, theme, "missed", title, closes)
    if (closes - today).days <= CLOSING_DAYS:
        return ThemeCell(quarter, theme, "closing", title, closes)
    return ThemeCell(quarter, theme, "open", title, closes)


def week_mondays(facts: Facts) -> list[date]:
    """Return the Mondays of every week 周周有洽谈 applies to: from the notice's first full week to the year's end."""
    begin = facts.week_from or date(facts.year, 1, 1)
    monday = begin + timedelta(days=-begin.weekday() % 7)  # the first full week on or after the notice
    out = []
    while monday.year <= facts.year and monday <= date(facts.year, 12, 31):
        out.append(monday)
        monday += timedelta(days=7)
    return out


def week_state(logged: bool, monday: date, today: date, calendar: WorkCalendar) -> str:
    """Classify one 板块-week: logged, missed (past its due day), pending (this week or due today), future."""
    if logged:
        return "logged"
    if monday > today:
        return "future"
    due = calendar.add_workdays(monday + timedelta(days=6), CHECKIN_GRACE_DAYS)  # as the check-in task is due
    return "missed" if today > due else "pending"


def compute_cadence(facts: Facts, today: date) -> Cadence:
    """Compute every cadence cell and the list of gaps as of `today`."""
    cad = Cadence(facts.year, today, [(CITY, CITY)] + [(u.key, u.name) for u in facts.units])
    for key, _name in cad.units:
        occs = [o for o in facts.occurrences if key == CITY or key in o.credited]
        cells = []
        for m in range(1, 13):
            state, titles = month_state(occs, facts.year, m, today)
            cells.append(MonthCell(key, m, state, titles))
        cad.months[key] = cells
    cad.themes = [theme_cell(facts, q, today) for q in range(1, 5)]
    mondays = week_mondays(facts)
    for unit in facts.units:
        logged = facts.checkins.get(unit.key, set())
        cad.weeks[unit.key] = [
            WeekCell(unit.key, m, week_state(m in logged, m, today, facts.calendar),
                     facts.checkin_counts.get((unit.key, m)))
            for m in mondays
        ]
    cad.gaps = foreseen_gaps(cad, facts)
    return cad


def foreseen_gaps(cad: Cadence, facts: Facts) -> list[Gap]:
    """List months still to come with nothing scheduled, and theme windows closing unfixed or missed."""
    names = dict(cad.units)
    gaps = [
        Gap(key, c.month, "month", f"{c.month}月 {names[key]}尚无安排：请督促{names[key]}在{c.month}月安排一场活动")
        for key, cells in cad.months.items()
        for c in cells
        if c.state == "gap"
    ]
    for t in cad.themes:
        if t.state == "closing":
            gaps.append(
                Gap(CITY, None, "theme",
                    f"第{t.quarter}季度主题活动“{t.title}”窗口 {t.window_end} 结束，仍未定档：请督促主办单位定档")
            )
        elif t.state == "gap":
            text = f"第{t.quarter}季度尚无主题（{t.theme or '未定'}）活动：请安排本季度主题活动"
            gaps.append(Gap(CITY, None, "theme", text))
    return gaps


def gap_table(cad: Cadence) -> dict[str, list[int]]:
    """Return the foreseen month gaps as {unit key: [months]} (units without gaps omitted)."""
    out: dict[str, list[int]] = {}
    for g in cad.gaps:
        if g.kind == "month" and g.month is not None:
            out.setdefault(g.unit, []).append(g.month)
    return out


def closing_windows(facts: Facts, today: date, days: int = CLOSING_DAYS) -> list[OccFact]:
    """Return active unfixed occurrences whose window closes within `days` (or has closed) and are not held."""
    return sorted(
        (
            o
            for o in facts.occurrences
            if o.active
            and not o.held
            and o.start_on is None
            and o.precision != "year"
            and o.window_end - today <= timedelta(days=days)
            and o.window_start <= today + timedelta(days=days)
        ),
        key=lambda o: o.window_end,
    )
