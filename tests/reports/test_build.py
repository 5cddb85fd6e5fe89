"""Reports from a fixture of recorded outcomes, against hand-computed figures; exports read back with csv/openpyxl."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy.engine import Engine

from scheduler.db import session_scope
from scheduler.reports.build import ReportUnavailable, build_report
from scheduler.reports.export import export
from scheduler.reports.models import AssessmentAdjustment, RectificationItem, ReviewNote
from scheduler.reports.quarterly import Scoring
from scheduler.reports.tables import Report
from scheduler.reports.targets import set_target
from scheduler.validation import InputInvalid
from tests.factories.reports import at, checkin, hold, lead, outcome_task

FORMULA = "=cmd|' /C calc'!A0"
TARGETS = {"rugao": (12, 1200, 4), "chongchuan": (8, 1000, 2), "haian": (10, 500, 2)}


@pytest.fixture
def recorded(seeded_engine: Engine) -> Engine:
    """The 2023 plan with Q1 outcomes recorded (see the figures worked out in each test)."""
    e = seeded_engine
    with session_scope(e, write=True) as session:
        for unit, values in TARGETS.items():
            for metric, value in zip(("signed_projects", "signed_amount", "talents"), values, strict=True):
                set_target(
                    session=session,
                    year=2023,
                    unit=unit,
                    metric=metric,
                    value=Decimal(value),
                    source="测试",
                    now=at(date(2023, 1, 22)),
                )
    hold(
        e,
        "04-1",
        date(2023, 3, 15),
        projects=[
            {"name": "P1", "amount": 300, "unit": "rugao"},
            {"name": "P2", "sign_form": "协议", "amount": 200, "unit": "rugao"},
            {"name": "P3", "sign_form": "意向", "amount": 999, "unit": "rugao"},  # intent: not signed
            {"name": "P4", "amount": 100, "unit": "haian"},  # lands in 海安: credited to 海安
        ],
        talents=["省市级", "外籍高端"],
    )
    hold(
        e,
        "07-1",
        date(2023, 2, 20),
        projects=[
            {"name": "C1", "amount": 400},  # no 拟落地板块: the host 崇川区
            {"name": "C2", "amount": 50, "credited": False},  # signed first elsewhere: not counted again
        ],
    )
    hold(
        e,
        "01-1",
        date(2023, 3, 10),
        projects=[
            {"name": "K1", "amount": 1000, "unit": "chongchuan"},
            {"name": "K2", "amount": 80, "category": "产学研合作"},  # a city event, no 板块
        ],
    )
    outcome_task(e, "05-1", "rudong", date(2023, 3, 1), date(2023, 3, 10))  # never filed
    outcome_task(e, "04-1", "rugao", date(2023, 3, 15), date(2023, 3, 22), done=date(2023, 3, 20))  # on time
    outcome_task(e, "07-1", "chongchuan", date(2023, 2, 20), date(2023, 2, 27), done=date(2023, 3, 5))  # late
    outcome_task(e, "08-1", "tongzhou", date(2023, 3, 28), date(2023, 4, 5))  # open, not yet due on 03-31
    lead(e, "L1", "rugao", date(2023, 3, 5), date(2023, 3, 5))
    lead(e, "L2", "haian", date(2023, 1, 10), date(2023, 1, 25))  # stalled by 03-31
    lead(e, "L3", "haian", date(2023, 1, 10), date(2023, 1, 25), stage="stopped")  # an exit: never stalled
    lead(e, FORMULA, "rugao", date(2023, 3, 6), date(2023, 3, 6))
    first = date(2023, 1, 23)
    for week in range(9):
        checkin(e, "rugao", first + timedelta(weeks=week))
    for week in (0, 1, 2):
        checkin(e, "haian", first + timedelta(weeks=week), count=0)
    return e


def build(engine: Engine, kind: str, period: str, today: date, **kw) -> Report:
    with session_scope(engine) as session:
        return build_report(session=session, kind=kind, period=period, now=at(today), **kw)


def by_unit(rows: list[dict]) -> dict[str, dict]:
    return {r["unit"]: r for r in rows}


def test_monthly_tracking_figures(recorded: Engine) -> None:
    report = build(recorded, "monthly", "2023-03", date(2023, 4, 3))
    rows = by_unit(report.table("units").rows)
    rugao, chong, haian = rows["如皋市"], rows["崇川区"], rows["海安市"]
    # 如皋: P1 + P2 signed in March (P3 is an intent) → 2 of 12 = 16.67 %, pace 3/12 = 25 %
    assert (rugao["planned"], rugao["held"], rugao["signed"], rugao["amount"]) == (1, 1, 2, Decimal(500))
    assert (rugao["signed_ytd"], rugao["target"], rugao["rate"], rugao["pace"], rugao["ahead"]) == (
        2,
        12,
        16.67,
        25.0,
        -8.33,
    )
    # 崇川: C1 (Feb, host credit) + K1 (Mar, 拟落地) → 2 of 8 = 25 % on pace; March alone: K1, 1000 万元
    assert (chong["signed"], chong["amount"], chong["signed_ytd"], chong["amount_ytd"]) == (
        1,
        Decimal(1000),
        2,
        Decimal(1400),
    )
    assert (chong["planned"], chong["planned_ytd"], chong["held_ytd"], chong["rate"], chong["ahead"]) == (
        0,
        1,
        1,
        25.0,
        0.0,
    )
    assert (haian["signed_ytd"], haian["rate"], haian["ahead"]) == (1, 10.0, -15.0)
    assert [(r["unit"], r["rank"]) for r in report.table("units").rows if r["rank"]] == [
        ("海安市", 3),
        ("如皋市", 2),
        ("崇川区", 1),
    ]
    assert rows["如东县"]["rank"] is None and rows["如东县"]["reports_overdue"] == 1
    assert (rows["通州区"]["reports_missing"], rows["通州区"]["reports_overdue"]) == (1, 0)
    assert (rugao["new_leads"], haian["stalled_leads"], haian["new_leads"]) == (2, 1, 0)
    total = rows["合计"]
    assert (total["signed_ytd"], total["target"], total["rate"]) == (5, 30, 16.67)
    assert report.table("overdue_reports").rows == [
        # Working days after Fri 3-10 up to 3-31: three full weeks (no holiday in March 2023), not 21 calendar days.
        {"unit": "如东县", "title": "如东（天津）海上风电科创项目对接会", "due_on": "2023-03-10", "days": 15}
    ]


def test_scoring_rules_are_enforced() -> None:
    with pytest.raises(InputInvalid, match="成果类指标权重"):
        Scoring(
            weights={"projects": 10, "amount": 10, "talents": 10, "events": 30, "reporting": 20, "checkins": 20}
        ).check()
    with pytest.raises(InputInvalid, match="合计 100"):
        Scoring(
            weights={"projects": 50, "amount": 25, "talents": 15, "events": 12, "reporting": 8, "checkins": 10}
        ).check()


def test_bimonthly_review_lists_and_carry_over(recorded: Engine) -> None:
    hold(recorded, "14-1", date(2023, 4, 12), projects=[{"name": "A1", "amount": 10, "unit": "chongchuan"}])
    with session_scope(recorded, write=True) as session:
        session.add(
            ReviewNote(
                period="2023-03/04",
                organization_key="rugao",
                text="签约进度偏慢",
                author="office",
                updated_at=at(date(2023, 5, 4)),
            )
        )
        now = at(date(2023, 5, 4))
        for opened, status, closed, text in [
            ("2023-01/02", "open", None, "遗留"),
            ("2023-01/02", "closed", "2023-01/02", "已结"),
            ("2023-03/04", "open", None, "本期"),
            ("2023-05/06", "open", None, "下期"),
            ("2023-01/02", "closed", "2023-03/04", "本期办结"),
        ]:
            session.add(
                RectificationItem(
                    opened_period=opened,
                    organization_key="rugao",
                    text=text,
                    status=status,
                    closed_period=closed,
                    author="office",
                    created_at=now,
                    updated_at=now,
                )
            )
    report = build(recorded, "bimonthly", "2023-03/04", date(2023, 5, 5))
    rows = by_unit(report.table("ranking").rows)
    assert report.table("ranking").rows[0]["unit"] == "崇川区"  # 3 of 8 = 37.5 %, pace 4/12 = 33.33 %
    assert (rows["崇川区"]["rate"], rows["崇川区"]["ahead"], rows["如皋市"]["note"]) == (37.5, 4.17, "签约进度偏慢")
    # Red/black list rules are tested in test_bimonthly.py; the top-ranked unit is never on the 黑榜.
    assert "崇川区" not in by_unit(report.table("black").rows)
    items = [(r["text"], r["status"], r["carried"]) for r in report.table("rectification").rows]
    assert items == [("遗留", "未办结", "是"), ("本期办结", "已办结", "是"), ("本期", "未办结", "否")]


def test_exports_read_back_with_the_same_numbers(recorded: Engine) -> None:
    report = build(recorded, "monthly", "2023-03", date(2023, 4, 3))
    rows = list(csv.reader(io.StringIO(export(report, "csv").decode("utf-8-sig"))))
    header = rows.index(["各板块月度跟踪"]) + 1
    labels = rows[header]
    rugao = dict(zip(labels, next(r for r in rows[header:] if r[0] == "如皋市"), strict=True))
    assert (rugao["累计签约项目"], rugao["完成率（%）"], rugao["超/欠进度（百分点）"], rugao["排名"]) == (
        "2",
        "16.67",
        "-8.33",
        "2",
    )
    assert any(r[1:2] == ["'" + FORMULA] for r in rows)  # a formula typed as a project name stays text
    wb = load_workbook(io.BytesIO(export(report, "xlsx")))
    ws = wb["各板块月度跟踪"]
    values = [[c.value for c in row] for row in ws.iter_rows()]
    xl = dict(zip(values[2], next(v for v in values if v[0] == "如皋市"), strict=True))  # rows 1–2: title, units
    assert (xl["累计签约项目"], xl["完成率（%）"], xl["超/欠进度（百分点）"], xl["排名"]) == (2, 16.67, -8.33, 2)
    assert xl["累计签约额（万元）"] == 500.0
    leads = wb["本月新增项目线索"]
    cell = next(c for row in leads.iter_rows() for c in row if c.value == FORMULA)
    assert cell.data_type == "s"  # stored as text: Excel shows it, never evaluates it


@pytest.mark.parametrize(
    ("kind", "period", "message"),
    [
        ("weekly", "2023-03", "未知报表类型"),
        ("monthly", "2023-3", "无法识别的期间"),
        ("bimonthly", "2023-02/03", "双月点评按 01/02"),
        ("quarterly", "2023-03", "季度考核的期间应写作 2023Q1"),
        ("monthly", "2024-03", "不在计划年度 2023 内"),
    ],
)
def test_bad_kind_or_period_is_refused_in_chinese(seeded_engine: Engine, kind: str, period: str, message: str) -> None:
    with session_scope(seeded_engine) as session, pytest.raises(ReportUnavailable, match=message):
        build_report(session=session, kind=kind, period=period, now=datetime(2023, 4, 1, tzinfo=UTC))


def test_an_issued_assessment_never_changes(recorded: Engine) -> None:
    from sqlmodel import select

    from scheduler.reports.build import issue_quarterly
    from scheduler.reports.models import ReportSnapshot
    from scheduler.reports.snapshots import SnapshotCorrupt, SnapshotExists

    with session_scope(recorded, write=True) as session:
        issued = issue_quarterly(session=session, period="2023Q1", now=at(date(2023, 4, 3)), by="office").to_dict()
    hold(recorded, "05-1", date(2023, 3, 28), projects=[{"name": "R1", "amount": 900, "unit": "rudong"}])
    with session_scope(recorded, write=True) as session:
        set_target(
            session=session,
            year=2023,
            unit="rugao",
            metric="signed_projects",
            value=Decimal(4),
            source="改",
            now=at(date(2023, 4, 4)),
        )
        session.add(
            AssessmentAdjustment(
                period="2023Q1",
                organization_key="rugao",
                points=Decimal(-5),
                reason="迟报",
                author="office",
                created_at=at(date(2023, 4, 4)),
            )
        )
    again = build(recorded, "quarterly", "2023Q1", date(2023, 6, 1))
    assert again.to_dict()["tables"] == issued["tables"] and again.meta["issued_by"] == "office"
    live = build(recorded, "quarterly", "2023Q1", date(2023, 6, 1), live=True)
    assert (
        by_unit(live.table("scores").rows)["如皋市"]["total"] != by_unit(again.table("scores").rows)["如皋市"]["total"]
    )
    with session_scope(recorded, write=True) as session, pytest.raises(SnapshotExists, match="不能重复发布"):
        issue_quarterly(session=session, period="2023Q1", now=at(date(2023, 6, 1)), by="someone")
    with session_scope(recorded, write=True) as session:
        snap = session.exec(select(ReportSnapshot)).one()
        snap.payload_text = snap.payload_text.replace('"total":90.0', '"total":99.0')
    with session_scope(recorded) as session, pytest.raises(SnapshotCorrupt):
        build_report(session=session, kind="quarterly", period="2023Q1", now=at(date(2023, 6, 1)))


def test_a_quarter_still_running_cannot_be_issued(recorded: Engine) -> None:
    from scheduler.reports.build import issue_quarterly

    with session_scope(recorded, write=True) as session, pytest.raises(ReportUnavailable, match="尚未结束"):
        issue_quarterly(session=session, period="2023Q2", now=at(date(2023, 6, 1)), by="office")


def test_2025_goals_progress_against_pace(recorded: Engine) -> None:
    from scheduler.reports.goals import add_entry

    with session_scope(recorded, write=True) as session:
        for day, value in ((date(2023, 1, 1), 3500), (date(2023, 6, 30), 3800)):
            add_entry(
                session=session,
                goal_key="hightech",
                as_of=day,
                value=Decimal(value),
                source="市统计局",
                by="office",
                now=at(day),
            )
    report = build(recorded, "targets", "2023", date(2023, 6, 30))
    rows = {r["goal"]: r for r in report.table("goals").rows}
    assert len(rows) == 12
    # 181 of 1096 days of 2023–2025 elapsed → pace 16.51 %; derived: P1, P2, P4, C1, K1 are 科创项目 signings
    projects = rows["新招引科创项目"]
    assert (projects["value"], projects["progress"], projects["pace"], projects["unit"]) == (
        Decimal(5),
        0.15,
        16.51,
        "个",
    )
    assert rows["新增产学研合作"]["value"] == Decimal(1) and rows["省市级人才"]["progress"] == 0.25
    # stock: 3800 of 4300; pace from the baseline 3500 → (3500 + 800 × 181/1096) / 4300 = 84.47 %
    hightech = rows["高新技术企业总数"]
    assert (hightech["progress"], hightech["pace"], hightech["ahead"]) == (88.37, 84.47, 3.9)
    assert hightech["evidence"] == "市统计局" and hightech["as_of"] == "2023-06-30"
    assert rows["新增高价值专利"]["value"] is None and rows["新增高价值专利"]["evidence"] == "尚未录入"
    assert report.svg.count("<title") == 13 and "高新技术企业总数：完成 88.37%，序时 84.47%" in report.svg
