"""Send times on working days and the provisional line, against the State Council's holiday notices (dates by hand)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scheduler.clock import SHANGHAI
from scheduler.config import Settings
from scheduler.mail.compose import Composer
from scheduler.mail.senddays import provisional_context, provisional_lines, send_before_on_workday, send_on_workday
from scheduler.workdays import Override, WorkCalendar

LIB = WorkCalendar()
LINE_2027 = "2027年节假日安排尚未发布，日期按周末推算，待国务院办公厅通知后复核"


def sh(y: int, m: int, d: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(y, m, d, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


@pytest.mark.parametrize(("due", "sent"), [
    # 国办发明电〔2023〕7号: 春节 2月10日至17日放假，2月18日（星期日）上班.
    (sh(2024, 2, 12), sh(2024, 2, 18)),
    # Same notice: 劳动节 5月1日至5日放假，4月28日（星期日）、5月11日（星期六）上班 → Monday 6 May.
    (sh(2024, 5, 1), sh(2024, 5, 6)),
    # 国办发明电〔2022〕16号: 国庆 9月29日至10月6日放假，10月7日（星期六）上班; the local time is kept.
    (sh(2023, 10, 2, 15, 37), sh(2023, 10, 7, 15, 37)),
    (sh(2023, 4, 1), sh(2023, 4, 3)),  # a plain Saturday: the Monday after
    (sh(2024, 2, 4), sh(2024, 2, 4)),  # a 调休 Sunday is a working day: unchanged
    (sh(2023, 3, 15, 23, 59), sh(2023, 3, 15, 23, 59)),  # an ordinary Wednesday: unchanged
])
def test_a_send_time_on_a_day_off_moves_to_the_next_working_day(due: datetime, sent: datetime) -> None:
    assert send_on_workday(due, LIB) == sent


@pytest.mark.parametrize(("due", "sent"), [
    (sh(2023, 10, 2), sh(2023, 9, 28)),  # 国庆 2023 (9-29 中秋 through 10-6 off): the Thursday before
    (sh(2023, 10, 8), sh(2023, 10, 8)),  # the 调休 Sunday after 国庆: a working day
    (sh(2024, 2, 17), sh(2024, 2, 9)),  # 春节 2024: 2-10…2-17 off, the Friday 2-9 before (除夕 2-9 is a working day)
])
def test_a_reminder_on_a_day_off_moves_to_the_working_day_before(due: datetime, sent: datetime) -> None:
    assert send_before_on_workday(due, LIB) == sent


def test_a_row_that_would_move_past_its_expiry_goes_the_working_day_before() -> None:
    # A window closing 2023-10-06 (inside 国庆): its escalation due 9-29 would move to 10-07, after the close.
    closes = sh(2023, 10, 7, 0)
    assert send_on_workday(sh(2023, 9, 29), LIB, before=closes) == sh(2023, 9, 28)
    assert send_on_workday(sh(2023, 9, 29), LIB, before=sh(2023, 10, 20)) == sh(2023, 10, 7)


@given(st.datetimes(min_value=datetime(2023, 1, 1), max_value=datetime(2026, 12, 20)))
def test_the_next_working_day_is_the_first_one_at_the_same_time(naive: datetime) -> None:
    due = naive.replace(tzinfo=SHANGHAI)
    sent = send_on_workday(due, LIB).astimezone(SHANGHAI)
    assert sent.time() == due.time() and sent >= due and LIB.is_workday(sent.date())
    assert all(not LIB.is_workday(due.date() + timedelta(days=i)) for i in range((sent.date() - due.date()).days))
    before = send_before_on_workday(due, LIB).astimezone(SHANGHAI)
    assert before.time() == due.time() and before <= due and LIB.is_workday(before.date())
    assert (before.date() == due.date()) == LIB.is_workday(due.date())


def test_a_provisional_year_is_weekends_only_and_said_so_until_confirmed() -> None:
    # 2027 is not in chinesecalendar: 1 January 2027 (a Friday) counts as a working day until the notice is entered.
    assert send_on_workday(sh(2027, 1, 1), LIB) == sh(2027, 1, 1)
    assert provisional_lines([date(2026, 12, 31), date(2027, 2, 1), None], LIB) == [LINE_2027]
    assert provisional_context([date(2026, 6, 1)], LIB) == {}
    entered = WorkCalendar([Override(date(2027, 1, 1), False, "元旦", "test")], confirmed={2027: "test"})
    assert send_on_workday(sh(2027, 1, 1), entered) == sh(2027, 1, 4)  # Sat 1-2, Sun 1-3: Monday
    assert provisional_context([date(2027, 2, 1)], entered) == {}


@pytest.mark.parametrize("kind", ["task_digest", "monthly_report"])
def test_the_mail_templates_say_the_provisional_line(settings: Settings, kind: str) -> None:
    from tests.mail.test_texts import CONTEXTS

    composer = Composer(settings, calendars=lambda uid: b"")
    for ext in ("txt", "html"):
        template = composer.env.get_template(f"{kind}.{ext}")
        assert LINE_2027 in template.render({**CONTEXTS[kind], "provisional": [LINE_2027]})
        assert "节假日安排尚未发布" not in template.render(CONTEXTS[kind])


def test_every_send_time_helper_keeps_aware_instants() -> None:
    due = datetime.combine(date(2024, 2, 12), time(9), tzinfo=SHANGHAI)
    assert send_on_workday(due, LIB).tzinfo is SHANGHAI
