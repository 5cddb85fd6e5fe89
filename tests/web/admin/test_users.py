"""/admin/users over real HTTP: add with the CLI's password rules, reset a password, disable and enable; nobody
disables themselves; each refused form names its field and writes nothing; CSRF, sign-in, audit entries."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from scheduler.audit import AuditEntry
from scheduler.auth import AdminUser
from scheduler.clock import FixedClock
from scheduler.config import Settings
from scheduler.db import session_scope
from scheduler.web.app import create_app
from tests.support.admin import add_admin, csrf_of, sign_in, signed_in_client
from tests.support.dbstate import dump_database
from tests.support.instants import NOTICE_DATE
from tests.support.servers import run_uvicorn

NEW_PASSWORD = "another long secret"


@pytest.fixture
def office(engine: Engine, settings: Settings) -> Iterator[tuple[httpx.Client, Engine, str]]:
    """A signed-in administrator `office`, a second one `clerk`, and the service's URL."""
    add_admin(engine)
    add_admin(engine, "clerk")
    app = create_app(settings, clock=FixedClock(NOTICE_DATE), engine=engine)
    with run_uvicorn(app, lifespan="off") as url:
        client = signed_in_client(url)
        try:
            yield client, engine, url
        finally:
            client.close()


def user(engine: Engine, username: str) -> AdminUser:
    with session_scope(engine) as session:
        return session.exec(select(AdminUser).where(AdminUser.username == username)).one()


def field_error(page: str, field: str) -> str | None:
    """Return the error shown under the form field `field`, if any."""
    found = re.search(rf'name="{field}".*?(?:<div class="field-error" role="alert">([^<]*)</div>|</div>)', page, re.S)
    return html.unescape(found.group(1)) if found and found.group(1) else None


def can_sign_in(url: str, username: str, password: str) -> bool:
    with httpx.Client(base_url=url, timeout=30) as other:
        return sign_in(other, username, password).status_code == 303


def audit_trail(engine: Engine) -> list[tuple[str, str, dict | None]]:
    with session_scope(engine) as session:
        query = select(AuditEntry).where(AuditEntry.entity == "admin_user").order_by(col(AuditEntry.id))
        return [(e.action, e.actor, e.after) for e in session.exec(query)]


def test_signed_out_visitors_are_sent_to_sign_in(client: httpx.Client) -> None:
    page = client.get("/admin/users")
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/admin/users"


def test_add_an_administrator_who_can_then_sign_in(office: tuple[httpx.Client, Engine, str]) -> None:
    client, engine, url = office
    page = client.get("/admin/users")
    assert page.status_code == 200 and page.text.count("<li data-user=") == 2
    data = {"csrf_token": csrf_of(page.text), "username": "wang.fang", "display_name": "王芳",
            "password": NEW_PASSWORD, "password2": NEW_PASSWORD}
    done = client.post("/admin/users", data=data)
    assert done.status_code == 303 and done.headers["location"] == "/admin/users?done=added#done"
    stored = user(engine, "wang.fang")
    assert (stored.display_name, stored.disabled) == ("王芳", False)
    assert can_sign_in(url, "wang.fang", NEW_PASSWORD)
    added = {"username": "wang.fang", "display_name": "王芳"}
    assert audit_trail(engine) == [("admin_user.add", "admin:office", added)]
    assert NEW_PASSWORD not in str(audit_trail(engine)) and "argon2" not in str(audit_trail(engine))


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"password": "short1234", "password2": "short1234"}, "password", "密码至少 10 位"),
        ({"password": "x" * 257, "password2": "x" * 257}, "password", "密码最多 256 位"),
        ({"password2": "something else entirely"}, "password2", "两次输入的密码不一致"),
        ({"username": "王芳"}, "username", "用户名 '王芳' 无效：2-64 位字母、数字、点、下划线或连字符"),
        ({"username": "a"}, "username", "用户名 'a' 无效"),
        ({"username": "clerk"}, "username", "用户名 clerk 已存在"),
        ({"display_name": "名" * 101}, "display_name", "显示名称过长（最多 100 字）"),
    ],
)
def test_a_bad_account_is_refused_at_its_field_and_nothing_is_written(
    office: tuple[httpx.Client, Engine, str], form: dict[str, str], field: str, message: str
) -> None:
    client, engine, _ = office
    before = dump_database(engine)
    data = {"csrf_token": csrf_of(client.get("/admin/users").text), "username": "wang.fang", "display_name": "王芳",
            "password": NEW_PASSWORD, "password2": NEW_PASSWORD, **form}
    refused = client.post("/admin/users", data=data)
    assert refused.status_code == 422
    shown = field_error(refused.text, field)
    assert shown is not None and shown.startswith(message), shown
    assert NEW_PASSWORD not in refused.text  # passwords are never echoed back
    assert dump_database(engine) == before


