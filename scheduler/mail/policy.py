"""The mail policy: when mail may go out and how often people are asked, stated once and applied by the planners.

- Sending hours: `hours_start`–`hours_end` (Asia/Shanghai) on working days of the plan's calendar. A row due
  outside them waits for the next opening; kinds in `immediate_kinds` (change notices, which carry cancellations)
  go at once.
- A task is never created due in the past or closer than `min_due_workdays` working days: its due date moves out.
- A first nudge never comes sooner than `first_nudge_workdays` working days after the request went out.
- Weekly 定档 nudges count from the working day the request went out (not the day the plan was published) and stop
  after `max_weekly_nudges`; the escalation before the window closes still goes.
- Mail about a week or month that was over when its task was first planned, or that is still unsent a week after
  the period ended (downtime, a clock jump), is not sent: it is recorded in the outbox as skipped, with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time, timedelta
from typing import Any

from scheduler.clock import SHANGHAI, at_local
from scheduler.mail.kinds import MailKind
from scheduler.mail.senddays import send_before_on_workday, send_on_workday
from scheduler.workdays import WorkCalendar


@dataclass(frozen=True)
class MailPolicy:
    """Sending hours, minimum lead times and nudge caps (defaults as stated in the module docstring)."""

    hours_start: time = time(9, 0)
    hours_end: time = time(17, 30)
    immediate_kinds: frozenset[str] = field(default_factory=lambda: frozenset({MailKind.CHANGE_NOTICE.value}))
    min_due_workdays: int = 3
    first_nudge_workdays: int = 2
    max_weekly_nudges: int = 3

    @classmethod
    def from_settings(cls, values: Mapping[str, Any] | None) -> MailPolicy:
        """Build from {field: value} (SCHEDULER_MAIL_POLICY JSON); unknown fields or bad values raise ValueError."""
        values = dict(values or {})
        known = {f.name for f in fields(cls)}
        bad = set(values) - known
        if bad:
            raise ValueError(f"SCHEDULER_MAIL_POLICY: 未知设置 {'、'.join(sorted(bad))}"
                             f"（可选：{'、'.join(sorted(known))}）")
        out: dict[str, Any] = {}
        for name, value in values.items():
            try:
                if name in ("hours_start", "hours_end"):
                    try:
                        out[name] = value if isinstance(value, time) else time.fromisoformat(str(value))
                    except ValueError:
                        raise ValueError("应为 00:00–23:59 之间的时刻，如 09:00") from None
                elif name == "immediate_kinds":
                    kinds = frozenset(str(v) for v in value)
                    unknown = kinds - {k.value for k in MailKind}
                    if unknown:
                        raise ValueError(f"未知邮件类别 {'、'.join(sorted(unknown))}")
                    out[name] = kinds
                else:
                    number = int(value)
                    if number < 0 or number != value:
                        raise ValueError("应为非负整数")
                    out[name] = number
            except (TypeError, ValueError) as exc:
                raise ValueError(f"SCHEDULER_MAIL_POLICY.{name}: 取值 {value!r} 无效（{exc}）") from None
        policy = cls(**out)
        if policy.hours_start >= policy.hours_end:
            raise ValueError("SCHEDULER_MAIL_POLICY: 发送时段开始时间应早于结束时间")
        return policy

    def within_hours(self, at: datetime) -> bool:
        """Whether a local time of day is inside the sending hours (the working day is checked separately)."""
        return self.hours_start <= at.astimezone(SHANGHAI).time().replace(tzinfo=None) <= self.hours_end

    def place(self, due: datetime, calendar: WorkCalendar, *, kind: str | None = None,
              before: datetime | None = None) -> datetime:
        """Return when a row nominally due at `due` goes out: in the sending hours of a working day.

        Before the hours: their start, the same day; after them: the start of the next day; then onto a working day
        (see `send_on_workday`; `before` keeps a row ahead of its expiry when the next working day is too late).
        Kinds sent at once are returned unchanged.
        """
        if kind is not None and kind in self.immediate_kinds:
            return due
        local = due.astimezone(SHANGHAI)
        clock_time = local.time().replace(tzinfo=None)
        if clock_time < self.hours_start:
            due = at_local(local.date(), self.hours_start)
        elif clock_time > self.hours_end:
            due = at_local(local.date() + timedelta(days=1), self.hours_start)
        return send_on_workday(due, calendar, before=before)

    def place_before(self, due: datetime, calendar: WorkCalendar) -> datetime:
        """Return when a row that must not go later than its day (a reminder before an event) goes out.

        The time moves into the sending hours of the same day, then onto the working day before when that day is off.
        """
        local = due.astimezone(SHANGHAI)
        clock_time = local.time().replace(tzinfo=None)
        if clock_time < self.hours_start:
            due = at_local(local.date(), self.hours_start)
        elif clock_time > self.hours_end:
            due = at_local(local.date(), self.hours_end)
        return send_before_on_workday(due, calendar)

    def earliest_due(self, created: date, calendar: WorkCalendar) -> date:
        """Return the earliest due date of a task created on `created`."""
        return calendar.add_workdays(created, self.min_due_workdays)

    def first_nudge(self, request_sent: datetime, calendar: WorkCalendar) -> datetime:
        """Return the earliest instant a first nudge may go, given when the request goes out."""
        local = request_sent.astimezone(SHANGHAI)
        return at_local(calendar.add_workdays(local.date(), self.first_nudge_workdays), self.hours_start)


DEFAULT_POLICY = MailPolicy()
