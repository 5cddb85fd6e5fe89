"""GET/HEAD /feeds/…ics straight from the feed cache (a pure ASGI layer: ETag, Last-Modified, 304, gzip).

Fast path: once a public feed is rendered, its response (headers for 200 and 304, body) is kept per
(path, query, Accept-Encoding). A request that finds it — same snapshot, data version not due for a check, same
local day — costs one dictionary lookup, the ETag compare and the write: no spec resolution, no database, no
framework. The layer is the outermost one for /feeds, so it adds the security headers itself (computed once).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl

import anyio.to_thread
from sqlmodel import Session

from scheduler.clock import at_local, local_date
from scheduler.feeds.cache import FeedCache
from scheduler.feeds.filters import FeedNotFound, FeedSpec, split_feed_path
from scheduler.feeds.render import RenderedFeed
from scheduler.feeds.tokens import find_active_token
from scheduler.runtime import Runtime
from scheduler.web.security import security_headers

PREFIX = "/feeds/"
MAX_MEMO = 4096
NOT_FOUND_PRIVATE = "没有这个日历订阅。内部日历的地址由管理员发放；如已失效，请向管理员索取新地址。"
Scope = dict[str, Any]
Headers = list[tuple[bytes, bytes]]


def feed_cache(runtime: Runtime) -> FeedCache:
    """Return the process's feed cache, built on first use."""
    cache = runtime.__dict__.get("feed_cache")
    if cache is None:
        cache = FeedCache(
            runtime.engine,
            base_url=runtime.settings.base_url,
            recheck_seconds=runtime.settings.feed_recheck_seconds,
            default_length=timedelta(minutes=runtime.settings.event_default_minutes),
        )
        runtime.__dict__["feed_cache"] = cache
    return cache


def _accepts_gzip(value: str | None) -> bool:
    """Tell whether Accept-Encoding allows gzip (an explicit q=0 refuses it)."""
    for part in (value or "").split(","):
        coding, _, params = part.partition(";")
        if coding.strip().lower() not in ("gzip", "x-gzip", "*"):
            continue
        q = params.strip().lower()
        if not q.startswith("q="):
            return True
        try:
            return float(q[2:]) > 0
        except ValueError:
            return False
    return False


def not_modified(feed: RenderedFeed, inm: bytes | None, ims: bytes | None, known: tuple[bytes, ...] = ()) -> bool:
    """Apply RFC 9110 conditional GET: If-None-Match wins; else If-Modified-Since by whole seconds.

    `known`: the feed's ETags as bytes, so a client echoing one back is answered without parsing.
    """
    if inm is not None:
        if inm in known:
            return True
        tags = {t.strip().removeprefix("W/") for t in inm.decode("latin-1").split(",")}
        return "*" in tags or feed.etag in tags or feed.gzip_etag in tags
    if ims is None:
        return False
    try:
        since = parsedate_to_datetime(ims.decode("latin-1"))
    except (TypeError, ValueError):
        return False
    if since is None or since.tzinfo is None:
        return False
    return feed.last_modified.replace(microsecond=0) <= since


def secured(path: str, headers: Headers) -> Headers:
    """Return `headers` with the security headers every answer carries (as SecurityHeaders adds them)."""
    present = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in headers}
    extra = security_headers(path, signed_in=False, headers=present)
    kept = [(k, v) for k, v in headers if k.decode("latin-1").lower() not in extra]
    return kept + [(k.encode(), v.encode()) for k, v in extra.items()]


@dataclass(frozen=True, slots=True)
class Ready:
    """One feed's complete answer for one Accept-Encoding, valid for one snapshot and one local day."""

    snapshot: object
    day_from: datetime
    day_until: datetime
    feed: RenderedFeed
    body: bytes
    ok: Headers
    unchanged: Headers
    tags: tuple[bytes, ...]


