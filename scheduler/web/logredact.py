"""Keep capability tokens out of logs: a filter that redacts /o/{token} (and its query) in log records."""

from __future__ import annotations

import logging
import re

TOKEN_PATH = re.compile(r"/o/[^\s\"'?#]+(\?[^\s\"']*)?")
REDACTED = "/o/[redacted]"
LOGGERS = ("uvicorn.access", "uvicorn.error", "uvicorn", "fastapi")


class RedactTokens(logging.Filter):
    """Rewrite token paths in the message and its arguments before any handler formats them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and "/o/" in record.msg:
            record.msg = TOKEN_PATH.sub(REDACTED, record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(TOKEN_PATH.sub(REDACTED, a) if isinstance(a, str) and "/o/" in a else a
                                for a in record.args)
        return True


def install_redaction() -> None:
    """Attach the filter to the server's loggers (once; idempotent)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
