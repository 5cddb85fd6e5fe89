"""The shared route dependencies: a write session commits before the response is sent and rolls back on error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, HTTPException
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from scheduler.auth import AdminUser
from scheduler.clock import FixedClock
from scheduler.config import Settings
from scheduler.runtime import Runtime
from scheduler.web.deps import NowDep, SessionDep, WriteSessionDep
from tests.conftest import NOTICE_DATE
from tests.support.servers import run_uvicorn


def usernames(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return sorted(session.exec(select(AdminUser.username)).all())


class SeenAtResponseStart:
    """ASGI middleware: read the database (another connection) the moment the response starts going out."""

    def __init__(self, app: Any, *, engine: Engine, seen: list[list[str]]) -> None:
        self.app, self.engine, self.seen = app, engine, seen

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def watch(message: Any) -> None:
            if message["type"] == "http.response.start":
                self.seen.append(usernames(self.engine))
            await send(message)

        await self.app(scope, receive, watch)


@pytest.fixture
def served(engine: Engine, tmp_path: Path) -> Iterator[tuple[httpx.Client, list[list[str]]]]:
    app = FastAPI()
    app.state.runtime = Runtime(
        Settings(var_dir=tmp_path, secret_keys=["s" * 32]), clock=FixedClock(NOTICE_DATE), engine=engine
    )

    def add(session: Session, name: str, now: Any) -> None:
        session.add(AdminUser(username=name, display_name=name, password_hash="x", created_at=now))

    @app.post("/add/{name}")
    def add_user(name: str, session: WriteSessionDep, now: NowDep) -> dict[str, str]:
        add(session, name, now)
        return {"added": name}

    @app.post("/add-then-fail/{name}")
    def add_then_fail(name: str, session: WriteSessionDep, now: NowDep) -> None:
        add(session, name, now)
        session.flush()
        raise HTTPException(status_code=409, detail="refused after writing")

    @app.post("/add-twice/{name}")
    def add_twice(name: str, session: WriteSessionDep, now: NowDep) -> dict[str, str]:
        add(session, name, now)
        add(session, name, now)  # unique username: only the commit finds out
        return {"added": name}

    @app.post("/read-only/{name}")
    def read_only(name: str, session: SessionDep, now: NowDep) -> dict[str, str]:
        add(session, name, now)
        return {"added": name}

    seen: list[list[str]] = []
    app.add_middleware(SeenAtResponseStart, engine=engine, seen=seen)
    with run_uvicorn(app, lifespan="off") as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client, seen


def test_a_write_session_is_committed_before_the_response_starts(
    served: tuple[httpx.Client, list[list[str]]], engine: Engine
) -> None:
    client, seen = served
    assert client.post("/add/wang").json() == {"added": "wang"}
    assert seen == [["wang"]]  # already visible to another connection when the status line went out


def test_a_route_that_raises_leaves_nothing_behind(
    served: tuple[httpx.Client, list[list[str]]], engine: Engine
) -> None:
    client, seen = served
    refused = client.post("/add-then-fail/li")
    assert refused.status_code == 409 and refused.json() == {"detail": "refused after writing"}
    assert seen == [[]] and usernames(engine) == []


def test_a_failed_commit_is_never_answered_with_success(
    served: tuple[httpx.Client, list[list[str]]], engine: Engine
) -> None:
    client, _ = served
    assert client.post("/add-twice/zhao").status_code == 500
    assert usernames(engine) == []


def test_a_read_session_commits_nothing(served: tuple[httpx.Client, list[list[str]]], engine: Engine) -> None:
    client, _ = served
    assert client.post("/read-only/sun").status_code == 200
    assert usernames(engine) == []
