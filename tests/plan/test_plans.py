"""Several plans side by side: a 2026 plan live on 2026-12-01, then the 2027 plan imported — nothing of 2026 is
cancelled, 2027's first 定档 requests appear, reports of any imported year resolve to their plan, and pages and
`plan show` choose the plan.

The 2026 and 2027 plans are the 2023 seed moved to those years (tests/factories/plans.py); expected dates are
worked out by hand from the seed's windows and the calendar (1 Dec 2026 is a Tuesday, 18 Dec a Friday).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from scheduler.cli import app as cli_app
from scheduler.clock import SHANGHAI, FixedClock
from scheduler.config import DEFAULT_SEED, Settings
from scheduler.contacts import read_contacts_file, replace_contacts
from scheduler.db import session_scope
from scheduler.followups.checklists import read_checklists
from scheduler.followups.models import Task, TaskKind
from scheduler.followups.sync import plan_followups
from scheduler.mail.kinds import MailKind
from scheduler.mail.models import OutboxMessage
from scheduler.plan.catalog import current_plan, get_organizations, plan_runs_on
from scheduler.plan.models import Occurrence, Plan
from scheduler.plan.occurrences import fix_occurrence
from scheduler.reminders.planner import RuleBook
from scheduler.reminders.preview import find_occurrence
from scheduler.reminders.sync import plan_and_sync
from scheduler.reports.build import ReportUnavailable, build_report
from scheduler.reports.mailing import wanted_report_mail
from scheduler.runtime import Runtime
from scheduler.web.app import create_app
from tests.factories.mail import EXAMPLE_CONTACTS
from tests.factories.plans import import_year
from tests.support.servers import run_uvicorn


def sh(day: date, hour: int = 9, minute: int = 0) -> datetime:
    """Return `day` at hour:minute in Shanghai."""
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI)


NOW = sh(date(2026, 12, 1))  # 09:00 on Tuesday 1 December 2026
PUBLISHED_2027 = date(2026, 11, 20)  # offices publish next year's plan in November–December
DECEMBER_FIX = (sh(date(2026, 12, 18), 14), sh(date(2026, 12, 18), 17))  # 41-1 of 2026, a Friday afternoon
JANUARY_STARTS = {"08-1", "09-1", "10-1", "47-1"}  # sessions whose window opens on 1 January (seed: 1-3月, 1-2月, 全年)


def live_2026(engine: Engine) -> None:
    """The 2026 plan imported at its notice, contacts loaded, 41-1 fixed for 18 December, 43-1 held on 12 November."""
    import_year(engine, 2026, sh(date(2026, 1, 22)))
    with session_scope(engine, write=True) as session:
        people = read_contacts_file(EXAMPLE_CONTACTS, organizations=get_organizations(session=session))
        replace_contacts(session=session, people=people, now=sh(date(2026, 1, 22)))
        fix_occurrence(session=session, occurrence=occurrence(session, "nantong-2026", "41-1"),
                       start_at=DECEMBER_FIX[0], end_at=DECEMBER_FIX[1], now=sh(date(2026, 11, 20), 10))
        held = occurrence(session, "nantong-2026", "43-1")
        held.start_at, held.end_at = sh(date(2026, 11, 12), 14), sh(date(2026, 11, 12), 17)
        held.status, held.sequence, held.updated_at = "held", held.sequence + 1, sh(date(2026, 11, 12), 18)


def occurrence(session: Session, plan_key: str, key: str) -> Occurrence:
    return session.exec(select(Occurrence).join(Plan).where(Plan.key == plan_key, Occurrence.key == key)).one()


def tick(engine: Engine, now: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run the reminders planner and the follow-up sync once at `now`; return their reports."""
    with session_scope(engine, write=True) as session:
        mail = plan_and_sync(session=session, rules=RuleBook(), now=now).as_dict()
        tasks = plan_followups(session=session, templates=read_checklists(Settings().checklist_file), now=now)
    return mail, tasks.as_dict()


def rows(engine: Engine) -> dict[int, OutboxMessage]:
    with session_scope(engine) as session:
        return {m.id or 0: m for m in session.exec(select(OutboxMessage))}


def tasks(engine: Engine) -> dict[int, Task]:
    with session_scope(engine) as session:
        return {t.id or 0: t for t in session.exec(select(Task))}


