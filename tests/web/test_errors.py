"""Browsers get Chinese error pages that say what and where; programs keep JSON; nothing stored changes."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.engine import Engine

from scheduler.auth import create_user
from scheduler.db import session_scope
from tests.support.dbstate import dump_database
from tests.support.instants import NOTICE_DATE

HTML = {"accept": "text/html,application/xhtml+xml"}


@pytest.fixture
def client(seeded_engine: Engine, client: httpx.Client) -> httpx.Client:
    """The shared client, on the 2023 plan, with an administrator."""
    with session_scope(seeded_engine, write=True) as session:
        create_user(session=session, username="office", password="correct horse battery", display_name="",
                    now=NOTICE_DATE)
    return client


def test_unknown_event_is_a_page_for_browsers_and_json_for_programs(client: httpx.Client) -> None:
    page = client.get("/events/999", headers=HTML)
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "页面不存在" in page.text and "计划中没有序号为 999 的活动" in page.text
    api = client.get("/events/999", headers={"accept": "application/json"})
    assert api.status_code == 404 and api.json() == {"detail": "计划中没有序号为 999 的活动"}


def test_a_bad_form_value_names_the_field_and_keeps_the_data(client: httpx.Client, seeded_engine: Engine) -> None:
    login = client.get("/login", headers=HTML).text
    token = login.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    before = dump_database(seeded_engine)
    # a username longer than the form allows: FastAPI refuses it before the route runs
    response = client.post("/login", headers=HTML, data={"csrf_token": token, "username": "x" * 65, "password": "p"})
    assert response.status_code == 422 and "输入有误" in response.text
    assert "表单字段 username：过长" in response.text
    assert dump_database(seeded_engine) == before
    assert "<script>" not in client.get("/events/%3Cscript%3E", headers=HTML).text  # echoed input is escaped


def test_an_unknown_address_is_a_chinese_page_without_the_form_hint(client: httpx.Client) -> None:
    page = client.get("/no-such-page", headers=HTML)
    assert page.status_code == 404
    assert "没有这个页面：网址 /no-such-page 不存在" in page.text and "请检查网址是否完整" in page.text
    assert "Not Found" not in page.text and "修改后重试" not in page.text
    wrong_method = client.delete("/plan", headers=HTML)
    assert wrong_method.status_code == 405 and "网址 /plan 不接受这种请求方式（DELETE）" in wrong_method.text
    assert "Method Not Allowed" not in wrong_method.text
    assert client.get("/no-such-page").json() == {"detail": "Not Found"}  # programs keep the standard JSON


@pytest.mark.parametrize("path", ["/", "/plan", "/subscribe", "/login", "/events/4"])
def test_head_is_allowed_wherever_get_is(client: httpx.Client, path: str) -> None:
    got = client.get(path, headers=HTML)
    head = client.head(path, headers=HTML)
    assert (got.status_code, head.status_code) == (200, 200)
    assert head.content == b"" and head.headers["content-type"] == got.headers["content-type"]
    assert client.head("/no-such-page", headers=HTML).status_code == 404
