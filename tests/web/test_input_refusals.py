"""Issue 15's web cases over real HTTP: each bad value refused with a Chinese page (never a 500), the database
unchanged; a target stored as Inf before the checks existed shows as 「无效值」 and breaks no page."""

from __future__ import annotations

from collections.abc import Iterator
from html import unescape
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError

from scheduler.clock import FixedClock
from scheduler.web.app import create_app
from tests.factories.followups import T_MARCH, issue, outcome_form, plan, post_form, settings
from tests.support.admin import add_admin, csrf_of, sign_in
from tests.support.dbstate import dump_database
from tests.support.servers import run_uvicorn

HTML = {"accept": "text/html"}


@pytest.fixture
def served(mail_engine: Engine, tmp_path: Path) -> Iterator[tuple[httpx.Client, Engine]]:
    """A signed-in administrator's client of the app on the 2023 plan with its follow-up tasks."""
    plan(mail_engine, T_MARCH)
    add_admin(mail_engine)
    app = create_app(settings(tmp_path), clock=FixedClock(T_MARCH), engine=mail_engine)
    with run_uvicorn(app, lifespan="off") as url, httpx.Client(base_url=url, timeout=20, headers=HTML) as client:
        assert sign_in(client).status_code == 303
        yield client, mail_engine


def test_link_forms_refuse_odd_digits_huge_numbers_and_nul(served) -> None:
    client, engine = served
    outcome = f"/o/{issue(engine, 'outcome:occ:5', T_MARCH)}"
    fix = f"/o/{issue(engine, 'fix:occ:14', T_MARCH)}"
    before = dump_database(engine)
    cases = [
        (outcome, outcome_form(attendees="²"), "参会人数 '²' 无效"),
        (outcome, outcome_form(companies="①"), "无效：应为 0 到 1000000 之间的整数（半角数字）"),
        (outcome, outcome_form(attendees="9" * 5000), "无效：应为 0 到 1000000 之间的整数"),
        (outcome, outcome_form(**{"t-0-project": "9" * 5000}), "关联的项目序号"),
        (outcome, outcome_form(**{"p-0-lead": "²"}), "关联的线索编号"),
        (outcome, outcome_form(**{"p-0-amount": "1e999999"}), "计划投资额（万元） '1e999999' 无效"),
        (outcome, outcome_form(narrative="签约\x00项目"), "成效简述含有不可见的控制字符（U+0000"),
        (fix, {"date": "2023-03-20", "start_time": "14:00", "place": "如皋\x00会议中心"},
         "活动地点含有不可见的控制字符"),
        (fix, {"date": "２０２３-03-20", "start_time": "1４:00", "place": "如皋"}, "不是有效日期"),
    ]
    for path, data, needle in cases:
        answer = post_form(client, path, data)
        assert answer.status_code == 422, (data, answer.status_code, answer.text[:300])
        assert needle in unescape(answer.text), needle
    assert dump_database(engine) == before


def test_admin_numbers_years_pages_and_ids_are_bounded(served) -> None:
    client, engine = served
    token = csrf_of(client.get("/admin/targets").text)
    before = dump_database(engine)
    annual = {"csrf_token": token, "year": "2023", "unit": "rugao", "metric": "signed_projects", "value": "12"}
    for field, value, needle in (("value", "1e999999", "目标值 '1e999999' 无效"), ("value", "NaN", "'NaN' 无效"),
                                 ("year", "100000000000000000000", "应为 2000 到 2100 之间的整数"),
                                 ("year", "²⁰²³", "应为 2000 到 2100 之间的整数")):
        answer = client.post("/admin/targets/annual", data={**annual, field: value})
        assert answer.status_code == 400 and needle in unescape(answer.text), (field, value)
    goal = {"csrf_token": token, "goal": "hightech", "value": "12", "as_of": "2023-06-30", "source": "公\x00报"}
    answer = client.post("/admin/targets/goal", data=goal)
    assert answer.status_code == 400 and "数据来源含有不可见的控制字符" in unescape(answer.text)
    note = {"csrf_token": token, "period": "2023-03/04", "unit": "rugao", "text": "进度\x00偏慢"}
    answer = client.post("/admin/reviews/note", data=note)
    assert answer.status_code == 400 and "点评意见含有不可见的控制字符" in unescape(answer.text)
    adjustment = {"csrf_token": token, "period": "2023Q1\x00", "unit": "rugao", "points": "1", "reason": "补"}
    assert client.post("/admin/assessments/adjustments", data=adjustment).status_code == 400
    answer = client.post("/admin/contacts", data={"csrf_token": token, "org": "kjj", "name": "王\x00芳",
                                                  "email": "w@example.org", "role": ""})
    assert answer.status_code == 422 and "含有不可见的控制字符" in answer.text
    for path in ("/admin/outbox?page=1000000000000000000", "/admin/tasks/100000000000000000000",
                 "/admin/tasks/100000000000000000000/form", "/admin/contacts/100000000000000000000",
                 "/admin/users/100000000000000000000/password"):
        answer = client.get(path)
        assert answer.status_code == 422 and "过大" in answer.text, (path, answer.status_code)
    answer = client.post("/admin/reviews/items/100000000000000000000/close",
                         data={"csrf_token": token, "period": "2023-03/04", "note": ""})
    assert answer.status_code == 422
    assert dump_database(engine) == before


def test_a_target_stored_as_infinity_shows_as_invalid_and_pages_still_work(served) -> None:
    client, engine = served
    token = csrf_of(client.get("/admin/targets").text)
    for metric in ("signed_projects", "signed_amount"):
        data = {"csrf_token": token, "year": "2023", "unit": "rugao", "metric": metric, "value": "12"}
        assert client.post("/admin/targets/annual", data=data).status_code == 303
    overflow = text("UPDATE annual_target SET value = 1e999999")
    if engine.dialect.name == "postgresql":  # numeric(14,2) cannot hold it: the database itself refuses the write
        with pytest.raises(DataError), engine.begin() as conn:
            conn.execute(overflow)
        return
    with engine.begin() as conn:  # what the unchecked form stored before: SQLite keeps 1e999999 as a float Inf
        conn.execute(overflow)
    page = client.get("/admin/targets")
    assert page.status_code == 200 and page.text.count("无效值") == 2
    for path in ("/admin/reports/monthly?period=2023-03", "/admin/reports/bimonthly?period=2023-03/04",
                 "/admin/reports/monthly?period=2023-03&format=csv", "/admin/reports/targets?period=2023"):
        assert client.get(path).status_code == 200, path
