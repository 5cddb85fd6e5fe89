"""Report periods: every accepted form, every refused form, and the first/last month of the year pinned.

Expected values are typed by hand from the calendar (2023 is not a leap year, 2024 is)."""

from __future__ import annotations

from datetime import date

import pytest

from scheduler.reports.periods import PERIOD_HELP, REPORT_KIND_LABELS, Period, PeriodInvalid, parse_period, period_for


def fields(p: Period) -> tuple[int, int, int, str, str]:
    return (p.year, p.first_month, p.last_month, p.kind, p.text)


@pytest.mark.parametrize(
    ("text", "expected", "start", "end", "label"),
    [
        ("2023-01", (2023, 1, 1, "month", "2023-01"), date(2023, 1, 1), date(2023, 1, 31), "2023年1月"),
        ("2023-02", (2023, 2, 2, "month", "2023-02"), date(2023, 2, 1), date(2023, 2, 28), "2023年2月"),
        ("2024-02", (2024, 2, 2, "month", "2024-02"), date(2024, 2, 1), date(2024, 2, 29), "2024年2月"),
        ("2023-12", (2023, 12, 12, "month", "2023-12"), date(2023, 12, 1), date(2023, 12, 31), "2023年12月"),
        ("2023-01/02", (2023, 1, 2, "bimonth", "2023-01/02"), date(2023, 1, 1), date(2023, 2, 28), "2023年1-2月"),
        ("2023-11/12", (2023, 11, 12, "bimonth", "2023-11/12"), date(2023, 11, 1), date(2023, 12, 31),
         "2023年11-12月"),
        ("2023Q1", (2023, 1, 3, "quarter", "2023Q1"), date(2023, 1, 1), date(2023, 3, 31), "2023年第一季度"),
        ("2023q2", (2023, 4, 6, "quarter", "2023Q2"), date(2023, 4, 1), date(2023, 6, 30), "2023年第二季度"),
        ("2023Q3", (2023, 7, 9, "quarter", "2023Q3"), date(2023, 7, 1), date(2023, 9, 30), "2023年第三季度"),
        ("2023Q4", (2023, 10, 12, "quarter", "2023Q4"), date(2023, 10, 1), date(2023, 12, 31), "2023年第四季度"),
        (" 2023 ", (2023, 1, 12, "year", "2023"), date(2023, 1, 1), date(2023, 12, 31), "2023年"),
        ("2000", (2000, 1, 12, "year", "2000"), date(2000, 1, 1), date(2000, 12, 31), "2000年"),
        ("2100-12", (2100, 12, 12, "month", "2100-12"), date(2100, 12, 1), date(2100, 12, 31), "2100年12月"),
    ],
)
def test_accepted_forms(text: str, expected: tuple, start: date, end: date, label: str) -> None:
    p = parse_period(text)
    assert fields(p) == expected
    assert (p.start, p.end, p.label) == (start, end, label)


def test_months_and_months_to_date() -> None:
    q3 = parse_period("2023Q3")
    assert q3.months == [7, 8, 9]
    assert q3.months_to_date() == [1, 2, 3, 4, 5, 6, 7, 8, 9]
    assert parse_period("2023-12").months == [12]
    assert parse_period("2023-01").months_to_date() == [1]
    assert parse_period("2023").months == list(range(1, 13))


