"""Test helper: an administrator account and signing in over real HTTP, CSRF token included."""

from __future__ import annotations

import re

import httpx
from sqlalchemy.engine import Engine

from scheduler.auth import create_user
from scheduler.db import session_scope
from tests.support.instants import NOTICE_DATE

PASSWORD = "correct horse battery"


def add_admin(engine: Engine, username: str = "office", password: str = PASSWORD) -> None:
    """Create an administrator (display name 办公室) at the notice instant."""
    with session_scope(engine, write=True) as session:
        create_user(session=session, username=username, password=password, display_name="办公室", now=NOTICE_DATE)


def csrf_of(page: str) -> str:
    """Return the CSRF token of the first form on an HTML page."""
    return page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def sign_in(
    client: httpx.Client,
    username: str = "office",
    password: str = PASSWORD,
    next_path: str = "/",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """Post the sign-in form the way a browser does; return the answer."""
    token = csrf_of(client.get("/login").text)
    data = {"csrf_token": token, "username": username, "password": password, "next": next_path}
    return client.post("/login", data=data, headers=headers)


def signed_in_client(url: str, password: str = PASSWORD) -> httpx.Client:
    """Return a new client for the service at `url`, signed in as `office` (the caller closes it)."""
    client = httpx.Client(base_url=url, timeout=30)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)  # type: ignore[union-attr]
    done = client.post("/login", data={"csrf_token": token, "username": "office", "password": password, "next": "/"})
    assert done.status_code == 303
    return client
