"""The conflict checker: what setting one session to a date costs, as findings with a Chinese reason and a severity.

Pure and deterministic (no solver, no database, no clock): it reads a `PlanSnapshot` (scheduling.snapshot builds
one from the database) and the days proposed for one session. Every place a date is set runs it — the 定档 form,
the admin editor, `scheduler schedule check` — and the proposer's output is re-checked with it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from scheduler.workdays import WorkCalendar

WEEKDAY_NAMES = "一二三四五六日"
THEME_TYPE = "quarterly_theme"
SERIES_SPACING = (45, 75)  # days between neighbouring sessions of a bimonthly series (每两月)


class Severity(enum.StrEnum):
    BLOCK = "block"  # refused: the date cannot be set
    WARN = "warn"  # allowed once confirmed (确认)
    ADVICE = "advice"  # a suggestion (联合组团); nothing to confirm


SEVERITY_LABELS = {Severity.BLOCK: "不可选", Severity.WARN: "需确认", Severity.ADVICE: "建议"}


class Rule(enum.StrEnum):
    WINDOW = "window"
    WORKDAY = "workday"
    BUSY = "busy"
    BLACKOUT = "blackout"
    CITY_CAP = "city_cap"
    JOINT_TRIP = "joint_trip"
    MONTH_EMPTY = "month_empty"
    THEME_QUARTER = "theme_quarter"
    SERIES_SPACING = "series_spacing"


@dataclass(frozen=True)
class Finding:
    """One thing the date costs: which rule, how bad, why (Chinese), and the other sessions involved."""

    rule: Rule
    severity: Severity
    reason: str
    others: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {"rule": str(self.rule), "severity": str(self.severity), "reason": self.reason,
                "others": list(self.others)}


@dataclass(frozen=True)
class Slot:
    """One session as the scheduler sees it; `units` are hosts and co-organizers with groups expanded."""

    key: str
    seq: int
    title: str
    event_type: str
    quarter: int
    window: tuple[date, date]
    hosts: tuple[str, ...]
    units: frozenset[str]
    destination: str | None = None  # the place of an out-of-town trip; None when held in the city
    series: str | None = None
    days: tuple[date, date] | None = None  # first and last local day once fixed

    @property
    def away(self) -> bool:
        return self.destination is not None


@dataclass(frozen=True)
class Blackout:
    """Days a unit declared it cannot take part (两会, leaders away)."""

    unit: str
    start: date
    end: date
    reason: str
    id: int | None = None


@dataclass(frozen=True)
class Rules:
    """The configurable limits: days kept free before and after an out-of-town trip; delegations away at once."""

    travel_buffer_days: int = 1
    away_cap: int = 3


@dataclass
class PlanSnapshot:
    """Everything the checker reads about one plan."""

    year: int
    slots: list[Slot]
    calendar: WorkCalendar
    names: dict[str, str] = field(default_factory=dict)  # unit key → short name
    bankuai: frozenset[str] = frozenset()  # the plan's 板块 keys (per-板块 cadence)
    blackouts: list[Blackout] = field(default_factory=list)
    rules: Rules = field(default_factory=Rules)

    def slot(self, key: str) -> Slot:
        for slot in self.slots:
            if slot.key == key:
                return slot
        raise KeyError(key)

    def name(self, unit: str) -> str:
        return self.names.get(unit, unit)


def days_of(start: date, end: date) -> Iterator[date]:
    """Yield every day from `start` to `end` inclusive."""
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


def md(day: date) -> str:
    """Write a day as people read it: 3月14日（星期二）."""
    return f"{day.month}月{day.day}日（星期{WEEKDAY_NAMES[day.weekday()]}）"


def _label(slot: Slot) -> str:
    return f"序号 {slot.seq}「{slot.title}」"


def _span(days: tuple[date, date]) -> str:
    a, b = days
    return md(a) if a == b else f"{md(a)}至{md(b)}"


def _overlaps(a: tuple[date, date], b: tuple[date, date]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def _padded(slot: Slot, days: tuple[date, date], buffer: int) -> tuple[date, date]:
    """The days a session keeps its units busy: out-of-town trips take `buffer` days either side."""
    if not slot.away or buffer <= 0:
        return days
    return days[0] - timedelta(days=buffer), days[1] + timedelta(days=buffer)


def _window_and_workdays(snap: PlanSnapshot, slot: Slot, days: tuple[date, date]) -> list[Finding]:
    out: list[Finding] = []
    lo, hi = slot.window
    if days[0] < lo or days[1] > hi:
        out.append(Finding(Rule.WINDOW, Severity.BLOCK,
                           f"{_span(days)}不在计划窗口 {lo.isoformat()}–{hi.isoformat()} 之内；"
                           "如需改到窗口之外，请联系领导小组办公室办理延期"))
    for day in days_of(*days):
        if snap.calendar.is_workday(day):
            continue
        holiday = snap.calendar.holiday_name(day)
        why = f"{holiday}假期" if holiday else "周末"
        if snap.calendar.is_provisional(day.year):
            out.append(Finding(Rule.WORKDAY, Severity.WARN,
                               f"{md(day)}是{why}：{day.year} 年节假日安排尚未公布，暂按周末计，请确认"))
        else:
            out.append(Finding(Rule.WORKDAY, Severity.BLOCK, f"{md(day)}是{why}，不是工作日，请另选工作日"))
    return out


def _busy(snap: PlanSnapshot, slot: Slot, days: tuple[date, date], others: list[Slot]) -> list[Finding]:
    out: list[Finding] = []
    buffer = snap.rules.travel_buffer_days
    mine = _padded(slot, days, buffer)
    for other in others:
        assert other.days is not None
        shared = slot.units & other.units
        if not shared:
            continue
        theirs = _padded(other, other.days, buffer)
        if not _overlaps(mine, theirs):
            continue
        names = "、".join(snap.name(u) for u in sorted(shared, key=lambda u: (u not in slot.hosts, u)))
        direct = _overlaps(days, other.days)
        where = f"赴{other.destination}" if other.away else "在市内"
        if direct:
            reason = f"{names}{_span(other.days)}已有活动：{_label(other)}（{where}）"
        else:
            reason = (f"{names}{_span(other.days)}{where}参加{_label(other)}，"
                      f"外出活动前后各需留出 {buffer} 天行程")
        out.append(Finding(Rule.BUSY, Severity.WARN, reason, (other.key,)))
    return out


def _blackouts(snap: PlanSnapshot, slot: Slot, days: tuple[date, date]) -> list[Finding]:
    out: list[Finding] = []
    for b in snap.blackouts:
        if b.unit not in slot.units or not _overlaps(days, (b.start, b.end)):
            continue
        host = b.unit in slot.hosts
        role = "主办单位" if host else "承办（配合）单位"
        out.append(Finding(Rule.BLACKOUT, Severity.BLOCK if host else Severity.WARN,
                           f"{role}{snap.name(b.unit)}已声明 {_span((b.start, b.end))}不能安排活动（{b.reason}）"))
    return out


def _city_cap(snap: PlanSnapshot, slot: Slot, days: tuple[date, date], others: list[Slot]) -> list[Finding]:
    if not slot.away:
        return []
    cap = snap.rules.away_cap
    for day in days_of(*days):
        away = [o for o in others if o.away and o.days and o.days[0] <= day <= o.days[1]]
        if len(away) + 1 > cap:
            who = "、".join(f"{_label(o)}赴{o.destination}" for o in away)
            return [Finding(Rule.CITY_CAP, Severity.WARN,
                            f"{md(day)}全市已有 {len(away)} 个团组外出（{who}），再加本场将超过每日上限 {cap} 个",
                            tuple(o.key for o in away))]
    return []


def _joint_trips(snap: PlanSnapshot, slot: Slot, days: tuple[date, date], others: list[Slot]) -> list[Finding]:
    if not slot.away:
        return []
    week = days[0] - timedelta(days=days[0].weekday())
    mates = [o for o in others if o.away and o.destination == slot.destination and o.days
             and o.days[0] - timedelta(days=o.days[0].weekday()) == week and not set(o.hosts) & set(slot.hosts)]
    if not mates:
        return []
    hosts = "、".join(dict.fromkeys(snap.name(h) for o in mates for h in o.hosts))
    return [Finding(Rule.JOINT_TRIP, Severity.ADVICE,
                    f"{hosts}同一周（{week.month}月{week.day}日起）也赴{slot.destination}，可与{hosts}联合组团",
                    tuple(o.key for o in mates))]


def _months(lo: date, hi: date) -> set[tuple[int, int]]:
    out: set[tuple[int, int]] = set()
    y, m = lo.year, lo.month
    while (y, m) <= (hi.year, hi.month):
        out.add((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _possible_months(slot: Slot) -> set[tuple[int, int]]:
    """The months a session may still fall in: its fixed start's month, else every month its window touches."""
    if slot.days is not None:
        return {(slot.days[0].year, slot.days[0].month)}
    return _months(*slot.window)


