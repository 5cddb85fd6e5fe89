"""Fuzzy plan dates: examples from 附件4 and from later plans' wording, and property tests (hypothesis).

Expected windows are calendar dates worked out by hand (2027: February has 28 days; 2024 is a leap year)."""

from __future__ import annotations

import calendar
import itertools
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.plan.models import Occurrence, Precision
from scheduler.plan.windows import (
    SERIES_TEXTS,
    DateTextError,
    Window,
    format_window,
    normalize_date_text,
    parse_series,
    parse_window,
    plan_year_spill,
    quarter_of,
    quarter_window,
    series_interval,
    series_windows,
)

FAST = settings(max_examples=min(80, settings().max_examples), deadline=None)  # fewer under `make mutate`
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
        # 旬: days 1-10, 11-20, 21 to the month's end
        ("3月上旬", 2027, date(2027, 3, 1), date(2027, 3, 10), Precision.DEKAD),
        ("2027年3月中旬", None, date(2027, 3, 11), date(2027, 3, 20), Precision.DEKAD),
        ("2月下旬", 2027, date(2027, 2, 21), date(2027, 2, 28), Precision.DEKAD),
        ("2月下旬", 2024, date(2024, 2, 21), date(2024, 2, 29), Precision.DEKAD),
        ("4月下旬", 2027, date(2027, 4, 21), date(2027, 4, 30), Precision.DEKAD),
        ("10月中下旬", 2027, date(2027, 10, 11), date(2027, 10, 31), Precision.DEKAD),
        ("上半年", 2027, date(2027, 1, 1), date(2027, 6, 30), Precision.HALF_YEAR),
        ("2027年下半年", None, date(2027, 7, 1), date(2027, 12, 31), Precision.HALF_YEAR),
        # adjacent quarters are one window
        ("二、三季度", 2027, date(2027, 4, 1), date(2027, 9, 30), Precision.QUARTER_RANGE),
        ("2027年第二、三季度", None, date(2027, 4, 1), date(2027, 9, 30), Precision.QUARTER_RANGE),
        ("二至四季度", 2027, date(2027, 4, 1), date(2027, 12, 31), Precision.QUARTER_RANGE),
        ("三季度、四季度", 2027, date(2027, 7, 1), date(2027, 12, 31), Precision.QUARTER_RANGE),
        ("5月至6月", 2027, date(2027, 5, 1), date(2027, 6, 30), Precision.MONTH_RANGE),
        ("5—6月", 2027, date(2027, 5, 1), date(2027, 6, 30), Precision.MONTH_RANGE),
        ("2027年5月-6月", None, date(2027, 5, 1), date(2027, 6, 30), Precision.MONTH_RANGE),
        ("4月15—16日", 2027, date(2027, 4, 15), date(2027, 4, 16), Precision.DAY),
        ("4月15日—16日", 2027, date(2027, 4, 15), date(2027, 4, 16), Precision.DAY),
        ("4月30日—5月2日", 2027, date(2027, 4, 30), date(2027, 5, 2), Precision.DAY),
        # 底前: from the plan year's start (no publication date given here) to that month's end
        ("年底前", 2027, date(2027, 1, 1), date(2027, 12, 31), Precision.DEADLINE),
        ("2027年底前", None, date(2027, 1, 1), date(2027, 12, 31), Precision.DEADLINE),
        ("9月底前", 2027, date(2027, 1, 1), date(2027, 9, 30), Precision.DEADLINE),
        ("2027年6月底之前", None, date(2027, 1, 1), date(2027, 6, 30), Precision.DEADLINE),
        # windows crossing the year: a kickoff the December before, a run into January
        ("2026年12月", 2027, date(2026, 12, 1), date(2026, 12, 31), Precision.MONTH),
        ("12月—次年1月", 2027, date(2027, 12, 1), date(2028, 1, 31), Precision.MONTH_RANGE),
        ("2027年12月至2028年1月", None, date(2027, 12, 1), date(2028, 1, 31), Precision.MONTH_RANGE),
        ("12月28日—次年1月3日", 2027, date(2027, 12, 28), date(2028, 1, 3), Precision.DAY),
        ("2027年度", None, date(2027, 1, 1), date(2027, 12, 31), Precision.YEAR),
    ],
)
def test_examples(text: str, year: int | None, start: date, end: date, precision: Precision) -> None:
    assert parse_window(text, year=year) == Window(start, end, precision)