def occurrence_keys(engine: Engine, plan_key: str) -> dict[int, str]:
    with session_scope(engine) as session:
        return {o.id or 0: o.key for o in session.exec(select(Occurrence).join(Plan).where(Plan.key == plan_key))}


def bankuai_count() -> int:
    """Count the seed's 板块 (districts and parks that are not groups): each gets one weekly 洽谈 task a week."""
    orgs = json.loads(DEFAULT_SEED.read_text(encoding="utf-8"))["organizations"]
    return sum(1 for o in orgs if o["kind"] in ("district", "park") and not o.get("members"))


def test_importing_next_years_plan_cancels_nothing_of_this_year(engine: Engine) -> None:
    live_2026(engine)
    tick(engine, NOW)
    before_rows, before_tasks = rows(engine), tasks(engine)
    pending = {i for i, m in before_rows.items() if m.state == "pending"}
    open_tasks = {i for i, t in before_tasks.items() if t.status == "open"}
    occ_2026 = occurrence_keys(engine, "nantong-2026")
    december = {m.rule: (m.state, m.due_at) for m in before_rows.values()
                if m.kind == MailKind.REMINDER and occ_2026.get(m.occurrence_id or 0) == "41-1"}
    assert set(december) == {"remind-7d:2026-12-18", "remind-1d:2026-12-18"}
    assert pending and open_tasks and {t.kind for t in before_tasks.values()} >= {"fix_date", "outcome"}

    import_year(engine, 2027, NOW, published=PUBLISHED_2027)
    mail, followups = tick(engine, NOW)

    after_rows, after_tasks = rows(engine), tasks(engine)
    assert mail["cancelled"] == 0 and followups["tasks_cancelled"] == 0 and followups["mail"]["cancelled"] == 0
    assert {i for i in pending if after_rows[i].state != "pending"} == set(), "no 2026 row is cancelled"
    assert {i for i in open_tasks if after_tasks[i].status != "open"} == set(), "no 2026 task is cancelled"
    december_after = {m.rule: (m.state, m.due_at) for m in after_rows.values()
                      if m.kind == MailKind.REMINDER and occ_2026.get(m.occurrence_id or 0) == "41-1"}
    assert december_after == {  # 7 days and 1 day before, 09:00 Shanghai, still waiting to go out
        "remind-7d:2026-12-18": ("pending", sh(date(2026, 12, 11)).astimezone(UTC)),
        "remind-1d:2026-12-18": ("pending", sh(date(2026, 12, 17)).astimezone(UTC)),
    }
    # 2027's first 定档 requests: 30 days before the windows opening on 1 January, i.e. 2 December 09:00.
    occ_2027 = occurrence_keys(engine, "nantong-2027")
    requests = [m for m in after_rows.values() if m.kind == MailKind.FIX_REQUEST and m.occurrence_id in occ_2027]
    first_due = min(m.due_at for m in requests)
    assert first_due == sh(date(2026, 12, 2)).astimezone(UTC)
    assert {occ_2027[m.occurrence_id or 0] for m in requests if m.due_at == first_due} == JANUARY_STARTS
    fix_tasks = {occ_2027[t.occurrence_id or 0]: t for t in after_tasks.values()
                 if t.kind == TaskKind.FIX_DATE and t.occurrence_id in occ_2027}
    assert {k for k, t in fix_tasks.items() if t.opens_on == date(2026, 12, 2) and t.status == "open"} == JANUARY_STARTS
    # Weekly 洽谈 is one series per 板块: Mondays 26 Jan (after 2026's notice) to 7 Dec (a week ahead), not two.
    weekly = [t for t in after_tasks.values() if t.kind == TaskKind.NEGOTIATION]
    assert len(weekly) == 46 * bankuai_count() and len({t.key for t in weekly}) == len(weekly)
    assert min(t.period_start for t in weekly if t.period_start) == date(2026, 1, 26)
    assert not [t for t in after_tasks.values() if t.id not in before_tasks and t.occurrence_id not in occ_2027]


def test_a_plan_that_stopped_running_keeps_its_open_tasks(engine: Engine) -> None:
    live_2026(engine)
    tick(engine, NOW)
    import_year(engine, 2027, NOW, published=PUBLISHED_2027)
    occ_2026 = occurrence_keys(engine, "nantong-2026")
    open_2026 = {i for i, t in tasks(engine).items() if t.status == "open" and t.occurrence_id in occ_2026}
    _mail, followups = tick(engine, sh(date(2027, 4, 1)))  # 2026 ran until 31 March 2027
    assert followups["tasks_cancelled"] == 0
    assert {i for i in open_2026 if tasks(engine)[i].status != "open"} == set()


