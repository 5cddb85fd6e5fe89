"""Key pages in real headless Chromium under the strict CSP (style-src 'self', no 'unsafe-inline'): no page
triggers a Content-Security-Policy violation, and the served stylesheet is what styles them."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from scheduler.clock import FixedClock
from scheduler.web.app import create_app
from tests.factories.followups import T_MARCH, issue, plan, settings
from tests.support.admin import PASSWORD, add_admin
from tests.support.browser import ARGS, CHROMIUM, sign_in_at
from tests.support.servers import run_uvicorn

EML = "1700000000000000000-deadbeef.eml"
MAIL = (b"From: x@example.org\r\nTo: y@example.org\r\nSubject: test\r\n"
        b"Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nplain\r\n"
        b"--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        b'<div style="border:2px solid #0b5cad;padding:8px"><p style="color:#b44d12">inline-styled mail</p></div>'
        b"\r\n--b--\r\n")


@pytest.mark.browser
@pytest.mark.timeout(120)
def test_key_pages_raise_no_csp_violation(mail_engine: Engine, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    add_admin(mail_engine)
    plan(mail_engine, T_MARCH)
    token = issue(mail_engine, "fix:occ:14", T_MARCH)
    (tmp_path / "mail").mkdir()
    (tmp_path / "mail" / EML).write_bytes(MAIL)
    app = create_app(settings(tmp_path, mail_sink=True, mailbox_public=True), clock=FixedClock(T_MARCH),
                     engine=mail_engine)
    messages: list[str] = []
    with run_uvicorn(app, lifespan="off") as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(10_000)
        page.on("console", lambda m: messages.append(f"{page.url}: {m.type}: {m.text}"))
        page.goto(f"{url}/plan")
        assert page.eval_on_selector("header.top", "e => getComputedStyle(e).backgroundColor") == "rgb(255, 255, 255)"
        page.goto(f"{url}/o/{token}")
        assert page.locator("[data-testid=task-form]").count() == 1
        assert page.eval_on_selector("form.task", "e => getComputedStyle(e).display") == "grid"
        page.goto(f"{url}/mail/{EML}")
        assert page.eval_on_selector("pre.mail-text", "e => getComputedStyle(e).borderTopStyle") == "solid"
        framed = page.frame_locator("iframe.mail-html").locator("p")
        assert framed.inner_text() == "inline-styled mail"
        assert framed.evaluate("e => getComputedStyle(e).color") == "rgb(180, 77, 18)"  # its inline style applies
        sign_in_at(page, url, "/admin/tasks", PASSWORD)
        for path in ("/", "/admin/cadence", "/admin/contacts", "/admin/workdays", "/admin/tasks", "/admin/plan/upload"):
            page.goto(f"{url}{path}")
            assert page.locator("main h1").count() >= 1, path
        assert page.eval_on_selector("form.task", "e => getComputedStyle(e).display") == "grid"
        browser.close()
    assert [m for m in messages if "Content Security Policy" in m or ": error:" in m] == []
