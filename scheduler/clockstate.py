"""The clock's last instant, kept in the database: a simulated clock resumes where it stopped, no clock runs back.

Base module (imports only clock and db). The ticker records the instant it plans at before each planning tick;
`resume_clock` reads it when a process starts.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, String
from sqlalchemy.engine import Engine
from sqlmodel import Field, SQLModel

from scheduler.clock import Clock, NonDecreasingClock, SimulatedClock
from scheduler.db import session_scope, utc_column

LAST_INSTANT = "last_instant"


class ClockState(SQLModel, table=True):
    """One named instant (`last_instant`: the latest `now` the planners acted on)."""

    __tablename__ = "clock_state"

    name: str = Field(sa_column=Column(String(32), primary_key=True))
    instant: datetime = Field(sa_column=utc_column(nullable=False))
    updated_at: datetime = Field(sa_column=utc_column(nullable=False))


def stored_instant(*, engine: Engine) -> datetime | None:
    """Return the latest instant the planners acted on, if one was recorded."""
    with session_scope(engine) as session:
        row = session.get(ClockState, LAST_INSTANT)
        return row.instant if row is not None else None


def record_instant(*, engine: Engine, instant: datetime, wall: datetime) -> None:
    """Keep `instant` as the latest one acted on (never lowering a later one already kept)."""
    with session_scope(engine, write=True) as session:
        row = session.get(ClockState, LAST_INSTANT)
        if row is None:
            session.add(ClockState(name=LAST_INSTANT, instant=instant, updated_at=wall))
        elif instant > row.instant:
            row.instant, row.updated_at = instant, wall


def resume_clock(clock: Clock, *, engine: Engine) -> NonDecreasingClock:
    """Wrap `clock` so it never runs back past the stored instant; a simulated clock behind it restarts from it.

    A simulated clock whose START lies before the stored instant (`make run` again on a database that already holds
    March) continues from that instant at the same speed instead of replaying January; a START after it wins.
    """
    if isinstance(clock, NonDecreasingClock):
        clock = clock.inner
    last = stored_instant(engine=engine)
    if last is not None and isinstance(clock, SimulatedClock) and clock.now() < last:
        clock = SimulatedClock(last, clock.speed)
    return NonDecreasingClock(clock, floor=last)
