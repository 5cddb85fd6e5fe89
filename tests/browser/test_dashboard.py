"""The dashboard in real headless Chromium: sign in, alerts, an event timeline, a report download, the heatmap."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy.engine import Engine

from scheduler.clock import FixedClock
from scheduler.config import PROJECT_ROOT, Settings
from scheduler.web.app import create_app
from tests.factories.reports import DASHBOARD_NOW, prepare_dashboard
from tests.support.admin import PASSWORD
from tests.support.browser import ARGS, CHROMIUM
from tests.support.servers import run_uvicorn

SHOTS = PROJECT_ROOT / "test-artifacts" / "screenshots"


@pytest.mark.browser
def test_dashboard_in_chromium(seeded_engine: Engine, tmp_path: Path, settings: Settings) -> None:
    from playwright.sync_api import sync_playwright

    prepare_dashboard(seeded_engine)
    SHOTS.mkdir(parents=True, exist_ok=True)
    app = create_app(
        settings.model_copy(update={"base_url": "http://kjzs.test"}),
        clock=FixedClock(DASHBOARD_NOW),
        engine=seeded_engine,
    )
    problems: list[str] = []
    with run_uvicorn(app, lifespan="off") as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("request", lambda r: None if r.url.startswith(url) else problems.append(f"foreign {r.url}"))

        page.goto(f"{url}/admin/cadence")  # signed out: sent to sign in, then back
        page.fill("input[name=username]", "office")
        page.fill("input[name=password]", PASSWORD)
        page.click("form.login button[type=submit]")
        page.wait_for_url(f"{url}/admin/cadence")
        heatmap = page.locator("[data-testid=heatmap-month]")
        box = heatmap.bounding_box()
        assert box is not None and box["width"] > 400
        assert heatmap.locator("rect[data-state]").count() == 12 * 12
        assert page.locator("[data-testid=heatmap-week] rect[data-state=missed]").count() > 0
        assert page.locator("table[data-table=months]").inner_text().count("预见空档") > 10  # the text fallback
        page.screenshot(path=str(SHOTS / "dashboard-cadence.png"), full_page=True)

        page.goto(f"{url}/")
        attention = page.locator("[data-testid=attention]")
        assert "窗口将关闭" in attention.inner_text() and "发送失败" in attention.inner_text()
        assert page.locator("[data-testid=failed-mail]").inner_text().count("bad@example.org") == 1
        page.screenshot(path=str(SHOTS / "dashboard-home.png"), full_page=True)

        page.locator("[data-testid=calendar] a", has_text="如皋—江南大学校企对接活动").first.click()
        page.wait_for_url(f"{url}/admin/events/4")
        timeline = page.locator("[data-testid=timeline]").first.inner_text()
        assert "邮件·活动提醒" in timeline and "任务·成效填报" in timeline
        page.screenshot(path=str(SHOTS / "dashboard-event-timeline.png"), full_page=True)

        page.goto(f"{url}/admin/reports")
        page.fill("form[action='/admin/reports/monthly'] input[name=period]", "2023-03")
        page.click("[data-testid=open-monthly]")
        page.wait_for_selector("table[data-table=units]")
        page.screenshot(path=str(SHOTS / "dashboard-report-monthly.png"), full_page=True)
        with page.expect_download() as info:
            page.click("[data-testid=download-xlsx]")
        saved = tmp_path / info.value.suggested_filename
        info.value.save_as(saved)
        rows = list(load_workbook(saved)["各板块月度跟踪"].iter_rows(values_only=True))
        assert any(r[0] == "如皋市" and r[9] == 1 for r in rows)  # one signed project so far this year
        browser.close()
    assert problems == []
