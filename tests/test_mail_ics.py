"""The .ics attached to mail: one VEVENT, stable UID, SEQUENCE, TZID Asia/Shanghai, windows and cancellations."""

from __future__ import annotations

from datetime import date, datetime

import icalendar
from mailfactories import occurrence

from scheduler.clock import SHANGHAI
from scheduler.reminders.ics import occurrence_ics


def event_of(data: bytes) -> icalendar.Event:
    cal = icalendar.Calendar.from_ical(data)
    assert cal["METHOD"] == "PUBLISH"
    [tz] = cal.walk("VTIMEZONE")
    assert tz["TZID"] == "Asia/Shanghai"
    [event] = cal.walk("VEVENT")
    return event


def test_fixed_occurrence_has_shanghai_times_uid_and_sequence() -> None:
    occ = occurrence(start_at=datetime(2023, 3, 15, 14, tzinfo=SHANGHAI), end_at=datetime(2023, 3, 15, 17,
                     tzinfo=SHANGHAI), status="fixed", sequence=3)
    data = occurrence_ics(occ, description="主办单位：如皋市")
    assert b"DTSTART;TZID=Asia/Shanghai:20230315T140000\r\n" in data
    assert all(len(line) <= 75 for line in data.split(b"\r\n"))
    event = event_of(data)
    assert (str(event["UID"]), int(event["SEQUENCE"]), str(event["STATUS"])) == (occ.uid, 3, "CONFIRMED")
    assert event.decoded("DTSTART") == datetime(2023, 3, 15, 14, tzinfo=SHANGHAI)


def test_window_is_an_all_day_tentative_span_with_exclusive_end() -> None:
    event = event_of(occurrence_ics(occurrence()))
    assert event.decoded("DTSTART") == date(2023, 3, 1) and event.decoded("DTEND") == date(2023, 4, 1)
    assert str(event["STATUS"]) == "TENTATIVE" and str(event["TRANSP"]) == "TRANSPARENT"
    assert str(event["SUMMARY"]).startswith("【时间待定·2023年3月】")


def test_cancelled_keeps_the_event_marked_cancelled() -> None:
    event = event_of(occurrence_ics(occurrence(status="cancelled", sequence=2)))
    assert str(event["STATUS"]) == "CANCELLED" and str(event["SUMMARY"]).startswith("【已取消】")
    assert int(event["SEQUENCE"]) == 2


def test_same_record_same_bytes() -> None:
    assert occurrence_ics(occurrence()) == occurrence_ics(occurrence())
