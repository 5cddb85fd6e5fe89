"""The read-only banner persists (issue 15): once a write fails because the disk or database is read-only, every
page served while that holds shows the banner with the time it began; a write that works, or the probe, clears it.
SQLite read-only via `PRAGMA query_only`, PostgreSQL via read-only transactions (SQLSTATE 25006)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url

from scheduler.clock import FixedClock
from scheduler.config import Settings
from scheduler.db import make_engine
from scheduler.web.app import create_app
from tests.support.admin import PASSWORD, add_admin, csrf_of
from tests.support.instants import NOTICE_DATE

BANNER = re.compile(r'<div class="banner degraded" role="alert" data-testid="degraded">(.*?)</div>')
READ_ONLY_TEXT = "只读模式：系统磁盘或数据库当前为只读，可以浏览已保存的内容，暂时不能保存任何修改"


class Switch:
    read_only = False


@pytest.fixture
def switch() -> Switch:
    return Switch()


@pytest.fixture
def switched_engine(seeded_engine: Engine, db_url: str, switch: Switch) -> Iterator[Engine]:
    """The seeded database through connections that refuse writes while `switch.read_only` is on."""
    add_admin(seeded_engine)
    eng = make_engine(db_url)

    @event.listens_for(eng, "checkout")
    def _mode(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        if make_url(db_url).get_backend_name() == "sqlite":
            dbapi_conn.execute(f"PRAGMA query_only={'ON' if switch.read_only else 'OFF'}")
            return
        with dbapi_conn.cursor() as cur:
            cur.execute(f"SET SESSION CHARACTERISTICS AS TRANSACTION READ {'ONLY' if switch.read_only else 'WRITE'}")
        dbapi_conn.commit()

    yield eng
    eng.dispose()


def banner(page: str) -> str | None:
    found = BANNER.search(page)
    return found.group(1) if found else None


def add_contact(client: TestClient, email: str) -> Any:
    token = csrf_of(client.get("/admin/contacts", headers={"Accept": "text/html"}).text)
    data = {"csrf_token": token, "org": "kjj", "name": "新人", "email": email, "role": "科员"}
    return client.post("/admin/contacts", data=data, headers={"Accept": "text/html"}, follow_redirects=False)


def test_the_banner_stays_on_every_page_until_writing_works(switched_engine: Engine, switch: Switch,
                                                           settings: Settings) -> None:
    app = create_app(settings, clock=FixedClock(NOTICE_DATE), engine=switched_engine)
    health = app.state.runtime.write_health
    health.probe_every = 3600.0  # no probe in the first part: only writes set and clear the state
    client = TestClient(app)
    token = csrf_of(client.get("/login").text)
    assert client.post("/login", data={"csrf_token": token, "username": "office", "password": PASSWORD, "next": "/"},
                       follow_redirects=False).status_code == 303
    assert banner(client.get("/plan").text) is None

    switch.read_only = True
    assert banner(client.get("/plan").text) is None  # nothing has failed yet: no guess
    refused = add_contact(client, "first@example.org")
    assert refused.status_code == 503
    shown = banner(refused.text)
    assert shown is not None and shown.startswith(READ_ONLY_TEXT + "（自 20")
    since = re.fullmatch(r".*（自 (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) 起）。", shown)
    assert since is not None
    for path in ("/plan", "/", "/admin/tasks", "/admin/contacts", "/subscribe", "/no-such-page"):
        page = client.get(path, headers={"Accept": "text/html"})
        assert page.status_code in (200, 404), path
        assert banner(page.text) == shown, path  # the same line, the same 'since', on every page

    switch.read_only = False
    assert banner(client.get("/plan").text) == shown  # no write and no probe yet
    refused_form = client.post("/admin/contacts", headers={"Accept": "text/html"},
                               data={"csrf_token": csrf_of(client.get("/admin/contacts").text), "org": "kjj",
                                     "name": "新人", "email": "not-an-address", "role": "科员"})
    assert refused_form.status_code == 422 and banner(refused_form.text) == shown  # committed nothing: proves nothing
    assert add_contact(client, "second@example.org").status_code == 303  # a write that works clears it
    assert banner(client.get("/plan").text) is None
    assert banner(client.get("/admin/contacts").text) is None

    switch.read_only = True
    assert add_contact(client, "third@example.org").status_code == 503
    health.probe_every = 0.0  # from now on every page probes
    again = banner(client.get("/plan").text)
    assert again is not None and again.startswith(READ_ONLY_TEXT)  # the probe finds it still read-only
    switch.read_only = False
    assert banner(client.get("/plan").text) is None  # the probe finds it writable again
    assert "second@example.org" in client.get("/admin/contacts").text
    assert "first@example.org" not in client.get("/admin/contacts").text