def test_year_in_text_wins_over_default() -> None:
    assert parse_window("2024年3月", year=2023).start == date(2024, 3, 1)


def test_deadlines_start_at_publication_inside_the_year() -> None:
    published = date(2027, 2, 3)
    assert parse_window("9月底前", year=2027, published=published) == Window(published, date(2027, 9, 30),
                                                                              Precision.DEADLINE)
    # a plan published the December before still starts its deadlines on 1 January
    assert parse_window("年底前", year=2027, published=date(2026, 12, 20)).start == date(2027, 1, 1)
    with pytest.raises(DateTextError, match="发布日期 2027-10-08"):
        parse_window("9月底前", year=2027, published=date(2027, 10, 8))


def test_formats_of_the_new_precisions() -> None:
    assert format_window(date(2027, 3, 1), date(2027, 3, 10), "dekad") == "2027年3月上旬"
    assert format_window(date(2027, 2, 11), date(2027, 2, 28), "dekad") == "2027年2月中下旬"
    assert format_window(date(2027, 4, 1), date(2027, 9, 30), "quarter_range") == "2027年二、三季度"
    assert format_window(date(2027, 1, 1), date(2027, 9, 30), "quarter_range") == "2027年一、二、三季度"
    assert format_window(date(2027, 7, 1), date(2027, 12, 31), "half_year") == "2027年下半年"
    assert format_window(date(2027, 2, 3), date(2027, 9, 30), "deadline") == "2027年9月底前"
    assert format_window(date(2027, 1, 1), date(2027, 12, 31), "deadline") == "2027年底前"
    assert format_window(date(2027, 12, 1), date(2028, 1, 31), "month_range") == "2027年12月-次年1月"
    assert format_window(date(2027, 12, 30), date(2028, 1, 2), "day") == "2027年12月30日-次年1月2日"
    # dates that do not have the precision's shape are written out as days rather than misnamed
    assert format_window(date(2027, 3, 2), date(2027, 3, 10), "dekad") == "2027年3月2-10日"
    assert format_window(date(2027, 3, 5), date(2027, 4, 30), "month_range") == "2027年3月5日-4月30日"


def test_every_precision_fits_the_stored_column() -> None:
    length = Occurrence.__table__.c.precision.type.length  # type: ignore[attr-defined]
    assert all(len(p.value) <= length for p in Precision)


@pytest.mark.parametrize(
    ("text", "interval", "firsts", "precision"),
    [
        ("每月", 1, list(range(1, 13)), Precision.MONTH),
        ("全年每月", 1, list(range(1, 13)), Precision.MONTH),
        ("每两月", 2, [2, 4, 6, 8, 10, 12], Precision.MONTH),
        ("每季度", 3, [1, 4, 7, 10], Precision.QUARTER),
        ("每季", 3, [1, 4, 7, 10], Precision.QUARTER),
        ("每半年", 6, [1, 7], Precision.HALF_YEAR),
        # a list of months in one row: one session per listed month
        ("全年（3、6、9、11月）", None, [3, 6, 9, 11], Precision.MONTH),
        ("全年(3,6,9,11月)", None, [3, 6, 9, 11], Precision.MONTH),
        ("3、6、9月", None, [3, 6, 9], Precision.MONTH),
        ("4月、5月", None, [4, 5], Precision.MONTH),
        ("2027年4月、5月", None, [4, 5], Precision.MONTH),
    ],
)
def test_series_examples(text: str, interval: int | None, firsts: list[int], precision: Precision) -> None:
    series = parse_series(text, year=2027)
    assert series is not None and series.interval == interval
    assert [w.start for w in series.windows] == [date(2027, m, 1) for m in firsts]
    assert {w.precision for w in series.windows} == {precision}
    assert series_interval(text) == interval
    with pytest.raises(DateTextError, match=f"共 {len(firsts)} 场"):
        parse_window(text, year=2027)


def test_quarterly_series_is_the_four_quarters() -> None:
    series = parse_series("每季度", year=2027)
    assert series is not None
    assert [(w.start, w.end) for w in series.windows] == [
        (date(2027, 1, 1), date(2027, 3, 31)), (date(2027, 4, 1), date(2027, 6, 30)),
        (date(2027, 7, 1), date(2027, 9, 30)), (date(2027, 10, 1), date(2027, 12, 31)),
    ]


