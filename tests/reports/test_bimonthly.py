"""红黑榜 of the 双月点评: stated, configurable rules; each listed unit says which rule put it there."""

from __future__ import annotations

from datetime import date

from sqlalchemy.engine import Engine

from scheduler.reports.bimonthly import ListRules
from scheduler.reports.tables import Report
from tests.factories.reports import hold
from tests.reports.test_build import build, by_unit, recorded  # noqa: F401  (recorded is a fixture)


def review(engine: Engine, **kw) -> Report:
    hold(engine, "14-1", date(2023, 4, 12), projects=[{"name": "A1", "amount": 10, "unit": "chongchuan"}])
    return build(engine, "bimonthly", "2023-03/04", date(2023, 5, 5), **kw)


def test_default_rules_cap_the_black_list_and_name_the_rule(recorded: Engine) -> None:  # noqa: F811
    report = review(recorded)
    ranking = by_unit(report.table("ranking").rows)
    # 崇川 ranks first (3 of 8 = 37.5 % vs 4/12) but logged none of the 7 weeks due in March–April (B3): not red
    assert ranking["崇川区"]["rank"] == 1 and ranking["崇川区"]["weeks_missed"] == 7
    assert report.table("red").rows == []
    # Every unit misses ≥ 2 weeks, yet only 3 are listed: two rules broken first (如东 and 通州 each have a report
    # overdue and are unranked, 海安 rank 3 is 23.33 points behind), then the lowest ranked
    assert report.table("black").rows == [
        {"unit": "如东县", "reason": "B2 1 份活动成效逾期未填报；B3 本期 7 周未报洽谈"},
        {"unit": "通州区", "reason": "B2 1 份活动成效逾期未填报；B3 本期 7 周未报洽谈"},
        {"unit": "海安市", "reason": "B1 欠序时进度 23.33 个百分点（超过 10）；B3 本期 7 周未报洽谈"},
    ]
    assert "至多列 3 个" in report.table("black").note and "规则 B1" in report.table("black").note


def test_configured_rules(recorded: Engine) -> None:  # noqa: F811
    rules = ListRules(black_missed_weeks=8, black_max=11)
    report = review(recorded, rules=rules)
    assert report.table("red").rows == [
        {"unit": "崇川区", "reason": "R1 完成率 37.50%，第 1 名，超序时进度 4.17 个百分点"}
    ]
    # Weeks no longer count (8 > 7): one rule each; unranked first, then rank 3 before rank 2
    assert [(r["unit"], r["reason"]) for r in report.table("black").rows] == [
        ("如东县", "B2 1 份活动成效逾期未填报"),
        ("通州区", "B2 1 份活动成效逾期未填报"),
        ("海安市", "B1 欠序时进度 23.33 个百分点（超过 10）"),
        ("如皋市", "B1 欠序时进度 16.67 个百分点（超过 10）"),
    ]
    assert "本期 8 周及以上未报洽谈" in report.table("black").note
