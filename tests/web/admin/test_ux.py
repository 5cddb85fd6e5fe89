"""Admin pages as the office reads them, over real HTTP: one navigation everywhere, attention cards, report pickers,
counts without decimals, names instead of keys, outbox order and subjects, /admin, empty leads, the public plan."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from scheduler.audit import AuditEntry
from scheduler.clock import FixedClock
from scheduler.config import Settings
from scheduler.db import session_scope
from scheduler.followups.models import FormRevision
from scheduler.followups.tasks import list_tasks
from scheduler.mail.models import OutboxMessage
from scheduler.plan.models import Occurrence
from scheduler.web.app import create_app
from scheduler.web.subscribe import where_text
from tests.factories.reports import DASHBOARD_NOW, at, prepare_dashboard
from tests.support.admin import signed_in_client
from tests.support.servers import run_uvicorn

ADMIN_PAGES = (
    "/",
    "/admin/cadence",
    "/admin/reports",
    "/admin/targets",
    "/admin/outbox",
    "/admin/tasks",
    "/admin/leads",
    "/admin/events/4",
    "/plan",
    "/subscribe",
)


def pending_mail(engine: Engine) -> None:
    """Two pending mails due in reverse insertion order, one of a kind nobody has labelled yet."""
    with session_scope(engine, write=True) as session:
        occ = session.exec(select(Occurrence).where(Occurrence.key == "04-1")).one()
        for kind, days in (("reminder", 9), ("kind_nobody_named", 2)):
            due = at(date(2023, 3, 20) + timedelta(days=days))
            session.add(
                OutboxMessage(
                    origin="reminders", kind=kind, subject=f"occurrence:{occ.id}", rule=f"r{days}",
                    occurrence_id=occ.id, recipient=f"p{days}@example.org", recipient_name="联络员",
                    state="pending", due_at=due, next_attempt_at=due,
                    created_at=DASHBOARD_NOW, updated_at=DASHBOARD_NOW,
                )
            )


@pytest.fixture
def office(seeded_engine: Engine, settings: Settings) -> Iterator[tuple[httpx.Client, Engine]]:
    prepare_dashboard(seeded_engine)
    pending_mail(seeded_engine)
    app = create_app(
        settings.model_copy(update={"base_url": "http://kjzs.test"}),
        clock=FixedClock(DASHBOARD_NOW),
        engine=seeded_engine,
    )
    with run_uvicorn(app, lifespan="off") as url:
        assert httpx.get(f"{url}/plan", timeout=10).status_code == 200
        client = signed_in_client(url)
        try:
            yield client, seeded_engine
        finally:
            client.close()


def nav_links(html: str) -> list[str]:
    nav = re.search(r"<nav>(.*?)</nav>", html, re.S)
    assert nav is not None
    return re.findall(r'href="([^"]+)"', nav.group(1))


def test_every_admin_page_has_the_same_navigation(office: tuple[httpx.Client, Engine]) -> None:
    client, _ = office
    navs = {path: nav_links(client.get(path).text) for path in ADMIN_PAGES}
    first = navs["/"]
    assert "/admin/tasks" in first and "/admin/leads" in first and "/admin/cadence" in first
    assert len(first) == len(set(first))  # nothing listed twice
    assert {p: n for p, n in navs.items() if n != first} == {}
    public = nav_links(httpx.get(f"{client.base_url}/plan", timeout=10).text)
    assert "/admin/tasks" not in public  # signed out: the public links only


def test_admin_root_redirects_home_and_dashboard_cards(office: tuple[httpx.Client, Engine]) -> None:
    client, engine = office
    root = client.get("/admin")
    assert root.status_code == 303 and root.headers["location"] == "/"
    home = client.get("/").text
    with session_scope(engine) as session:
        overdue = len(list_tasks(session=session, overdue_on=date(2023, 3, 20)))
    assert overdue >= 1
    card = re.search(r'<a class="card[^"]*" href="([^"]+)" data-testid="card-tasks-overdue">(.*?)</a>', home, re.S)
    assert card is not None and card.group(1) == "/admin/tasks?filter=overdue"
    assert re.sub(r"<[^>]+>", "", card.group(2)).split() == ["逾期跟进事项", str(overdue)]
    gaps = re.search(r'<ul data-testid="gaps">(.*?)</ul>', home, re.S)
    assert gaps is not None and gaps.group(1).count("<li>") == 10
    total = re.search(r"<strong>(\d+)</strong> 处预见空档", home)
    assert total is not None and int(total.group(1)) > 10
    assert f'<a href="/admin/cadence" data-testid="gaps-all">全部 {total.group(1)} 处预见空档见活动节奏</a>' in home
    assert "第1季度主题活动" in gaps.group(1)  # the closing theme window comes first, before month gaps


def test_reports_page_offers_pickers_and_hides_the_command_line(office: tuple[httpx.Client, Engine]) -> None:
    client, _ = office
    page = client.get("/admin/reports").text
    assert '<input type="month" name="period" value="2023-02" required>' in page
    assert '<option value="2023-03/04">2023 年 3–4 月</option>' in page
    assert len(re.findall(r'<option value="2023-\d\d/\d\d"', page)) == 6
    assert '<option value="2023Q4">2023 年第 4 季度</option>' in page
    assert page.count('type="number" name="period" value="2023"') == 2  # cadence and targets: a year
    assert "<table" not in page  # one card per report, no empty 「打开」 column
    before, _, details = page.partition("<details")
    assert "scheduler report" not in before and "<summary>命令行</summary>" in details
    assert client.get("/admin/reports/bimonthly", params={"period": "2023-02/03"}).status_code == 400  # unchanged


def test_targets_show_counts_as_integers_and_money_with_decimals(office: tuple[httpx.Client, Engine]) -> None:
    client, _ = office
    page = client.get("/admin/targets").text
    rows = {
        re.sub(r"<[^>]+>", "", m.group(1)): re.findall(r'<td class="num">([^<]*)</td>', m.group(2))
        for m in re.finditer(r"<tr><td>([^<]+)</td>(.*?)</tr>", page, re.S)
    }
    assert rows["新招引科创项目"][:2] == ["3,300", "1"]  # one project signed so far
    assert rows["技术合同成交额"][0] == "1,200.00"  # 亿元: money keeps two decimals
    assert ".00 个" not in page and "3,300.00" not in page


def _a_fix_date_revision(engine: Engine) -> None:
    """Store what a 定档 submission by 如皋's liaison leaves behind: its revision and its audit entry."""
    with session_scope(engine, write=True) as session:
        occ = session.exec(select(Occurrence).where(Occurrence.key == "04-1")).one()
        task = next(t for t in list_tasks(session=session) if t.occurrence_id == occ.id)
        old = {"status": "planned", "status_reason": None, "start_at": None, "end_at": None, "location": "无锡",
               "window_start": "2023-03-01", "window_end": "2023-03-31", "sequence": 0}
        new = {**old, "status": "fixed", "start_at": "2023-03-06T06:00:00+00:00",
               "end_at": "2023-03-06T09:00:00+00:00", "sequence": 1}
        session.add(FormRevision(task_id=task.id, action="fix_date", number=1, actor="rugao@example.org",
                                 actor_kind="link", created_at=at(date(2023, 1, 28)),
                                 data={"date": "2023-03-06", "start_time": "14:00", "end_time": "17:00",
                                       "place": "无锡"}))
        session.add(AuditEntry(at=at(date(2023, 1, 28)), actor="rugao@example.org", actor_kind="link",
                               action="fix_date.submit", entity="occurrence", entity_id=occ.id, task_id=task.id,
                               before={"data": old, "task": {"status": "open"}},
                               after={"data": new, "task": {"status": "done"}, "revision": 1}))