def test_single_windows_are_not_series() -> None:
    for text in ("二、三季度", "2027年5月", "5月至6月", "全年", "9月底前"):
        assert parse_series(text, year=2027) is None


@pytest.mark.parametrize(
    ("text", "needle"),
    [("6、3月", "从小到大"), ("3、3月", "不重复"), ("3、13月", "13"), ("3、6、9", "应以“月”结尾")],
)
def test_bad_month_lists(text: str, needle: str) -> None:
    with pytest.raises(DateTextError, match=needle):
        parse_series(text, year=2027)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("一、三季度", "不相连"),
        ("三至二季度", "季度范围"),
        ("2027年9-7月", "跨年请写 12月-次年1月"),
        ("12月30日-次年2日", "写明月份"),
        ("3月上下旬", "无法识别"),
        ("13月底前", "13"),
    ],
)
def test_refused_texts_say_why(text: str, needle: str) -> None:
    with pytest.raises(DateTextError, match=needle):
        parse_window(text, year=2027)


def test_hints_quote_the_plans_own_year() -> None:
    with pytest.raises(DateTextError) as info:
        parse_window("明年春天", year=2027)
    assert "2027年2-3月" in str(info.value) and "2027年9月底前" in str(info.value)
    assert "2023" not in str(info.value)
    with pytest.raises(DateTextError) as info:
        parse_window("2026年春天")
    assert "2026年2-3月" in str(info.value) and "2023" not in str(info.value)
    with pytest.raises(DateTextError) as info:
        parse_window("春天")  # no year anywhere: examples without one
    assert "年2-3月" not in str(info.value) and "2-3月" in str(info.value)


@pytest.mark.parametrize(
    ("start", "end", "flag"),
    [
        (date(2027, 1, 1), date(2027, 12, 31), None),
        (date(2026, 12, 1), date(2026, 12, 31), "上一年（2026年）12月启动"),
        (date(2026, 12, 15), date(2027, 2, 28), "上一年（2026年）12月启动"),
        (date(2027, 12, 1), date(2028, 1, 31), "跨年延至2028年1月"),
    ],
)
def test_allowed_spills_are_flagged(start: date, end: date, flag: str | None) -> None:
    assert plan_year_spill(start, end, 2027) == flag


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (date(2026, 11, 1), date(2026, 11, 30)),  # two months early
        (date(2026, 11, 30), date(2026, 12, 31)),
        (date(2027, 12, 1), date(2028, 2, 29)),  # past January
        (date(2028, 1, 1), date(2028, 1, 31)),  # wholly next year's
        (date(2026, 12, 1), date(2028, 1, 31)),  # both ways
    ],
)
def test_spills_beyond_one_month_are_refused(start: date, end: date) -> None:
    with pytest.raises(DateTextError, match="超出计划年度 2027"):
        plan_year_spill(start, end, 2027)


NO_DAY = "日期 {t!r} 中没有 {d} 这一天"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "日期为空"),
        ("   ", "日期为空"),
        ("三季度", "日期 '三季度' 没有年份，且未给出计划年度"),
        ("2023年13月", "日期 '2023年13月' 中的月份 13 不在 1-12 之间"),
        ("2023年0月", "日期 '2023年0月' 中的月份 0 不在 1-12 之间"),
        ("2023年9-7月", "日期 '2023年9-7月' 的结束月份早于开始月份（跨年请写 12月-次年1月）"),
        ("2023年2月29日", "日期 '2023年2月29日' 中没有 2023年2月29日 这一天"),
        ("2023年3月17-15日", "日期 '2023年3月17-15日' 的结束早于开始"),
        ("每两月", "日期 '每两月' 是周期系列（每场一个窗口），不是单一窗口"),
        ("0000年全年", "日期 '0000年全年' 中的年份 0000 无效"),
        ("2023年3月32日", "日期 '2023年3月32日' 中没有 2023年3月32日 这一天"),
        ("2023年4月31日", "日期 '2023年4月31日' 中没有 2023年4月31日 这一天"),
        ("2023Q5", "无法识别的日期 '2023Q5'（可用：2月；2-3月；3月15日；"),  # no 年: no year for the hint
        ("2023年五季度", "无法识别的日期 '2023年五季度'（可用：2023年2月；2023年2-3月；"),
        ("明年春天", "无法识别的日期 '明年春天'（可用：2月；2-3月；3月15日；4月15-16日；3月上旬；二季度；"),
    ],
)
def test_unreadable_or_impossible_texts_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(DateTextError) as info:
        parse_window(text)  # no default year: 三季度 alone cannot be placed
    assert str(info.value).startswith(message)
    if "（可用：" not in message:
        assert str(info.value) == message


