"""Clocks: time is passed in, never read deep inside logic."""

from __future__ import annotations

import math
import re
import threading
import time as _time
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local_date(moment: datetime) -> date:
    """Return the Asia/Shanghai calendar date of an aware instant."""
    return moment.astimezone(SHANGHAI).date()


def at_local(day: date, when: time) -> datetime:
    """Return `day` at `when` in Shanghai, as UTC."""
    return datetime.combine(day, when, SHANGHAI).astimezone(UTC)


def week_start(moment: datetime | date) -> date:
    """Return the Monday (Asia/Shanghai) of the ISO week containing `moment`."""
    day = local_date(moment) if isinstance(moment, datetime) else moment
    return day - timedelta(days=day.weekday())


def first_full_week(day: date) -> date:
    """Return the Monday of the first full week starting on or after `day` (周周有洽谈 starts there)."""
    return day + timedelta(days=-day.weekday() % 7)


class Clock(Protocol):
    """Something that tells the current instant (aware, UTC)."""

    def now(self) -> datetime: ...

    def describe(self) -> str: ...


class RealClock:
    """The wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def describe(self) -> str:
        return "真实时钟"


class SimulatedClock:
    """A clock that starts at `start` and runs `speed` times faster than real time."""

    def __init__(self, start: datetime, speed: float = 1.0, *, monotonic=_time.monotonic) -> None:
        if start.tzinfo is None:
            raise ValueError("SimulatedClock needs an aware start datetime")
        self.start = start.astimezone(UTC)
        self.speed = speed
        self._monotonic = monotonic
        self._t0 = monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(self._monotonic() - self._t0) * self.speed)

    def describe(self) -> str:
        local = self.now().astimezone(SHANGHAI)
        return f"模拟时钟（{self.speed:g} 倍速，当前 {local:%Y-%m-%d %H:%M}）"


class FixedClock:
    """A clock that only moves when told to (tests, replays)."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self.at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self.at

    def set(self, at: datetime) -> None:
        """Move the clock to `at`."""
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self.at = at.astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward by `delta`."""
        self.at += delta

    def describe(self) -> str:
        return f"固定时钟（{self.at.astimezone(SHANGHAI):%Y-%m-%d %H:%M}）"


class NonDecreasingClock:
    """A clock that never goes backwards: a backward jump of the clock inside holds time at the latest instant seen.

    The planners decide what is due from `now`; an earlier `now` than one already acted on (an NTP step, a restarted
    simulated clock) would plan and send again what went out before. `floor` is the latest instant acted on, kept
    in the database by the ticker (scheduler.clockstate) so it survives restarts.
    """

    def __init__(self, inner: Clock, *, floor: datetime | None = None) -> None:
        self.inner = inner
        self.floor = floor.astimezone(UTC) if floor is not None else None
        self._lock = threading.Lock()

    def now(self) -> datetime:
        moment = self.inner.now()
        with self._lock:
            if self.floor is not None and moment < self.floor:
                return self.floor
            self.floor = moment
            return moment

    def raise_floor(self, instant: datetime) -> None:
        """Never answer earlier than `instant` from now on."""
        with self._lock:
            if self.floor is None or instant > self.floor:
                self.floor = instant.astimezone(UTC)

    def held_back(self) -> bool:
        """Tell whether the inner clock is behind an instant already seen (time is being held)."""
        return self.floor is not None and self.inner.now() < self.floor

    def describe(self) -> str:
        if self.held_back() and self.floor is not None:
            return (f"{self.inner.describe()}；时钟回拨，保持在 {self.floor.astimezone(SHANGHAI):%Y-%m-%d %H:%M}"
                    "，追上后继续")
        return self.inner.describe()


MAX_SPEED = 1_000_000.0  # a simulated year in about half a minute; more would overflow datetime within days
MIN_YEAR, MAX_YEAR = 2000, 2100
_SPEED_RE = re.compile(r"[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
CLOCK_FORMS = "real 或 simulated:START[@SPEED]"


def parse_clock(spec: str) -> Clock:
    """Build a clock from `real` or `simulated:START[@SPEED]` (START is ISO 8601; date-only means 09:00 Shanghai).

    Every refusal names the part at fault and the character it starts at (1-based, in the value as given).
    """
    offset = len(spec) - len(spec.lstrip())
    spec = spec.strip()
    if spec == "real":
        return RealClock()
    if not spec.startswith("simulated:"):
        raise ValueError(f"SCHEDULER_CLOCK: 未知的时钟 {spec!r}（可用 {CLOCK_FORMS}）")
    body = spec.removeprefix("simulated:")
    start_text, at, speed_text = body.partition("@")
    start_col = offset + len("simulated:") + 1
    speed_col = start_col + len(start_text) + 1
    return SimulatedClock(_parse_start(start_text, start_col), _parse_speed(speed_text, speed_col) if at else 1.0)


def _parse_start(text: str, column: int) -> datetime:
    where = f"SCHEDULER_CLOCK 第 {column} 个字符起："
    if not text:
        raise ValueError(f"{where}缺少开始时间（应为 {CLOCK_FORMS}，如 simulated:2023-01-22@3600）")
    try:
        if not text.isascii():
            raise ValueError(text)
        start = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{where}无法解析开始时间 {text!r}（应为 ISO 8601）") from None
    if not MIN_YEAR <= start.year <= MAX_YEAR:
        raise ValueError(f"{where}开始时间 {text!r} 超出范围（年份应在 {MIN_YEAR}–{MAX_YEAR} 之间）")
    if len(text) == 10:
        start = start.replace(hour=9)
    if start.tzinfo is None:
        start = start.replace(tzinfo=SHANGHAI)
    return start


def _parse_speed(text: str, column: int) -> float:
    where = f"SCHEDULER_CLOCK 第 {column} 个字符起："
    rule = f"应为大于 0、不超过 {MAX_SPEED:.0f} 的有限数字，如 3600"
    if not _SPEED_RE.fullmatch(text):
        raise ValueError(f"{where}倍速 {text!r} 不是数字（{rule}）")
    speed = float(text)
    if not (math.isfinite(speed) and 0 < speed <= MAX_SPEED):
        raise ValueError(f"{where}倍速 {text!r} 超出范围（{rule}）")
    return speed
