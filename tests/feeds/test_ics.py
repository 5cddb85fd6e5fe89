"""iCalendar bytes: folding at 75 octets on UTF-8 boundaries, CRLF, escaping round trip, calendar header."""

from __future__ import annotations

from datetime import UTC, datetime

import icalendar
import vobject
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.feeds.ics import calendar_head, component_bytes, ics_text

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


def vevent_with(summary: str, description: str) -> bytes:
    event = icalendar.Event()
    event.add("uid", "u@test")
    event.add("dtstamp", datetime(2023, 1, 1, tzinfo=UTC))
    event.add("summary", ics_text(summary))  # as feeds.render_vevent adds TEXT
    event.add("description", ics_text(description))
    return component_bytes(event)


@settings(max_examples=300, deadline=None)
@given(TEXT, TEXT)
def test_folding_never_exceeds_75_octets_nor_splits_a_character_and_round_trips(summary: str, text: str) -> None:
    data = vevent_with(summary, text)
    for line in physical_lines(data):
        assert len(line) <= 75
        line.decode("utf-8")  # each physical line is whole UTF-8: no character was cut
    cal_bytes = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n" + data + b"END:VCALENDAR\r\n"
    event = icalendar.Calendar.from_ical(cal_bytes).walk("VEVENT")[0]
    # typed from the rule, not computed by ics_text: a literal backslash-N becomes full-width; CR is dropped
    expected_text, expected_summary = (t.replace("\\N", "＼N").replace("\r", "") for t in (text, summary))
    assert str(event.get("DESCRIPTION", "")) == expected_text
    assert str(event.get("SUMMARY", "")) == expected_summary
    parsed = vobject.readOne(cal_bytes.decode("utf-8"))  # an independent parser agrees
    assert parsed.vevent.description.value == expected_text


def test_ics_text_replaces_only_backslash_capital_n() -> None:
    assert ics_text("C:\\New\\Nord") == "C:＼New＼Nord"
    assert ics_text("a\\nb \\ N") == "a\\nb \\ N"
    assert ics_text("第一行\n第二行") == "第一行\n第二行"


def test_a_literal_backslash_n_is_not_turned_into_a_line_break() -> None:
    data = vevent_with("路径 C:\\New", "x")
    cal_bytes = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n" + data + b"END:VCALENDAR\r\n"
    summary = str(icalendar.Calendar.from_ical(cal_bytes).walk("VEVENT")[0]["SUMMARY"])
    assert "\n" not in summary and summary == "路径 C:＼New"


def test_cjk_lines_are_cut_before_a_character_never_inside() -> None:
    data = vevent_with("汉" * 40, "x")
    summary_lines = [line for line in physical_lines(data) if line.startswith((b"SUMMARY", b" "))]
    assert all(len(line) <= 75 for line in summary_lines)
    assert b"".join(line.removeprefix(b" ") for line in summary_lines) == ("SUMMARY:" + "汉" * 40).encode()


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
