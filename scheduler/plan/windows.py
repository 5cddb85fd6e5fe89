"""Plan date texts as offices write them ("2027年2-3月", "3月上旬", "二、三季度", "9月底前", "每季度") ↔ windows.

A date text is either one window — inclusive dates plus the precision it was written at — or a series: a rule
(每月, 每两月, 每季度, 每半年) or a list of months (3、6、9月; 4月、5月; 全年（3、6、9、11月）). A list of months in
one row means one session per listed month; a list of adjacent quarters (二、三季度) is one window. A plan year's
windows stay inside it, except a kickoff starting in the previous December (written with its year: 2026年12月)
and a window running on into the next January (12月—次年1月).
"""

from __future__ import annotations

import calendar
import itertools
import re
from dataclasses import dataclass
from datetime import date

from scheduler.plan.models import Precision

QUARTER_NUMERALS = {"一": 1, "二": 2, "三": 3, "四": 4, "1": 1, "2": 2, "3": 3, "4": 4}
QUARTER_WORDS = {1: "一", 2: "二", 3: "三", 4: "四"}
DEKADS = {"上": (1, 10), "中": (11, 20), "下": (21, 31)}  # 旬: days 1-10, 11-20, 21 to the month's end
_DASHES = str.maketrans({"－": "-", "—": "-", "–": "-", "～": "-", "~": "-", "至": "-", "到": "-"})
_PUNCTUATION = str.maketrans({"，": "、", ",": "、", "（": "(", "）": ")"})
_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
# A rule series: months between sessions. 每两月 starts in February, as the 2023 plan's 江海创投行 does.
SERIES_TEXTS = {
    "每月": 1, "每个月": 1, "逐月": 1, "每两月": 2, "每两个月": 2, "双月": 2, "隔月": 2,
    "每季度": 3, "每季": 3, "每个季度": 3, "每半年": 6,
}

_YEAR = r"(?:(?P<year>\d{4})年)?"
_YEAR2 = r"(?:(?P<year2>\d{4})年|(?P<next>次年|翌年))?"  # the end of a window that crosses the year
_MONTH_RE = re.compile(rf"^{_YEAR}(?P<m1>\d{{1,2}})(?:月?-{_YEAR2}(?P<m2>\d{{1,2}}))?月$")
_DAY_RE = re.compile(
    # "3月15日", "3月15-17日" (the form format_window writes), "3月30日-4月2日", "12月30日-次年1月2日"
    rf"^{_YEAR}(?P<m1>\d{{1,2}})月(?P<d1>\d{{1,2}})(?:[日号]|(?=-))"
    rf"(?:-{_YEAR2}(?:(?P<m2>\d{{1,2}})月)?(?P<d2>\d{{1,2}})[日号])?$"
)
_DEKAD_RE = re.compile(rf"^{_YEAR}(?P<m>\d{{1,2}})月(?P<parts>上中|中下|上|中|下)旬$")
_QUARTER_RE = re.compile(rf"^{_YEAR}(?P<body>第?[一二三四1-4](?:季度)?(?:[、-]第?[一二三四1-4](?:季度)?)*)季度$")
_Q_RE = re.compile(rf"^{_YEAR}Q(?P<q>[1-4])$")
_HALF_RE = re.compile(rf"^{_YEAR}(?P<half>上|下)半年$")
_YEAR_RE = re.compile(r"^(?:(?P<year>\d{4})年)?全年$|^(?P<year2>\d{4})(?:年度?)?$")
_BY_MONTH_RE = re.compile(rf"^{_YEAR}(?P<m>\d{{1,2}})月底[之以]?前$")
_BY_YEAR_END_RE = re.compile(r"^(?:(?P<year>\d{4})年?)?年[底末][之以]?前$")
_RULE_RE = re.compile(rf"^{_YEAR}(?:全年)?(?P<rule>{'|'.join(sorted(SERIES_TEXTS, key=len, reverse=True))})$")
_MONTH_LIST_RE = re.compile(rf"^{_YEAR}(?:全年)?(?P<open>\()?(?P<body>\d{{1,2}}月?(?:、\d{{1,2}}月?)+)(?(open)\))$")


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


