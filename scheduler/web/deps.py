"""What every route gets from one set of dependencies: the runtime, its `now`, and read or write sessions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from scheduler.db import session_scope
from scheduler.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    """Return the runtime the app was built with."""
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_now(runtime: RuntimeDep) -> datetime:
    """Return the runtime clock's now, read once per request."""
    return runtime.clock.now()


def get_session(runtime: RuntimeDep) -> Iterator[Session]:
    """Yield a session for reading; nothing it changes is committed."""
    with Session(runtime.engine, expire_on_commit=False) as session:
        yield session


def get_write_session(runtime: RuntimeDep) -> Iterator[Session]:
    """Yield a write session, committed once the route returns and before the response is sent.

    The route raising rolls everything back. On SQLite the write lock is taken at BEGIN (BEGIN IMMEDIATE).
    """
    with session_scope(runtime.engine, write=True) as session:
        yield session


NowDep = Annotated[datetime, Depends(get_now)]
SessionDep = Annotated[Session, Depends(get_session)]
# scope="function": the commit happens before the response, so a client never sees success for a failed commit.
WriteSessionDep = Annotated[Session, Depends(get_write_session, scope="function")]
