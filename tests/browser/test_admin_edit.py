"""The admin editing pages in real headless Chromium on a 390 px phone: add a contact and a working-day override,
nothing wider than the screen; screenshots at phone and desktop width go to test-artifacts/screenshots/."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from scheduler.clock import FixedClock
from scheduler.config import PROJECT_ROOT, Settings
from scheduler.contacts import Contact
from scheduler.db import session_scope
from scheduler.web.app import create_app
from scheduler.workdays import WorkdayOverride
from tests.support.admin import PASSWORD, add_admin
from tests.support.browser import ARGS, CHROMIUM, OVERFLOW, sign_in_at, watch
from tests.support.instants import NOTICE_DATE
from tests.support.servers import run_uvicorn

SHOTS = PROJECT_ROOT / "test-artifacts" / "screenshots"
PAGES = ("/admin/contacts", "/admin/workdays?year=2027", "/admin/users")


@pytest.mark.browser
def test_add_a_contact_and_an_override_on_a_phone(seeded_engine: Engine, settings: Settings) -> None:
    from playwright.sync_api import sync_playwright

    add_admin(seeded_engine)
    SHOTS.mkdir(parents=True, exist_ok=True)
    app = create_app(settings, clock=FixedClock(NOTICE_DATE), engine=seeded_engine)
    problems: list[str] = []
    with run_uvicorn(app, lifespan="off") as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 390, "height": 844})
        watch(page, url, problems)

        sign_in_at(page, url, "/admin/contacts", PASSWORD)  # signed out: sent to sign in, then back
        assert page.evaluate(OVERFLOW) == 0

        form = page.locator("[data-testid=add-contact]")
        form.locator("select[name=org]").select_option(label="如皋市")
        form.locator("input[name=name]").fill("王芳")
        form.locator("input[name=email]").fill("wang.fang@example.org")
        form.locator("input[name=role]").fill("科长")
        form.locator("button[type=submit]").click()
        page.wait_for_url(f"{url}/admin/contacts?done=added#done")
        assert "wang.fang@example.org" in page.locator("section[data-org=rugao]").inner_text()
        assert page.evaluate(OVERFLOW) == 0
        page.screenshot(path=str(SHOTS / "admin-contacts-phone.png"), full_page=True)

        page.goto(f"{url}/admin/workdays?year=2027")
        assert "暂定" in page.locator("[data-testid=year-status]").inner_text()
        form = page.locator("[data-testid=add-override]")
        form.locator("input[name=day]").fill("2027-02-05")
        form.locator("input[name=kind][value=off]").check()
        form.locator("input[name=note]").fill("春节")
        form.locator("input[name=source]").fill("国办发明电〔2026〕X号")
        form.locator("button[type=submit]").click()
        page.wait_for_url(f"{url}/admin/workdays?year=2027&done=set#done")
        row = page.locator("tr[data-day='2027-02-05']").inner_text()
        assert "放假" in row and "春节" in row
        assert page.evaluate(OVERFLOW) == 0
        page.screenshot(path=str(SHOTS / "admin-workdays-phone.png"), full_page=True)

        for width, name in ((390, "phone"), (1280, "desktop")):
            page.set_viewport_size({"width": width, "height": 900})
            for path in PAGES:
                page.goto(f"{url}{path}")
                assert page.evaluate(OVERFLOW) == 0, f"{path} is wider than {width} px"
            page.screenshot(path=str(SHOTS / f"admin-users-{name}.png"), full_page=True)
        browser.close()
    assert problems == []
    with session_scope(seeded_engine) as session:
        contact = session.exec(select(Contact).where(Contact.email == "wang.fang@example.org")).one()
        override = session.get(WorkdayOverride, date(2027, 2, 5))
    assert (contact.organization_key, contact.name, contact.role) == ("rugao", "王芳", "科长")
    assert override is not None and (override.is_workday, override.note) == (False, "春节")