@pytest.mark.parametrize(
    ("text", "previous"),
    [
        ("2023-01", None),
        ("2023-02", (2023, 1, 1, "month", "2023-01")),
        ("2023-12", (2023, 11, 11, "month", "2023-11")),
        ("2023-01/02", None),
        ("2023-03/04", (2023, 1, 2, "bimonth", "2023-01/02")),
        ("2023-11/12", (2023, 9, 10, "bimonth", "2023-09/10")),
        ("2023Q1", None),
        ("2023Q2", (2023, 1, 3, "quarter", "2023Q1")),
        ("2023Q4", (2023, 7, 9, "quarter", "2023Q3")),
        ("2023", None),
    ],
)
def test_previous_stays_within_the_year(text: str, previous: tuple | None) -> None:
    got = parse_period(text).previous()
    assert (fields(got) if got else None) == previous


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2023Q5", f"无法识别的期间 '2023Q5'：应为{PERIOD_HELP}"),
        ("2023Q0", f"无法识别的期间 '2023Q0'：应为{PERIOD_HELP}"),
        ("2023-13", "期间 '2023-13' 的月份 13 无效（应为 01–12）"),
        ("2023-00", "期间 '2023-00' 的月份 0 无效（应为 01–12）"),
        ("1999", "期间 '1999' 的年份 1999 超出范围（2000–2100）"),
        ("2101-01", "期间 '2101-01' 的年份 2101 超出范围（2000–2100）"),
        ("2023-02/03", "双月期间 '2023-02/03' 无效：双月点评按 01/02、03/04 … 11/12 划分，例如 2023-03/04"),
        ("2023-03/05", "双月期间 '2023-03/05' 无效：双月点评按 01/02、03/04 … 11/12 划分，例如 2023-03/04"),
        ("2023-13/14", "双月期间 '2023-13/14' 无效：双月点评按 01/02、03/04 … 11/12 划分，例如 2023-03/04"),
        ("", f"无法识别的期间 ''：应为{PERIOD_HELP}"),
        ("2023-3", f"无法识别的期间 '2023-3'：应为{PERIOD_HELP}"),
        ("x2023", f"无法识别的期间 'x2023'：应为{PERIOD_HELP}"),
        ("2023x", f"无法识别的期间 '2023x'：应为{PERIOD_HELP}"),
    ],
)
def test_refused_forms_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(PeriodInvalid) as info:
        parse_period(text)
    assert str(info.value) == message


def test_period_help_names_every_form() -> None:
    assert PERIOD_HELP == "月份 2023-03、双月 2023-03/04、季度 2023Q1 或年度 2023"


@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        ("monthly", "2023Q1", "月度跟踪的期间应写作 2023-03，收到 '2023Q1'"),
        ("bimonthly", "2023-03", "双月点评的期间应写作 2023-03/04，收到 '2023-03'"),
        ("quarterly", "2023", "季度考核的期间应写作 2023Q1，收到 '2023'"),
    ],
)
def test_period_for_refuses_the_wrong_kind(kind: str, text: str, message: str) -> None:
    with pytest.raises(PeriodInvalid) as info:
        period_for(kind, text)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("kind", "text", "expected"),
    [
        ("monthly", "2023-12", (2023, 12, 12, "month", "2023-12")),
        ("monthly", "2023-01", (2023, 1, 1, "month", "2023-01")),
        ("bimonthly", "2023-11/12", (2023, 11, 12, "bimonth", "2023-11/12")),
        ("quarterly", "2023Q4", (2023, 10, 12, "quarter", "2023Q4")),
        ("cadence", "2023", (2023, 1, 12, "year", "2023")),
        ("targets", "2023-05", (2023, 5, 5, "month", "2023-05")),
    ],
)
def test_period_for_accepts_the_right_kind(kind: str, text: str, expected: tuple) -> None:
    assert fields(period_for(kind, text)) == expected


def test_report_kind_labels() -> None:
    assert REPORT_KIND_LABELS == {
        "monthly": "月度跟踪", "bimonthly": "双月点评", "quarterly": "季度考核", "cadence": "活动节奏",
        "targets": "目标进度",
    }


# Survivors of `make mutate` left on purpose, each equivalent (no input tells them apart):
# - make_period's quarter text `(first_month + 2) // 3` vs `+ 3`: both give 1-4 for first months 1, 4, 7, 10.
# - the bimonth bound `second > 12` vs `> 13`: second = first + 1 with first odd is even, so never 13.
# - a year period: make_period's last branch ignores `kind` and `first_month`, so changing them changes nothing.
