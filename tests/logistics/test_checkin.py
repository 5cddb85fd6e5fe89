"""Check-in on the day through real uvicorn: staff check 80 % of the confirmed delegation in by name (a repeat tap is
not counted twice) and a guest by code (forged and malformed codes refused), and the host's outcome form opens with
参会人数 and 参会企业数 pre-filled from those check-ins."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import select

from scheduler.clock import SHANGHAI, FixedClock
from scheduler.db import session_scope
from scheduler.logistics.models import Guest, Participation
from scheduler.web.app import create_app
from tests.factories.followups import issue, plan, settings
from tests.factories.logistics import PEOPLE, T_DAY, arrange
from tests.support.admin import add_admin, csrf_of, sign_in
from tests.support.servers import run_uvicorn


def tap(client: httpx.Client, occ_id: int, name: str) -> httpx.Response:
    page = client.get(f"/admin/logistics/{occ_id}/checkin", params={"q": name}).text
    kind, pid = re.search(r'<li data-kind="(\w+)" data-id="(\d+)">', page).groups()  # type: ignore[union-attr]
    return client.post(f"/admin/logistics/{occ_id}/checkin", data={
        "csrf_token": csrf_of(page), "q": name, "kind": kind, "person_id": pid})


def test_checkin_by_name_and_code_fills_the_outcome_counts(mail_engine: Engine, tmp_path: Path) -> None:
    occ_id = arrange(mail_engine)
    add_admin(mail_engine)
    clock = FixedClock(T_DAY)
    app = create_app(settings(tmp_path), clock=clock, engine=mail_engine)
    with run_uvicorn(app, lifespan="off") as url, httpx.Client(base_url=url, timeout=30) as client:
        assert sign_in(client).status_code == 303
        page = client.get(f"/admin/logistics/{occ_id}/checkin").text
        assert page.count("<li data-kind=") == 6  # five delegates and the guest, none checked in yet
        for name, _role, _org in PEOPLE[:4]:  # 4 of the 5 confirmed delegates: 80 %
            done = tap(client, occ_id, name)
            assert done.status_code == 303
            assert f"{name} 签到成功" in client.get(done.headers["location"]).text
        again = tap(client, occ_id, "钱经理")
        assert "钱经理 已签到过，未重复计数" in client.get(again.headers["location"]).text
        page = client.get(f"/admin/logistics/{occ_id}/checkin").text
        for code, message in (("ZZZZZZ", "签到码 ZZZZZZ 不属于本场活动的嘉宾，请核对或按姓名搜索"),
                              ("12", "签到码“12”格式不对：应为 6 位字母或数字（不含 0、O、1、I）")):
            refused = client.post(f"/admin/logistics/{occ_id}/checkin", data={"csrf_token": csrf_of(page),
                                                                               "code": code})
            assert refused.status_code == 422 and message in refused.text
        with session_scope(mail_engine) as session:
            code = session.exec(select(Guest)).one().checkin_code
        by_code = client.post(f"/admin/logistics/{occ_id}/checkin", data={"csrf_token": csrf_of(page),
                                                                          "code": code.lower()})
        assert "张院士 签到成功" in client.get(by_code.headers["location"]).text

        # The day after, the host's outcome form opens with what check-in counted:
        # 4 delegates + the guest and one companion = 6 people; 甲公司 and 乙公司 = 2 companies.
        plan(mail_engine, datetime(2023, 5, 19, 9, 0, tzinfo=SHANGHAI))
        token = issue(mail_engine, f"outcome:occ:{occ_id}", datetime(2023, 5, 19, 9, 0, tzinfo=SHANGHAI))
        clock.set(datetime(2023, 5, 19, 9, 0, tzinfo=SHANGHAI))
        form = client.get(f"/o/{token}").text
        assert re.search(r'name="attendees" value="6"', form) and re.search(r'name="companies" value="2"', form)
    with session_scope(mail_engine) as session:
        assert session.exec(select(Participation)).one().purged_at is None
