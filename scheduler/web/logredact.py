"""Keep capability tokens out of logs: redact /o/{token}, private feed tokens and unsubscribe tokens in log records."""

from __future__ import annotations

import logging
import re

# The prefix is kept (which kind of link was used); the token and any query string are not.
TOKEN_PATH = re.compile(r"(/o/|/feeds/private/|/mail/unsubscribe/)[^\s\"'?#]+(\?[^\s\"']*)?")
MARKERS = ("/o/", "/feeds/private/", "/mail/unsubscribe/")


def redact(text: str) -> str:
    """Replace every token path in `text` with its prefix and [redacted]."""
    if not any(marker in text for marker in MARKERS):
        return text
    return TOKEN_PATH.sub(lambda m: f"{m.group(1)}[redacted]", text)
LOGGERS = ("uvicorn.access", "uvicorn.error", "uvicorn", "fastapi")


class RedactTokens(logging.Filter):
    """Rewrite token paths in the message and its arguments before any handler formats them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


def install_redaction() -> None:
    """Attach the filter to the server's loggers (once; idempotent)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
