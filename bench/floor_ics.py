"""The floor: a minimal RFC 5545 writer (escape, fold at 75 octets, CRLF) over the same records as the feeds."""

from __future__ import annotations

from datetime import UTC, timedelta

from scheduler.feeds.snapshot import PlanSnapshot

_ESC = str.maketrans({"\\": "\\\\", ";": "\\;", ",": "\\,", "\n": "\\n"})


def _line(text: str) -> bytes:
    raw = text.encode()
    if len(raw) <= 75:
        return raw + b"\r\n"
    out, start, limit = [], 0, 75
    while len(raw) - start > limit:
        cut = start + limit
        while (raw[cut] & 0xC0) == 0x80:
            cut -= 1
        out.append(raw[start:cut])
        start, limit = cut, 74
    out.append(raw[start:])
    return b"\r\n ".join(out) + b"\r\n"


def write_floor(snap: PlanSnapshot) -> bytes:
    """Write each occurrence as a minimal VEVENT: UID, DTSTAMP, DTSTART/DTEND, SUMMARY, LOCATION, DESCRIPTION."""
    out = [b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//floor//EN\r\n"]
    for occ in snap.occurrences:
        ev = snap.events[occ.event_id]
        out.append(b"BEGIN:VEVENT\r\n")
        out.append(_line(f"UID:{occ.uid}"))
        out.append(_line(f"DTSTAMP:{occ.updated_at.astimezone(UTC):%Y%m%dT%H%M%SZ}"))
        if occ.start_at is None:
            out.append(_line(f"DTSTART;VALUE=DATE:{occ.window_start:%Y%m%d}"))
            out.append(_line(f"DTEND;VALUE=DATE:{occ.window_end + timedelta(days=1):%Y%m%d}"))
        else:
            out.append(_line(f"DTSTART:{occ.start_at.astimezone(UTC):%Y%m%dT%H%M%SZ}"))
            if occ.end_at is not None:
                out.append(_line(f"DTEND:{occ.end_at.astimezone(UTC):%Y%m%dT%H%M%SZ}"))
        out.append(_line("SUMMARY:" + occ.title.translate(_ESC)))
        out.append(_line("LOCATION:" + occ.location.translate(_ESC)))
        out.append(_line("DESCRIPTION:" + ev.content.translate(_ESC)))
        out.append(b"END:VEVENT\r\n")
    out.append(b"END:VCALENDAR\r\n")
    return b"".join(out)
