"""Cadence on the seeded 2023 plan: foreseen gaps with no date fixed, then kept/missed after a scripted replay."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import select

from scheduler.config import DEFAULT_SEED
from scheduler.db import session_scope
from scheduler.plan.importer import import_plan
from scheduler.plan.models import Occurrence, Organization
from scheduler.plan.seed import PlanFile, parse_plan_bytes
from scheduler.plan.windows import month_end
from scheduler.reports.build import build_report
from scheduler.reports.cadence import (
    CITY,
    Gap,
    MonthCell,
    ThemeCell,
    WeekCell,
    closing_windows,
    compute_cadence,
    gap_table,
    month_state,
    theme_cell,
    week_mondays,
    week_state,
)
from scheduler.reports.cadence_report import cadence_report, month_heatmap, week_heatmap
from scheduler.reports.facts import Facts, OccFact, Unit, load_facts
from scheduler.workdays import WorkCalendar
from tests.factories.plans import import_year
from tests.factories.reports import at, checkin, hold

# Hand-checked from 附件4: a 板块's month is covered by what it hosts (or 承办 for a 板块招商活动, e.g. 海门区科技局
# for row 9) whose window touches the month; group co-organizing (各县（市、区）) does not count.
# 苏锡通园区's 金融惠企“下午茶” runs all year, so it has no foreseen gap.
EXPECTED_GAPS = {
    "haian": [1, 2, 3, 4, 6, 7, 8, 9, 10, 11],  # 18 (5月), 41 (12月)
    "rugao": [1, 2, 4, 5, 6, 8, 9, 11, 12],  # 4 (3月), 29 (7月), 42 (10月)
    "rudong": [1, 2, 4, 6, 10, 12],  # 5 (3月), 19 (5月), 30 (三季度), 43 (11月)
    "qidong": [1, 2, 4, 5, 10, 12],  # 6 (3月), 20 (6月), 31 ×2 (7-9月), 44 (11月)
    "chongchuan": [1, 3, 4, 6, 10, 12],  # 7 (2月), 21 (5月), 32 (9月; 7-9月), 45 (11月)
    "tongzhou": [4, 6, 10, 12],  # 8 (1-3月), 22 (5月), 33 (7-9月), 46 (11月)
    "haimen": [4, 6, 7, 8, 10, 11, 12],  # 9 (1-3月, 承办 via 海门区科技局), 23 (5月), 34 (9月)
    "kfq": [3, 4, 5, 6, 7, 8, 9, 10, 11, 12],  # 10 (1-2月)
    "tzw": [1, 2, 3, 4, 5, 7, 8, 10, 11, 12],  # 24 (6月), 35 (9月)
    "cxq": [1, 2, 4, 5, 8, 9, 12],  # 11, 12 (3月), 36 (6-7月), 48 ×2 (10-11月)
}


def facts_of(engine: Engine) -> Facts:
    with session_scope(engine) as session:
        facts = load_facts(session=session)
    assert facts is not None
    return facts


def test_foreseen_gaps_of_the_seeded_plan_with_no_date_fixed(seeded_engine: Engine) -> None:
    cad = compute_cadence(facts_of(seeded_engine), date(2023, 1, 22))
    assert gap_table(cad) == EXPECTED_GAPS
    assert [c.state for c in cad.months["sxt"]] == ["possible"] * 12
    city = [c.state for c in cad.months[CITY]]
    assert city == ["possible"] + ["planned"] * 11  # January has only multi-month windows; no date fixed anywhere
    assert "fixed" not in {c.state for cells in cad.months.values() for c in cells}
    assert [(t.theme, t.state) for t in cad.themes] == [
        ("科技成果", "open"),
        ("科创项目", "open"),
        ("平台载体", "open"),
        ("科技人才", "open"),
    ]
    assert all(c.state == "future" for cells in cad.weeks.values() for c in cells[1:])
    assert cad.weeks["haian"][0].week_start == date(2023, 1, 23)  # the first full week after the notice


def test_a_theme_window_about_to_close_unfixed_is_flagged(seeded_engine: Engine) -> None:
    cad = compute_cadence(facts_of(seeded_engine), date(2023, 3, 20))
    assert cad.themes[0].state == "closing"
    assert any(g.kind == "theme" and "2023-03-31" in g.text and "仍未定档" in g.text for g in cad.gaps)
    # gaps say what to do, month first: "3月 海安市尚无安排：请督促海安市在3月安排一场活动"
    months = [g for g in cad.gaps if g.kind == "month"]
    assert months and all(g.text.startswith(f"{g.month}月 ") and "尚无安排：请督促" in g.text for g in months)
    assert "4月 海安市尚无安排：请督促海安市在4月安排一场活动" in [g.text for g in months]


def test_kept_and_missed_after_a_scripted_replay(seeded_engine: Engine) -> None:
    hold(seeded_engine, "04-1", date(2023, 3, 15))  # 如皋 3月: held and reported
    hold(seeded_engine, "07-1", date(2023, 2, 20), reported=False)  # 崇川 2月: held, report pending
    hold(seeded_engine, "01-1", date(2023, 3, 10))  # Q1 theme (科技成果) held
    hold(seeded_engine, "09-1", date(2023, 1, 30))  # row 9, 承办 海门区科技局 → counts for 海门区
    monday = date(2023, 1, 23)
    for week in (0, 1, 3):
        checkin(seeded_engine, "haian", monday + timedelta(weeks=week), count=week)  # zero is an answer
    cad = compute_cadence(facts_of(seeded_engine), date(2023, 4, 5))

    def states(unit: str, months: range) -> list[str]:
        return [cad.months[unit][m - 1].state for m in months]

    assert states("rugao", range(1, 5)) == ["missed", "missed", "kept", "gap"]
    assert states("chongchuan", range(1, 4)) == ["missed", "kept", "missed"]
    assert states("rudong", range(1, 4)) == ["missed", "missed", "missed"]  # 05-1 never held
    assert states("haimen", range(1, 4)) == ["kept", "missed", "missed"]
    assert states(CITY, range(1, 5)) == ["kept", "kept", "kept", "planned"]  # April: windows only
    assert [t.state for t in cad.themes] == ["kept", "open", "open", "open"]
    haian = [w.state for w in cad.weeks["haian"]]
    # weeks from 01-23; 04-03 is this week; a week is missed once the day after its Sunday has passed
    assert haian[:4] == ["logged", "logged", "missed", "logged"]
    assert haian[4:10] == ["missed"] * 6 and haian[10] == "pending" and haian[11] == "future"
    assert cad.weeks["haian"][1].count == 1 and cad.weeks["rugao"][0].state == "missed"
    report = cadence_report(cad, "2023")
    weeks = {r["unit"]: r for r in report.table("weeks").rows}
    assert (weeks["海安市"]["logged"], weeks["海安市"]["missed"]) == (3, 7)


def test_heatmaps_are_labelled_svg_with_a_legend(seeded_engine: Engine) -> None:
    cad = compute_cadence(facts_of(seeded_engine), date(2023, 1, 22))
    months = month_heatmap(cad)
    assert months.startswith("<svg") and 'role="img"' in months and "aria-labelledby" in months
    assert months.count("<rect") == 12 * 12 + 6  # 12 rows × 12 months, plus the legend's six swatches
    assert "<title>海安市 5月：计划内（待定档）：第十届创新创业在海安主题活动</title>" in months
    assert "已排期" not in months and "已定档" in months  # the legend names both states
    assert "预见空档" in months and "<script" not in months
    assert week_heatmap(cad).count('data-state="future"') == 11 * len(cad.weeks["haian"]) - 0


def test_a_month_is_fixed_only_with_a_date_in_it_and_planned_with_a_window_alone(seeded_engine: Engine) -> None:
    with session_scope(seeded_engine, write=True) as session:
        occ = session.exec(select(Occurrence).where(Occurrence.key == "18-1")).one()  # 海安市 5月
        occ.start_at, occ.end_at = at(date(2023, 5, 10), 14), at(date(2023, 5, 10), 17)
        occ.status, occ.sequence = "fixed", occ.sequence + 1
        session.add(occ)
    cad = compute_cadence(facts_of(seeded_engine), date(2023, 4, 5))
    haian = cad.months["haian"]
    assert (haian[4].state, haian[4].label) == ("fixed", "已定档")
    assert (haian[11].state, haian[11].label) == ("planned", "计划内（待定档）")  # row 41: a December window only
    assert gap_table(cad)["haian"] == [4, 6, 7, 8, 9, 10, 11]  # same gaps as before: fixing a date fills none
    svg = month_heatmap(cad)
    assert 'data-unit="haian" data-month="5"' in svg and "海安市 5月：已定档：" in svg
    assert "海安市 12月：计划内（待定档）：" in svg


def _without_tzw(year: int) -> PlanFile:
    """The 2023 rows moved to `year`, with 通州湾示范区 (tzw) no longer taking part: its unit, its rows 24 and 35 and
    its place in the 各板块 group are gone from the file."""
    raw = json.loads(DEFAULT_SEED.read_text(encoding="utf-8").replace("2023", str(year)))
    raw["organizations"] = [o for o in raw["organizations"] if o["id"] != "tzw"]
    for org in raw["organizations"]:
        org["members"] = [m for m in org.get("members", []) if m != "tzw"]
    raw["events"] = [e for e in raw["events"] if e["seq"] not in (24, 35)]
    return parse_plan_bytes(json.dumps(raw, ensure_ascii=False).encode(), source=f"events_{year}.json")


def test_a_unit_the_plan_does_not_list_is_neither_flagged_nor_ranked_for_it(engine: Engine) -> None:
    now = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    import_year(engine, 2026, now)
    with session_scope(engine, write=True) as session:
        import_plan(session=session, doc=_without_tzw(2027), now=now)
    with session_scope(engine) as session:
        reports = {
            period: build_report(session=session, kind=kind, period=period, now=when, live=True)
            for kind, period, when in (
                ("cadence", "2026", now),
                ("cadence", "2027", now),
                ("quarterly", "2026Q3", now),
                # a quarter not yet begun has no ranking: 2027Q1 is read once it is under way
                ("quarterly", "2027Q1", datetime(2027, 2, 15, 1, 0, tzinfo=UTC)),
            )
        }
        tzw = session.exec(select(Organization).where(Organization.key == "tzw")).one()
        assert not tzw.withdrawn  # the shared directory keeps it; only the 2027 plan leaves it out
    gaps = {p: [r["unit"] for r in reports[p].table("months").rows] for p in ("2026", "2027")}
    ranked = {p: [r["unit"] for r in reports[p].table("scores").rows] for p in ("2026Q3", "2027Q1")}
    # 2026 (the seed's units): 全市 + 7 县（市、区） + 4 园区; 2027: 全市 + the same less 通州湾示范区
    assert len(gaps["2026"]) == 12 and "通州湾示范区" in gaps["2026"]
    assert len(gaps["2027"]) == 11 and "通州湾示范区" not in gaps["2027"]
    assert len(ranked["2026Q3"]) == 11 and "通州湾示范区" in ranked["2026Q3"]
    assert len(ranked["2027Q1"]) == 10 and "通州湾示范区" not in ranked["2027Q1"]


# --- pure cadence rules on hand-built facts: every boundary day pinned on both sides ---------------------------

D = date


def occ(
    i: int,
    ws: date,
    we: date,
    *,
    start: date | None = None,
    status: str = "planned",
    hosts: tuple[str, ...] = (),
    kind: str = "板块招商活动",
    quarter: int = 1,
    theme: str | None = None,
    precision: str = "month",
) -> OccFact:
    return OccFact(
        i, f"E{i}", 1, quarter, kind, theme, f"活动{i}", ws, we, precision, start, status, hosts, hosts, (), not hosts
    )


def test_month_state_boundaries() -> None:
    held_last_day = occ(1, D(2023, 3, 1), D(2023, 3, 31), start=D(2023, 3, 31), status="held")
    held_april = occ(2, D(2023, 3, 1), D(2023, 4, 30), start=D(2023, 4, 1), status="reported")
    assert month_state([held_last_day, held_april], 2023, 3, D(2023, 5, 1)) == ("kept", ("活动1",))
    assert month_state([held_april], 2023, 3, D(2023, 5, 1)) == ("missed", ())
    assert month_state([held_april], 2023, 4, D(2023, 5, 1)) == ("kept", ("活动2",))
    inside = occ(3, D(2023, 3, 1), D(2023, 3, 31))
    # the month's last day is still "this month", the day after it is past
    assert month_state([inside], 2023, 3, D(2023, 3, 31)) == ("planned", ("活动3",))
    assert month_state([inside], 2023, 3, D(2023, 4, 1)) == ("missed", ())
    fixed_first = occ(4, D(2023, 3, 1), D(2023, 4, 30), start=D(2023, 3, 1))
    fixed_april = occ(5, D(2023, 3, 1), D(2023, 4, 30), start=D(2023, 4, 1))
    assert month_state([fixed_first, fixed_april], 2023, 3, D(2023, 2, 1)) == ("fixed", ("活动4",))
    assert month_state([fixed_april], 2023, 3, D(2023, 2, 1)) == ("gap", ())  # a date set elsewhere frees no month
    assert month_state([fixed_april], 2023, 4, D(2023, 2, 1)) == ("fixed", ("活动5",))
    wider = occ(6, D(2023, 2, 28), D(2023, 3, 31))
    later = occ(7, D(2023, 3, 1), D(2023, 4, 1))
    assert month_state([wider, later], 2023, 3, D(2023, 2, 1)) == ("possible", ("活动6", "活动7"))


def test_cancelled_occurrences_plan_nothing() -> None:
    cancelled = [
        occ(1, D(2023, 3, 1), D(2023, 3, 31), status="cancelled"),
        occ(2, D(2023, 3, 1), D(2023, 3, 31), start=D(2023, 3, 9), status="cancelled"),
        occ(3, D(2023, 2, 1), D(2023, 4, 30), status="cancelled"),
    ]
    assert month_state(cancelled, 2023, 3, D(2023, 2, 1)) == ("gap", ())


def test_a_window_is_possible_up_to_its_last_day_only() -> None:
    spanning = occ(1, D(2023, 2, 1), D(2023, 3, 15))
    assert month_state([spanning], 2023, 3, D(2023, 3, 15)) == ("possible", ("活动1",))
    assert month_state([spanning], 2023, 3, D(2023, 3, 16)) == ("gap", ())
    assert month_state([spanning], 2023, 4, D(2023, 3, 1)) == ("gap", ())


THEMES = {1: "科技成果", 2: "科创项目", 3: "平台载体", 4: "科技人才"}


def theme_facts(*occs: OccFact) -> Facts:
    return Facts(year=2023, units=[Unit("rugao", "如皋")], themes=THEMES, occurrences=list(occs))


def theme(i: int, q: int, ws: date, we: date, **kw: object) -> OccFact:
    return occ(i, ws, we, kind="quarterly_theme", quarter=q, theme=THEMES[q], **kw)  # type: ignore[arg-type]


def test_theme_cell_states_and_boundaries() -> None:
    q1 = theme(1, 1, D(2023, 1, 1), D(2023, 3, 31))
    f = theme_facts(q1)
    assert theme_cell(f, 1, D(2023, 3, 16)) == ThemeCell(1, "科技成果", "open", "活动1", D(2023, 3, 31))
    assert theme_cell(f, 1, D(2023, 3, 17)).state == "closing"  # 14 days before the window closes
    assert theme_cell(f, 1, D(2023, 3, 31)).state == "closing"
    assert theme_cell(f, 1, D(2023, 4, 1)) == ThemeCell(1, "科技成果", "missed", "活动1", D(2023, 3, 31))
    early = theme_facts(theme(1, 1, D(2023, 1, 1), D(2023, 2, 15)))
    assert theme_cell(early, 1, D(2023, 2, 15)).state == "closing"
    assert theme_cell(early, 1, D(2023, 2, 16)).state == "missed"
    fixed = theme_facts(theme(1, 1, D(2023, 1, 1), D(2023, 3, 31), start=D(2023, 3, 30)))
    assert theme_cell(fixed, 1, D(2023, 3, 20)).state == "scheduled"
    held = theme_facts(theme(1, 1, D(2023, 1, 1), D(2023, 3, 31), start=D(2023, 3, 3), status="held"))
    assert theme_cell(held, 1, D(2023, 6, 1)) == ThemeCell(1, "科技成果", "kept", "活动1")
    # nothing for the quarter: a gap until its last day, missed after it
    assert theme_cell(f, 2, D(2023, 6, 30)) == ThemeCell(2, "科创项目", "gap")
    assert theme_cell(f, 2, D(2023, 7, 1)) == ThemeCell(2, "科创项目", "missed")
    other_theme = occ(2, D(2023, 4, 1), D(2023, 6, 30), kind="quarterly_theme", quarter=2, theme="平台载体")
    cancelled = theme(3, 2, D(2023, 4, 1), D(2023, 6, 30), status="cancelled")
    assert theme_cell(theme_facts(other_theme, cancelled), 2, D(2023, 4, 1)).state == "gap"


def test_theme_gaps_only_for_quarters_without_a_theme_activity() -> None:
    f = theme_facts(
        *(theme(q, q, D(2023, 3 * q - 2, 1), month_end(2023, 3 * q)) for q in (1, 3, 4)),
        occ(9, D(2023, 1, 1), D(2023, 12, 31), hosts=("rugao",), precision="year"),
    )
    cad = compute_cadence(f, D(2023, 2, 1))
    assert [g for g in cad.gaps if g.kind == "theme"] == [
        Gap(CITY, None, "theme", "第2季度尚无主题（科创项目）活动：请安排本季度主题活动")
    ]
    cad = compute_cadence(f, D(2023, 3, 20))
    assert [g.text for g in cad.gaps if g.kind == "theme"] == [
        "第1季度主题活动“活动1”窗口 2023-03-31 结束，仍未定档：请督促主办单位定档",
        "第2季度尚无主题（科创项目）活动：请安排本季度主题活动",
    ]
    assert [g for g in cad.gaps if g.kind == "month"] == []  # the year-long row covers every month
    assert gap_table(cad) == {}


def test_week_state_is_due_on_the_first_working_day_after_sunday() -> None:
    cal = WorkCalendar()
    monday = D(2023, 3, 13)
    assert week_state(False, monday, D(2023, 3, 12), cal) == "future"
    assert week_state(False, monday, monday, cal) == "pending"
    assert week_state(False, monday, D(2023, 3, 20), cal) == "pending"  # due Monday 20 March
    assert week_state(False, monday, D(2023, 3, 21), cal) == "missed"
    assert week_state(True, monday, D(2023, 3, 21), cal) == "logged"
    assert week_state(True, monday, D(2023, 3, 1), cal) == "logged"
    # week of 25 September 2023: Sunday 1 October is 国庆节; the first working day after it is Saturday 7 October
    assert week_state(False, D(2023, 9, 25), D(2023, 10, 7), cal) == "pending"
    assert week_state(False, D(2023, 9, 25), D(2023, 10, 8), cal) == "missed"


def test_week_mondays_run_from_the_first_full_week_to_the_year_end() -> None:
    f = Facts(year=2023, units=[], themes={}, week_from=D(2023, 1, 25))
    mondays = week_mondays(f)
    assert (mondays[0], mondays[-1], len(mondays)) == (D(2023, 1, 30), D(2023, 12, 25), 48)
    assert week_mondays(Facts(year=2023, units=[], themes={}, week_from=D(2023, 1, 23)))[0] == D(2023, 1, 23)
    whole = week_mondays(Facts(year=2023, units=[], themes={}))
    assert (whole[0], whole[-1], len(whole)) == (D(2023, 1, 2), D(2023, 12, 25), 52)


def test_closing_windows_within_fourteen_days() -> None:
    f = theme_facts(
        occ(1, D(2023, 3, 1), D(2023, 3, 31)),  # closes in 14 days on 17 March
        occ(2, D(2023, 3, 1), D(2023, 4, 1)),  # 15 days
        occ(3, D(2023, 3, 1), D(2023, 3, 10)),  # already closed, still unfixed
        occ(4, D(2023, 3, 31), D(2023, 3, 31)),  # opens 14 days ahead
        occ(5, D(2023, 4, 1), D(2023, 4, 1)),  # opens 15 days ahead
        occ(6, D(2023, 3, 1), D(2023, 3, 20), start=D(2023, 3, 19)),  # fixed
        occ(7, D(2023, 3, 1), D(2023, 3, 20), status="cancelled"),
        occ(8, D(2023, 3, 1), D(2023, 3, 20), status="held"),
        occ(9, D(2023, 1, 1), D(2023, 3, 20), precision="year"),
    )
    assert [o.id for o in closing_windows(f, D(2023, 3, 17))] == [3, 1, 4]
    assert [o.id for o in closing_windows(f, D(2023, 3, 17), days=0)] == [3]


def test_full_cells_and_gap_texts() -> None:
    q1 = theme(1, 1, D(2023, 1, 1), D(2023, 3, 31), start=D(2023, 3, 30))
    assert theme_cell(theme_facts(q1), 1, D(2023, 3, 20)) == ThemeCell(
        1, "科技成果", "scheduled", "活动1", D(2023, 3, 31)
    )
    assert theme_cell(theme_facts(q1), 1, D(2023, 4, 1)) == ThemeCell(1, "科技成果", "missed", "活动1", D(2023, 3, 31))
    open_q1 = theme(1, 1, D(2023, 1, 1), D(2023, 2, 15))
    assert theme_cell(theme_facts(open_q1), 1, D(2023, 2, 10)) == ThemeCell(
        1, "科技成果", "closing", "活动1", D(2023, 2, 15)
    )
    assert theme_cell(theme_facts(open_q1), 1, D(2023, 2, 16)) == ThemeCell(
        1, "科技成果", "missed", "活动1", D(2023, 2, 15)
    )
    # no theme set for a quarter: any quarterly theme activity counts, and a gap says 未定
    f = Facts(
        year=2023,
        units=[Unit("rugao", "如皋")],
        themes={},
        week_from=D(2023, 12, 25),
        occurrences=[occ(5, D(2023, 1, 1), D(2023, 1, 31), hosts=("rugao",))],
    )
    cad = compute_cadence(f, D(2023, 1, 10))
    assert cad.year == 2023 and cad.today == D(2023, 1, 10)
    assert cad.units == [(CITY, CITY), ("rugao", "如皋")]
    assert cad.months["rugao"][0] == MonthCell("rugao", 1, "planned", ("活动5",))
    assert cad.months[CITY][0] == MonthCell(CITY, 1, "planned", ("活动5",))
    assert cad.weeks["rugao"] == [WeekCell("rugao", D(2023, 12, 25), "future", None)]
    assert Gap("rugao", 2, "month", "2月 如皋尚无安排：请督促如皋在2月安排一场活动") in cad.gaps
    assert Gap(CITY, 12, "month", "12月 全市尚无安排：请督促全市在12月安排一场活动") in cad.gaps
    assert next(g for g in cad.gaps if g.kind == "theme") == Gap(
        CITY, None, "theme", "第1季度尚无主题（未定）活动：请安排本季度主题活动"
    )
    assert gap_table(cad) == {CITY: list(range(2, 13)), "rugao": list(range(2, 13))}
    closing = compute_cadence(theme_facts(open_q1), D(2023, 2, 10)).gaps
    assert (
        Gap(CITY, None, "theme", "第1季度主题活动“活动1”窗口 2023-02-15 结束，仍未定档：请督促主办单位定档") in closing
    )


def test_a_date_fixed_on_the_months_last_day_fixes_that_month() -> None:
    last_day = occ(1, D(2023, 3, 1), D(2023, 4, 30), start=D(2023, 3, 31))
    assert month_state([last_day], 2023, 3, D(2023, 3, 1)) == ("fixed", ("活动1",))


def test_week_mondays_at_the_years_edges() -> None:
    # 1 January 2024 is a Monday: it is the first week; 31 December 2018 is a Monday: it is the last week.
    assert week_mondays(Facts(year=2024, units=[], themes={}))[0] == D(2024, 1, 1)
    assert week_mondays(Facts(year=2018, units=[], themes={}))[-1] == D(2018, 12, 31)


# Survivors of `make mutate` left on purpose, each equivalent (no input tells them apart):
# - foreseen_gaps does not read `facts`, so compute_cadence passing None instead changes nothing.
# - gap_table's `kind == "month" and month is not None` vs `or`: only month gaps carry a month.
# - week_mondays' `monday.year <= year and monday <= 31 December` vs `or`: for a Monday on or after the first
#   week, both halves say the same.