def test_the_hint_lists_every_readable_form_in_order() -> None:
    with pytest.raises(DateTextError) as info:
        parse_window("春天", year=2023)
    assert str(info.value) == (
        "无法识别的日期 '春天'（可用：2023年2月；2023年2-3月；2023年3月15日；2023年4月15-16日；2023年3月上旬；二季度；"
        "二、三季度；2023年上半年；2023年9月底前；2023年全年；每月；每两月；每季度；3、6、9月）"
    )


@pytest.mark.parametrize(
    ("text", "year", "start", "end", "precision"),
    [
        ("2023年Q4", None, date(2023, 10, 1), date(2023, 12, 31), Precision.QUARTER),
        ("Q1", 2023, date(2023, 1, 1), date(2023, 3, 31), Precision.QUARTER),
        ("2023年", None, date(2023, 1, 1), date(2023, 12, 31), Precision.YEAR),
        ("2023", None, date(2023, 1, 1), date(2023, 12, 31), Precision.YEAR),
        ("2023年上半年", None, date(2023, 1, 1), date(2023, 6, 30), Precision.HALF_YEAR),
        ("下半年", 2024, date(2024, 7, 1), date(2024, 12, 31), Precision.HALF_YEAR),
        ("3月到5月", 2023, date(2023, 3, 1), date(2023, 5, 31), Precision.MONTH_RANGE),
        ("3～5月", 2023, date(2023, 3, 1), date(2023, 5, 31), Precision.MONTH_RANGE),
        ("3~5月", 2023, date(2023, 3, 1), date(2023, 5, 31), Precision.MONTH_RANGE),
        ("3–5月", 2023, date(2023, 3, 1), date(2023, 5, 31), Precision.MONTH_RANGE),
        ("3-3月", 2023, date(2023, 3, 1), date(2023, 3, 31), Precision.MONTH),
        ("12月-翌年1月", 2023, date(2023, 12, 1), date(2024, 1, 31), Precision.MONTH_RANGE),
        ("2023年12月30日-2024年1月2日", None, date(2023, 12, 30), date(2024, 1, 2), Precision.DAY),
        ("1月上旬", 2023, date(2023, 1, 1), date(2023, 1, 10), Precision.DEKAD),
        ("1月上中旬", 2023, date(2023, 1, 1), date(2023, 1, 20), Precision.DEKAD),
        ("12月下旬", 2023, date(2023, 12, 21), date(2023, 12, 31), Precision.DEKAD),
        ("一季度", 2023, date(2023, 1, 1), date(2023, 3, 31), Precision.QUARTER),
        ("一至四季度", 2023, date(2023, 1, 1), date(2023, 12, 31), Precision.QUARTER_RANGE),
        ("1、2季度", 2023, date(2023, 1, 1), date(2023, 6, 30), Precision.QUARTER_RANGE),
        ("12月底前", 2023, date(2023, 1, 1), date(2023, 12, 31), Precision.DEADLINE),
        ("1月底以前", 2023, date(2023, 1, 1), date(2023, 1, 31), Precision.DEADLINE),
        ("2023年末前", None, date(2023, 1, 1), date(2023, 12, 31), Precision.DEADLINE),
    ],
)
def test_more_forms(text: str, year: int | None, start: date, end: date, precision: Precision) -> None:
    assert parse_window(text, year=year) == Window(start, end, precision)


def test_a_deadline_published_on_its_last_day_is_a_one_day_window() -> None:
    assert parse_window("9月底前", year=2023, published=date(2023, 9, 30)) == Window(
        date(2023, 9, 30), date(2023, 9, 30), Precision.DEADLINE)
    with pytest.raises(DateTextError) as info:
        parse_window("9月底前", year=2023, published=date(2023, 10, 1))
    assert str(info.value) == "日期 '9月底前' 在发布日期 2023-10-01 之前就已截止"


