"""The link forms in real headless Chromium: add project rows without JavaScript, submit, see the confirmation;
screenshots of every form at phone and desktop width go to test-artifacts/screenshots/."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from scheduler.clock import FixedClock
from scheduler.config import PROJECT_ROOT
from scheduler.db import session_scope
from scheduler.outcomes.models import ProjectRow
from scheduler.web.app import create_app
from tests.factories.followups import T_MARCH, issue, outcome_form, plan, post_form, settings
from tests.support.browser import ARGS, CHROMIUM
from tests.support.servers import run_uvicorn

SHOTS = PROJECT_ROOT / "test-artifacts" / "screenshots"
WIDTHS = {"phone": (390, 844), "desktop": (1280, 900)}


@pytest.mark.browser
def test_forms_in_chromium_add_rows_submit_and_screenshots(mail_engine: Engine, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    plan(mail_engine, T_MARCH)
    links = {
        "fix_date": issue(mail_engine, "fix:occ:14", T_MARCH),
        "outcome": issue(mail_engine, "outcome:occ:5", T_MARCH),
        "negotiation": issue(mail_engine, "negotiation:rugao:2023-03-06", T_MARCH),
        "checklist": None,
        "lead_checkin": None,
    }
    SHOTS.mkdir(parents=True, exist_ok=True)
    app = create_app(settings(tmp_path), clock=FixedClock(T_MARCH), engine=mail_engine)
    with run_uvicorn(app, lifespan="off") as url, sync_playwright() as pw:
        # A report with a signed project gives 如皋 a lead to update, and its fixed date a checklist.
        with httpx.Client(base_url=url) as client:
            assert post_form(client, f"/o/{issue(mail_engine, 'outcome:occ:6', T_MARCH)}",
                             outcome_form(**{"p-0-bankuai": "rugao"})).status_code == 200
            fix12 = issue(mail_engine, "fix:occ:12", T_MARCH, recipient="cxq.lianluo@example.org")
            assert post_form(client, f"/o/{fix12}", {"date": "2023-03-28", "start_time": "09:30",
                                                     "place": "南通创新区"}).status_code == 200
        plan(mail_engine, T_MARCH)
        plan(mail_engine, T_MARCH + timedelta(days=25))
        links["checklist"] = issue(mail_engine, "checklist:occ:12:venue", T_MARCH)
        links["lead_checkin"] = issue(mail_engine, "leads:rugao:2023-04", T_MARCH)
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        foreign: list[str] = []
        for name, (width, height) in WIDTHS.items():
            page = browser.new_page(viewport={"width": width, "height": height})
            page.on("request", lambda r: None if r.url.startswith(url) else foreign.append(r.url))
            for action, token in links.items():
                page.goto(f"{url}/o/{token}")
                assert page.locator("[data-testid=task-form]").count() == 1, action
                page.screenshot(path=str(SHOTS / f"{action}-{name}.png"), full_page=True)
            page.close()

        page = browser.new_page(viewport={"width": 390, "height": 844}, java_script_enabled=False)
        page.goto(f"{url}/o/{links['outcome']}")
        assert page.locator("[data-testid=project-row]").count() == 3
        page.fill("input[name=filer_name]", "张三")
        page.fill("input[name=actual_date]", "2023-03-09")
        page.fill("input[name=actual_place]", "无锡")
        page.fill("input[name=attendees]", "80")
        page.fill("input[name=companies]", "30")
        for i in range(3):
            page.fill(f"input[name=p-{i}-name]", f"项目{i + 1}")
            page.select_option(f"select[name=p-{i}-category]", "科创项目")
            page.select_option(f"select[name=p-{i}-sign_form]", "协议")
            page.fill(f"input[name=p-{i}-amount]", "100")
        page.click("[data-testid=add-rows]")
        assert page.locator("[data-testid=project-row]").count() == 6, page.content()[:3000]
        assert page.input_value("input[name=p-2-name]") == "项目3", "what was typed is kept"
        page.fill("input[name=p-3-name]", "项目4")
        page.select_option("select[name=p-3-category]", "平台载体")
        page.select_option("select[name=p-3-sign_form]", "合同")
        page.fill("input[name=p-3-amount]", "250.5")
        page.check("input[name=p-3-on_site]")
        page.click("button[name=submit]")
        confirmation = page.locator("[data-testid=confirmation]")
        assert "已提交" in confirmation.inner_text() and "签约总额 550.50 万元" in confirmation.inner_text()
        page.screenshot(path=str(SHOTS / "outcome-confirmation-phone.png"), full_page=True)
        browser.close()
    assert foreign == []
    with session_scope(mail_engine) as session:
        rows = session.exec(select(ProjectRow).where(ProjectRow.occurrence_id == 5)).all()
    assert [r.name for r in rows] == ["项目1", "项目2", "项目3", "项目4"] and rows[3].signed_on_site
    assert {p.name for p in SHOTS.glob("*.png")} >= {f"{a}-{w}.png" for a in links for w in WIDTHS}