def ready(path: str, feed: RenderedFeed, *, snapshot: object, now: datetime, gzip: bool, private: bool) -> Ready:
    """Build the 200 and 304 headers of `feed` once."""
    body, etag = (feed.gzip_body, feed.gzip_etag) if gzip else (feed.body, feed.etag)
    common: Headers = [
        (b"etag", etag.encode()),
        (b"last-modified", feed.last_modified_http.encode()),
        (b"cache-control", b"private, max-age=3600" if private else b"public, max-age=3600"),
        (b"vary", b"Accept-Encoding"),
    ]
    if private:
        common.append((b"referrer-policy", b"no-referrer"))
    ok = [*common, (b"content-type", b"text/calendar; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    if gzip:
        ok.append((b"content-encoding", b"gzip"))
    day = local_date(now)
    return Ready(
        snapshot=snapshot,
        day_from=at_local(day, time(0)),
        day_until=at_local(day + timedelta(days=1), time(0)),
        feed=feed,
        body=body,
        ok=secured(path, ok),
        unchanged=secured(path, common),
        tags=(feed.etag.encode(), feed.gzip_etag.encode()),
    )


class FeedMiddleware:
    """Answer /feeds/ requests before the framework; everything else passes through."""

    def __init__(self, app: Any, *, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime
        # (path, query) → spec for public feeds, valid while the snapshot object is the same
        self._specs: dict[tuple[str, bytes], FeedSpec] = {}
        self._specs_for: object = None
        # (path, query, Accept-Encoding) → the whole answer of a public feed (checked against snapshot and day)
        self._ready: dict[tuple[str, bytes, bytes | None], Ready] = {}
        self._ready_for: object = None

    async def answer_cached(self, scope: Scope, send: Any) -> int:
        """Answer a request for a public feed already rendered and current: its status; 0 (nothing sent) otherwise.

        The application calls this before its own middleware stack, so a cached feed costs this method only.
        """
        if scope["type"] != "http":  # lifespan and websocket scopes have no path
            return 0
        path = scope["path"]
        if not path.startswith(PREFIX) or scope["method"] not in ("GET", "HEAD"):
            return 0
        accept = inm = ims = None
        for key, value in scope["headers"]:
            if key == b"accept-encoding":
                accept = value
            elif key == b"if-none-match":
                inm = value
            elif key == b"if-modified-since":
                ims = value
        hit = self._ready.get((path, scope["query_string"], accept))
        if hit is None:
            return 0
        cache = feed_cache(self.runtime)
        if hit.snapshot is not cache.snapshot or cache.needs_check:
            return 0
        if not hit.day_from <= self.runtime.clock.now() < hit.day_until:
            return 0
        return await self._send(scope, send, hit, inm, ims)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if scope["method"] not in ("GET", "HEAD"):
            await self._plain(path, send, 405, "订阅地址只支持 GET 和 HEAD。", extra=[(b"allow", b"GET, HEAD")])
            return
        accept = inm = ims = None
        for key, value in scope["headers"]:
            if key == b"accept-encoding":
                accept = value
            elif key == b"if-none-match":
                inm = value
            elif key == b"if-modified-since":
                ims = value
        memo_key = (path, scope["query_string"], accept)
        hit = self._ready.get(memo_key)
        cache = feed_cache(self.runtime)
        if hit is not None and hit.snapshot is cache.snapshot and not cache.needs_check:
            now = self.runtime.clock.now()
            if hit.day_from <= now < hit.day_until:
                await self._send(scope, send, hit, inm, ims)
                return
        try:
            if cache.needs_check or cache.snapshot is None:
                await anyio.to_thread.run_sync(cache.refresh)
            spec = await self._spec(scope, cache)
            now = self.runtime.clock.now()
            feed = cache.peek(spec, now)
            if feed is None:
                feed = await anyio.to_thread.run_sync(cache.feed, spec, now)
        except FeedNotFound as exc:
            await self._plain(path, send, 404, exc.message)
            return
        use_gzip = _accepts_gzip(accept.decode("latin-1") if accept is not None else None)
        answer = ready(path, feed, snapshot=cache.snapshot, now=now, gzip=use_gzip, private=spec.private)
        if not spec.private:
            if len(self._ready) >= MAX_MEMO or self._ready_for is not cache.snapshot:
                self._ready.clear()  # answers of an older snapshot would keep its bodies alive
                self._ready_for = cache.snapshot
            self._ready[memo_key] = answer
        await self._send(scope, send, answer, inm, ims)

    async def _spec(self, scope: Scope, cache: FeedCache) -> FeedSpec:
        if self._specs_for is not cache.snapshot:
            self._specs, self._specs_for = {}, cache.snapshot
        memo_key = (scope["path"], scope["query_string"])
        spec = self._specs.get(memo_key)
        if spec is not None:
            return spec
        kind, value = split_feed_path(scope["path"][len(PREFIX) :])
        query = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
        if kind != "private":
            spec = cache.resolve(kind, value, query, private=False)
            if len(self._specs) < MAX_MEMO:
                self._specs[memo_key] = spec
            return spec
        # A private feed checks its token on every request: a revocation takes effect at once.
        row = await anyio.to_thread.run_sync(self._token_row, value or "")
        if row is None:
            raise FeedNotFound(NOT_FOUND_PRIVATE)
        # A token's stored filters are its whole grant: the URL may not add values (they would widen, not narrow).
        fixed = parse_qsl(row.filters)
        return cache.resolve("private", None, fixed or query, private=True)

    def _token_row(self, token: str) -> Any:
        with Session(self.runtime.engine) as session:
            return find_active_token(session=session, token=token)

    async def _send(self, scope: Scope, send: Any, answer: Ready, inm: bytes | None, ims: bytes | None) -> int:
        if not_modified(answer.feed, inm, ims, answer.tags):
            await send({"type": "http.response.start", "status": 304, "headers": answer.unchanged})
            await send({"type": "http.response.body", "body": b""})
            return 304
        await send({"type": "http.response.start", "status": 200, "headers": answer.ok})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else answer.body})
        return 200

    async def _plain(self, path: str, send: Any, status: int, message: str, extra: Headers | None = None) -> None:
        body = (message + "\n").encode("utf-8")
        headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
        headers = secured(path, headers + (extra or []))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def placed(app: Any, *, layer: FeedMiddleware) -> FeedMiddleware:
    """Put the already built `layer` (shared with the application's cached-feed path) in front of `app`."""
    layer.app = app
    return layer