@pytest.mark.parametrize(
    ("text", "interval", "starts"),
    [
        ("双月", 2, [2, 4, 6, 8, 10, 12]),
        ("隔月", 2, [2, 4, 6, 8, 10, 12]),
        ("每两个月", 2, [2, 4, 6, 8, 10, 12]),
        ("每个月", 1, list(range(1, 13))),
        ("逐月", 1, list(range(1, 13))),
        ("每个季度", 3, [1, 4, 7, 10]),
        ("2023年每半年", 6, [1, 7]),
    ],
)
def test_every_rule_word(text: str, interval: int, starts: list[int]) -> None:
    series = parse_series(text, year=2023)
    assert series is not None and series.interval == interval
    assert [w.start for w in series.windows] == [date(2023, m, 1) for m in starts]
    assert series.windows[-1].end == date(2023, 12, 31)


def test_half_year_series_are_the_two_halves() -> None:
    series = parse_series("每半年", year=2023)
    assert series is not None
    assert [(w.start, w.end, w.precision) for w in series.windows] == [
        (date(2023, 1, 1), date(2023, 6, 30), Precision.HALF_YEAR),
        (date(2023, 7, 1), date(2023, 12, 31), Precision.HALF_YEAR),
    ]


def test_series_refusals_say_what_is_wrong() -> None:
    with pytest.raises(DateTextError) as info:
        parse_series("每季度")
    assert str(info.value) == "日期 '每季度' 没有年份，且未给出计划年度"
    with pytest.raises(DateTextError) as info:
        parse_window("3、6月", year=2023)
    assert str(info.value) == "日期 '3、6月' 是周期系列（共 2 场，每场一个窗口），不是单一窗口"
    with pytest.raises(DateTextError) as info:
        parse_series("6、3月", year=2023)
    assert str(info.value) == "月份列表 '6、3月' 中的月份应从小到大、不重复"
    with pytest.raises(DateTextError) as info:
        quarter_window(2023, 0)
    assert str(info.value) == "季度必须是 1-4，收到 0"


def test_format_half_years_dekads_and_plain_ranges() -> None:
    assert format_window(date(2023, 1, 1), date(2023, 6, 30), "half_year") == "2023年上半年"
    assert format_window(date(2023, 1, 1), date(2023, 1, 10), "dekad") == "2023年1月上旬"
    assert format_window(date(2023, 1, 11), date(2023, 1, 20), "dekad") == "2023年1月中旬"
    assert format_window(date(2023, 2, 21), date(2023, 2, 28), "dekad") == "2023年2月下旬"
    assert format_window(date(2023, 1, 1), date(2023, 1, 20), "dekad") == "2023年1月上中旬"
    # 上+下 is the whole month, not a dekad pair: written as days
    assert format_window(date(2023, 1, 1), date(2023, 1, 31), "dekad") == "2023年1月1-31日"
    assert format_window(date(2023, 1, 21), date(2023, 2, 10), "dekad") == "2023年1月21日-2月10日"
    assert format_window(date(2023, 1, 1), date(2023, 3, 31), "quarter") == "2023年一季度"
    assert format_window(date(2023, 10, 1), date(2023, 12, 31), "quarter") == "2023年四季度"
    assert format_window(date(2023, 3, 1), date(2023, 3, 31), "month") == "2023年3月"
    assert format_window(date(2023, 3, 1), date(2023, 3, 31), "month_range") == "2023年3月"
    assert format_window(date(2023, 12, 1), date(2025, 1, 31), "month_range") == "2023年12月-2025年1月"
    assert format_window(date(2023, 12, 30), date(2025, 1, 2), "day") == "2023年12月30日-2025年1月2日"
    assert format_window(date(2023, 2, 3), date(2023, 12, 31), "deadline") == "2023年底前"
    assert format_window(date(2023, 2, 3), date(2023, 9, 29), "deadline") == "2023年2月3日-9月29日"
    assert format_window(date(2023, 12, 3), date(2024, 1, 31), "deadline") == "2023年12月3日-次年1月31日"
    assert Window(date(2023, 3, 1), date(2023, 3, 31), Precision.MONTH).text == "2023年3月"


