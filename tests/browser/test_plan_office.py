"""The office keeps its plan in real headless Chromium (issue 10, "Done when"): signs in, uploads its XLSX with one
error and sees the cell, uploads the corrected file and confirms, opens 序号 7 in the activity editor
(/admin/plan/nantong-2023/events/7) and changes its venue, adds a contact on /admin/contacts, then the plan's feed
shows the change with SEQUENCE+1 (read by four independent parsers). Pages fit 390 and 1280 px; screenshots go to
test-artifacts/screenshots/.
"""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import httpx
import icalendar
import pytest
from openpyxl import load_workbook
from sqlalchemy.engine import Engine
from sqlmodel import func, select

from scheduler.clock import FixedClock
from scheduler.config import PROJECT_ROOT, Settings
from scheduler.contacts import Contact
from scheduler.db import session_scope
from scheduler.plan.models import Event
from scheduler.web.app import create_app
from tests.support.admin import PASSWORD, add_admin
from tests.support.browser import ARGS, CHROMIUM
from tests.support.feedparse import parse_four_ways
from tests.support.instants import NOTICE_DATE
from tests.support.servers import run_uvicorn

SHOTS = PROJECT_ROOT / "test-artifacts" / "screenshots"
SHIPPED = PROJECT_ROOT / "seeds" / "plan_2023.xlsx"
OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
UID_07 = "nantong-2023-07-1@kjzs-scheduler"
TITLE = "崇川（上海）战略性新兴产业发展大会"  # 序号 7 as 附件4 prints it, in 上海
VENUE = "上海国际会议中心"
PENDING = "【时间待定·2023年2月】"  # how feeds head a session not yet fixed; 序号 7 is dated 2023 年 2 月
FEED_RECHECK_S = 2.0  # feeds re-read the plan at most this often (FeedCache.recheck_seconds)


def table(path: Path, changes: dict[tuple[int, str], Any]) -> Path:
    """Write the shipped workbook with cells replaced ({(序号, column letter): value}) to `path`."""
    book = load_workbook(SHIPPED)
    sheet = book["附件4"]
    rows = {row[0].value: row[0].row for row in sheet.iter_rows() if isinstance(row[0].value, int)}
    for (seq, column), value in changes.items():
        sheet[f"{column}{rows[seq]}"] = value
    buffer = io.BytesIO()
    book.save(buffer)
    path.write_bytes(buffer.getvalue())
    return path


def vevent(feed: bytes, uid: str) -> Any:
    return next(e for e in icalendar.Calendar.from_ical(feed).walk("VEVENT") if str(e["UID"]) == uid)


def feed_after(url: str, uid: str, sequence: int) -> bytes:
    """Fetch the plan's feed until it shows `uid` at `sequence` or the cache has surely re-read the plan."""
    deadline = time.monotonic() + FEED_RECHECK_S * 3
    while True:
        data = httpx.get(f"{url}/feeds/plan/nantong-2023.ics", timeout=10).content
        if int(vevent(data, uid)["SEQUENCE"]) == sequence or time.monotonic() > deadline:
            return data
        time.sleep(0.3)


