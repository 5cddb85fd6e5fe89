"""The objects one process builds once from settings: engine and clock."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any

from sqlalchemy.engine import Engine

from scheduler.clock import Clock, parse_clock
from scheduler.config import Settings
from scheduler.db import make_engine
from scheduler.faults import WriteHealth


class Runtime:
    """Settings plus lazily built engine and clock, shared by one CLI command or server."""

    def __init__(self, settings: Settings, *, clock: Clock | None = None, engine: Engine | None = None) -> None:
        self.settings = settings
        self.mailer: Any = None
        # name → callable(session) adding a section to /healthz (outbox counts, …)
        self.health_contributors: dict[str, Callable[[Any], Any]] = {}
        # whether writes fail for want of a writable disk or database, and since when (every page's banner)
        self.write_health = WriteHealth()
        if clock is not None:
            self.__dict__["clock"] = clock
        if engine is not None:
            self.__dict__["engine"] = engine

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.settings.resolved_database_url)

    @cached_property
    def clock(self) -> Clock:
        return parse_clock(self.settings.clock)
