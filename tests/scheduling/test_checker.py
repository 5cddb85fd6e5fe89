"""Table tests of the conflict checker on small synthetic plans (2023 calendar: 调休 Saturday 5-6 worked, 清明 4-5
a Wednesday off; 2040 is provisional). Expected values come from the State Council's 2023 notice and hand counting."""

from __future__ import annotations

from datetime import date

import pytest

from scheduler.scheduling.checker import (
    Blackout,
    PlanSnapshot,
    Rule,
    Rules,
    Severity,
    Slot,
    check,
    check_fixed,
)
from scheduler.workdays import Override, WorkCalendar

NAMES = {"kjj": "市科技局", "qidong": "启东市", "tongzhou": "通州区", "rugao": "如皋市", "jrj": "市金融局",
         "haian": "海安市"}


def slot(key: str, window: tuple[str, str], *, hosts: tuple[str, ...] = ("kjj",), co: tuple[str, ...] = (),
         days: tuple[str, str] | None = None, dest: str | None = None, kind: str = "district", quarter: int = 2,
         series: str | None = None, seq: int = 1) -> Slot:
    return Slot(key=key, seq=seq, title=f"活动{key}", event_type=kind, quarter=quarter,
                window=(date.fromisoformat(window[0]), date.fromisoformat(window[1])), hosts=hosts,
                units=frozenset(hosts) | frozenset(co), destination=dest, series=series,
                days=(date.fromisoformat(days[0]), date.fromisoformat(days[1])) if days else None)


def snap(*slots: Slot, year: int = 2023, blackouts: tuple[Blackout, ...] = (), rules: Rules = Rules(),
         calendar: WorkCalendar | None = None) -> PlanSnapshot:
    return PlanSnapshot(year=year, slots=list(slots), calendar=calendar or WorkCalendar(), names=NAMES,
                        bankuai=frozenset({"qidong", "tongzhou", "rugao", "haian"}), blackouts=list(blackouts),
                        rules=rules)


def rules_of(findings: list) -> list[tuple[Rule, Severity]]:
    return [(f.rule, f.severity) for f in findings]


# A session with the whole of Q2 as its window, alone in its plan apart from fillers that keep every month covered.
FILLERS = tuple(slot(f"f{m}", (f"2023-{m:02d}-01", f"2023-{m:02d}-28"), hosts=("jrj",)) for m in range(1, 13))


@pytest.mark.parametrize(("day", "expected"), [
    ("2023-05-16", []),  # an ordinary Tuesday
    ("2023-05-06", []),  # Saturday, but a 调休 working day (劳动节)
    ("2023-04-05", [(Rule.WORKDAY, Severity.BLOCK)]),  # 清明节, a Wednesday
    ("2023-06-23", [(Rule.WORKDAY, Severity.BLOCK)]),  # 端午节, a Friday
    ("2023-05-14", [(Rule.WORKDAY, Severity.BLOCK)]),  # Sunday
    ("2023-07-03", [(Rule.WINDOW, Severity.BLOCK)]),  # Monday after the window closed
    ("2023-03-31", [(Rule.WINDOW, Severity.BLOCK)]),  # Friday before it opened
])
def test_window_and_working_days(day: str, expected: list) -> None:
    plan = snap(slot("a", ("2023-04-01", "2023-06-30")), *FILLERS)
    assert rules_of(check(plan, "a", date.fromisoformat(day))) == expected


def test_reasons_say_which_day_and_why() -> None:
    plan = snap(slot("a", ("2023-04-01", "2023-06-30")), *FILLERS)
    [finding] = check(plan, "a", date(2023, 4, 5))
    assert "4月5日（星期三）" in finding.reason and "清明节" in finding.reason
    [sunday] = check(plan, "a", date(2023, 5, 14))
    assert "5月14日（星期日）是周末" in sunday.reason


