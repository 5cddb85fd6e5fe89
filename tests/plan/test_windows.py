"""Fuzzy plan dates: examples from 附件4 and property tests (hypothesis)."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.plan.models import Precision
from scheduler.plan.windows import (
    DateTextError,
    Window,
    format_window,
    normalize_date_text,
    parse_window,
    quarter_of,
    quarter_window,
    series_interval,
    series_windows,
)

FAST = settings(max_examples=80, deadline=None)
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def last_day(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


@pytest.mark.parametrize(
    ("text", "year", "start", "end", "precision"),
    [
        ("2023年2-3月", None, date(2023, 2, 1), date(2023, 3, 31), Precision.MONTH_RANGE),
        ("2023 年 2-3 月", None, date(2023, 2, 1), date(2023, 3, 31), Precision.MONTH_RANGE),
        ("２０２３年２－３月", None, date(2023, 2, 1), date(2023, 3, 31), Precision.MONTH_RANGE),
        ("2023年1-2月", None, date(2023, 1, 1), date(2023, 2, 28), Precision.MONTH_RANGE),
        ("2023年6-7月", None, date(2023, 6, 1), date(2023, 7, 31), Precision.MONTH_RANGE),
        ("2023年7-9月", None, date(2023, 7, 1), date(2023, 9, 30), Precision.MONTH_RANGE),
        ("2023年10-11月", None, date(2023, 10, 1), date(2023, 11, 30), Precision.MONTH_RANGE),
        ("2023 年 2 月", None, date(2023, 2, 1), date(2023, 2, 28), Precision.MONTH),
        ("2024年2月", None, date(2024, 2, 1), date(2024, 2, 29), Precision.MONTH),
        ("2023年12月", None, date(2023, 12, 1), date(2023, 12, 31), Precision.MONTH),
        ("5月", 2023, date(2023, 5, 1), date(2023, 5, 31), Precision.MONTH),
        ("二季度", 2023, date(2023, 4, 1), date(2023, 6, 30), Precision.QUARTER),
        ("三季度", 2023, date(2023, 7, 1), date(2023, 9, 30), Precision.QUARTER),
        ("第四季度", 2023, date(2023, 10, 1), date(2023, 12, 31), Precision.QUARTER),
        ("2023年一季度", None, date(2023, 1, 1), date(2023, 3, 31), Precision.QUARTER),
        ("2023年全年", None, date(2023, 1, 1), date(2023, 12, 31), Precision.YEAR),
        ("全年", 2023, date(2023, 1, 1), date(2023, 12, 31), Precision.YEAR),
        ("2023年3月15日", None, date(2023, 3, 15), date(2023, 3, 15), Precision.DAY),
        ("2023年3月15-17日", None, date(2023, 3, 15), date(2023, 3, 17), Precision.DAY),
        ("2023年3月30日-4月2日", None, date(2023, 3, 30), date(2023, 4, 2), Precision.DAY),
        ("3月15号", 2023, date(2023, 3, 15), date(2023, 3, 15), Precision.DAY),
        ("2023年3月15日至17日", None, date(2023, 3, 15), date(2023, 3, 17), Precision.DAY),
    ],
)
def test_examples(text: str, year: int | None, start: date, end: date, precision: Precision) -> None:
    assert parse_window(text, year=year) == Window(start, end, precision)


def test_year_in_text_wins_over_default() -> None:
    assert parse_window("2024年3月", year=2023).start == date(2024, 3, 1)


@pytest.mark.parametrize(
    "text",
    ["", "   ", "三季度", "2023年13月", "2023年0月", "2023年9-7月", "2023年2月29日", "2023年3月17-15日", "明年春天",
     "2023年五季度", "每两月", "0000年全年", "2023年3月32日", "2023年4月31日"],
)
def test_unreadable_or_impossible_texts_raise_date_text_error(text: str) -> None:
    with pytest.raises(DateTextError) as info:
        parse_window(text)  # no default year: 三季度 alone cannot be placed
    assert str(info.value)  # a message a person can read


def test_every_two_months_is_a_series_not_a_window() -> None:
    assert series_interval("每两月") == 2
    assert series_interval(" 每两月 ") == 2
    assert series_interval("2023年2月") is None
    with pytest.raises(DateTextError, match="每两月"):
        parse_window("每两月", year=2023)
    months = [w.start.month for w in series_windows(2023)]
    assert months == [2, 4, 6, 8, 10, 12]
    assert all(w.precision is Precision.MONTH and w.end == last_day(2023, w.start.month) for w in series_windows(2023))


def test_format_writes_the_plan_style() -> None:
    assert format_window(date(2023, 2, 1), date(2023, 3, 31), "month_range") == "2023年2-3月"
    assert format_window(date(2023, 7, 1), date(2023, 9, 30), "quarter") == "2023年三季度"
    assert format_window(date(2023, 1, 1), date(2023, 12, 31), "year") == "2023年全年"
    assert format_window(date(2023, 3, 15), date(2023, 3, 15), "day") == "2023年3月15日"


def test_quarters() -> None:
    assert [quarter_of(date(2023, m, 1)) for m in range(1, 13)] == [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]
    with pytest.raises(DateTextError):
        quarter_window(2023, 5)


def test_window_refuses_inverted_dates() -> None:
    with pytest.raises(DateTextError):
        Window(date(2023, 3, 1), date(2023, 2, 1), Precision.DAY)


# --- properties -------------------------------------------------------------------------------------------------

years = st.integers(min_value=2000, max_value=2100)
months = st.integers(min_value=1, max_value=12)


@st.composite
def windows(draw: st.DrawFn) -> Window:
    """Any window the plan can write, at any precision."""
    year = draw(years)
    precision = draw(st.sampled_from(list(Precision)))
    if precision is Precision.YEAR:
        return Window(date(year, 1, 1), date(year, 12, 31), precision)
    if precision is Precision.QUARTER:
        return quarter_window(year, draw(st.integers(1, 4)))
    if precision is Precision.MONTH:
        month = draw(months)
        return Window(date(year, month, 1), last_day(year, month), precision)
    if precision is Precision.MONTH_RANGE:
        first = draw(st.integers(1, 11))
        last = draw(st.integers(first + 1, 12))
        return Window(date(year, first, 1), last_day(year, last), precision)
    start = draw(st.dates(min_value=date(year, 1, 1), max_value=date(year, 12, 31)))
    end = draw(st.dates(min_value=start, max_value=date(year, 12, 31)))
    return Window(start, end, Precision.DAY)


@FAST
@given(windows())
def test_format_then_parse_round_trips(window: Window) -> None:
    text = format_window(window.start, window.end, window.precision)
    assert parse_window(text) == window
    assert window.text == text


@FAST
@given(windows(), st.data())
def test_white_space_and_full_width_digits_do_not_matter(window: Window, data: st.DataObject) -> None:
    text = window.text
    spaced = "".join(ch + data.draw(st.sampled_from(["", " ", "\u3000", "\t", "  "])) for ch in text)
    assert parse_window(spaced) == window
    assert parse_window(text.translate(FULLWIDTH)) == window
    assert normalize_date_text(spaced.translate(FULLWIDTH)) == text


@FAST
@given(windows())
def test_year_less_texts_fall_inside_the_given_year(window: Window) -> None:
    text = window.text.split("年", 1)[1]  # "2023年三季度" → "三季度", "2023年全年" → "全年"
    parsed = parse_window(text, year=window.start.year)
    assert parsed == window
    assert parsed.start <= parsed.end
    assert date(window.start.year, 1, 1) <= parsed.start and parsed.end <= date(window.start.year, 12, 31)


@FAST
@given(years, months, st.integers(0, 11))
def test_month_ranges_cover_whole_months(year: int, first: int, span: int) -> None:
    last = min(12, first + span)
    window = parse_window(f"{year}年{first}-{last}月")
    assert window.start == date(year, first, 1)
    assert window.end == last_day(year, last)
    assert (window.end + timedelta(days=1)).day == 1


DATE_ALPHABET = "0123456789０１２３４５６７８９年月日号季度第一二三四全上下半-－—~至到 Q每两个双"
date_like = st.text(alphabet=DATE_ALPHABET, max_size=16)


@FAST
@given(st.one_of(st.text(max_size=30), date_like))
def test_garbage_only_ever_raises_date_text_error(text: str) -> None:
    try:
        window = parse_window(text, year=2023)
    except DateTextError:
        return
    assert window.start <= window.end
    assert window.precision in set(Precision)