def test_window_contains_its_first_and_last_day_only() -> None:
    w = Window(date(2023, 3, 1), date(2023, 3, 31), Precision.MONTH)
    assert w.contains(date(2023, 3, 1)) and w.contains(date(2023, 3, 31))
    assert not w.contains(date(2023, 2, 28)) and not w.contains(date(2023, 4, 1))
    assert Window(date(2023, 3, 1), date(2023, 3, 1), Precision.DAY).start == date(2023, 3, 1)
    with pytest.raises(DateTextError) as info:
        Window(date(2023, 3, 2), date(2023, 3, 1), Precision.DAY)
    assert str(info.value) == "窗口结束 2023-03-01 早于开始 2023-03-02"


@pytest.mark.parametrize(
    ("start", "end", "flag"),
    [
        (date(2027, 1, 1), date(2027, 1, 1), None),
        (date(2027, 12, 31), date(2027, 12, 31), None),
        (date(2026, 12, 1), date(2027, 12, 31), "上一年（2026年）12月启动"),
        (date(2026, 12, 31), date(2026, 12, 31), "上一年（2026年）12月启动"),
        (date(2027, 12, 31), date(2028, 1, 31), "跨年延至2028年1月"),
        (date(2027, 1, 1), date(2028, 1, 1), "跨年延至2028年1月"),
    ],
)
def test_spill_boundaries(start: date, end: date, flag: str | None) -> None:
    assert plan_year_spill(start, end, 2027) == flag


def test_spill_refusal_names_what_is_allowed() -> None:
    with pytest.raises(DateTextError) as info:
        plan_year_spill(date(2026, 11, 30), date(2027, 1, 5), 2027)
    assert str(info.value) == ("窗口 2026-11-30–2027-01-05 超出计划年度 2027"
                               "（只允许 2026年12月开始的启动场次，以及从 2027年 跨至 2028年1月的窗口）")


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


DEKAD_DAYS = [(1, 10), (11, 20), (21, 31), (1, 20), (11, 31)]  # 上, 中, 下, 上中, 中下旬


@st.composite
def windows(draw: st.DrawFn) -> Window:
    """Any window the plan can write inside one year, at any precision."""
    year = draw(years)
    precision = draw(st.sampled_from(list(Precision)))
    if precision is Precision.YEAR:
        return Window(date(year, 1, 1), date(year, 12, 31), precision)
    if precision is Precision.QUARTER:
        return quarter_window(year, draw(st.integers(1, 4)))
    if precision is Precision.QUARTER_RANGE:
        first = draw(st.integers(1, 3))
        last = draw(st.integers(first + 1, 4))
        return Window(date(year, 3 * first - 2, 1), last_day(year, 3 * last), precision)
    if precision is Precision.HALF_YEAR:
        first = draw(st.sampled_from([1, 7]))
        return Window(date(year, first, 1), last_day(year, first + 5), precision)
    if precision is Precision.MONTH:
        month = draw(months)
        return Window(date(year, month, 1), last_day(year, month), precision)
    if precision is Precision.MONTH_RANGE:
        first = draw(st.integers(1, 11))
        last = draw(st.integers(first + 1, 12))
        return Window(date(year, first, 1), last_day(year, last), precision)
    if precision is Precision.DEKAD:
        month = draw(months)
        first, final = draw(st.sampled_from(DEKAD_DAYS))
        return Window(date(year, month, first), date(year, month, min(final, last_day(year, month).day)), precision)
    if precision is Precision.DEADLINE:
        end = last_day(year, draw(months))
        return Window(draw(st.dates(min_value=date(year, 1, 1), max_value=end)), end, precision)
    start = draw(st.dates(min_value=date(year, 1, 1), max_value=date(year, 12, 31)))
    end = draw(st.dates(min_value=start, max_value=date(year, 12, 31)))
    return Window(start, end, Precision.DAY)


@st.composite
def year_end_crossings(draw: st.DrawFn) -> Window:
    """A window of plan year `year` that runs on into January of the next: months or days."""
    year = draw(st.integers(2000, 2099))
    if draw(st.booleans()):
        return Window(date(year, 12, 1), date(year + 1, 1, 31), Precision.MONTH_RANGE)
    start = draw(st.dates(min_value=date(year, 12, 1), max_value=date(year, 12, 31)))
    return Window(start, draw(st.dates(min_value=date(year + 1, 1, 1), max_value=date(year + 1, 1, 31))), Precision.DAY)


def published_for(window: Window) -> date | None:
    """The publication date a deadline window was read with (its start); None for every other precision."""
    return window.start if window.precision is Precision.DEADLINE else None