@pytest.mark.browser
def test_the_office_uploads_fixes_confirms_edits_and_the_feed_follows(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    add_admin(engine)
    SHOTS.mkdir(parents=True, exist_ok=True)
    broken = table(tmp_path / "活动安排表.xlsx", {(4, "F"): "如皋县"})  # 序号 4 sits on row 7, 主办单位 is column F
    fixed = table(tmp_path / "活动安排表（改）.xlsx", {})
    app = create_app(settings, clock=FixedClock(NOTICE_DATE), engine=engine)
    problems: list[str] = []
    with run_uvicorn(app, lifespan="off") as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 390, "height": 844}, accept_downloads=True)
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("request", lambda r: None if r.url.startswith(url) else problems.append(f"foreign {r.url}"))

        page.goto(f"{url}/admin/plan/upload")  # signed out: sent to sign in, then back
        page.fill("input[name=username]", "office")
        page.fill("input[name=password]", PASSWORD)
        page.click("form.login button[type=submit]")
        page.wait_for_url(f"{url}/admin/plan/upload")
        assert page.evaluate(OVERFLOW) == 0

        def send(path: Path) -> None:
            form = page.locator("[data-testid=upload-plan]")
            form.locator("input[name=file]").set_input_files(str(path))
            form.locator("button[type=submit]").click()
            page.wait_for_load_state()

        send(broken)  # one error: the office sees the cell, the 序号 and the suggestion
        errors = page.locator("[data-testid=file-errors]")
        expect(errors).to_contain_text("有 1 处错误，未写入任何数据")
        assert errors.locator("li").all_inner_texts() == ["附件4!F7（序号 4）：未知单位“如皋县”（是否指 如皋市？）"]
        assert page.locator("[data-testid=confirm]").count() == 0
        assert page.evaluate(OVERFLOW) == 0
        page.screenshot(path=str(SHOTS / "plan-upload-error-phone.png"), full_page=True)

        send(fixed)  # corrected: a preview of 48 new activities, nothing written yet
        preview = page.locator("[data-testid=preview]")
        expect(preview).to_contain_text("活动：新增 48")
        with session_scope(engine) as session:
            assert session.exec(select(func.count()).select_from(Event)).one() == 0
        assert page.evaluate(OVERFLOW) == 0
        page.screenshot(path=str(SHOTS / "plan-upload-preview-phone.png"), full_page=False)
        page.locator("[data-testid=confirm] button").click()
        page.wait_for_url(f"{url}/admin/plan/upload?imported=*")
        expect(page.locator("[data-testid=imported]")).to_contain_text("导入完成")
        first = httpx.get(f"{url}/feeds/plan/nantong-2023.ics", timeout=10).content
        before = vevent(first, UID_07)
        assert (str(before["SUMMARY"]), str(before["LOCATION"]), int(before["SEQUENCE"])) == (
            PENDING + TITLE, "上海", 0)
        page.screenshot(path=str(SHOTS / "plan-upload-report-phone.png"), full_page=True)

        page.goto(f"{url}/admin/plan?plan=nantong-2023")  # the edit: 序号 7 opened in the activity editor
        page.locator("a[href='/admin/plan/nantong-2023/events/7']").first.click()
        page.wait_for_url(f"{url}/admin/plan/nantong-2023/events/7")
        editor = page.locator("[data-testid=event-form]")
        expect(editor.locator("input[name=s0-location]")).to_have_value("上海")
        editor.locator("input[name=s0-location]").fill(VENUE)
        assert page.evaluate(OVERFLOW) == 0
        editor.locator("button[type=submit]").click()
        page.wait_for_url(f"{url}/admin/plan/nantong-2023/events/7?done=saved#done")
        expect(page.locator("[data-testid=done]")).to_be_visible()
        expect(page.locator("[data-session='07-1']")).to_contain_text("第 1 次修订")
        assert page.evaluate(OVERFLOW) == 0
        page.screenshot(path=str(SHOTS / "plan-editor-saved-phone.png"), full_page=True)

        page.goto(f"{url}/admin/plan/upload")
        with page.expect_download() as download:  # the plan back out as the office's table, named in Chinese
            page.locator("li[data-plan=nantong-2023] a", has_text="Excel").click()
        assert download.value.suggested_filename == "2023年科技招商活动安排表（nantong-2023）.xlsx"

        page.goto(f"{url}/admin/contacts")
        form = page.locator("[data-testid=add-contact]")
        form.locator("select[name=org]").select_option(label="市科技局")
        form.locator("input[name=name]").fill("陈静")
        form.locator("input[name=email]").fill("chen.jing@example.org")
        form.locator("input[name=role]").fill("科员")
        form.locator("button[type=submit]").click()
        page.wait_for_url(f"{url}/admin/contacts?done=added#done")
        assert "chen.jing@example.org" in page.locator("section[data-org=kjj]").inner_text()

        latest = feed_after(url, UID_07, int(before["SEQUENCE"]) + 1)  # the same UID, the next version
        after = vevent(latest, UID_07)
        assert (str(after["LOCATION"]), int(after["SEQUENCE"])) == (VENUE, int(before["SEQUENCE"]) + 1)
        for library, events in parse_four_ways(latest).items():
            assert [e.summary for e in events if e.uid == UID_07] == [PENDING + TITLE], library
        assert VENUE in latest.decode() and f"SEQUENCE:{int(before['SEQUENCE']) + 1}" in latest.decode()

        for width, name in ((390, "phone"), (1280, "desktop")):
            page.set_viewport_size({"width": width, "height": 900})
            for path in ("/admin/plan/upload", "/admin/contacts", "/admin/plan/nantong-2023/events/7"):
                page.goto(f"{url}{path}")
                assert page.evaluate(OVERFLOW) == 0, f"{path} is wider than {width} px"
            page.goto(f"{url}/admin/plan/upload")
            page.screenshot(path=str(SHOTS / f"plan-upload-{name}.png"), full_page=True)
        browser.close()

    # the refused upload answers 422, which Chromium logs; nothing else went wrong or left the machine
    assert problems == ["Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)"]
    with session_scope(engine) as session:
        contact = session.exec(select(Contact).where(Contact.email == "chen.jing@example.org")).one()
    assert (contact.organization_key, contact.name) == ("kjj", "陈静")
