"""The subscribe page in real headless Chromium: QR codes render, links are right, nothing leaves 127.0.0.1."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from scheduler.clock import FixedClock
from scheduler.config import Settings
from scheduler.web.app import create_app
from tests.support.browser import ARGS, CHROMIUM
from tests.support.instants import NOTICE_DATE
from tests.support.servers import run_uvicorn


@pytest.mark.browser
def test_subscribe_page_in_chromium(seeded_engine: Engine, settings: Settings) -> None:
    from playwright.sync_api import sync_playwright

    settings = settings.model_copy(update={"base_url": "https://kjzs.example.org"})
    app = create_app(settings, clock=FixedClock(NOTICE_DATE), engine=seeded_engine)
    with run_uvicorn(app, lifespan="off") as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page()
        foreign: list[str] = []
        page.on("request", lambda r: None if r.url.startswith(url) else foreign.append(r.url))
        page.goto(f"{url}/subscribe")
        qr = page.locator("[data-testid=qr] svg")
        box = qr.bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 100
        assert page.get_attribute("[data-testid=main-webcal]", "href") == "webcal://kjzs.example.org/feeds/all.ics"
        row = page.locator("tr[data-feed='bankuai/haian.ics']")
        row.locator("summary").click()
        img = row.locator("img")
        img.wait_for(state="visible")
        page.wait_for_function("img => img.complete && img.naturalWidth > 100", arg=img.element_handle())
        assert "海安市" in row.inner_text()
        assert page.locator("[data-testid=year-round]").inner_text().startswith("金融惠企")
        page.goto(f"{url}/events/14")
        assert page.locator("li[data-uid]").count() == 3
        page.set_viewport_size({"width": 390, "height": 844})  # a phone
        page.goto(f"{url}/subscribe")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # long feed links wrap
        page.goto(f"{url}/plan")
        label = "el => getComputedStyle(el, '::before').content"
        host = page.locator("tr#event-10 td[data-label='主办单位']")
        assert host.evaluate(label) == '"主办单位："' and "主办单位：" not in host.inner_text()
        assert page.locator("tr#event-10 td[data-label='活动类型']").evaluate(label) == '"活动类型："'
        browser.close()
    assert foreign == []
