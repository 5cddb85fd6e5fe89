"""Optional access log (SCHEDULER_ACCESS_LOG=on): one line per request, token paths redacted where the line is made.

Off by default: uvicorn's own access log runs a logging filter over every line, which cost half of a cached feed
request. When on, this outermost ASGI layer writes a finished line (no format arguments, no filter) whose target
was redacted once per distinct path and query (memoized), so tokens never reach a handler.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from scheduler.web.logredact import redact

LOGGER = "scheduler.access"
MAX_MEMO = 4096


def access_logger() -> logging.Logger:
    """Return the access logger, at INFO so its lines are written when the layer is on."""
    logger = logging.getLogger(LOGGER)
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)
    return logger


def log_to_stdout() -> None:
    """Give the access logger one stdout handler (what `serve` uses; idempotent)."""
    logger = access_logger()
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(message)s"))
        logger.addHandler(handler)
        logger.propagate = False


class AccessLog:
    """Log `client - "METHOD target HTTP/x" status` for every HTTP request, token paths redacted."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.logger = access_logger()
        self._targets: dict[tuple[str, bytes], str] = {}

    def target(self, path: str, query: bytes) -> str:
        """Return the request target with any token redacted (computed once per path and query)."""
        key = (path, query)
        found = self._targets.get(key)
        if found is None:
            full = f"{path}?{query.decode('latin-1')}" if query else path
            found = redact(full)
            if len(self._targets) >= MAX_MEMO:
                self._targets.clear()
            self._targets[key] = found
        return found

    def write(self, scope: Any, status: int) -> None:
        """Write the line of one answered request (also called by the cached-feed path, which skips this layer)."""
        if self.logger.isEnabledFor(logging.INFO):
            client = scope.get("client")
            peer = f"{client[0]}:{client[1]}" if client else "-"
            target = self.target(scope["path"], scope["query_string"])
            self.logger.info(f'{peer} - "{scope["method"]} {target} HTTP/{scope.get("http_version", "1.1")}" {status}')

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status, logged = 500, False

        def log() -> None:
            nonlocal logged
            logged = True
            self.write(scope, status)

        async def send_status(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                log()  # when the answer is complete, before any clean-up: lines keep the order of the answers

        try:
            await self.app(scope, receive, send_status)
        finally:
            if not logged:
                log()  # no complete answer (an error or a dropped connection): still one line


def placed_access_log(app: Any, *, layer: AccessLog) -> AccessLog:
    """Put the already built `layer` (shared with the application's cached-feed path) in front of `app`."""
    layer.app = app
    return layer