def test_a_multi_day_session_checks_every_day() -> None:
    plan = snap(slot("a", ("2023-04-01", "2023-06-30")), *FILLERS)
    # Friday 12 May to Monday 15 May: Saturday and Sunday are off.
    found = check(plan, "a", date(2023, 5, 12), date(2023, 5, 15))
    assert rules_of(found) == [(Rule.WORKDAY, Severity.BLOCK)] * 2


def test_provisional_year_weekend_only_warns() -> None:
    plan = snap(slot("a", ("2040-04-01", "2040-06-30")), year=2040)
    # 2040-05-06 is a Sunday; 2040 has no holiday notice yet, so it is counted on weekends and only warned about.
    found = [f for f in check(plan, "a", date(2040, 5, 6)) if f.rule == Rule.WORKDAY]
    assert rules_of(found) == [(Rule.WORKDAY, Severity.WARN)]
    assert "尚未公布" in found[0].reason


def test_office_override_makes_a_weekday_off() -> None:
    calendar = WorkCalendar([Override(date(2023, 5, 16), False, "全市停工检修", "办公室")])
    plan = snap(slot("a", ("2023-04-01", "2023-06-30")), *FILLERS, calendar=calendar)
    assert rules_of(check(plan, "a", date(2023, 5, 16))) == [(Rule.WORKDAY, Severity.BLOCK)]


def test_host_busy_the_same_day_warns_and_names_the_other_row() -> None:
    other = slot("b", ("2023-05-01", "2023-05-31"), days=("2023-05-16", "2023-05-16"), seq=14)
    plan = snap(slot("a", ("2023-04-01", "2023-06-30"), seq=13), other, *FILLERS)
    found = check(plan, "a", date(2023, 5, 16))
    assert rules_of(found) == [(Rule.BUSY, Severity.WARN)]
    assert "市科技局" in found[0].reason and "序号 14" in found[0].reason and found[0].others == ("b",)
    assert check(plan, "a", date(2023, 5, 17)) == []  # both in town: the next day is free


def test_group_co_organizer_expands_to_members() -> None:
    # Row a is co-organized by 各县（市、区）, expanded to members: 启东市 hosts b that day.
    a = slot("a", ("2023-04-01", "2023-06-30"), co=("qidong", "tongzhou", "rugao"))
    b = slot("b", ("2023-05-01", "2023-05-31"), hosts=("qidong",), days=("2023-05-16", "2023-05-16"))
    found = check(snap(a, b, *FILLERS), "a", date(2023, 5, 16))
    assert rules_of(found) == [(Rule.BUSY, Severity.WARN)] and "启东市" in found[0].reason


@pytest.mark.parametrize(("day", "buffer", "busy"), [
    ("2023-05-17", 1, True),  # the day after a trip to 上海 on 5-16 is travel
    ("2023-05-18", 1, False),
    ("2023-05-18", 2, True),  # a two-day buffer reaches 5-18
    ("2023-05-17", 0, False),
])
def test_travel_buffer_around_out_of_town_trips(day: str, buffer: int, busy: bool) -> None:
    trip = slot("b", ("2023-05-01", "2023-05-31"), days=("2023-05-16", "2023-05-16"), dest="上海")
    plan = snap(slot("a", ("2023-04-01", "2023-06-30")), trip, *FILLERS, rules=Rules(travel_buffer_days=buffer))
    found = [f for f in check(plan, "a", date.fromisoformat(day)) if f.rule == Rule.BUSY]
    assert bool(found) == busy
    if busy and day != "2023-05-16":
        assert f"前后各需留出 {buffer} 天" in found[0].reason


