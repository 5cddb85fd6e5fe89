"""Report periods: a month (2023-03), a bimonthly review (2023-03/04), a quarter (2023Q1) or a year (2023)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from scheduler.plan.windows import month_end

PERIOD_HELP = "月份 2023-03、双月 2023-03/04、季度 2023Q1 或年度 2023"


class PeriodInvalid(ValueError):
    """A period string that is not one of the accepted forms."""


@dataclass(frozen=True)
class Period:
    """A span of whole months in one year: [first_month, last_month]."""

    year: int
    first_month: int
    last_month: int
    kind: str  # month | bimonth | quarter | year
    text: str

    @property
    def start(self) -> date:
        return date(self.year, self.first_month, 1)

    @property
    def end(self) -> date:
        """Return the last day of the period (inclusive)."""
        return month_end(self.year, self.last_month)

    @property
    def months(self) -> list[int]:
        return list(range(self.first_month, self.last_month + 1))

    def months_to_date(self) -> list[int]:
        """Return the months from January to the period's last month."""
        return list(range(1, self.last_month + 1))

    @property
    def label(self) -> str:
        """Name the period in Chinese."""
        if self.kind == "month":
            return f"{self.year}年{self.first_month}月"
        if self.kind == "bimonth":
            return f"{self.year}年{self.first_month}-{self.last_month}月"
        if self.kind == "quarter":
            return f"{self.year}年第{'一二三四'[self.last_month // 3 - 1]}季度"
        return f"{self.year}年"

    def previous(self) -> Period | None:
        """Return the period of the same kind just before this one, within the year (None at the start)."""
        span = self.last_month - self.first_month + 1
        if self.first_month - span < 1:
            return None
        return make_period(self.kind, self.year, self.first_month - span)


def make_period(kind: str, year: int, first_month: int) -> Period:
    """Build a period of `kind` starting at `first_month`."""
    if kind == "month":
        return Period(year, first_month, first_month, kind, f"{year}-{first_month:02d}")
    if kind == "bimonth":
        return Period(year, first_month, first_month + 1, kind, f"{year}-{first_month:02d}/{first_month + 1:02d}")
    if kind == "quarter":
        return Period(year, first_month, first_month + 2, kind, f"{year}Q{(first_month + 2) // 3}")
    return Period(year, 1, 12, "year", str(year))


_PATTERNS = {
    "month": re.compile(r"^(\d{4})-(\d{2})$"),
    "bimonth": re.compile(r"^(\d{4})-(\d{2})/(\d{2})$"),
    "quarter": re.compile(r"^(\d{4})[Qq]([1-4])$"),
    "year": re.compile(r"^(\d{4})$"),
}


def parse_period(text: str) -> Period:
    """Parse a period string; raise PeriodInvalid with a Chinese message saying what is wrong."""
    raw = (text or "").strip()
    for kind, pattern in _PATTERNS.items():
        m = pattern.match(raw)
        if not m:
            continue
        year = int(m.group(1))
        if not 2000 <= year <= 2100:
            raise PeriodInvalid(f"期间 {raw!r} 的年份 {year} 超出范围（2000–2100）")
        if kind == "month":
            month = int(m.group(2))
            if not 1 <= month <= 12:
                raise PeriodInvalid(f"期间 {raw!r} 的月份 {month} 无效（应为 01–12）")
            return make_period(kind, year, month)
        if kind == "bimonth":
            first, second = int(m.group(2)), int(m.group(3))
            if first % 2 != 1 or second != first + 1 or second > 12:
                raise PeriodInvalid(f"双月期间 {raw!r} 无效：双月点评按 01/02、03/04 … 11/12 划分，例如 {year}-03/04")
            return make_period(kind, year, first)
        if kind == "quarter":
            return make_period(kind, year, int(m.group(2)) * 3 - 2)
        return make_period(kind, year, 1)
    raise PeriodInvalid(f"无法识别的期间 {raw!r}：应为{PERIOD_HELP}")


def period_for(kind: str, text: str) -> Period:
    """Parse `text` and check it suits a report of `kind` (monthly needs a month, …)."""
    period = parse_period(text)
    wanted = {"monthly": "month", "bimonthly": "bimonth", "quarterly": "quarter"}.get(kind)
    if wanted and period.kind != wanted:
        example = {"month": "2023-03", "bimonth": "2023-03/04", "quarter": "2023Q1"}[wanted]
        raise PeriodInvalid(f"{REPORT_KIND_LABELS[kind]}的期间应写作 {example}，收到 {text!r}")
    return period


REPORT_KIND_LABELS = {
    "monthly": "月度跟踪",
    "bimonthly": "双月点评",
    "quarterly": "季度考核",
    "cadence": "活动节奏",
    "targets": "目标进度",
}