def covered_months(slots: list[Slot], year: int) -> int:
    """Return how many months of `year` can have an activity at once (each session counts in one month)."""
    owner: dict[tuple[int, int], int] = {}

    def place(i: int, seen: set[tuple[int, int]]) -> bool:
        for month in sorted(_possible_months(slots[i])):
            if month[0] != year or month in seen:
                continue
            seen.add(month)
            if month not in owner or place(owner[month], seen):
                owner[month] = i
                return True
        return False

    # Fixed sessions first so they keep their month; then the rest by window width.
    order = sorted(range(len(slots)), key=lambda i: len(_possible_months(slots[i])))
    for i in order:
        if len(owner) == 12:  # every month of the year already has one: nothing can add more
            break
        place(i, set())
    return len(owner)


def _cadence(snap: PlanSnapshot, slot: Slot, days: tuple[date, date]) -> list[Finding]:
    out: list[Finding] = []
    moved = replace(slot, days=days)
    rest = [s for s in snap.slots if s.key != slot.key]
    scopes: list[tuple[str, list[Slot]]] = [("全市", rest)]
    for unit in slot.hosts:
        if unit in snap.bankuai:
            scopes.append((snap.name(unit), [s for s in rest if unit in s.hosts]))
    for scope, others in scopes:
        before = covered_months([slot, *others], snap.year)
        after = covered_months([moved, *others], snap.year)
        if after >= before:
            continue
        union_before = set().union(*(_possible_months(s) for s in [slot, *others]))
        union_after = set().union(*(_possible_months(s) for s in [moved, *others]))
        lost = sorted(m for m in union_before - union_after if m[0] == snap.year)
        if lost:
            what = f"{'、'.join(f'{m}月' for _, m in lost)}将没有任何活动"
        else:
            what = f"最多只能有 {after} 个月有活动（原可覆盖 {before} 个月）"
        out.append(Finding(Rule.MONTH_EMPTY, Severity.WARN, f"选定此日期后，{scope}{what}（月度有活动）"))
    if slot.event_type == THEME_TYPE:
        quarter = (days[0].month - 1) // 3 + 1
        if days[0].year != snap.year or quarter != slot.quarter:
            out.append(Finding(Rule.THEME_QUARTER, Severity.WARN,
                               f"本场是第 {slot.quarter} 季度的季度主题活动，{md(days[0])}不在该季度内（季度有主题）"))
    if slot.series:
        out.extend(_series(snap, moved))
    return out


