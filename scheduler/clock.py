"""Clocks: time is passed in, never read deep inside logic."""

from __future__ import annotations

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


def parse_clock(spec: str) -> Clock:
    """Build a clock from `real` or `simulated:START[@SPEED]` (START is ISO 8601; date-only means 09:00 Shanghai)."""
    spec = spec.strip()
    if spec == "real":
        return RealClock()
    if spec.startswith("simulated:"):
        body = spec.removeprefix("simulated:")
        start_text, _, speed_text = body.partition("@")
        try:
            start = datetime.fromisoformat(start_text)
        except ValueError as exc:
            raise ValueError(f"SCHEDULER_CLOCK: 无法解析开始时间 {start_text!r}（应为 ISO 8601）") from exc
        if len(start_text) == 10:
            start = start.replace(hour=9)
        if start.tzinfo is None:
            start = start.replace(tzinfo=SHANGHAI)
        try:
            speed = float(speed_text) if speed_text else 1.0
        except ValueError as exc:
            raise ValueError(f"SCHEDULER_CLOCK: 倍速 {speed_text!r} 不是数字") from exc
        if speed <= 0:
            raise ValueError(f"SCHEDULER_CLOCK: 倍速必须大于 0，收到 {speed_text!r}")
        return SimulatedClock(start, speed)
    raise ValueError(f"SCHEDULER_CLOCK: 未知的时钟 {spec!r}（可用 real 或 simulated:START[@SPEED]）")
