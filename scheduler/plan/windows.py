"""Fuzzy plan dates ("2023年2-3月", "三季度", "每两月", "2023年全年") ↔ inclusive windows and precision."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

from scheduler.plan.models import Precision

QUARTER_NUMERALS = {"一": 1, "二": 2, "三": 3, "四": 4, "1": 1, "2": 2, "3": 3, "4": 4}
QUARTER_WORDS = {1: "一", 2: "二", 3: "三", 4: "四"}
_DASHES = str.maketrans({"－": "-", "—": "-", "–": "-", "～": "-", "~": "-", "至": "-", "到": "-"})
_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
SERIES_TEXTS = {"每两月": 2, "每两个月": 2, "双月": 2}

_YEAR = r"(?:(?P<year>\d{4})年)?"
_MONTH_RE = re.compile(rf"^{_YEAR}(?P<m1>\d{{1,2}})(?:-(?P<m2>\d{{1,2}}))?月$")
_DAY_RE = re.compile(
    # "3月15日", "3月15-17日" (the form format_window writes), "3月30日-4月2日"
    rf"^{_YEAR}(?P<m1>\d{{1,2}})月(?P<d1>\d{{1,2}})(?:[日号]|(?=-))"
    r"(?:-(?:(?P<m2>\d{1,2})月)?(?P<d2>\d{1,2})[日号])?$"
)
_QUARTER_RE = re.compile(rf"^{_YEAR}(?:第)?(?P<q>[一二三四1-4])季度$|^{_YEAR.replace('year', 'qyear')}Q(?P<qq>[1-4])$")
_YEAR_RE = re.compile(r"^(?:(?P<year>\d{4})年)?全年$|^(?P<year2>\d{4})年?$")
_HALF_RE = re.compile(rf"^{_YEAR}(?P<half>上|下)半年$")


class DateTextError(ValueError):
    """A date text that cannot be read as a window."""


@dataclass(frozen=True)
class Window:
    """An inclusive date window with the precision it was written at."""

    start: date
    end: date
    precision: Precision

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise DateTextError(f"窗口结束 {self.end} 早于开始 {self.start}")

    @property
    def text(self) -> str:
        return format_window(self.start, self.end, self.precision)

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


def normalize_date_text(text: str) -> str:
    """Drop all white space and unify dashes and digits, so '2023 年 2-3 月' reads like '2023年2-3月'."""
    text = text.translate(_FULLWIDTH_DIGITS).translate(_DASHES)
    return re.sub(r"\s+", "", text)


def series_interval(text: str) -> int | None:
    """Return the interval in months when the text names a recurring series (每两月), else None."""
    return SERIES_TEXTS.get(normalize_date_text(text))


def month_end(year: int, month: int) -> date:
    """Return the last day of a month."""
    return date(year, month, calendar.monthrange(year, month)[1])


def quarter_window(year: int, quarter: int) -> Window:
    """Return the window of a calendar quarter."""
    if quarter not in (1, 2, 3, 4):
        raise DateTextError(f"季度必须是 1-4，收到 {quarter}")
    first = 3 * (quarter - 1) + 1
    return Window(date(year, first, 1), month_end(year, first + 2), Precision.QUARTER)


def quarter_of(day: date) -> int:
    """Return the calendar quarter (1-4) of a date."""
    return (day.month - 1) // 3 + 1


def _year(match: re.Match[str], default: int | None, text: str, *names: str) -> int:
    for name in names or ("year",):
        value = match.groupdict().get(name)
        if value:
            if int(value) < 1:  # date() cannot hold year 0; say so in the parser's own terms
                raise DateTextError(f"日期 {text!r} 中的年份 {value} 无效")
            return int(value)
    if default is None:
        raise DateTextError(f"日期 {text!r} 没有年份，且未给出计划年度")
    return default


def _month(value: str, text: str) -> int:
    month = int(value)
    if not 1 <= month <= 12:
        raise DateTextError(f"日期 {text!r} 中的月份 {month} 不在 1-12 之间")
    return month


def _day(year: int, month: int, value: str, text: str) -> date:
    try:
        return date(year, month, int(value))
    except ValueError as exc:
        raise DateTextError(f"日期 {text!r} 中没有 {year}年{month}月{value}日 这一天") from exc


def parse_window(text: str, *, year: int | None = None) -> Window:
    """Read one window from a plan date text; `year` fills in texts like '三季度'."""
    flat = normalize_date_text(text)
    if not flat:
        raise DateTextError("日期为空")
    if flat in SERIES_TEXTS:
        raise DateTextError(f"日期 {text!r} 是周期系列（每两月），不是单一窗口")
    if m := _DAY_RE.match(flat):
        y = _year(m, year, text)
        m1 = _month(m["m1"], text)
        start = _day(y, m1, m["d1"], text)
        end = _day(y, _month(m["m2"], text) if m["m2"] else m1, m["d2"], text) if m["d2"] else start
        if end < start:
            raise DateTextError(f"日期 {text!r} 的结束早于开始")
        return Window(start, end, Precision.DAY)
    if m := _MONTH_RE.match(flat):
        y = _year(m, year, text)
        m1 = _month(m["m1"], text)
        m2 = _month(m["m2"], text) if m["m2"] else m1
        if m2 < m1:
            raise DateTextError(f"日期 {text!r} 的结束月份早于开始月份")
        precision = Precision.MONTH if m2 == m1 else Precision.MONTH_RANGE
        return Window(date(y, m1, 1), month_end(y, m2), precision)
    if m := _QUARTER_RE.match(flat):
        y = _year(m, year, text, "year", "qyear")
        return quarter_window(y, QUARTER_NUMERALS[m["q"] or m["qq"]])
    if m := _HALF_RE.match(flat):
        y = _year(m, year, text)
        first = 1 if m["half"] == "上" else 7
        return Window(date(y, first, 1), month_end(y, first + 5), Precision.MONTH_RANGE)
    if m := _YEAR_RE.match(flat):
        y = _year(m, year, text, "year", "year2")
        return Window(date(y, 1, 1), date(y, 12, 31), Precision.YEAR)
    raise DateTextError(
        f"无法识别的日期 {text!r}（可用：2023年2月、2023年2-3月、2023年3月15日、二季度、2023年全年、每两月）"
    )


def series_windows(year: int, interval: int = 2, first_month: int = 2) -> list[Window]:
    """Return the month windows of a series every `interval` months starting at `first_month`."""
    return [Window(date(year, m, 1), month_end(year, m), Precision.MONTH) for m in range(first_month, 13, interval)]


def format_window(start: date, end: date, precision: Precision | str) -> str:
    """Write a window the way the plan writes it: 2023年2-3月, 2023年三季度, 2023年全年, 2023年3月15日."""
    precision = Precision(precision)
    if precision is Precision.YEAR:
        return f"{start.year}年全年"
    if precision is Precision.QUARTER:
        return f"{start.year}年{QUARTER_WORDS[quarter_of(start)]}季度"
    if precision is Precision.MONTH:
        return f"{start.year}年{start.month}月"
    if precision is Precision.MONTH_RANGE:
        return f"{start.year}年{start.month}-{end.month}月"
    if start == end:
        return f"{start.year}年{start.month}月{start.day}日"
    if start.month == end.month:
        return f"{start.year}年{start.month}月{start.day}-{end.day}日"
    return f"{start.year}年{start.month}月{start.day}日-{end.month}月{end.day}日"
