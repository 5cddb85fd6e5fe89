"""The cached-feed fast path over real uvicorn: no database query, same bytes and headers, tokens and days still
checked, and the access-log setting both ways with tokens redacted."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.engine import Engine

from scheduler.clock import SHANGHAI, FixedClock
from scheduler.config import Settings, load_settings
from scheduler.db import session_scope
from scheduler.feeds.tokens import create_feed_token, revoke_feed_token
from scheduler.plan.occurrences import cancel_occurrence, get_occurrence
from scheduler.web.accesslog import LOGGER
from scheduler.web.app import create_app
from tests.support.instants import NOTICE_DATE
from tests.support.servers import run_uvicorn

BASE = "https://kjzs.example.org"
IDENTITY = {"accept-encoding": "identity"}


def slow_recheck_app(engine: Engine, **settings: Any) -> FastAPI:
    # a long recheck interval: between checks, a cached feed must be served without touching the database
    return create_app(
        Settings(base_url=BASE, feed_recheck_seconds=3600, **settings), clock=FixedClock(NOTICE_DATE), engine=engine
    )


@pytest.fixture
def app(seeded_engine: Engine) -> FastAPI:
    return slow_recheck_app(seeded_engine)


@pytest.fixture
def client(app: FastAPI) -> Iterator[httpx.Client]:
    with run_uvicorn(app, lifespan="off") as url, httpx.Client(base_url=url, timeout=10) as c:
        yield c


class Statements:
    """Every SQL statement run on `engine` while the block is open."""

    def __init__(self, engine: Engine) -> None:
        self.engine, self.seen = engine, []  # type: ignore[var-annotated]

    def _seen(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.seen.append(statement)

    def __enter__(self) -> list[str]:
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self.seen

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)


def test_a_cached_feed_request_does_no_database_query(client: httpx.Client, seeded_engine: Engine) -> None:
    first = client.get("/feeds/all.ics", headers=IDENTITY)
    first_gzip = client.get("/feeds/bankuai/haian.ics", headers={"accept-encoding": "gzip"})
    assert first.status_code == first_gzip.status_code == 200
    with Statements(seeded_engine) as seen:
        again = client.get("/feeds/all.ics", headers=IDENTITY)
        unchanged = client.get("/feeds/all.ics", headers={**IDENTITY, "if-none-match": first.headers["etag"]})
        head = client.head("/feeds/all.ics", headers=IDENTITY)
        gzip_again = client.get("/feeds/bankuai/haian.ics", headers={"accept-encoding": "gzip"})
    assert seen == []
    assert again.status_code == 200 and again.content == first.content
    assert again.headers.multi_items() == first.headers.multi_items()  # same headers, security ones included
    assert again.headers["x-content-type-options"] == "nosniff"
    assert again.headers["content-type"] == "text/calendar; charset=utf-8"
    assert unchanged.status_code == 304 and unchanged.content == b""
    assert unchanged.headers["etag"] == first.headers["etag"] and "content-length" not in unchanged.headers
    assert unchanged.headers["x-content-type-options"] == "nosniff"
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(first.content))
    assert gzip_again.content == first_gzip.content and gzip_again.headers["content-encoding"] == "gzip"
    assert gzip_again.headers["etag"] == first_gzip.headers["etag"] != first.headers["etag"]


def test_private_feeds_still_check_their_token_on_every_request(client: httpx.Client, seeded_engine: Engine) -> None:
    with session_scope(seeded_engine, write=True) as session:
        row, token = create_feed_token(session=session, label="如皋内部", filters="bankuai=rugao", now=NOTICE_DATE)
        row_id = row.id
    assert row_id is not None
    assert client.get(f"/feeds/private/{token}.ics").status_code == 200
    assert client.get(f"/feeds/private/{token}.ics").status_code == 200
    with session_scope(seeded_engine, write=True) as session:
        revoke_feed_token(session=session, token_id=row_id, now=NOTICE_DATE)
    assert client.get(f"/feeds/private/{token}.ics").status_code == 404  # at once, not after the recheck interval


def test_the_fast_path_still_drops_a_cancelled_item_the_day_after(
    app: FastAPI, client: httpx.Client, seeded_engine: Engine
) -> None:
    with session_scope(seeded_engine, write=True) as session:
        occ = get_occurrence(session=session, key="07-1")
        assert occ is not None
        cancel_occurrence(session=session, occurrence=occ, reason="改期未定", now=NOTICE_DATE)
    assert b"nantong-2023-07-1@" in client.get("/feeds/all.ics").content
    assert b"nantong-2023-07-1@" in client.get("/feeds/all.ics").content  # served from the fast path
    app.state.runtime.clock.set(datetime(2023, 3, 1, 9, tzinfo=SHANGHAI))
    r = client.get("/feeds/all.ics")
    assert b"nantong-2023-07-1@" not in r.content and r.headers["last-modified"] == "Tue, 28 Feb 2023 16:00:00 GMT"


class Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def logged_requests(app: FastAPI, paths: list[str]) -> tuple[list[str], list[int]]:
    """Request `paths` through uvicorn (its own access log off, as `serve` runs it); return the lines and statuses."""
    keep = Keep()
    logger = logging.getLogger(LOGGER)
    logger.addHandler(keep)
    try:
        server = run_uvicorn(app, lifespan="off", log_level="info", access_log=False)
        with server as url, httpx.Client(base_url=url) as c:
            statuses = [c.get(path).status_code for path in paths]
    finally:
        logger.removeHandler(keep)
    return keep.lines, statuses


def test_access_log_on_writes_one_redacted_line_per_request(seeded_engine: Engine) -> None:
    with session_scope(seeded_engine, write=True) as session:
        _, token = create_feed_token(session=session, label="如皋内部", filters="bankuai=rugao", now=NOTICE_DATE)
    app = slow_recheck_app(seeded_engine, access_log=True)
    paths = [f"/feeds/private/{token}.ics?x=1", f"/feeds/private/{token}.ics", "/feeds/all.ics", "/plan",
             "/feeds/nothing.ics", f"/o/{'B' * 40}", "/feeds/all.ics"]  # fmt: skip
    lines, statuses = logged_requests(app, paths)
    assert statuses[:5] == [200, 200, 200, 200, 404] and statuses[6] == 200
    assert len(lines) == 7 and all(token not in line and "B" * 40 not in line for line in lines)
    assert lines[0].endswith('"GET /feeds/private/[redacted] HTTP/1.1" 200') and "x=1" not in lines[0]
    assert lines[1].endswith('"GET /feeds/private/[redacted] HTTP/1.1" 200')
    assert lines[2].startswith("127.0.0.1:") and lines[2].endswith('"GET /feeds/all.ics HTTP/1.1" 200')
    assert lines[3].endswith('"GET /plan HTTP/1.1" 200') and lines[4].endswith(" 404")
    assert f'"GET /o/[redacted] HTTP/1.1" {statuses[5]}' in lines[5]
    assert lines[6].endswith('"GET /feeds/all.ics HTTP/1.1" 200')  # answered by the cached-feed path, still logged


def test_access_log_is_off_by_default(seeded_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCHEDULER_ACCESS_LOG", raising=False)
    assert load_settings().access_log is False
    lines, statuses = logged_requests(slow_recheck_app(seeded_engine), ["/feeds/all.ics", "/plan"])
    assert statuses == [200, 200] and lines == []


@pytest.mark.parametrize(("value", "expected"), [("on", True), ("off", False), ("true", True), ("0", False)])
def test_access_log_setting_from_the_environment(monkeypatch: pytest.MonkeyPatch, value: str, expected: bool) -> None:
    monkeypatch.setenv("SCHEDULER_ACCESS_LOG", value)
    assert load_settings().access_log is expected


def test_the_application_still_runs_its_lifespan(seeded_engine: Engine) -> None:
    # `serve` starts the mail jobs in the lifespan: the cached-feed check in front must let that scope through
    app = slow_recheck_app(seeded_engine)
    with run_uvicorn(app, lifespan="on") as url, httpx.Client(base_url=url) as c:
        assert c.get("/feeds/all.ics").status_code == c.get("/feeds/all.ics").status_code == 200
        assert c.get("/plan").status_code == 200
