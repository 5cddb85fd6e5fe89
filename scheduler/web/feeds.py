"""GET/HEAD /feeds/…ics straight from the feed cache (a thin ASGI layer: ETag, Last-Modified, 304, gzip)."""

from __future__ import annotations

from datetime import timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl

import anyio.to_thread
from sqlmodel import Session

from scheduler.feeds.cache import FeedCache
from scheduler.feeds.filters import FeedNotFound, FeedSpec, split_feed_path
from scheduler.feeds.render import RenderedFeed
from scheduler.feeds.tokens import find_active_token
from scheduler.runtime import Runtime

PREFIX = "/feeds/"
MAX_MEMO = 4096
NOT_FOUND_PRIVATE = "没有这个日历订阅。内部日历的地址由管理员发放；如已失效，请向管理员索取新地址。"
Scope = dict[str, Any]


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


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


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


def not_modified(scope: Scope, feed: RenderedFeed) -> bool:
    """Apply RFC 9110 conditional GET: If-None-Match wins; else If-Modified-Since by whole seconds."""
    inm = _header(scope, b"if-none-match")
    if inm is not None:
        tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
        return "*" in tags or feed.etag in tags or feed.gzip_etag in tags
    ims = _header(scope, b"if-modified-since")
    if ims is None:
        return False
    try:
        since = parsedate_to_datetime(ims)
    except (TypeError, ValueError):
        return False
    if since is None or since.tzinfo is None:
        return False
    return feed.last_modified.replace(microsecond=0) <= since


class FeedMiddleware:
    """Answer /feeds/ requests before the framework's router; everything else passes through."""

    def __init__(self, app: Any, *, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime
        # (path, query) → spec for public feeds, valid while the snapshot object is the same
        self._specs: dict[tuple[str, bytes], FeedSpec] = {}
        self._specs_for: object = None

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        if scope["method"] not in ("GET", "HEAD"):
            await self._plain(send, 405, "订阅地址只支持 GET 和 HEAD。", extra=[(b"allow", b"GET, HEAD")])
            return
        cache = feed_cache(self.runtime)
        try:
            if cache.needs_check or cache.snapshot is None:
                await anyio.to_thread.run_sync(cache.refresh)
            spec = await self._spec(scope, cache)
            now = self.runtime.clock.now()
            feed = cache.peek(spec, now)
            if feed is None:
                feed = await anyio.to_thread.run_sync(cache.feed, spec, now)
        except FeedNotFound as exc:
            await self._plain(send, 404, exc.message)
            return
        await self._send_feed(scope, send, feed, private=spec.private)

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
        row = await anyio.to_thread.run_sync(self._token_row, value or "")
        if row is None:
            raise FeedNotFound(NOT_FOUND_PRIVATE)
        # A token's stored filters are its whole grant: the URL may not add values (they would widen, not narrow).
        fixed = parse_qsl(row.filters)
        return cache.resolve("private", None, fixed or query, private=True)

    def _token_row(self, token: str) -> Any:
        with Session(self.runtime.engine) as session:
            return find_active_token(session=session, token=token)

    async def _send_feed(self, scope: Scope, send: Any, feed: RenderedFeed, *, private: bool) -> None:
        use_gzip = _accepts_gzip(_header(scope, b"accept-encoding"))
        body, etag = (feed.gzip_body, feed.gzip_etag) if use_gzip else (feed.body, feed.etag)
        headers = [
            (b"etag", etag.encode()),
            (b"last-modified", feed.last_modified_http.encode()),
            (b"cache-control", b"private, max-age=3600" if private else b"public, max-age=3600"),
            (b"vary", b"Accept-Encoding"),
        ]
        if private:
            headers.append((b"referrer-policy", b"no-referrer"))
        if not_modified(scope, feed):
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        headers += [(b"content-type", b"text/calendar; charset=utf-8"), (b"content-length", str(len(body)).encode())]
        if use_gzip:
            headers.append((b"content-encoding", b"gzip"))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})

    async def _plain(
        self, send: Any, status: int, message: str, extra: list[tuple[bytes, bytes]] | None = None
    ) -> None:
        body = (message + "\n").encode("utf-8")
        headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers + (extra or [])})
        await send({"type": "http.response.body", "body": body})