def test_blackout_blocks_a_host_and_warns_for_a_co_organizer() -> None:
    ban = Blackout("qidong", date(2023, 5, 15), date(2023, 5, 19), "两会")
    hosted = slot("a", ("2023-04-01", "2023-06-30"), hosts=("qidong",))
    plan = snap(hosted, *FILLERS, blackouts=(ban,))
    assert rules_of(check(plan, "a", date(2023, 5, 16))) == [(Rule.BLACKOUT, Severity.BLOCK)]
    assert "两会" in check(plan, "a", date(2023, 5, 16))[0].reason
    assert check(plan, "a", date(2023, 5, 22)) == []
    joined = slot("a", ("2023-04-01", "2023-06-30"), co=("qidong",))
    assert rules_of(check(snap(joined, *FILLERS, blackouts=(ban,)), "a", date(2023, 5, 16))) == [
        (Rule.BLACKOUT, Severity.WARN)]


def test_city_cap_on_delegations_away() -> None:
    away = [slot(f"t{i}", ("2023-05-01", "2023-05-31"), hosts=(h,), days=("2023-05-16", "2023-05-17"),
                 dest=d) for i, (h, d) in enumerate((("qidong", "深圳"), ("tongzhou", "北京")))]
    mine = slot("a", ("2023-04-01", "2023-06-30"), hosts=("rugao",), dest="西安")
    plan = snap(mine, *away, *FILLERS, rules=Rules(away_cap=2))
    found = check(plan, "a", date(2023, 5, 17))
    assert rules_of(found) == [(Rule.CITY_CAP, Severity.WARN)] and "上限 2" in found[0].reason
    assert check(plan, "a", date(2023, 5, 18)) == []
    assert check(snap(mine, *away, *FILLERS, rules=Rules(away_cap=3)), "a", date(2023, 5, 17)) == []


def test_same_destination_same_week_is_advice_to_join() -> None:
    qd = slot("b", ("2023-03-01", "2023-03-31"), hosts=("qidong",), days=("2023-03-14", "2023-03-14"), dest="上海")
    mine = slot("a", ("2023-01-01", "2023-03-31"), hosts=("tongzhou",), dest="上海")
    plan = snap(mine, qd, *FILLERS)
    found = check(plan, "a", date(2023, 3, 16))  # Thursday of the week of Monday 3-13
    assert rules_of(found) == [(Rule.JOINT_TRIP, Severity.ADVICE)]
    assert "可与启东市联合组团" in found[0].reason
    assert check(plan, "a", date(2023, 3, 20)) == []  # next week
    elsewhere = slot("a", ("2023-01-01", "2023-03-31"), hosts=("tongzhou",), dest="深圳")
    assert check(snap(elsewhere, qd, *FILLERS), "a", date(2023, 3, 16)) == []


def test_leaving_a_month_empty_city_wide_and_for_the_bankuai() -> None:
    # 启东市 has a May–June row (a) and a May row (b); the city has nothing else in June.
    others = [s for s in FILLERS if s.key != "f6"]
    mine = slot("a", ("2023-05-01", "2023-06-30"), hosts=("qidong",))
    may = slot("b", ("2023-05-01", "2023-05-31"), hosts=("qidong",))
    found = check(snap(mine, may, *others), "a", date(2023, 5, 25))
    assert [f.reason for f in found if f.rule == Rule.MONTH_EMPTY] == [
        "选定此日期后，全市6月将没有任何活动（月度有活动）",
        "选定此日期后，启东市6月将没有任何活动（月度有活动）",
    ]
    assert [f for f in check(snap(mine, may, *others), "a", date(2023, 6, 5)) if f.rule == Rule.MONTH_EMPTY] == []


def test_a_single_row_bankuai_loses_nothing_by_choosing_a_month() -> None:
    # 启东市's one row can cover only one of May and June whatever the date: no cadence warning.
    mine = slot("a", ("2023-05-01", "2023-06-30"), hosts=("qidong",))
    assert check(snap(mine, *FILLERS), "a", date(2023, 5, 25)) == []