@dataclass(frozen=True)
class Series:
    """A recurring date text: one session per window, in date order."""

    windows: tuple[Window, ...]
    interval: int | None  # months between sessions for a rule (每两月 → 2); None for a list of months


def normalize_date_text(text: str) -> str:
    """Drop all white space and unify dashes, commas, brackets and digits, so '2023 年 2—3 月' reads '2023年2-3月'."""
    text = text.translate(_FULLWIDTH_DIGITS).translate(_DASHES).translate(_PUNCTUATION)
    return re.sub(r"\s+", "", text)


def examples(year: int | None) -> str:
    """List readable date texts, in the plan's own year when it is known."""
    y = f"{year}年" if year else ""
    return "；".join(
        (f"{y}2月", f"{y}2-3月", f"{y}3月15日", f"{y}4月15-16日", f"{y}3月上旬", "二季度", "二、三季度", f"{y}上半年",
         f"{y}9月底前", f"{y}全年", "每月", "每两月", "每季度", "3、6、9月")
    )


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


def _end_year(match: re.Match[str], start_year: int, text: str) -> int:
    if match["next"]:
        return start_year + 1
    return _year(match, start_year, text, "year2")


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


def _ordered(start: date, end: date, precision: Precision, text: str) -> Window:
    if end < start:
        raise DateTextError(f"日期 {text!r} 的结束早于开始")
    return Window(start, end, precision)


def _series_match(flat: str) -> re.Match[str] | None:
    return _RULE_RE.match(flat) or _MONTH_LIST_RE.match(flat)


def parse_series(text: str, *, year: int | None = None) -> Series | None:
    """Read a series (每季度, 每两月, 3、6、9月 …) into its session windows; None when the text is not a series."""
    flat = normalize_date_text(text)
    m = _series_match(flat)
    if m is None:
        return None
    y = _year(m, year, text)
    if m.groupdict().get("rule"):
        interval = SERIES_TEXTS[m["rule"]]
        if interval == 3:
            return Series(tuple(quarter_window(y, q) for q in (1, 2, 3, 4)), 3)
        if interval == 6:
            return Series(tuple(_half(y, half) for half in "上下"), 6)
        return Series(tuple(series_windows(y, interval, first_month=interval)), interval)
    body = m["body"]
    if not body.endswith("月"):
        raise DateTextError(f"月份列表 {text!r} 应以“月”结尾，如 3、6、9月")
    months = [_month(v, text) for v in re.findall(r"\d{1,2}", body)]
    if any(b <= a for a, b in itertools.pairwise(months)):
        raise DateTextError(f"月份列表 {text!r} 中的月份应从小到大、不重复")
    return Series(tuple(Window(date(y, mo, 1), month_end(y, mo), Precision.MONTH) for mo in months), None)


def series_interval(text: str) -> int | None:
    """Return the months between sessions when the text names a rule series (每两月 → 2, 每季度 → 3), else None."""
    m = _RULE_RE.match(normalize_date_text(text))
    return SERIES_TEXTS[m["rule"]] if m else None


def series_windows(year: int, interval: int = 2, first_month: int = 2) -> list[Window]:
    """Return the month windows of a series every `interval` months starting at `first_month`."""
    return [Window(date(year, m, 1), month_end(year, m), Precision.MONTH) for m in range(first_month, 13, interval)]


def _half(year: int, half: str) -> Window:
    first = 1 if half == "上" else 7
    return Window(date(year, first, 1), month_end(year, first + 5), Precision.HALF_YEAR)


