"""iCalendar bytes through the icalendar library: calendar header with refresh hints and a minimal VTIMEZONE.

icalendar escapes TEXT and folds at 75 octets without splitting a multi-byte (CJK) character; its folding is
slower than a hand-written writer, which is why feeds cache each VEVENT's bytes (see feeds.render_feed).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from icalendar import Calendar, Component, Timezone, TimezoneStandard
from icalendar.prop import vDuration

CRLF = b"\r\n"
MAX_OCTETS = 75
PRODID = "-//kjzs-scheduler//Nantong tech investment activity feeds 1.0//ZH"
TZID = "Asia/Shanghai"
CALENDAR_END = b"END:VCALENDAR\r\n"


def minimal_vtimezone() -> Timezone:
    """Return the VTIMEZONE Outlook and the Chinese clients accept most reliably: one STANDARD, +0800, CST."""
    standard = TimezoneStandard()
    standard.add("dtstart", datetime(1970, 1, 1))
    standard.add("tzoffsetfrom", timedelta(hours=8))
    standard.add("tzoffsetto", timedelta(hours=8))
    standard.add("tzname", "CST")
    tz = Timezone()
    tz.add("tzid", TZID)
    tz.add_component(standard)
    return tz


def ics_text(value: str) -> str:
    """Return TEXT that survives icalendar's escaping unchanged.

    icalendar reads a literal backslash followed by "N" as an escaped newline before escaping, so such text
    would come back from every client with a line break; a full-width backslash keeps what people see.
    """
    return value.replace("\\N", "＼N")


def component_bytes(component: Component) -> bytes:
    """Return a component's folded, CRLF-terminated bytes as the library writes them."""
    return component.to_ical()


def calendar_head(*, name: str, description: str, method: str | None = "PUBLISH") -> bytes:
    """Return the VCALENDAR header (everything before the first VEVENT), VTIMEZONE included."""
    cal = Calendar()
    cal.add("version", "2.0")
    cal.add("prodid", PRODID)
    cal.add("calscale", "GREGORIAN")
    if method:
        cal.add("method", method)
    cal.add("name", name)
    cal.add("x-wr-calname", name)
    cal.add("x-wr-caldesc", description)
    cal.add("x-wr-timezone", TZID)
    cal.add("refresh-interval", vDuration.from_ical("PT6H"), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT6H")
    cal.add_component(minimal_vtimezone())
    data = cal.to_ical()
    if not data.endswith(CALENDAR_END):  # pragma: no cover - the library always closes the calendar
        raise RuntimeError("unexpected calendar serialization")
    return data[: -len(CALENDAR_END)]
