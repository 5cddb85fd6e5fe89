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
from scheduler.reports.build import build_report
from scheduler.reports.cadence import CITY, compute_cadence, gap_table
from scheduler.reports.cadence_report import cadence_report, month_heatmap, week_heatmap
from scheduler.reports.facts import Facts, load_facts
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
            period: build_report(session=session, kind=kind, period=period, now=now, live=True)
            for kind, period in (("cadence", "2026"), ("cadence", "2027"), ("quarterly", "2026Q3"),
                                 ("quarterly", "2027Q1"))
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