def _quarters(m: re.Match[str], y: int, text: str) -> Window:
    body = m["body"]
    quarters = [QUARTER_NUMERALS[v] for v in re.findall(r"[一二三四1-4]", body)]
    if "-" in body:
        if "、" in body or len(quarters) != 2 or quarters[1] <= quarters[0]:
            raise DateTextError(f"日期 {text!r} 的季度范围应如 二至三季度")
    elif any(b != a + 1 for a, b in itertools.pairwise(quarters)):
        raise DateTextError(
            f"日期 {text!r} 中的季度不相连：一个窗口只能是相连的季度（如 二、三季度），否则请分成几个场次"
        )
    first, last = quarter_window(y, quarters[0]), quarter_window(y, quarters[-1])
    if first == last:
        return first
    return Window(first.start, last.end, Precision.QUARTER_RANGE)


def _deadline(y: int, month: int, published: date | None, text: str) -> Window:
    end = month_end(y, month)
    start = max(date(y, 1, 1), published) if published else date(y, 1, 1)
    if start > end:
        raise DateTextError(f"日期 {text!r} 在发布日期 {published} 之前就已截止")
    return Window(start, end, Precision.DEADLINE)


def parse_window(text: str, *, year: int | None = None, published: date | None = None) -> Window:
    """Read one window from a plan date text; `year` fills in '三季度', `published` starts '9月底前'."""
    flat = normalize_date_text(text)
    if not flat:
        raise DateTextError("日期为空")
    if _series_match(flat):
        series = parse_series(text, year=year) if year else None
        count = f"共 {len(series.windows)} 场，" if series else ""
        raise DateTextError(f"日期 {text!r} 是周期系列（{count}每场一个窗口），不是单一窗口")
    if m := _DAY_RE.match(flat):
        y = _year(m, year, text)
        m1 = _month(m["m1"], text)
        start = _day(y, m1, m["d1"], text)
        if not m["d2"]:
            return Window(start, start, Precision.DAY)
        y2 = _end_year(m, y, text)
        if y2 != y and not m["m2"]:
            raise DateTextError(f"日期 {text!r} 跨年，结束日期需写明月份（如 12月30日-次年1月2日）")
        return _ordered(start, _day(y2, _month(m["m2"], text) if m["m2"] else m1, m["d2"], text), Precision.DAY, text)
    if m := _MONTH_RE.match(flat):
        y = _year(m, year, text)
        m1 = _month(m["m1"], text)
        if not m["m2"]:
            return Window(date(y, m1, 1), month_end(y, m1), Precision.MONTH)
        y2, m2 = _end_year(m, y, text), _month(m["m2"], text)
        precision = Precision.MONTH if (y2, m2) == (y, m1) else Precision.MONTH_RANGE
        if (y2, m2) < (y, m1):
            raise DateTextError(f"日期 {text!r} 的结束月份早于开始月份（跨年请写 12月-次年1月）")
        return Window(date(y, m1, 1), month_end(y2, m2), precision)
    if m := _DEKAD_RE.match(flat):
        y, mo = _year(m, year, text), _month(m["m"], text)
        first, last = DEKADS[m["parts"][0]][0], DEKADS[m["parts"][-1]][1]
        return Window(date(y, mo, first), date(y, mo, min(last, month_end(y, mo).day)), Precision.DEKAD)
    if m := _QUARTER_RE.match(flat):
        return _quarters(m, _year(m, year, text), text)
    if m := _Q_RE.match(flat):
        return quarter_window(_year(m, year, text), int(m["q"]))
    if m := _HALF_RE.match(flat):
        return _half(_year(m, year, text), m["half"])
    if m := _YEAR_RE.match(flat):
        y = _year(m, year, text, "year", "year2")
        return Window(date(y, 1, 1), date(y, 12, 31), Precision.YEAR)
    if m := _BY_MONTH_RE.match(flat):
        return _deadline(_year(m, year, text), _month(m["m"], text), published, text)
    if m := _BY_YEAR_END_RE.match(flat):
        return _deadline(_year(m, year, text), 12, published, text)
    found = re.match(r"^(\d{4})年", flat)
    hint_year = year if year is not None else int(found[1]) if found else None
    raise DateTextError(f"无法识别的日期 {text!r}（可用：{examples(hint_year)}）")


