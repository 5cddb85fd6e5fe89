"""Dashboard over real HTTP: public home vs administrator home, sign-in required, CSRF, every admin page renders."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy.engine import Engine

from scheduler.clock import FixedClock
from scheduler.config import Settings
from scheduler.web.app import create_app
from tests.factories.reports import DASHBOARD_NOW, prepare_dashboard
from tests.support.admin import signed_in_client
from tests.support.dbstate import dump_database
from tests.support.servers import run_uvicorn


@pytest.fixture
def site(seeded_engine: Engine, settings: Settings) -> Iterator[str]:
    prepare_dashboard(seeded_engine)
    app = create_app(
        settings.model_copy(update={"base_url": "http://kjzs.test"}),
        clock=FixedClock(DASHBOARD_NOW),
        engine=seeded_engine,
    )
    with run_uvicorn(app, lifespan="off") as url:
        yield url


def visible_text(html: str) -> str:
    html = re.sub(r"<(style|script|svg)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# What each report page must show for prepare_dashboard's data, worked out by hand:
# 崇川区 plans row 7 in February and its outcome report for 07-1 (due 27 Feb) is overdue by 28 Feb; 南通开发区's
# row 10 (1-2月) counts in February; 如皋 held 04-1 on 6 March and filed on 10 March (due 13 March), so in Q1 it
# scores 活动举办 12 + 及时率 8 = 20; weeks from 23 Jan: 5 check-in weeks missed by 28 Feb (27 Feb's is due 6 March);
# 2025 goals: 1 signed project of 3,300 = 0.03 %, and 20 March is day 79 of 1,096 (2023–2025) = 7.21 %.
REPORT_PAGES = (
    ("monthly", "2023-02", ["2023年2月科技招商月度跟踪", "数据截至 2023-02-28", "崇川区 1 0 1 0 0 1 0 0.00 0 0.00",
                            "南通开发区 1 0 1 0 0 0 0 0.00", "如皋市 0 0 0 0 0 0 0 0.00"]),
    ("bimonthly", "2023-01/02", ["2023年1-2月科技招商双月点评", "数据截至 2023-02-28",
                                 "崇川区 1 0 0 0.00 0 — — 16.67 — 1 5", "海安市 0 0 0 0.00 0 — — 16.67 — 0 5"]),
    ("quarterly", "2023Q1", ["2023年第一季度科技招商季度考核", "数据截至 2023-03-20",
                             "1 如皋市 0.00 0.00 0.00 12.00 8.00 0.00 20.00 0.00 20.00",
                             # 如皋's 活动举办: 1 of 1 held, weight 12 → 12 points
                             "如皋市 活动举办 1 1 100.00 100.00 12.00 12.00 12.00",
                             # 海安 has nothing due for 活动/及时率: 不适用, and 签约项目's 30 of the 80 left is 37.50
                             "海安市 活动举办 0 0 — 不适用 12.00 不适用 不适用",
                             "海安市 签约项目 0 未设目标 — 0.00 30.00 37.50 0.00"]),
    ("cadence", "2023", ["数据截至 2023-03-20",
                         "1 科技成果 东部中心 南通重点产业链科技成果对接洽谈会 窗口将关闭仍未定档 2023-03-31",
                         "全市 未举办 未举办 已举办 计划内（待定档）"]),
    ("targets", "2023", ["2025 年科技招商发展目标进度", "今日为 7.21%", "新招引科创项目 3,300 个 2023–2025 累计新增",
                         "1 2023-03-20 0.03 7.21 -7.18"]),
)


def test_public_and_admin_views(site: str, seeded_engine: Engine) -> None:
    public = httpx.get(f"{site}/", timeout=10)
    assert public.status_code == 200 and 'data-testid="calendar"' in public.text and "需要关注" not in public.text
    assert "550 用户不存在" not in public.text and 'href="/events/4"' in public.text  # public links only
    for path in ("/admin/cadence", "/admin/reports", "/admin/events/4", "/admin/targets", "/admin/outbox"):
        answer = httpx.get(f"{site}{path}", timeout=10)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login?next=")
    client = signed_in_client(site)
    try:
        home = client.get("/").text
        assert "窗口将关闭" in home and "东部中心 南通重点产业链科技成果对接洽谈会" in home  # Q1 theme closes 03-31
        assert "崇川（上海）战略性新兴产业发展大会" in home and "550 用户不存在" in home
        assert 'href="/admin/events/4"' in home
        # the year at a glance (prepare_dashboard, 20 March): 04-1 held on 6 March with one 300 万元 project; its
        # report filed on time, 崇川's 07-1 report overdue → 1 of 2 due on time; no targets stored
        assert "活动已举办 <strong>1</strong>" in home and "成效按时填报 <strong>1</strong> / 到期 2 份" in home
        assert "签约项目 <strong>1</strong> 个，300.00 万元；尚未设定年度目标" in home
        assert "<title>3月已举办 1 场</title>" in home and "<title>4月已举办 0 场</title>" in home
        # per 板块, January–March: 如皋 04-1 held (1/1); 南通创新区 11-1 and 12-1 not yet (0/2); 海安 none planned
        assert "<title>如皋市 已举办 1/1</title>" in home and "<title>南通创新区 已举办 0/2</title>" in home
        assert "<title>海安市 已举办 尚无到期计划</title>" in home
        assert 'data-testid="fig-units"' in home and 'data-testid="fig-months"' in home  # the same, as tables
        # every attention item has its action: 崇川's overdue outcome report can be chased or filed on its behalf
        overdue = home.split('data-testid="overdue"', 1)[1].split("</table>", 1)[0]
        task_id = re.search(r'action="/admin/tasks/(\d+)/resend"', overdue).group(1)  # type: ignore[union-attr]
        assert "崇川区" in overdue and "催办" in overdue and "代为填报" in overdue
        assert f'href="/admin/tasks/{task_id}/form"' in overdue
        token = re.search(r'name="csrf_token" value="([^"]+)"', overdue).group(1)  # type: ignore[union-attr]
        chased = client.post(f"/admin/tasks/{task_id}/resend", data={"csrf_token": token})
        assert chased.status_code == 303 and chased.headers["location"].startswith(f"/admin/tasks/{task_id}?sent=")
        timeline = client.get("/admin/events/4").text
        assert "邮件·活动提醒" in timeline and "任务·成效填报" in timeline and "计入本场" in timeline
        assert "校企项目&lt;script&gt;" in timeline and "<script>" not in timeline
        for kind, period, expected in REPORT_PAGES:
            page = client.get(f"/admin/reports/{kind}", params={"period": period})
            assert page.status_code == 200, (kind, page.text[:300])
            shown = visible_text(page.text)
            for needle in expected:
                assert needle in shown, (kind, needle)
        bad = client.get("/admin/reports/monthly", params={"period": "2023-13"})
        assert bad.status_code == 400 and "月份 13 无效" in bad.text
        xlsx = client.get("/admin/reports/monthly", params={"period": "2023-03", "format": "xlsx"})
        assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
        # RFC 6266: the Chinese name percent-encoded in filename*, an ASCII fallback in filename
        assert xlsx.headers["content-disposition"] == (
            "attachment; filename=\"monthly-2023-03.xlsx\"; filename*=UTF-8''"
            + quote("2023年3月科技招商月度跟踪.xlsx", safe="")
        )
        docx = client.get("/admin/reports/bimonthly", params={"period": "2023-03/04", "format": "docx"})
        assert docx.status_code == 200 and docx.content.startswith(b"PK")
        assert quote("2023年3-4月科技招商双月点评.docx", safe="") in docx.headers["content-disposition"]
        assert client.get("/admin/outbox", params={"state": "failed"}).text.count("bad@example.org") == 1
        before = dump_database(seeded_engine)
        refused = client.post(
            "/admin/reviews/items", data={"period": "2023-03/04", "unit": "rugao", "text": "x", "csrf_token": "forged"}
        )
        assert refused.status_code == 403
        assert dump_database(seeded_engine) == before  # refused: nothing written
    finally:
        client.close()


def form_token(client: httpx.Client, path: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)  # type: ignore[union-attr]


def test_office_forms_record_notes_items_and_issue_once(seeded_engine: Engine, settings: Settings) -> None:
    prepare_dashboard(seeded_engine)
    app = create_app(
        settings.model_copy(update={"base_url": "http://kjzs.test"}),
        clock=FixedClock(datetime(2023, 4, 3, 2, 0, tzinfo=UTC)),
        engine=seeded_engine,
    )
    with run_uvicorn(app, lifespan="off") as url:
        client = signed_in_client(url)
        try:
            page = "/admin/reports/bimonthly?period=2023-03%2F04"
            token = form_token(client, page)
            common = {"csrf_token": token, "period": "2023-03/04", "unit": "rugao"}
            assert client.post("/admin/reviews/note", data={**common, "text": "进度偏慢<b>"}).status_code == 303
            assert client.post("/admin/reviews/items", data={**common, "text": "补报成效"}).status_code == 303
            too_long = client.post("/admin/reviews/items", data={**common, "text": "长" * 2001})
            assert too_long.status_code == 400 and "过长" in too_long.text
            shown = client.get(page).text
            assert "进度偏慢&lt;b&gt;" in shown and "补报成效" in shown
            later = client.get("/admin/reports/bimonthly", params={"period": "2023-05/06"}).text
            assert "补报成效" in later  # still open: carried over
            quarterly = {"csrf_token": token, "period": "2023Q1"}
            added = client.post(
                "/admin/assessments/adjustments",
                data={**quarterly, "unit": "haian", "points": "-1.5", "reason": "迟报"},
            )
            assert added.status_code == 303
            assert client.post("/admin/assessments/issue", data=quarterly).status_code == 303
            issued = client.get("/admin/reports/quarterly", params={"period": "2023Q1"}).text
            assert "发布并冻结" in issued and "由 office 发布" in issued and "-1.50" in issued
            again = client.post("/admin/assessments/issue", data=quarterly)
            assert again.status_code == 409 and "不能重复发布" in again.text
            late = client.post(
                "/admin/assessments/adjustments", data={**quarterly, "unit": "haian", "points": "3", "reason": "补"}
            )
            assert late.status_code == 409
        finally:
            client.close()
