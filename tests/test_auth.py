"""Administrator accounts and sign-in: hashes, throttling, CSRF, session fixation, open redirects."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import Engine
from sqlmodel import select

from scheduler.auth import AccountError, AdminUser, LoginThrottle, authenticate, create_user, set_password
from scheduler.db import session_scope
from scheduler.web.security import AdminDep
from tests.support.admin import PASSWORD, add_admin, csrf_of, sign_in
from tests.support.instants import NOTICE_DATE


@pytest.fixture
def app(app: FastAPI, engine: Engine) -> FastAPI:
    """The shared app with an administrator and a page only administrators may see."""
    add_admin(engine)

    @app.get("/admin-only-probe")
    def probe(user: AdminDep) -> dict[str, str]:
        return {"user": user.username}

    return app


def test_passwords_are_hashed_and_checked(engine: Engine) -> None:
    add_admin(engine)
    with session_scope(engine, write=True) as session:
        stored = session.exec(select(AdminUser)).one()
        assert PASSWORD not in stored.password_hash and stored.password_hash.startswith("$argon2")
        assert authenticate(session=session, username="office", password=PASSWORD, now=NOTICE_DATE) is not None
        assert authenticate(session=session, username="office", password="wrong password!", now=NOTICE_DATE) is None
        assert authenticate(session=session, username="nobody", password=PASSWORD, now=NOTICE_DATE) is None


@pytest.mark.parametrize(
    ("username", "password", "says"),
    [
        ("a", PASSWORD, "用户名"),
        ("with space", PASSWORD, "用户名"),
        ("office2", "short", "至少"),
        ("office", PASSWORD, "已存在"),
    ],
)
def test_bad_accounts_are_refused_with_a_reason(engine: Engine, username: str, password: str, says: str) -> None:
    add_admin(engine)
    with session_scope(engine, write=True) as session, pytest.raises(AccountError, match=says):
        create_user(session=session, username=username, password=password, display_name="", now=NOTICE_DATE)


def test_admin_pages_redirect_to_sign_in_and_back(client: httpx.Client) -> None:
    first = client.get("/admin-only-probe?x=1")
    assert first.status_code == 303 and first.headers["location"] == "/login?next=/admin-only-probe%3Fx%3D1"
    before = client.cookies.get("kjzs_session")
    response = sign_in(client, next_path="/admin-only-probe?x=1")
    assert response.status_code == 303 and response.headers["location"] == "/admin-only-probe?x=1"
    assert client.cookies.get("kjzs_session") != before  # a new session after sign-in (no fixation)
    assert client.get("/admin-only-probe").json() == {"user": "office"}
    assert "退出登录" in client.get("/plan").text


def test_wrong_password_and_missing_csrf_are_refused(client: httpx.Client) -> None:
    wrong = sign_in(client, password="not the password")
    assert wrong.status_code == 401 and "用户名或密码不正确" in wrong.text
    no_csrf = client.post("/login", data={"username": "office", "password": PASSWORD})
    assert no_csrf.status_code == 403 and "CSRF" in no_csrf.text
    assert client.get("/admin-only-probe").status_code == 303


def test_open_redirects_are_refused(client: httpx.Client) -> None:
    for target in ("https://evil.example.com/", "//evil.example.com", "/\\evil.example.com"):
        response = sign_in(client, next_path=target)
        assert response.status_code == 303 and response.headers["location"] == "/"
        client.cookies.clear()


def test_sign_out_ends_the_session(client: httpx.Client) -> None:
    sign_in(client)
    token = csrf_of(client.get("/plan").text)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/admin-only-probe").status_code == 303


def test_a_password_change_or_disabling_ends_existing_sessions(client: httpx.Client, engine: Engine) -> None:
    sign_in(client)
    assert client.get("/admin-only-probe").status_code == 200
    with session_scope(engine, write=True) as session:
        set_password(session=session, username="office", password="another long password")
    assert client.get("/admin-only-probe").status_code == 303


def test_throttle_blocks_after_five_failures_then_forgets(client: httpx.Client) -> None:
    stranger = {"x-forwarded-for": "10.9.9.9"}  # uvicorn trusts forwarded headers from 127.0.0.1 only
    for _ in range(5):
        assert sign_in(client, password="nope nope nope", headers=stranger).status_code == 401
    assert sign_in(client, headers=stranger).status_code == 429  # even the right password, from there
    owner = {"x-forwarded-for": "10.1.1.1"}
    assert sign_in(client, headers=owner).status_code == 303  # the owner elsewhere is not locked out


def test_one_address_spraying_usernames_is_throttled(client: httpx.Client) -> None:
    sprayer = {"x-forwarded-for": "10.7.7.7"}
    for i in range(20):
        assert sign_in(client, username=f"user{i}", password="nope nope nope", headers=sprayer).status_code == 401
    assert sign_in(client, headers=sprayer).status_code == 429


def test_a_signed_out_cookie_cannot_be_replayed(client: httpx.Client) -> None:
    sign_in(client)
    saved = dict(client.cookies)
    token = csrf_of(client.get("/plan").text)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    client.cookies.clear()
    client.cookies.update(saved)
    assert client.get("/admin-only-probe").status_code == 303


def test_next_keeps_every_query_parameter(client: httpx.Client) -> None:
    first = client.get("/admin-only-probe?period=2023-01&format=csv")
    login_page = client.get(first.headers["location"]).text
    assert 'name="next" value="/admin-only-probe?period=2023-01&amp;format=csv"' in login_page


def test_throttle_window_slides_on_wall_clock_seconds() -> None:
    wall = [1000.0]
    throttle = LoginThrottle(limit=2, window=timedelta(minutes=15), wall=lambda: wall[0])
    throttle.fail("k")
    wall[0] += 60
    throttle.fail("k")
    wall[0] += 60
    assert throttle.blocked("k")
    wall[0] += 14 * 60  # 15 min after the first failure, 14 after the second: one left in the window
    assert not throttle.blocked("k")
    throttle.fail("k")
    assert throttle.blocked("k")


def test_cli_adds_lists_and_disables_administrators(db_url: str, engine: Engine) -> None:
    from typer.testing import CliRunner

    from scheduler.cli import app as cli_app

    env = {"SCHEDULER_DATABASE_URL": db_url, "SCHEDULER_SECRET_KEYS": "k" * 32}
    runner = CliRunner()
    added = runner.invoke(cli_app, ["user", "add", "wang", "--name", "王科长", "--password-stdin"],
                          input=PASSWORD + "\n", env=env)
    assert added.exit_code == 0 and "已添加管理员 wang" in added.output
    again = runner.invoke(cli_app, ["user", "add", "wang", "--password-stdin"], input=PASSWORD + "\n", env=env)
    assert again.exit_code == 2 and "已存在" in again.output
    short = runner.invoke(cli_app, ["user", "add", "li", "--password-stdin"], input="short\n", env=env)
    assert short.exit_code == 2 and "至少" in short.output
    listed = runner.invoke(cli_app, ["user", "list"], env=env)
    assert "wang\t王科长\t正常\t最近登录：从未登录" in listed.output
    assert runner.invoke(cli_app, ["user", "disable", "wang"], env=env).exit_code == 0
    with session_scope(engine) as session:
        assert authenticate(session=session, username="wang", password=PASSWORD, now=NOTICE_DATE) is None
