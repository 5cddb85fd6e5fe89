"""Content-line writer: escaping and folding at 75 octets on UTF-8 boundaries, CRLF, round trip."""

from __future__ import annotations

import icalendar
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.icswriter import calendar_head, escape_text, fold, text_line

CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
EMOJI = st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF)
PUNCT = st.sampled_from([*list("；，。：“”【】（）·;,:\\\n \"'"), "\u3000"])
ASCII = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
TEXT = st.text(
    st.one_of(CJK, EMOJI, PUNCT, ASCII, st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"])), max_size=400
)


def physical_lines(data: bytes) -> list[bytes]:
    assert data.endswith(b"\r\n")
    lines = data[:-2].split(b"\r\n")
    assert all(b"\n" not in line and b"\r" not in line for line in lines), "bare LF or CR"
    return lines


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_fold_never_exceeds_75_octets_nor_splits_a_character_and_round_trips(text: str) -> None:
    data = text_line("DESCRIPTION", text)
    lines = physical_lines(data)
    for i, line in enumerate(lines):
        assert len(line) <= 75
        line.decode("utf-8")  # each physical line is whole UTF-8: no character was cut
        assert line.startswith(b" ") == (i > 0)
    unfolded = data.replace(b"\r\n ", b"")
    assert unfolded == f"DESCRIPTION:{escape_text(text)}\r\n".encode()
    cal = icalendar.Calendar.from_ical(
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:u\r\nDTSTAMP:20230101T000000Z\r\n"
        + data
        + b"END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    event = cal.walk("VEVENT")[0]
    assert str(event.get("DESCRIPTION", "")) == text.replace("\r", "")


def test_fold_cuts_exactly_at_75_octets_for_ascii_and_before_a_cjk_character() -> None:
    ascii_line = fold("X" * 200)
    assert [len(x) for x in physical_lines(ascii_line)] == [75, 75, 52]
    cjk = fold("SUMMARY:" + "汉" * 40)  # 8 + 120 octets
    first, second = physical_lines(cjk)
    assert len(first) == 74 and first.endswith("汉".encode())  # 75 would cut the 23rd character
    assert second == b" " + "汉".encode() * 18


def test_short_lines_are_untouched_and_text_is_escaped() -> None:
    assert fold("VERSION:2.0") == b"VERSION:2.0\r\n"
    assert escape_text("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne"


def test_calendar_head_has_refresh_hints_and_minimal_vtimezone() -> None:
    head = calendar_head(name="日历", description="说明").decode()
    for line in (
        "METHOD:PUBLISH",
        "NAME:日历",
        "X-WR-CALNAME:日历",
        "X-WR-CALDESC:说明",
        "REFRESH-INTERVAL;VALUE=DURATION:PT6H",
        "X-PUBLISHED-TTL:PT6H",
        "TZID:Asia/Shanghai",
        "TZOFFSETFROM:+0800",
        "TZOFFSETTO:+0800",
        "TZNAME:CST",
        "X-WR-TIMEZONE:Asia/Shanghai",
    ):
        assert f"\r\n{line}\r\n" in head
    assert head.count("BEGIN:STANDARD") == 1 and "DAYLIGHT" not in head
    assert "METHOD" not in calendar_head(name="x", description="y", method=None).decode()