def _series(snap: PlanSnapshot, moved: Slot) -> list[Finding]:
    assert moved.days is not None
    mates = sorted((moved if s.key == moved.key else s for s in snap.slots if s.series == moved.series),
                   key=lambda s: (s.days[0] if s.days else s.window[0], s.key))
    index = next(i for i, s in enumerate(mates) if s.key == moved.key)
    lo, hi = SERIES_SPACING
    out: list[Finding] = []
    for neighbour in (mates[index - 1] if index > 0 else None, mates[index + 1] if index + 1 < len(mates) else None):
        if neighbour is None or neighbour.days is None:
            continue
        gap = abs((moved.days[0] - neighbour.days[0]).days)
        if not lo <= gap <= hi:
            out.append(Finding(Rule.SERIES_SPACING, Severity.WARN,
                               f"与同系列的{_label(neighbour)}（{md(neighbour.days[0])}）相隔 {gap} 天，"
                               f"系列活动应约每两月一场（间隔 {lo}–{hi} 天）", (neighbour.key,)))
    return out


def check(snap: PlanSnapshot, key: str, start: date, end: date | None = None) -> list[Finding]:
    """Return what setting session `key` to `start`…`end` costs, blocking findings first."""
    slot = snap.slot(key)
    days = (start, end or start)
    if days[1] < days[0]:
        return [Finding(Rule.WINDOW, Severity.BLOCK, f"结束日期 {days[1]} 早于开始日期 {days[0]}")]
    fixed_others = [s for s in snap.slots if s.key != key and s.days is not None]
    findings = [*_window_and_workdays(snap, slot, days), *_blackouts(snap, slot, days),
                *_busy(snap, slot, days, fixed_others), *_city_cap(snap, slot, days, fixed_others),
                *_joint_trips(snap, slot, days, fixed_others), *_cadence(snap, slot, days)]
    order = list(Severity)
    return sorted(findings, key=lambda f: order.index(f.severity))


def check_fixed(snap: PlanSnapshot) -> dict[str, list[Finding]]:
    """Check every fixed session against the others (what `scheduler schedule check` reports)."""
    out: dict[str, list[Finding]] = {}
    for slot in snap.slots:
        if slot.days is not None:
            findings = check(snap, slot.key, *slot.days)
            if findings:
                out[slot.key] = findings
    return out


def blocking(findings: Iterable[Finding]) -> list[Finding]:
    """Return the findings that refuse the date."""
    return [f for f in findings if f.severity == Severity.BLOCK]


def warnings(findings: Iterable[Finding]) -> list[Finding]:
    """Return the findings that need a confirmation."""
    return [f for f in findings if f.severity == Severity.WARN]