@pytest.mark.parametrize(
    ("year", "day", "runs"),
    [(2023, date(2022, 9, 30), False), (2023, date(2022, 10, 1), True),
     (2023, date(2024, 3, 31), True), (2023, date(2024, 4, 1), False),  # 2024 is a leap year: still 31 March
     (2027, date(2026, 12, 1), True), (2026, date(2027, 3, 31), True), (2026, date(2027, 4, 1), False)],
)
def test_a_plan_runs_from_october_before_to_march_after_its_year(year: int, day: date, runs: bool) -> None:
    plan = Plan(key=f"nantong-{year}", year=year, title="", source="", published=date(year, 1, 22),
                created_at=NOW, updated_at=NOW)
    assert plan_runs_on(plan, day) is runs


def three_years(engine: Engine) -> None:
    live_2026(engine)
    import_year(engine, 2023, sh(date(2023, 1, 22)))
    import_year(engine, 2027, NOW, published=PUBLISHED_2027)
    tick(engine, NOW)


def units(report: Any, column: str) -> dict[str, Any]:
    return {r["unit"]: r[column] for r in report.table("units").rows if r[column]}


def test_reports_of_any_imported_year_resolve_to_their_plan(engine: Engine) -> None:
    three_years(engine)
    with session_scope(engine) as session:
        nov_2026 = build_report(session=session, kind="monthly", period="2026-11", now=NOW)
        nov_2023 = build_report(session=session, kind="monthly", period="2023-11", now=NOW)
        q1_2027 = build_report(session=session, kind="quarterly", period="2027Q1", now=NOW)
        refused = "2025 年没有导入计划：期间 '2025-03' 不在计划年度 2023、2026、2027 内"
        with pytest.raises(ReportUnavailable, match=refused):
            build_report(session=session, kind="monthly", period="2025-03", now=NOW)
        current = current_plan(session=session, today=NOW.date())
        assert current is not None and current.key == "nantong-2026"
    # November in the seed: 43-1 如东, 44-1 启东, 45-1 崇川, 46-1 通州, 48-1 and 48-2 南通创新区.
    planned = {"如东县": 1, "启东市": 1, "崇川区": 1, "通州区": 1, "南通创新区": 2, "合计": 6}
    assert units(nov_2026, "planned") == planned and units(nov_2023, "planned") == planned
    # Only 2026's 43-1 was held.
    assert units(nov_2026, "held") == {"如东县": 1, "合计": 1} and units(nov_2023, "held") == {}
    assert "2026年11月" in nov_2026.title and "2023年11月" in nov_2023.title
    assert q1_2027.period == "2027Q1" and all(not r.get("held") for t in q1_2027.tables for r in t.rows)


def test_the_report_mail_for_december_uses_the_plan_of_december(engine: Engine) -> None:
    live_2026(engine)
    import_year(engine, 2027, NOW, published=PUBLISHED_2027)
    with session_scope(engine) as session:
        wanted = wanted_report_mail(session=session, now=sh(date(2027, 1, 1), 0, 30), base_url="http://kjzs.test")
        none_yet = wanted_report_mail(session=session, now=sh(date(2026, 1, 5)), base_url="http://kjzs.test")
    assert {w.context["period"] for w in wanted} == {"2026-12"} and len(wanted) == 2  # the office's two contacts
    assert {w.due_at for w in wanted} == {sh(date(2027, 1, 1))}
    assert none_yet == []  # December 2025 has no plan


def test_the_preview_finds_the_occurrence_in_its_own_plan(engine: Engine) -> None:
    live_2026(engine)
    import_year(engine, 2027, NOW, published=PUBLISHED_2027)
    with session_scope(engine) as session:
        plans = {p.id: p.key for p in session.exec(select(Plan))}

        def plan_of(key: str, now: datetime, plan_key: str | None = None) -> str:
            occ = find_occurrence(session=session, occurrence=key, now=now, plan_key=plan_key)
            assert occ is not None
            return plans[occ.plan_id]

        assert plan_of("41-1", NOW) == "nantong-2026"
        assert plan_of("41-1", NOW, "nantong-2027") == "nantong-2027"
        assert plan_of("41-1", sh(date(2027, 2, 1))) == "nantong-2027"
        assert find_occurrence(session=session, occurrence="41-1", now=NOW, plan_key="nantong-2023") is None


