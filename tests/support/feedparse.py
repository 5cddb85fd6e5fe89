"""Parse feed bytes with four independent libraries and return what each one sees (for feed tests)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import icalendar
import recurring_ical_events
import vobject
from ical.calendar_stream import IcsCalendarStream


@dataclass(frozen=True)
class Seen:
    """One event as a library read it."""

    uid: str
    summary: str
    start: date | datetime
    url: str


def _day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def parse_four_ways(data: bytes) -> dict[str, list[Seen]]:
    """Return each library's events; recurring-ical-events expands 2023 only."""
    text = data.decode("utf-8")
    cal = icalendar.Calendar.from_ical(data)
    seen: dict[str, list[Seen]] = {
        "icalendar": [
            Seen(str(e["UID"]), str(e["SUMMARY"]), e.decoded("DTSTART"), str(e["URL"])) for e in cal.walk("VEVENT")
        ]
    }
    stream = IcsCalendarStream.calendar_from_ics(text)
    seen["ical"] = [Seen(e.uid or "", e.summary or "", e.dtstart, str(e.url)) for e in stream.events]
    vcal = vobject.readOne(text)
    seen["vobject"] = [
        Seen(e.uid.value, e.summary.value, e.dtstart.value, e.url.value) for e in getattr(vcal, "vevent_list", [])
    ]
    in_2023 = recurring_ical_events.of(cal).between(date(2023, 1, 1), date(2024, 1, 1))
    seen["recurring-ical-events"] = [
        Seen(str(e["UID"]), str(e["SUMMARY"]), e.decoded("DTSTART"), str(e["URL"])) for e in in_2023
    ]
    return seen


def months(events: list[Seen]) -> list[int]:
    """Return the start months, sorted."""
    return sorted(_day(e.start).month for e in events)
