"""Feeds rendered once per data change and day: snapshot of every plan + bytes per spec, VEVENT bytes reused.

The day matters because all.ics holds the plans running that day and cancelled items leave after their date.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from scheduler.clock import local_date
from scheduler.feeds.filters import FeedNotFound, FeedSpec, resolve_spec
from scheduler.feeds.render import (
    DEFAULT_EVENT_LENGTH,
    Party,
    RenderedFeed,
    VEventKey,
    is_cancelled,
    render_feed,
    render_single,
)
from scheduler.feeds.snapshot import PlanSnapshot, load_snapshot, update_snapshot

MAX_RESOLVED = 2048


class VEventCache(dict[VEventKey, bytes]):
    """VEVENT bytes of the current data version, falling back to (and adopting from) the previous one."""

    def __init__(self, previous: dict[VEventKey, bytes] | None = None) -> None:
        super().__init__()
        self.previous = previous if previous is not None else {}

    def get(self, key: VEventKey, default: Any = None) -> Any:
        value = dict.get(self, key)
        if value is None:
            value = self.previous.get(key)
            if value is not None:
                self[key] = value
        return default if value is None else value

    def next_generation(self) -> VEventCache:
        """Start a new generation that keeps only this one as its fallback (bounded memory)."""
        self.previous = {}
        return VEventCache(previous=self)


class FeedCache:
    """Serve feed bytes from memory; re-read the plan only when its cheap data version changed."""

    def __init__(
        self,
        engine: Engine,
        *,
        base_url: str,
        recheck_seconds: float = 2.0,
        monotonic: Callable[[], float] = time.monotonic,
        default_length: timedelta = DEFAULT_EVENT_LENGTH,
    ) -> None:
        self.engine = engine
        self.default_length = default_length  # of a fixed event the plan gives no end
        self.base_url = base_url
        self.recheck_seconds = recheck_seconds
        self._monotonic = monotonic
        self._lock = threading.RLock()
        self._checked_at = float("-inf")
        self.snapshot: PlanSnapshot | None = None
        self._feeds: dict[FeedSpec, tuple[date, RenderedFeed]] = {}
        self._resolved: dict[tuple[str, str | None, str, bool], FeedSpec | FeedNotFound] = {}
        self.vevents = VEventCache()
        self.renders = 0  # how many feeds were rendered (tests and /healthz read it)

    @property
    def needs_check(self) -> bool:
        """Tell whether the data version is due to be checked again."""
        return self._monotonic() - self._checked_at >= self.recheck_seconds

    def refresh(self) -> PlanSnapshot | None:
        """Check the data version (one small query); reload and drop rendered feeds when it changed."""
        with self._lock, Session(self.engine) as session:
            old = self.snapshot
            new = update_snapshot(session=session, snap=old) if old is not None else None
            if new is None:
                new = load_snapshot(session=session)
                self._resolved.clear()  # organizations, chains or themes may have changed
            if new is not old:
                self.snapshot = new
                self._feeds.clear()
                self.vevents = self.vevents.next_generation()
            self._checked_at = self._monotonic()
            return self.snapshot

    def current(self) -> PlanSnapshot:
        """Return the snapshot, checking the version when due; a missing plan is a FeedNotFound."""
        snap = self.refresh() if self.needs_check or self.snapshot is None else self.snapshot
        if snap is None:
            raise FeedNotFound("数据库中还没有活动计划，暂无可订阅的日历")
        return snap

    def resolve(self, kind: str, value: str | None, query: list[tuple[str, str]], *, private: bool) -> FeedSpec:
        """Resolve a feed name and filters to a spec (memoized per data version)."""
        snap = self.current()
        key = (kind, value, repr(query), private)
        found = self._resolved.get(key)
        if found is None:
            try:
                found = resolve_spec(snap, kind, value, query, private=private)
            except FeedNotFound as exc:
                found = exc
            if len(self._resolved) >= MAX_RESOLVED:
                self._resolved.clear()
            self._resolved[key] = found
        if isinstance(found, FeedNotFound):
            raise found
        return found

    def peek(self, spec: FeedSpec, now: datetime) -> RenderedFeed | None:
        """Return the rendered feed if it is current for today, without rendering."""
        hit = self._feeds.get(spec)
        if hit is not None and hit[0] == local_date(now):
            return hit[1]
        return None

    def feed(self, spec: FeedSpec, now: datetime) -> RenderedFeed:
        """Return the feed's bytes, rendering it if the data or the day (cancellations expire) changed."""
        with self._lock:
            snap = self.current()
            hit = self.peek(spec, now)
            if hit is not None:
                return hit
            rendered = render_feed(snap, spec, now=now, base_url=self.base_url, vevent_cache=self.vevents,
                                   default_length=self.default_length)
            self._feeds[spec] = (local_date(now), rendered)
            self.renders += 1
            return rendered


class FeedCalendars:
    """One occurrence as a .ics with exactly the VEVENT the feeds carry (mail attachments)."""

    def __init__(self, engine: Engine, *, base_url: str, default_length: timedelta = DEFAULT_EVENT_LENGTH) -> None:
        # recheck 0: a change notice must carry the edit it announces; callers cache per occurrence version.
        self.cache = FeedCache(engine, base_url=base_url, recheck_seconds=0, default_length=default_length)

    def __call__(self, uid: str, *, method: str = "PUBLISH") -> bytes:
        """Return the .ics of the occurrence with `uid` (METHOD:PUBLISH by default)."""
        with self.cache._lock:
            snap = self.cache.current()
            occ = snap.occurrence_by_uid().get(uid)
            if occ is None:
                raise LookupError(f"没有 UID 为 {uid} 的活动场次")
            return render_single(snap, occ, base_url=self.base_url, method=method,
                                 default_length=self.cache.default_length)

    def invitation(self, uid: str, *, organizer: Party, attendee: Party) -> tuple[str, bytes]:
        """Return (METHOD, .ics) of the iTIP message to `attendee` about the occurrence with `uid`.

        The VEVENT is the feed's (same UID, SEQUENCE, DTSTART, DTEND) plus ORGANIZER and ATTENDEE; an occurrence
        that is off (cancelled, or withdrawn from the plan) is a CANCEL, anything else a REQUEST.
        """
        with self.cache._lock:
            snap = self.cache.current()
            occ = snap.occurrence_by_uid().get(uid)
            if occ is None:
                raise LookupError(f"没有 UID 为 {uid} 的活动场次")
            method = "CANCEL" if is_cancelled(occ, snap.events[occ.event_id]) else "REQUEST"
            return method, render_single(snap, occ, base_url=self.base_url, method=method, organizer=organizer,
                                         attendee=attendee, default_length=self.cache.default_length)

    @property
    def base_url(self) -> str:
        return self.cache.base_url