def without_year(window: Window) -> str:
    """The text as a plan of that year writes it: '2027年三季度' → '三季度', '2027年底前' → '年底前'."""
    text = window.text.removeprefix(f"{window.start.year}年")
    return "年" + text if text.startswith("底") else text


@FAST
@given(st.one_of(windows(), year_end_crossings()))
def test_format_then_parse_round_trips(window: Window) -> None:
    text = format_window(window.start, window.end, window.precision)
    assert parse_window(text, published=published_for(window)) == window
    assert window.text == text


@FAST
@given(st.one_of(windows(), year_end_crossings()), st.data())
def test_white_space_and_full_width_digits_do_not_matter(window: Window, data: st.DataObject) -> None:
    text = window.text
    published = published_for(window)
    spaced = "".join(ch + data.draw(st.sampled_from(["", " ", "\u3000", "\t", "  "])) for ch in text)
    assert parse_window(spaced, published=published) == window
    assert parse_window(text.translate(FULLWIDTH), published=published) == window
    assert normalize_date_text(spaced.translate(FULLWIDTH)) == text


@FAST
@given(windows())
def test_year_less_texts_fall_inside_the_given_year(window: Window) -> None:
    year = window.start.year
    parsed = parse_window(without_year(window), year=year, published=published_for(window))
    assert parsed == window
    assert date(year, 1, 1) <= parsed.start <= parsed.end <= date(year, 12, 31)
    assert plan_year_spill(parsed.start, parsed.end, year) is None


@FAST
@given(year_end_crossings())
def test_year_end_crossings_are_the_only_spill_a_year_less_text_makes(window: Window) -> None:
    year = window.start.year
    parsed = parse_window(without_year(window), year=year)
    assert parsed == window
    assert parsed.start.year == year and parsed.end <= date(year + 1, 1, 31)
    assert plan_year_spill(parsed.start, parsed.end, year) == f"跨年延至{year + 1}年1月"


