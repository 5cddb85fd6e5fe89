"""What every route gets from one set of dependencies: the runtime, its `now`, and read or write sessions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import event
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

    The route raising rolls everything back. On SQLite the write lock is taken at BEGIN (BEGIN IMMEDIATE). A commit
    that wrote something tells `runtime.write_health` that writing works (the read-only banner goes away).
    """
    wrote: list[bool] = []
    with session_scope(runtime.engine, write=True) as session:
        event.listen(session, "after_flush", lambda *_: wrote.append(True))
        event.listen(session, "do_orm_execute", lambda state: wrote.append(_is_dml(state)))
        yield session
    if any(wrote):
        runtime.write_health.succeeded()


def _is_dml(state: Any) -> bool:
    return bool(state.is_insert or state.is_update or state.is_delete)


NowDep = Annotated[datetime, Depends(get_now)]
SessionDep = Annotated[Session, Depends(get_session)]
# scope="function": the commit happens before the response, so a client never sees success for a failed commit.
WriteSessionDep = Annotated[Session, Depends(get_write_session, scope="function")]