def plan_year_spill(start: date, end: date, year: int) -> str | None:
    """Say how a window leaves its plan year (None inside it); refuse windows further out than one month."""
    if date(year, 1, 1) <= start and end <= date(year, 12, 31):
        return None
    if date(year - 1, 12, 1) <= start < date(year, 1, 1) and end <= date(year, 12, 31):
        return f"上一年（{year - 1}年）12月启动"
    if date(year, 1, 1) <= start <= date(year, 12, 31) and end <= date(year + 1, 1, 31):
        return f"跨年延至{year + 1}年1月"
    raise DateTextError(
        f"窗口 {start}–{end} 超出计划年度 {year}"
        f"（只允许 {year - 1}年12月开始的启动场次，以及从 {year}年 跨至 {year + 1}年1月的窗口）"
    )


def _is_month_span(start: date, end: date) -> bool:
    return start.day == 1 and end == month_end(end.year, end.month)


def _format_days(start: date, end: date) -> str:
    head = f"{start.year}年{start.month}月{start.day}日"
    if start == end:
        return head
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.year}年{start.month}月{start.day}-{end.day}日"
    tail = f"{end.month}月{end.day}日"
    return f"{head}-{tail}" if start.year == end.year else f"{head}-{_next_year(start, end)}{tail}"


def _next_year(start: date, end: date) -> str:
    return "次年" if end.year == start.year + 1 else f"{end.year}年"


def _dekad_part(day: int, *, last: bool, month_last: int) -> str | None:
    for word, (first, final) in DEKADS.items():
        if (not last and day == first) or (last and day == min(final, month_last)):
            return word
    return None


def _format_dekad(start: date, end: date) -> str | None:
    if (start.year, start.month) != (end.year, end.month):
        return None
    a = _dekad_part(start.day, last=False, month_last=month_end(end.year, end.month).day)
    b = _dekad_part(end.day, last=True, month_last=month_end(end.year, end.month).day)
    if a is None or b is None or (a, b) == ("上", "下") or "上中下".index(b) - "上中下".index(a) not in (0, 1):
        return None
    return f"{start.year}年{start.month}月{a if a == b else a + b}旬"


def format_window(start: date, end: date, precision: Precision | str) -> str:
    """Write a window the way the plan writes it; dates that do not fit the precision are written out as days."""
    precision = Precision(precision)
    y = start.year
    if precision is Precision.DEKAD:
        return _format_dekad(start, end) or _format_days(start, end)
    if precision is Precision.DEADLINE:
        if start.year != end.year or end != month_end(end.year, end.month):
            return _format_days(start, end)
        return f"{end.year}年底前" if end.month == 12 else f"{end.year}年{end.month}月底前"
    if precision is Precision.DAY or not _is_month_span(start, end):
        return _format_days(start, end)
    if precision is Precision.YEAR:
        return f"{y}年全年"
    if precision is Precision.HALF_YEAR:
        return f"{y}年{'上' if start.month == 1 else '下'}半年"
    if precision is Precision.QUARTER:
        return f"{y}年{QUARTER_WORDS[quarter_of(start)]}季度"
    if precision is Precision.QUARTER_RANGE:
        words = "、".join(QUARTER_WORDS[q] for q in range(quarter_of(start), quarter_of(end) + 1))
        return f"{y}年{words}季度"
    if (start.year, start.month) == (end.year, end.month):
        return f"{y}年{start.month}月"
    if start.year == end.year:
        return f"{y}年{start.month}-{end.month}月"
    return f"{y}年{start.month}月-{_next_year(start, end)}{end.month}月"
