"""The .ics attached to mail: one occurrence as a METHOD:PUBLISH calendar (to be pointed at feeds.py later)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from icalendar import Calendar, Event, Timezone, TimezoneStandard

from scheduler.clock import SHANGHAI
from scheduler.models import Occurrence, OccurrenceStatus
from scheduler.timewindows import format_window

PRODID = "-//kjzs-scheduler//科技招商活动//ZH"


def _vtimezone() -> Timezone:
    """A minimal Asia/Shanghai block (one STANDARD, +0800): the safest form for Outlook."""
    tz = Timezone()
    tz.add("TZID", "Asia/Shanghai")
    std = TimezoneStandard()
    std.add("DTSTART", datetime(1970, 1, 1))
    std.add("TZOFFSETFROM", timedelta(hours=8))
    std.add("TZOFFSETTO", timedelta(hours=8))
    std.add("TZNAME", "CST")
    tz.add_component(std)
    return tz


def occurrence_ics(occ: Occurrence, *, description: str = "", url: str | None = None) -> bytes:
    """Render `occ` as a one-event VCALENDAR (UID and SEQUENCE from the record; DTSTAMP from its edit time)."""
    cal = Calendar()
    cal.add("PRODID", PRODID)
    cal.add("VERSION", "2.0")
    cal.add("CALSCALE", "GREGORIAN")
    cal.add("METHOD", "PUBLISH")
    cal.add_component(_vtimezone())
    ev = Event()
    ev.add("UID", occ.uid)
    ev.add("SEQUENCE", occ.sequence)
    stamp = occ.updated_at.astimezone(UTC)
    ev.add("DTSTAMP", stamp)
    ev.add("LAST-MODIFIED", stamp)
    cancelled = occ.status == OccurrenceStatus.CANCELLED or occ.withdrawn
    title = occ.title
    if occ.start_at is not None:
        ev.add("DTSTART", occ.start_at.astimezone(SHANGHAI))
        ev.add("DTEND", (occ.end_at or occ.start_at + timedelta(hours=2)).astimezone(SHANGHAI))
        ev.add("STATUS", "CANCELLED" if cancelled else "CONFIRMED")
    else:
        title = f"【时间待定·{format_window(occ.window_start, occ.window_end, occ.precision)}】{title}"
        ev.add("DTSTART", occ.window_start)
        ev.add("DTEND", occ.window_end + timedelta(days=1))
        ev.add("STATUS", "CANCELLED" if cancelled else "TENTATIVE")
        ev.add("TRANSP", "TRANSPARENT")
        ev.add("X-MICROSOFT-CDO-BUSYSTATUS", "FREE")
        ev.add("CATEGORIES", ["时间待定"])
    if cancelled:
        title = f"【已取消】{title}"
    ev.add("SUMMARY", title)
    ev.add("LOCATION", occ.location)
    if description:
        ev.add("DESCRIPTION", description)
    if url:
        ev.add("URL", url)
    cal.add_component(ev)
    return cal.to_ical()
