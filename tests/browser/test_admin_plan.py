"""The activity editor in real headless Chromium on a 390 px phone: change a session's place and save; the page
fits the screen at 390 and 1280 px; screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from scheduler.clock import FixedClock
from scheduler.config import PROJECT_ROOT, Settings
from scheduler.db import session_scope
from scheduler.plan.models import Occurrence
from scheduler.web.app import create_app
from tests.support.admin import PASSWORD, add_admin
from tests.support.browser import ARGS, CHROMIUM, OVERFLOW, sign_in_at, watch
from tests.support.instants import NOTICE_DATE
from tests.support.servers import run_uvicorn

SHOTS = PROJECT_ROOT / "test-artifacts" / "screenshots"
EDITOR = "/admin/plan/nantong-2023/events/2"


@pytest.mark.browser
def test_edit_an_activity_on_a_phone(seeded_engine: Engine, settings: Settings) -> None:
    from playwright.sync_api import sync_playwright

    add_admin(seeded_engine)
    SHOTS.mkdir(parents=True, exist_ok=True)
    app = create_app(settings, clock=FixedClock(NOTICE_DATE), engine=seeded_engine)
    problems: list[str] = []
    with run_uvicorn(app, lifespan="off") as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 390, "height": 844})
        watch(page, url, problems)

        sign_in_at(page, url, "/admin/plan", PASSWORD)  # signed out: sent to sign in, then back
        assert page.evaluate(OVERFLOW) == 0
        page.click(f"a[href='{EDITOR}']")
        page.wait_for_url(f"{url}{EDITOR}")
        assert page.evaluate(OVERFLOW) == 0

        form = page.locator("[data-testid=event-form]")
        form.locator("input[name=s1-location]").fill("大连")
        form.locator("input[name=s2-title]").fill("")  # the blank new rows stay blank
        form.locator("button[type=submit]").click()
        page.wait_for_url(f"{url}{EDITOR}?done=saved#done")
        assert page.locator("[data-testid=done]").inner_text() == "已保存修改。"
        assert page.locator("input[name=s1-location]").input_value() == "大连"
        assert "第 1 次修订" in page.locator("[data-session='02-2']").inner_text()
        page.locator("details[data-ops='02-1'] summary").click()  # the 定档/延期/取消 forms open inside the screen
        assert page.evaluate(OVERFLOW) == 0
        page.screenshot(path=str(SHOTS / "admin-plan-event-phone.png"), full_page=True)

        page.set_viewport_size({"width": 1280, "height": 900})
        for path in ("/admin/plan", EDITOR, "/admin/plan/nantong-2023/events/new"):
            page.goto(f"{url}{path}")
            assert page.evaluate(OVERFLOW) == 0, f"{path} is wider than 1280 px"
        page.screenshot(path=str(SHOTS / "admin-plan-event-desktop.png"), full_page=True)
        browser.close()
    assert problems == []
    with session_scope(seeded_engine) as session:
        occ = session.exec(select(Occurrence).where(Occurrence.key == "02-2")).one()
    assert (occ.location, occ.sequence) == ("大连", 1)