def test_timeline_and_outbox_speak_names_not_keys(office: tuple[httpx.Client, Engine]) -> None:
    client, engine = office
    _a_fix_date_revision(engine)
    timeline = client.get("/admin/events/4").text
    assert "负责：如皋市" in timeline and "负责：rugao" not in timeline
    assert "第 2 版" in timeline and "SEQUENCE" not in timeline  # held: SEQUENCE 1, the second version
    assert "邮件·kind_nobody_named" not in timeline and "<strong>邮件</strong>" in timeline
    # audit and revisions read as sentences: no Python dicts, no internal action names
    assert "{&#39;" not in timeline and "{'" not in timeline and "outcome.submit" not in timeline
    assert "填报修订" not in timeline and "变更·" not in timeline
    assert ("<strong>定档·第 1 次提交</strong> 如皋市联络员（rugao@example.org） 1月28日 提交定档：3月6日 "
            "14:00–17:00，地点 无锡") in timeline
    # the audit entry: 06:00–09:00 UTC is 14:00–17:00 in Shanghai; the place did not change, the status did
    assert ("<strong>定档</strong> 如皋市联络员（rugao@example.org） 1月28日 定档：3月6日 14:00–17:00，"
            "状态改为已定档") in timeline
    pending = client.get("/admin/outbox", params={"state": "pending"}).text
    recipients = re.findall(r"&lt;(p\d+@example.org)&gt;", pending)
    assert recipients == ["p2@example.org", "p9@example.org"]  # soonest first
    assert "kind_nobody_named" not in pending and "<td>邮件</td>" in pending
    assert '<td data-testid="topic"><a href="/admin/events/4">如皋—江南大学校企对接活动</a></td>' in pending
    sent = client.get("/admin/outbox", params={"state": "sent"}).text
    assert "如皋联络员" in sent


def test_leads_page_explains_where_leads_come_from(office: tuple[httpx.Client, Engine]) -> None:
    client, _ = office
    page = client.get("/admin/leads").text
    assert 'data-testid="leads-empty"' in page and "活动成效填报" in page


def test_plan_labels_cells_and_flags_passed_windows(office: tuple[httpx.Client, Engine]) -> None:
    client, _ = office
    page = httpx.get(f"{client.base_url}/plan", timeout=10).text
    assert '<link rel="stylesheet" href="/static/app.css">' in page  # the phone layout's cell labels live there
    assert 'content: attr(data-label)' in httpx.get(f"{client.base_url}/static/app.css", timeout=10).text
    row10 = re.search(r'<tr id="event-10".*?</tr>', page, re.S)  # 开发区 1-2月, nothing fixed by 03-20
    assert row10 is not None
    assert '<td data-label="主办单位">' in row10.group(0) and '<td data-label="活动类型">' in row10.group(0)
    assert "（计划·未定档，窗口已过）" in row10.group(0)
    row41 = re.search(r'<tr id="event-41".*?</tr>', page, re.S)  # December: still ahead
    assert row41 is not None and "窗口已过" not in row41.group(0) and "（计划）" in row41.group(0)


def test_where_text_names_each_host_and_place_once() -> None:
    assert where_text(["苏锡通园区"], "苏锡通园区") == "苏锡通园区"
    assert where_text(["如皋市", "如皋市"], "如皋") == "如皋市，如皋"
    assert where_text([], "") == ""
