"""The mail policy: its rules by themselves, then on an 8-week 2023 replay (a 定档 at night, the event held) and
on a replay interrupted by downtime. Expected times are worked out by hand from the 2023 calendar
(国办发明电〔2022〕16号: 1-21…1-27 off, Sat 1-28 and Sun 1-29 worked; 4-29…5-3 off, Sun 4-23 and Sat 5-6 worked)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from scheduler.clock import SHANGHAI, FixedClock
from scheduler.config import Settings
from scheduler.db import session_scope
from scheduler.followups.action_links import mail_composer
from scheduler.followups.checklists import read_checklists
from scheduler.followups.models import Task
from scheduler.mail.kinds import MailKind, occurrence_subject
from scheduler.mail.mailer import MemoryMailer
from scheduler.mail.models import OutboxMessage, OutboxState
from scheduler.mail.outbox import count_by_state
from scheduler.mail.policy import MailPolicy
from scheduler.plan.models import Occurrence
from scheduler.reminders.planner import RuleBook
from scheduler.replay import replay
from scheduler.workdays import WorkCalendar
from tests.factories.mail import T0, edit_occurrence

CAL = WorkCalendar()
POLICY = MailPolicy()


def sh(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2023, month, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def test_rows_due_outside_the_sending_hours_wait_for_the_next_opening_on_a_working_day() -> None:
    assert POLICY.place(sh(2, 8, 0, 19), CAL) == sh(2, 8, 9)  # a Wednesday, 00:19 → 09:00 the same day
    assert POLICY.place(sh(2, 8, 17, 31), CAL) == sh(2, 9, 9)  # after 17:30 → the next morning
    assert POLICY.place(sh(2, 10, 22), CAL) == sh(2, 13, 9)  # Friday night → Monday 09:00
    assert POLICY.place(sh(1, 27, 23), CAL) == sh(1, 28, 9)  # last day of 春节 → Saturday 1-28, a working day
    assert POLICY.place(sh(2, 8, 14, 5), CAL) == sh(2, 8, 14, 5)  # inside the hours: unchanged
    # Change notices (cancellations too) go at once by default; the setting can hold them to the hours as well.
    assert POLICY.place(sh(2, 10, 22), CAL, kind=MailKind.CHANGE_NOTICE) == sh(2, 10, 22)
    held = MailPolicy.from_settings({"immediate_kinds": []})
    assert held.place(sh(2, 10, 22), CAL, kind=MailKind.CHANGE_NOTICE) == sh(2, 13, 9)
    # A reminder never moves past its day: after hours it goes at the end of them, on a day off the day before.
    assert POLICY.place_before(sh(2, 8, 20), CAL) == sh(2, 8, 17, 30)
    assert POLICY.place_before(sh(2, 12, 9), CAL) == sh(2, 10, 9)


def test_due_dates_and_first_nudges_keep_their_minimum_distance() -> None:
    assert POLICY.earliest_due(date(2023, 1, 27), CAL) == date(2023, 1, 30)  # Sat 1-28, Sun 1-29, Mon 1-30
    assert POLICY.earliest_due(date(2023, 4, 27), CAL) == date(2023, 5, 5)  # Fri 4-28, Thu 5-4, Fri 5-5
    assert POLICY.first_nudge(sh(2, 3, 15), CAL) == sh(2, 7, 9)  # Friday's request: Mon 2-6, Tue 2-7


def test_policy_settings_are_checked_and_say_which_one_is_wrong() -> None:
    custom = MailPolicy.from_settings({"hours_start": "08:30", "hours_end": "18:00", "max_weekly_nudges": 2})
    assert (custom.hours_start, custom.hours_end, custom.max_weekly_nudges) == (time(8, 30), time(18), 2)
    with pytest.raises(ValueError, match="未知设置 hours"):
        MailPolicy.from_settings({"hours": "9-17"})
    with pytest.raises(ValueError, match=r"SCHEDULER_MAIL_POLICY\.hours_end"):
        MailPolicy.from_settings({"hours_end": "half past five"})
    with pytest.raises(ValueError, match=r"SCHEDULER_MAIL_POLICY\.max_weekly_nudges"):
        MailPolicy.from_settings({"max_weekly_nudges": -1})
    with pytest.raises(ValueError, match="未知邮件类别 party"):
        MailPolicy.from_settings({"immediate_kinds": ["party"]})
    with pytest.raises(ValueError, match="开始时间应早于结束时间"):
        MailPolicy.from_settings({"hours_start": "18:00", "hours_end": "09:00"})


FIXED_AT = sh(2, 10, 22, 30)  # someone fixes 04-1 late on a Friday evening …
EVENT = (sh(3, 8, 14), sh(3, 8, 17))  # … for Wednesday 8 March, 14:00–17:00
HELD_AT = sh(3, 8, 18)
END = sh(3, 18, 23, 59)


def run_replay(engine: Engine, tmp_path: Path, spans: list[tuple[datetime, datetime]], script: bool = False) -> None:
    settings = Settings(var_dir=tmp_path, secret_keys=["p" * 32])
    composer = mail_composer(settings, engine)
    clock = FixedClock(spans[0][0])
    todo = [FIXED_AT, HELD_AT] if script else []

    async def step(now: datetime) -> datetime | None:
        edited = False
        while todo and now >= todo[0]:
            edited = True
            if todo.pop(0) == FIXED_AT:
                edit_occurrence(engine, "04-1", now, status="fixed", start_at=EVENT[0], end_at=EVENT[1])
            else:
                with session_scope(engine, write=True) as session:
                    occ = session.exec(select(Occurrence).where(Occurrence.key == "04-1")).one()
                    occ.status, occ.updated_at = "held", now
        if edited:  # the ticker plans within seconds of an edit
            return now + timedelta(seconds=1)
        return todo[0] if todo else None

    for start, end in spans:
        asyncio.run(replay(engine=engine, mailer=MemoryMailer(), composer=composer, rules=RuleBook(), start=start,
                           end=end, clock=clock, followups=read_checklists(settings.checklist_file), on_step=step))


def sent(engine: Engine) -> list[OutboxMessage]:
    with session_scope(engine) as session:
        return list(session.exec(select(OutboxMessage).where(OutboxMessage.state == OutboxState.SENT)))


@pytest.mark.timeout(240)
def test_eight_weeks_of_2023_keep_the_policy(mail_engine: Engine, tmp_path: Path) -> None:
    run_replay(mail_engine, tmp_path, [(T0, END)], script=True)
    rows = sent(mail_engine)
    with session_scope(mail_engine) as session:
        tasks = list(session.exec(select(Task)))
        occ = session.exec(select(Occurrence).where(Occurrence.key == "04-1")).one()
        windows = {o.id: o.window_end for o in session.exec(select(Occurrence))}
    assert len(rows) > 100 and tasks
    # No task is due before it was created, nor sooner than 3 working days after.
    for t in tasks:
        assert t.due_on >= CAL.add_workdays(t.created_at.astimezone(SHANGHAI).date(), 3), t.key
    # Nothing outside 09:00–17:30 on a working day, except the change notice of the 22:30 定档, which went at once.
    outside = [r for r in rows if not (CAL.is_workday(r.sent_at.astimezone(SHANGHAI).date())
                                       and time(9) <= r.sent_at.astimezone(SHANGHAI).time() <= time(17, 30))]
    assert outside and {(r.kind, r.subject) for r in outside} == {(MailKind.CHANGE_NOTICE, occurrence_subject(occ.id))}
    assert all(r.sent_at - FIXED_AT < timedelta(minutes=1) for r in outside)
    # Nudges go on working days; 定档 nudges at most 3 per occurrence and person, none once its window is over or
    # after it was fixed.
    nudges = [r for r in rows if r.kind in (MailKind.FIX_NUDGE, MailKind.TASK_NUDGE)]
    assert nudges and all(CAL.is_workday(r.sent_at.astimezone(SHANGHAI).date()) for r in nudges)
    per = Counter((r.subject, r.recipient) for r in rows if r.kind == MailKind.FIX_NUDGE)
    assert per and max(per.values()) <= 3
    for r in rows:
        if r.kind == MailKind.FIX_NUDGE:
            assert r.sent_at.astimezone(SHANGHAI).date() <= windows[r.occurrence_id], r.rule
    assert not [r for r in rows if r.kind == MailKind.FIX_NUDGE and r.occurrence_id == occ.id
                and r.sent_at >= FIXED_AT]
    # Nothing about the event before it once it was held: no reminder, no preparation nudge after it.
    about = {t.id for t in tasks
             if t.occurrence_id == occ.id and t.kind == "checklist" and t.due_on <= date(2023, 3, 8)}
    assert about, "the 定档 planned 筹备事项"
    assert not [r for r in rows if r.sent_at >= EVENT[0] and (
        (r.kind == MailKind.REMINDER and r.occurrence_id == occ.id)
        or (r.kind == MailKind.TASK_NUDGE and r.context.get("task_id") in about))]


@pytest.mark.timeout(240)
def test_after_downtime_mail_about_weeks_already_over_is_recorded_as_skipped(mail_engine: Engine,
                                                                               tmp_path: Path) -> None:
    # A day of running after the notice, then nothing until Monday 3 April (the clock jumps), then a week.
    run_replay(mail_engine, tmp_path, [(T0, T0 + timedelta(hours=8)), (sh(4, 3), sh(4, 9, 23))])
    with session_scope(mail_engine) as session:
        rows = list(session.exec(select(OutboxMessage).where(OutboxMessage.kind.in_(  # type: ignore[attr-defined]
            [MailKind.TASK_REQUEST, MailKind.TASK_NUDGE]))))
        tasks = {t.id: t for t in session.exec(select(Task))}
        counts = count_by_state(session=session)
    weekly = [r for r in rows if tasks[r.context["task_id"]].kind == "negotiation"]
    over = [r for r in weekly if tasks[r.context["task_id"]].period_start + timedelta(days=6) < date(2023, 4, 3)]
    # Weeks from 1-30 to 3-27 were over when the clock came back: their mail is skipped, none of it sent.
    assert over and all(r.state == OutboxState.SKIPPED for r in over)
    assert all("已于" in r.last_error and "结束" in r.last_error for r in over)
    assert counts["skipped"] == sum(1 for r in rows if r.state == OutboxState.SKIPPED) >= len(over)
    # The current week's requests go out as usual (next week's wait for Monday 4-10).
    current = [r for r in weekly if tasks[r.context["task_id"]].period_start == date(2023, 4, 3)
               and r.kind == MailKind.TASK_REQUEST]
    assert current and all(r.state == OutboxState.SENT for r in current)