def test_months_lost_by_crowding_are_counted() -> None:
    # Two rows share May–June and nothing else covers those months; fixing one in May while the other can only
    # take May (its window) leaves June empty; if the other could take either, nothing is lost.
    others = [s for s in FILLERS if s.key not in ("f5", "f6")]
    a = slot("a", ("2023-05-01", "2023-06-30"))
    b = slot("b", ("2023-05-01", "2023-06-30"), hosts=("jrj",))
    assert [f for f in check(snap(a, b, *others), "a", date(2023, 5, 25)) if f.rule == Rule.MONTH_EMPTY] == []
    b_fixed = slot("b", ("2023-05-01", "2023-06-30"), hosts=("jrj",), days=("2023-05-10", "2023-05-10"))
    found = [f for f in check(snap(a, b_fixed, *others), "a", date(2023, 5, 25)) if f.rule == Rule.MONTH_EMPTY]
    assert [f.reason for f in found] == ["选定此日期后，全市6月将没有任何活动（月度有活动）"]


def test_bankuai_month_kept_by_its_other_row() -> None:
    others = list(FILLERS)
    mine = slot("a", ("2023-05-01", "2023-06-30"), hosts=("qidong",))
    june = slot("b", ("2023-06-01", "2023-06-30"), hosts=("qidong",))
    assert check(snap(mine, june, *others), "a", date(2023, 5, 25)) == []


@pytest.mark.parametrize(("day", "moved_out"), [("2023-06-30", False), ("2023-07-03", True)])
def test_quarterly_theme_stays_in_its_quarter(day: str, moved_out: bool) -> None:
    theme = slot("a", ("2023-05-01", "2023-07-31"), kind="quarterly_theme", quarter=2)
    found = [f for f in check(snap(theme, *FILLERS), "a", date.fromisoformat(day)) if f.rule == Rule.THEME_QUARTER]
    assert bool(found) == moved_out
    if moved_out:
        assert "第 2 季度" in found[0].reason


def test_series_spacing_every_two_months() -> None:
    s1 = slot("s1", ("2023-02-01", "2023-02-28"), hosts=("jrj",), series="jh", days=("2023-02-15", "2023-02-15"))
    s2 = slot("s2", ("2023-04-01", "2023-04-30"), hosts=("jrj",), series="jh")
    s3 = slot("s3", ("2023-06-01", "2023-06-30"), hosts=("jrj",), series="jh", days=("2023-06-14", "2023-06-14"))
    plan = snap(s1, s2, s3, *FILLERS)
    # 4-17 is 61 days after 2-15 and 58 before 6-14: both inside 45–75.
    assert [f for f in check(plan, "s2", date(2023, 4, 17)) if f.rule == Rule.SERIES_SPACING] == []
    tight = slot("s2", ("2023-03-01", "2023-04-30"), hosts=("jrj",), series="jh")
    found = [f for f in check(snap(s1, tight, s3, *FILLERS), "s2", date(2023, 3, 20)) if f.rule == Rule.SERIES_SPACING]
    # 2-15 → 3-20 is 33 days (too close); 3-20 → 6-14 is 86 days (too far).
    assert sorted(f.reason.split("相隔 ")[1].split(" 天")[0] for f in found) == ["33", "86"]


def test_nothing_is_warned_for_a_clean_date_and_check_fixed_lists_only_problems() -> None:
    fixed_sunday = slot("a", ("2023-04-01", "2023-06-30"), days=("2023-05-14", "2023-05-14"))
    fine = slot("b", ("2023-04-01", "2023-06-30"), hosts=("haian",), days=("2023-05-16", "2023-05-16"))
    result = check_fixed(snap(fixed_sunday, fine, *FILLERS))
    assert list(result) == ["a"] and rules_of(result["a"]) == [(Rule.WORKDAY, Severity.BLOCK)]


def test_blocking_findings_come_first() -> None:
    other = slot("b", ("2023-04-01", "2023-06-30"), days=("2023-05-14", "2023-05-14"))
    found = check(snap(slot("a", ("2023-04-01", "2023-06-30")), other, *FILLERS), "a", date(2023, 5, 14))
    assert rules_of(found) == [(Rule.WORKDAY, Severity.BLOCK), (Rule.BUSY, Severity.WARN)]
