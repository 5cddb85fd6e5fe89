"""What went wrong outside the program, by kind: database unreachable, disk full, read-only, no permission.

Base module: the CLI, the ticker and the web error pages name a failure the same way, in one Chinese line; a
process remembers a failed write (`WriteHealth`) so every page can show the read-only banner until writes work.
"""

from __future__ import annotations

import enum
import errno
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from scheduler.db import session_scope


class Fault(enum.StrEnum):
    """A kind of environmental failure a person can act on."""

    DISK_FULL = "disk_full"
    READ_ONLY = "read_only"
    PERMISSION = "permission"
    BUSY = "busy"
    DISK_IO = "disk_io"
    MISSING = "missing"
    UNREACHABLE = "unreachable"  # the database server or file cannot be reached at all


FAULT_TEXT = {
    Fault.DISK_FULL: "磁盘已满",
    Fault.READ_ONLY: "磁盘或数据库为只读",
    Fault.PERMISSION: "没有权限",
    Fault.BUSY: "数据库忙（其他进程正在写入）",
    Fault.DISK_IO: "磁盘读写错误",
    Fault.MISSING: "文件或目录不存在",
    Fault.UNREACHABLE: "无法连接数据库",
}
_ERRNO = {
    errno.ENOSPC: Fault.DISK_FULL, errno.EDQUOT: Fault.DISK_FULL, errno.EROFS: Fault.READ_ONLY,
    errno.EACCES: Fault.PERMISSION, errno.EPERM: Fault.PERMISSION, errno.EIO: Fault.DISK_IO,
    errno.ENOENT: Fault.MISSING, errno.ENOTDIR: Fault.MISSING,
}
READ_ONLY_SQLSTATE = "25006"  # PostgreSQL read_only_sql_transaction
# Substrings of SQLite's and PostgreSQL drivers' messages, most specific first.
_DB_MESSAGES = (
    ("database or disk is full", Fault.DISK_FULL),
    ("no space left", Fault.DISK_FULL),
    ("readonly database", Fault.READ_ONLY),
    ("read-only", Fault.READ_ONLY),
    ("database is locked", Fault.BUSY),
    ("database is busy", Fault.BUSY),
    ("disk i/o error", Fault.DISK_IO),
    ("permission denied", Fault.PERMISSION),
    ("unable to open database file", Fault.UNREACHABLE),
    ("connection", Fault.UNREACHABLE),
    ("could not connect", Fault.UNREACHABLE),
    ("server closed", Fault.UNREACHABLE),
    ("timeout", Fault.UNREACHABLE),
    ("the database system is", Fault.UNREACHABLE),  # starting up / shutting down / in recovery mode
)


def classify(exc: BaseException) -> Fault | None:
    """Return the kind of an environmental failure, or None for anything else (a bug: let it show)."""
    if isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) == READ_ONLY_SQLSTATE:
        return Fault.READ_ONLY  # PostgreSQL: a read-only transaction or a hot standby (an InternalError)
    if isinstance(exc, OperationalError) or (isinstance(exc, DBAPIError) and exc.connection_invalidated):
        text = str(exc.orig).lower()
        for needle, fault in _DB_MESSAGES:
            if needle in text:
                return fault
        return Fault.UNREACHABLE if isinstance(exc, OperationalError) else None
    if isinstance(exc, OSError) and exc.errno in _ERRNO:
        return _ERRNO[exc.errno]
    return None


def describe(exc: BaseException) -> str | None:
    """Return one Chinese line saying what failed and where, or None when `exc` is not an environmental failure."""
    fault = classify(exc)
    if fault is None:
        return None
    if isinstance(exc, OSError):
        where = f"：{exc.filename}" if exc.filename else ""
        return f"{FAULT_TEXT[fault]}{where}（{exc.strerror or exc}）"
    reason = " ".join(str(getattr(exc, "orig", exc)).split()) or type(exc).__name__
    return f"数据库错误：{FAULT_TEXT[fault]}（{reason}）"


# --- Degraded-since: a process remembers that writes fail, so every page says so until they work again. ---

WRITE_FAULTS = frozenset({Fault.READ_ONLY, Fault.DISK_FULL, Fault.PERMISSION})  # writing cannot work, reading can
PROBE_EVERY_S = 10.0
# A write that changes nothing: refused by a read-only SQLite file or `query_only`, and by a PostgreSQL read-only
# transaction or hot standby (SQLSTATE 25006), yet costs no page write where writing works.
PROBE_SQL = "UPDATE clock_state SET name = name WHERE 1 = 0"


@dataclass
class Degraded:
    """What is wrong with writing and since when (wall clock, UTC)."""

    fault: Fault
    since: datetime


class WriteHealth:
    """Process-level state: set by a write that failed for lack of a writable disk or database, cleared by a write
    that succeeded or by a probe (at most one per `probe_every` seconds, and only while degraded) saying writable.

    Thread-safe: web routes run in a thread pool. Instants are passed in (`now` wall clock, `tick` monotonic).
    """

    def __init__(self, *, probe_every: float = PROBE_EVERY_S) -> None:
        self.probe_every = probe_every
        self._state: Degraded | None = None
        self._probed_at = 0.0
        self._lock = threading.Lock()

    def failed(self, exc: BaseException, *, now: datetime, tick: float) -> Degraded | None:
        """Record a failed write; return the state when `exc` says writing cannot work (the first `since` kept)."""
        fault = classify(exc)
        if fault not in WRITE_FAULTS:
            return self._state
        with self._lock:
            if self._state is None or self._state.fault != fault:
                self._state = Degraded(fault=fault, since=now if self._state is None else self._state.since)
            self._probed_at = tick
            return self._state

    def succeeded(self) -> None:
        """Record a committed write: writing works again."""
        if self._state is not None:
            with self._lock:
                self._state = None

    def current(self, *, probe: Callable[[], bool], tick: float) -> Degraded | None:
        """Return the degraded state, first probing (when due) whether writing works again."""
        with self._lock:
            state = self._state
            if state is None or tick - self._probed_at < self.probe_every:
                return state
            self._probed_at = tick
        if probe():
            self.succeeded()
            return None
        return state


def write_probe(engine: Engine) -> Callable[[], bool]:
    """Return a probe telling whether `engine`'s database takes writes (PROBE_SQL in a write transaction)."""

    def probe() -> bool:
        try:
            with session_scope(engine, write=True) as session:
                session.execute(text(PROBE_SQL))
        except (DBAPIError, OSError):
            return False
        return True

    return probe
