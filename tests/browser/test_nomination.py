"""A unit contact fills a 5-person nomination on a phone (Chromium at 390 px): one row at a time with 再加一行 (no
JavaScript), dates through the date pickers' inputs, submit, see the saved list; the page never scrolls sideways."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from scheduler.clock import SHANGHAI, FixedClock
from scheduler.config import PROJECT_ROOT, Settings
from scheduler.db import session_scope
from scheduler.logistics.models import DelegationUnit, Nominee
from scheduler.logistics.participation import NominationSigner, OpenForm, open_participation
from scheduler.plan.models import Event, Occurrence
from scheduler.web.app import create_app
from tests.support.browser import ARGS, CHROMIUM, OVERFLOW, watch
from tests.support.servers import run_uvicorn

SHOTS = PROJECT_ROOT / "test-artifacts" / "screenshots"
NOW = datetime(2023, 4, 20, 9, 0, tzinfo=SHANGHAI)
PEOPLE = [("周领队", "带队领导", "13800001001"), ("吴干事", "工作人员", "13800001002"),
          ("郑总", "企业代表", "13800001003"), ("王工", "企业代表", "13800001004"), ("冯秘书", "随行", "13800001005")]


@pytest.mark.browser
def test_a_phone_fills_a_five_person_nomination(mail_engine: Engine, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    settings = Settings(var_dir=tmp_path)
    with session_scope(mail_engine, write=True) as session:
        event = session.exec(select(Event).where(Event.seq == 15)).one()
        occ = session.exec(select(Occurrence).where(Occurrence.event_id == event.id)).one()
        open_participation(session=session, occurrence=occ, now=NOW, actor="admin:office", form=OpenForm(
            units=["haian"], capacities={"haian": "5"}, total_capacity="", deadline="2023-05-10",
            deadline_time="17:00", collect=["travel"], note=""))
        unit = session.exec(select(DelegationUnit)).one()
        token = NominationSigner(settings.signing_keys()).token_for(unit)
    app = create_app(settings, clock=FixedClock(NOW), engine=mail_engine)
    SHOTS.mkdir(parents=True, exist_ok=True)
    with run_uvicorn(app, lifespan="off") as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 390, "height": 844}, java_script_enabled=False)
        problems: list[str] = []
        watch(page, url, problems)
        page.goto(f"{url}/o/n/{token}")
        for i, (name, role, mobile) in enumerate(PEOPLE):
            if i:
                page.click("[data-testid=add-row]")
            assert page.locator("fieldset.person").count() == i + 1
            page.fill(f"#f-p{i}-name", name)
            page.select_option(f"#f-p{i}-role", label=role)
            page.fill(f"#f-p{i}-mobile", mobile)
            page.fill(f"#f-p{i}-depart_on", "2023-05-17")
            page.fill(f"#f-p{i}-return_on", "2023-05-19")
            page.select_option(f"#f-p{i}-transport", label="高铁/火车")
            assert page.evaluate(OVERFLOW) == 0
        page.screenshot(path=str(SHOTS / "nomination-phone.png"), full_page=True)
        page.click("[data-testid=submit]")
        assert "名单已保存（第 1 版）" in page.locator("[data-testid=saved]").inner_text()
        assert page.input_value("#f-p4-name") == "冯秘书" and page.evaluate(OVERFLOW) == 0
        browser.close()
    assert problems == []
    with session_scope(mail_engine) as session:
        stored = session.exec(select(Nominee).order_by(Nominee.position)).all()  # type: ignore[arg-type]
    assert [(n.name, n.mobile, n.org, str(n.depart_on)) for n in stored] == [
        (name, mobile, "海安市", "2023-05-17") for name, _role, mobile in PEOPLE]
    assert [n.role for n in stored] == ["leader", "staff", "company", "company", "accompanying"]