def test_cli_chooses_the_plan_and_reports_reach_every_year(engine: Engine, settings: Settings) -> None:
    three_years(engine)
    runner = CliRunner()

    def cli(*args: str) -> Any:
        return runner.invoke(cli_app, list(args), obj=Runtime(settings, engine=engine, clock=FixedClock(NOW)))

    shown = cli("plan", "show")
    assert shown.exit_code == 0
    assert shown.output.splitlines()[0] == "2026年科技招商活动安排表（nantong-2026，2026 年度）"
    chosen = cli("plan", "show", "--plan", "nantong-2027", "--json")
    assert chosen.exit_code == 0
    rows_2027 = {r["seq"]: r for r in json.loads(chosen.output)}
    assert rows_2027[41]["sessions"][0]["uid"] == "nantong-2027-41-1@kjzs-scheduler"
    assert rows_2027[41]["sessions"][0]["window"] == "2027年12月"
    unknown = cli("plan", "show", "--plan", "shanghai-2027")
    assert unknown.exit_code == 2
    assert "没有计划 'shanghai-2027'（已有：nantong-2027、nantong-2026、nantong-2023）" in unknown.output
    old = cli("report", "monthly", "--period", "2023-11", "--format", "json")
    assert old.exit_code == 0, old.output
    assert json.loads(old.output)["period"] == "2023-11"
    assert "2026 年尚未设置年度目标" in cli("targets", "show").output


class Page:
    """The parts of a page these tests read: the h1, the plan's session texts, the selector's options."""

    def __init__(self, html: str) -> None:
        import re

        self.h1 = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S).group(1).strip()  # type: ignore[union-attr]
        self.sessions = re.findall(r'<li data-session="[^"]+">\s*([^<·]+?) ·', html)
        self.options = re.findall(r'<option value="([^"]+)"( selected)?>', html)


def test_pages_show_the_chosen_plan_over_real_http(engine: Engine, settings: Settings) -> None:
    three_years(engine)
    app = create_app(settings, clock=FixedClock(NOW), engine=engine)
    with run_uvicorn(app, lifespan="off") as url, httpx.Client(base_url=url, timeout=30) as http:
        default, p2027, p2023 = (Page(http.get("/plan", params=q).text) for q in ({}, {"plan": "nantong-2027"},
                                                                                  {"plan": "nantong-2023"}))
        missing = http.get("/plan", params={"plan": "nantong-2030"})
        home, home_2027 = http.get("/").text, http.get("/", params={"plan": "nantong-2027"}).text
    assert [default.h1, p2027.h1, p2023.h1] == [f"{y}年科技招商活动安排表" for y in (2026, 2027, 2023)]
    assert default.options == [("nantong-2027", ""), ("nantong-2026", " selected"), ("nantong-2023", "")]
    assert p2027.options[0] == ("nantong-2027", " selected")
    for page, year in ((default, 2026), (p2027, 2027), (p2023, 2023)):
        assert len(page.sessions) == 61 and all(s.startswith(str(year)) for s in page.sessions), page.sessions[:3]
    assert "2026-12-18 14:00–17:00" in default.sessions  # the fixed 41-1 of 2026 only
    assert missing.status_code == 404 and "没有计划 'nantong-2030'" in missing.text
    assert "2026 年 12 月活动日历" in home and "两院专家走进海安主题活动" in home
    assert "2027 年 1 月活动日历" in home_2027 and 'href="/?month=2027-02&amp;plan=nantong-2027"' in home_2027


def test_the_current_plan_follows_the_clock(engine: Engine) -> None:
    import_year(engine, 2026, sh(date(2026, 1, 22)))
    import_year(engine, 2027, NOW, published=PUBLISHED_2027)
    with session_scope(engine) as session:
        picks = {day: current_plan(session=session, today=day) for day in
                 (date(2026, 12, 31), date(2027, 1, 1), date(2029, 6, 1), date(2025, 11, 1))}
    assert {d: p.key if p else None for d, p in picks.items()} == {
        date(2026, 12, 31): "nantong-2026", date(2027, 1, 1): "nantong-2027",
        date(2029, 6, 1): "nantong-2027",  # nothing runs: the newest
        date(2025, 11, 1): "nantong-2026",  # only 2026 runs (from 1 October 2025)
    }