def test_reset_a_password_ends_the_old_one(office: tuple[httpx.Client, Engine, str]) -> None:
    client, engine, url = office
    clerk = user(engine, "clerk")
    elsewhere = signed_in_client(url)  # office signed in on another device
    form = client.get(f"/admin/users/{clerk.id}/password")
    assert form.status_code == 200 and "clerk" in form.text
    token = csrf_of(form.text)
    before = dump_database(engine)
    short = client.post(f"/admin/users/{clerk.id}/password",
                        data={"csrf_token": token, "password": "short", "password2": "short"})
    assert short.status_code == 422 and field_error(short.text, "password") == "密码至少 10 位"
    mismatch = client.post(f"/admin/users/{clerk.id}/password",
                           data={"csrf_token": token, "password": NEW_PASSWORD, "password2": NEW_PASSWORD + "!"})
    assert mismatch.status_code == 422 and field_error(mismatch.text, "password2") == "两次输入的密码不一致"
    assert dump_database(engine) == before
    done = client.post(f"/admin/users/{clerk.id}/password",
                       data={"csrf_token": token, "password": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert done.status_code == 303
    assert not can_sign_in(url, "clerk", "correct horse battery") and can_sign_in(url, "clerk", NEW_PASSWORD)

    me = user(engine, "office")
    own = client.post(f"/admin/users/{me.id}/password",
                      data={"csrf_token": token, "password": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert own.status_code == 303 and own.headers["location"] == "/admin/users?done=own-password#done"
    assert client.get("/admin/users").status_code == 200, "this browser stays signed in"
    assert elsewhere.get("/admin/users").status_code == 303, "the other session of office ended"
    elsewhere.close()
    assert [a for a, _, _ in audit_trail(engine)] == ["admin_user.password", "admin_user.password"]
    assert client.get("/admin/users/999/password").status_code == 404


def test_disable_and_enable_but_never_oneself(office: tuple[httpx.Client, Engine, str]) -> None:
    client, engine, url = office
    clerk, me = user(engine, "clerk"), user(engine, "office")
    with httpx.Client(base_url=url, timeout=30) as clerk_browser:
        assert sign_in(clerk_browser, "clerk").status_code == 303
        page = client.get("/admin/users").text
        assert f'action="/admin/users/{me.id}/disable"' not in page  # no button for oneself
        token = csrf_of(page)
        before = dump_database(engine)
        refused = client.post(f"/admin/users/{me.id}/disable", data={"csrf_token": token})
        assert refused.status_code == 409 and "不能停用自己的账号" in refused.text
        assert dump_database(engine) == before
        assert client.post(f"/admin/users/{clerk.id}/disable", data={"csrf_token": token}).status_code == 303
        assert user(engine, "clerk").disabled
        assert clerk_browser.get("/admin/users").status_code == 303, "the disabled clerk's session ended"
        assert not can_sign_in(url, "clerk", "correct horse battery")
        listed = client.get("/admin/users").text
        item = re.search(r'<li data-user="clerk">.*?</li>', listed, re.S)
        assert item is not None and "已停用" in item.group(0) and f"/admin/users/{clerk.id}/enable" in item.group(0)
        assert client.post(f"/admin/users/{clerk.id}/enable", data={"csrf_token": token}).status_code == 303
    assert can_sign_in(url, "clerk", "correct horse battery")
    assert [(a, who) for a, who, _ in audit_trail(engine)] == [("admin_user.disable", "admin:office"),
                                                              ("admin_user.enable", "admin:office")]
    assert client.post("/admin/users/999/disable", data={"csrf_token": token}).status_code == 404


def test_forged_or_missing_csrf_is_refused_and_writes_nothing(office: tuple[httpx.Client, Engine, str]) -> None:
    client, engine, _ = office
    clerk = user(engine, "clerk")
    before = dump_database(engine)
    form = {"username": "wang.fang", "password": NEW_PASSWORD, "password2": NEW_PASSWORD}
    for path in ("/admin/users", f"/admin/users/{clerk.id}/password", f"/admin/users/{clerk.id}/disable",
                 f"/admin/users/{clerk.id}/enable"):
        assert client.post(path, data={**form, "csrf_token": "forged"}).status_code == 403
        assert client.post(path, data=form).status_code == 403
    assert dump_database(engine) == before