@FAST
@given(st.integers(2001, 2100), st.integers(1, 12), st.integers(0, 13))
def test_a_kickoff_is_allowed_in_the_december_before_only(year: int, month: int, span: int) -> None:
    start = date(year - 1, month, 1)
    end = last_day(year - 1 + (month + span - 1) // 12, (month + span - 1) % 12 + 1)
    window = parse_window(format_window(start, end, "month" if span == 0 else "month_range"), year=year)
    assert (window.start, window.end) == (start, end)
    if month == 12 and end <= date(year, 12, 31):  # starts in the December before, ends within the plan year
        assert plan_year_spill(window.start, window.end, year) == f"上一年（{year - 1}年）12月启动"
    else:
        with pytest.raises(DateTextError, match=f"超出计划年度 {year}"):
            plan_year_spill(window.start, window.end, year)


def months_between(a: date, b: date) -> int:
    return (b.year - a.year) * 12 + b.month - a.month


@FAST
@given(years, st.sampled_from(sorted(SERIES_TEXTS)), st.booleans())
def test_rule_series_are_evenly_spaced_inside_the_year(year: int, rule: str, with_year: bool) -> None:
    series = parse_series(f"{year}年{rule}" if with_year else rule, year=None if with_year else year)
    assert series is not None and series.interval == SERIES_TEXTS[rule]
    assert len(series.windows) == 12 // series.interval
    for w in series.windows:
        assert date(year, 1, 1) <= w.start <= w.end <= date(year, 12, 31)
        assert parse_window(w.text) == w  # each session reads back as a plain window
    gaps = {months_between(a.start, b.start) for a, b in itertools.pairwise(series.windows)}
    assert gaps == {series.interval}
    assert series.windows[-1].end == date(year, 12, 31)  # the last session closes the year


@FAST
@given(years, st.lists(months, min_size=2, max_size=12, unique=True),
       st.sampled_from(["3、6月", "3月、6月", "全年（3、6月）"]), st.booleans())
def test_month_lists_are_one_session_per_listed_month(year: int, picked: list[int], style: str, with_year: bool
                                                      ) -> None:
    picked.sort()
    if style == "3月、6月":
        text = "、".join(f"{m}月" for m in picked)
    else:
        text = "、".join(str(m) for m in picked) + "月"
        text = f"全年（{text}）" if style.startswith("全年") else text
    series = parse_series(f"{year}年{text}" if with_year else text, year=None if with_year else year)
    assert series is not None and series.interval is None
    assert [(w.start, w.end, w.precision) for w in series.windows] == [
        (date(year, m, 1), last_day(year, m), Precision.MONTH) for m in picked
    ]


DATE_ALPHABET = "0123456789０１２３４５６７８９年月日号季度第一二三四全上中下半旬底前次、，（）-－—~至到 Q每两个双"
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


NO_YEAR = "没有年份，且未给出计划年度"
MONTH_13 = "中的月份 13 不在 1-12 之间"


@pytest.mark.parametrize(
    ("text", "year", "published", "message"),
    [
        # every form names the text it could not place (typed from each form's rule)
        ("5月", None, None, f"日期 '5月' {NO_YEAR}"),
        ("3月15日", None, None, f"日期 '3月15日' {NO_YEAR}"),
        ("3月上旬", None, None, f"日期 '3月上旬' {NO_YEAR}"),
        ("Q2", None, None, f"日期 'Q2' {NO_YEAR}"),
        ("上半年", None, None, f"日期 '上半年' {NO_YEAR}"),
        ("9月底前", None, None, f"日期 '9月底前' {NO_YEAR}"),
        ("年底前", None, None, f"日期 '年底前' {NO_YEAR}"),
        ("2023年13月15日", None, None, f"日期 '2023年13月15日' {MONTH_13}"),
        ("2023年3-13月", None, None, f"日期 '2023年3-13月' {MONTH_13}"),
        ("2023年13月上旬", None, None, f"日期 '2023年13月上旬' {MONTH_13}"),
        ("2023年13月底前", None, None, f"日期 '2023年13月底前' {MONTH_13}"),
        ("2023年3月30日-13月2日", None, None, f"日期 '2023年3月30日-13月2日' {MONTH_13}"),
        ("2023年3月30日-4月31日", None, None, "日期 '2023年3月30日-4月31日' 中没有 2023年4月31日 这一天"),
        ("一、三季度", 2023, None,
         "日期 '一、三季度' 中的季度不相连：一个窗口只能是相连的季度（如 二、三季度），否则请分成几个场次"),
        ("二至二季度", 2023, None, "日期 '二至二季度' 的季度范围应如 二至三季度"),
        ("一、二至三季度", 2023, None, "日期 '一、二至三季度' 的季度范围应如 二至三季度"),
        ("2023年12月-0000年1月", None, None, "日期 '2023年12月-0000年1月' 中的年份 0000 无效"),
        ("2023年12月30日-0000年1月2日", None, None, "日期 '2023年12月30日-0000年1月2日' 中的年份 0000 无效"),
        ("年底前", 2023, date(2024, 1, 5), "日期 '年底前' 在发布日期 2024-01-05 之前就已截止"),
    ],
)
def test_each_form_names_the_text_it_refuses(text: str, year: int | None, published: date | None,
                                             message: str) -> None:
    with pytest.raises(DateTextError) as info:
        parse_window(text, year=year, published=published)
    assert str(info.value) == message


def test_edge_forms_that_are_accepted() -> None:
    assert parse_window("0001年全年") == Window(date(1, 1, 1), date(1, 12, 31), Precision.YEAR)  # year 1 exists
    assert parse_window("2023年3月15-15日") == Window(date(2023, 3, 15), date(2023, 3, 15), Precision.DAY)
    assert parse_window("年底前", year=2023, published=date(2023, 2, 3)) == Window(
        date(2023, 2, 3), date(2023, 12, 31), Precision.DEADLINE)
    with pytest.raises(DateTextError) as info:
        parse_series("3、13月", year=2023)
    assert str(info.value) == f"日期 '3、13月' {MONTH_13}"


# Survivors of `make mutate` left on purpose, each equivalent (no input tells them apart):
# - _format_dekad: (上, 下) is already refused by the index-distance check (2 ∉ {0, 1}), so mutating the
#   explicit (上, 下) test, or `or` → `and` beside it, changes nothing; index ↔ rindex on one-character needles;
#   `last=False` → `None` (both falsy); month_last=None where `last` is false (unused).
# - plan_year_spill's second branch: a start from 1 January on with an end inside the year returned None above,
#   so `start < 1 January` vs `<=` or `< 2 January` / `< 1 February` cannot differ.
