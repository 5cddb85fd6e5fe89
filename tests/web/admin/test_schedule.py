"""/admin/schedule over real HTTP: declare and remove a blackout, change the limits; refused forms name their
field and write nothing; the 定档 checker then sees the blackout; audit entries; sign-in required."""

from __future__ import annotations

import html
from collections.abc import Iterator
from datetime import date

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from scheduler.audit import AuditEntry
from scheduler.clock import FixedClock
from scheduler.config import Settings
from scheduler.db import session_scope
from scheduler.plan.occurrences import get_occurrence
from scheduler.scheduling.checker import Rule
from scheduler.scheduling.snapshot import check_occurrence
from scheduler.web.app import create_app
from tests.support.admin import add_admin, csrf_of, signed_in_client
from tests.support.dbstate import dump_database
from tests.support.instants import NOTICE_DATE
from tests.support.servers import run_uvicorn


@pytest.fixture
def office(seeded_engine: Engine, settings: Settings) -> Iterator[tuple[httpx.Client, Engine]]:
    add_admin(seeded_engine)
    app = create_app(settings, clock=FixedClock(NOTICE_DATE), engine=seeded_engine)
    with run_uvicorn(app, lifespan="off") as url:
        client = signed_in_client(url)
        try:
            yield client, seeded_engine
        finally:
            client.close()


def test_declare_check_and_remove_a_blackout(office: tuple[httpx.Client, Engine]) -> None:
    client, engine = office
    page = client.get("/admin/schedule")
    assert page.status_code == 200 and "尚无单位声明不可安排日期" in page.text
    token = csrf_of(page.text)
    done = client.post("/admin/schedule/blackouts", data={"csrf_token": token, "unit": "启东市",
                                                          "start": "2023-03-13", "end": "2023-03-17",
                                                          "reason": "全国两会"}, follow_redirects=True)
    assert done.status_code == 200 and "已声明不可安排日期" in done.text and "2023-03-13 至 2023-03-17" in done.text
    with session_scope(engine) as session:
        occ = get_occurrence(session=session, key="06-1")
        assert occ is not None
        found = check_occurrence(session=session, occurrence=occ, start=date(2023, 3, 14))
    assert [f.rule for f in found] == [Rule.BLACKOUT]
    row_id = done.text.split('data-id="')[1].split('"')[0]
    removed = client.post(f"/admin/schedule/blackouts/{row_id}/remove", data={"csrf_token": token},
                          follow_redirects=True)
    assert removed.status_code == 200 and "尚无单位声明" in removed.text
    missing = client.post(f"/admin/schedule/blackouts/{row_id}/remove", data={"csrf_token": token})
    assert missing.status_code == 404 and "没有编号为" in missing.text
    with session_scope(engine) as session:
        actions = [e.action for e in session.exec(select(AuditEntry).order_by(col(AuditEntry.id)))]
    assert actions[-2:] == ["schedule.blackout.add", "schedule.blackout.remove"]


def test_bad_blackout_and_rules_name_their_fields_and_write_nothing(office: tuple[httpx.Client, Engine]) -> None:
    client, engine = office
    token = csrf_of(client.get("/admin/schedule").text)
    before = dump_database(engine)
    bad = client.post("/admin/schedule/blackouts", data={"csrf_token": token, "unit": "火星局",
                                                         "start": "2023-3-1", "end": "2023-03-01", "reason": ""})
    text = html.unescape(bad.text)
    assert bad.status_code == 422 and "共 3 处" in text
    assert "单位“火星局”不在单位名录中" in text and "开始日期 '2023-3-1' 不是有效日期" in text and "请填写原因" in text
    rules = client.post("/admin/schedule/rules", data={"csrf_token": token, "buffer": "9", "cap": "x"})
    text = html.unescape(rules.text)
    assert rules.status_code == 422 and "行程缓冲天数须在 0–7 之间" in text and "每日外出团组上限" in text
    assert dump_database(engine) == before
    ok = client.post("/admin/schedule/rules", data={"csrf_token": token, "buffer": "2", "cap": "4"},
                     follow_redirects=True)
    assert ok.status_code == 200 and "已保存排期规则" in ok.text and 'name="cap" value="4"' in ok.text


def test_sign_in_and_csrf_required(office: tuple[httpx.Client, Engine]) -> None:
    client, _ = office
    anonymous = httpx.get(f"{client.base_url}/admin/schedule", follow_redirects=False)
    assert anonymous.status_code in (302, 303, 401)
    forged = client.post("/admin/schedule/rules", data={"buffer": "2", "cap": "4"})
    assert forged.status_code in (400, 403)


def test_board_shows_rows_by_bankuai_and_publishes_a_version(office: tuple[httpx.Client, Engine]) -> None:
    from datetime import UTC, datetime

    from scheduler.plan.models import Occurrence
    from scheduler.scheduling.models import ScheduleProposal

    client, engine = office
    with session_scope(engine, write=True) as session:  # 启东市 fixed its 上海 trip on Sunday 3-12 (by import, say)
        occ = get_occurrence(session=session, key="06-1")
        assert occ is not None
        occ.start_at, occ.status = datetime(2023, 3, 12, 1, tzinfo=UTC), "fixed"
        session.add(occ)
    page = client.get("/admin/schedule/board?plan=nantong-2023")
    text = html.unescape(page.text)
    assert page.status_code == 200 and "当前建议：尚未发布" in text
    assert 'data-row="市级"' in text and 'data-row="启东市"' in text
    qidong = text.split('data-row="启东市"')[1].split("</tr>")[0]
    march = qidong.split('data-month="3"')[1].split("</td>")[0]
    assert "6号 12日（已定档）" in march and "3月12日（星期日）是周末" in march
    token = csrf_of(page.text)
    with session_scope(engine) as session:
        before = [(o.key, o.start_at, o.sequence) for o in session.exec(select(Occurrence))]
    done = client.post("/admin/schedule/board/publish?plan=nantong-2023", data={"csrf_token": token},
                       follow_redirects=True)
    text = html.unescape(done.text)
    assert done.status_code == 200 and "已发布第 1 版建议" in text and "（建议）" in text
    with session_scope(engine) as session:
        assert [(o.key, o.start_at, o.sequence) for o in session.exec(select(Occurrence))] == before
        rows = session.exec(select(ScheduleProposal)).all()
    assert len(rows) == 60 and "06-1" not in {r.occurrence_key for r in rows}  # the fixed one is never proposed
    assert client.get("/admin/schedule/board?plan=nowhere").status_code == 404
