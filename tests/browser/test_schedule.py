"""Scheduling in real headless Chromium at phone width, without JavaScript for the host: a Sunday is refused, a
day 市科技局 is busy is warned about and confirmed; the office publishes on the 排期建议 board and the next host's
定档 page offers the suggested day."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from scheduler.clock import FixedClock
from scheduler.db import session_scope
from scheduler.plan.occurrences import fix_occurrence, get_occurrence
from scheduler.web.app import create_app
from tests.factories.followups import T_MARCH, issue, plan, settings
from tests.support.admin import PASSWORD, add_admin
from tests.support.browser import ARGS, CHROMIUM, OVERFLOW, sign_in_at, watch
from tests.support.servers import run_uvicorn


@pytest.mark.browser
@pytest.mark.timeout(180)
def test_host_refused_warned_confirms_and_office_publishes(mail_engine: Engine, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    plan(mail_engine, T_MARCH)
    add_admin(mail_engine)
    with session_scope(mail_engine, write=True) as session:  # 市科技局's 3月 高校院所 session: Tuesday 3-14
        other = get_occurrence(session=session, key="02-2")
        assert other is not None
        fix_occurrence(session=session, occurrence=other, start_at=datetime(2023, 3, 14, 1, 30, tzinfo=UTC),
                       end_at=None, now=T_MARCH)
    fix1 = issue(mail_engine, "fix:occ:1", T_MARCH)  # 序号 1 (01-1), hosted by 市科技局, window 2–3月
    fix12 = issue(mail_engine, "fix:occ:12", T_MARCH, recipient="cxq.lianluo@example.org")  # 11-1, 上海, 3月
    app = create_app(settings(tmp_path), clock=FixedClock(T_MARCH), engine=mail_engine)
    problems: list[str] = []
    with run_uvicorn(app, lifespan="off") as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        host = browser.new_page(viewport={"width": 390, "height": 844}, java_script_enabled=False)
        watch(host, url, problems)
        host.goto(f"{url}/o/{fix1}")
        host.fill("input[name=date]", "2023-03-12")
        host.fill("input[name=start_time]", "14:00")
        host.click("button[name=submit]")
        assert "该日期不能选：3月12日（星期日）是周末" in host.content()
        assert host.locator("input[name=confirm]").count() == 0
        host.fill("input[name=date]", "2023-03-14")
        host.click("button[name=submit]")
        assert "市科技局3月14日（星期二）已有活动：序号 2" in host.locator("[data-testid=fix-findings]").inner_text()
        assert host.evaluate(OVERFLOW) == 0
        host.check("input[name=confirm]")
        host.click("button[name=submit]")
        assert "已提交" in host.content()

        office = browser.new_page(viewport={"width": 390, "height": 844})
        watch(office, url, problems)
        sign_in_at(office, url, "/admin/schedule/board?plan=nantong-2023", PASSWORD)
        assert office.evaluate(OVERFLOW) == 0  # the board scrolls inside its box, not the page
        assert "（已定档）" in office.locator("[data-testid=board]").inner_text()
        office.click("[data-testid=publish] button")
        office.wait_for_selector("[data-testid=done]")
        assert "已发布第 1 版建议" in office.locator("[data-testid=done]").inner_text()

        host.goto(f"{url}/o/{fix12}")
        suggestion = host.locator("[data-testid=fix-suggestion]").inner_text()
        assert suggestion.startswith("领导小组办公室建议 3月") and "已预填" in suggestion
        assert host.input_value("input[name=date]").startswith("2023-03-")
        browser.close()
    # The two refused submissions answer 422 (Chromium logs that); nothing else went wrong or left the server.
    assert [p for p in problems if "status of 422" not in p] == [] and len(problems) == 2
