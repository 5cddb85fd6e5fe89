"""季度考核 against hand-computed figures: 不适用 indicators leave the weights, weighted points add up to 总分, a
quarter not yet begun has no ranking, and the method reads in Chinese."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from sqlalchemy.engine import Engine

from scheduler.db import session_scope
from scheduler.reports.models import AssessmentAdjustment
from scheduler.reports.quarterly import Scoring
from tests.factories.reports import at
from tests.reports.test_build import build, by_unit, recorded  # noqa: F401  (recorded is a fixture)

NA = "不适用"
POINTS = ["projects_points", "amount_points", "talents_points", "events_points", "reporting_points", "checkins_points"]


def _bonus(engine: Engine) -> None:
    with session_scope(engine, write=True) as session:
        session.add(
            AssessmentAdjustment(
                period="2023Q1", organization_key="haian", points=Decimal(2), reason="承办省级活动", author="office",
                created_at=at(date(2023, 4, 1)),
            )
        )


def points(row: dict) -> list:
    return [row[k] for k in POINTS]


def test_completion_rate_method_with_nothing_due_left_out(recorded: Engine) -> None:  # noqa: F811
    _bonus(recorded)
    report = build(recorded, "quarterly", "2023Q1", date(2023, 4, 3))
    rows = by_unit(report.table("scores").rows)
    # 如皋: 2 of 12×3/12=3 projects → 66.67 × 30 % = 20.00; amount 500/300, talents 2/1, event 04-1 1/1,
    # report filed on time 1/1, weeks 9/9 → full weights 25 + 15 + 12 + 8 + 10
    assert points(rows["如皋市"]) == [20.0, 25.0, 15.0, 12.0, 8.0, 10.0] and rows["如皋市"]["total"] == 90.0
    # 崇川: 2/2 projects, 1400/250 万元 → 30 + 25; talents 0/0.5, report 07-1 late, no week logged → 0; event 07-1 held
    assert points(rows["崇川区"]) == [30.0, 25.0, 0.0, 12.0, 0.0, 0.0] and rows["崇川区"]["total"] == 67.0
    # 海安: no Q1 event and no report due → 不适用; the other weights 30+25+15+10 = 80 scale to 37.5, 31.25,
    # 18.75, 12.5: 1/2.5 → 40 % × 37.5 = 15; 100/125 → 80 % × 31.25 = 25; talents 0; weeks 3/9 → 33.33 % × 12.5
    # = 4.16625 → 4.17; 指标得分 44.17, +2 → 46.17 (was 55.33 + 2 when 不适用 counted as 100 %)
    haian = rows["海安市"]
    assert points(haian) == [15.0, 25.0, 0.0, NA, NA, 4.17]
    assert (haian["base"], haian["adjust"], haian["total"]) == (44.17, 2.0, 46.17)
    assert [rows[u]["rank"] for u in ("如皋市", "崇川区", "海安市")] == [1, 2, 3]
    # 苏锡通 and 通州湾 have no Q1 event: 不适用, and with nothing else done they tie with 如东 at 0, not above it
    for unit in ("苏锡通园区", "通州湾示范区"):
        assert rows[unit]["events_points"] == NA and rows[unit]["total"] == 0.0
        assert rows[unit]["rank"] == rows["如东县"]["rank"] == 4
    detail = {(r["unit"], r["indicator"]): r for r in report.table("indicators").rows}
    assert detail[("海安市", "签约项目")] | {} == {
        "unit": "海安市", "indicator": "签约项目", "actual": 1, "expected": 2.5, "rate": 40.0, "score": 40.0,
        "weight": 30.0, "applied_weight": 37.5, "points": 15.0,
    }
    assert (detail[("海安市", "活动举办")]["applied_weight"], detail[("海安市", "活动举办")]["points"]) == (NA, NA)
    assert detail[("如东县", "签约项目")]["expected"] == "未设目标"


def test_efficacy_method_renormalises_too(recorded: Engine) -> None:  # noqa: F811
    _bonus(recorded)
    eff = by_unit(
        build(recorded, "quarterly", "2023Q1", date(2023, 4, 3), scoring=Scoring(method="efficacy"))
        .table("scores").rows
    )
    # 功效系数法 (满意值 1, 不允许值 0): score = 60 + rate × 40. 如皋 projects 86.67 × 30 % = 26.00; others full
    assert points(eff["如皋市"]) == [26.0, 25.0, 15.0, 12.0, 8.0, 10.0] and eff["如皋市"]["total"] == 96.0
    # 崇川: 30 + 25 + 60 %×15 + 12 + 60 %×8 + 60 %×10 = 86.8
    assert eff["崇川区"]["total"] == 86.8
    # 海安: 76 %×37.5 = 28.5; 92 %×31.25 = 28.75; 60 %×18.75 = 11.25; 73.33 %×12.5 = 9.16625 → 9.17; +2
    assert points(eff["海安市"]) == [28.5, 28.75, 11.25, NA, NA, 9.17]
    assert (eff["海安市"]["base"], eff["海安市"]["total"]) == (77.67, 79.67)
    # 如东 has no targets (outcomes 0) and owes an event, a report and 9 weeks: 60 % of 12 + 8 + 10 = 18
    assert eff["如东县"]["total"] == 18.0
    # 苏锡通 owes only the weeks: 60 % × 12.5 = 7.5, below 如东, not the 60 %×30 = 18 it would get if 不适用 counted
    assert points(eff["苏锡通园区"]) == [0.0, 0.0, 0.0, NA, NA, 7.5]
    assert eff["苏锡通园区"]["rank"] > eff["如东县"]["rank"]


def test_weighted_points_add_up_to_the_total(recorded: Engine) -> None:  # noqa: F811
    _bonus(recorded)
    for method in ("rate", "efficacy"):
        report = build(recorded, "quarterly", "2023Q1", date(2023, 4, 3), scoring=Scoring(method=method))
        for row in report.table("scores").rows:
            visible = [p for p in points(row) if p != NA]
            assert round(sum(visible), 2) == row["base"]
            assert round(row["base"] + row["adjust"], 2) == row["total"]


def test_events_still_to_come_in_a_running_quarter_are_not_failures(seeded_engine: Engine) -> None:
    # The demo plan, nothing held yet, on 1 March 2023: 崇川's 07-1 (window to 28 Feb) is due and not held;
    # 南通创新区's 11-1 and 12-1 (March) are still to come → 不适用, not 0 %
    report = build(seeded_engine, "quarterly", "2023Q1", date(2023, 3, 1))
    rows = by_unit(report.table("scores").rows)
    detail = {(r["unit"], r["indicator"]): r for r in report.table("indicators").rows}
    assert rows["南通创新区"]["events_points"] == NA
    assert (detail[("崇川区", "活动举办")]["actual"], detail[("崇川区", "活动举办")]["expected"]) == (0, 1)
    # 崇川: no report due → 不适用; the rest 30+25+15+12+10 = 92 → 活动举办 12 × 100 ÷ 92 = 13.04
    assert detail[("崇川区", "活动举办")]["applied_weight"] == 13.04
    assert rows["南通创新区"]["rank"] <= rows["崇川区"]["rank"]
    assert "季度进行中" in report.table("scores").note and "2023-03-01" in report.table("scores").note


def test_a_quarter_not_yet_begun_has_no_ranking(seeded_engine: Engine) -> None:
    report = build(seeded_engine, "quarterly", "2023Q2", date(2023, 3, 1))
    assert report.table("scores").rows == [] and report.table("indicators").rows == []
    assert report.table("scores").note == "2023年第二季度尚未开始（2023-04-01 起），不计分、不排名。"
    assert report.meta["ranked"] is False


def test_the_method_is_described_in_chinese(recorded: Engine) -> None:  # noqa: F811
    for method in ("rate", "efficacy"):
        report = build(recorded, "quarterly", "2023Q1", date(2023, 4, 3), scoring=Scoring(method=method))
        (note,) = report.notes
        assert re.search(r"[A-Za-z]{2,}", note) is None, note
        assert "不适用" in note and "总分 = 指标得分 + 加减分" in note
