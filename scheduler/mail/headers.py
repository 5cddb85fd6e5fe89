"""Headers every client reads: Message-IDs unique per installation, subjects GMime decodes in full.

Message-ID: `<{row id}.{installation id}@{domain}>`. The installation id is random, generated once and kept in the
database (table `installation`), so two installations, or one rebuilt from an empty database, never share an id;
the row id makes it stable across retries of one row.

Subject: RFC 2047 encoded-words of whole UTF-8 characters. Python's `email.header.Header` cuts B-encoded words
anywhere, so middle words end in `=` padding, and GMime (notmuch, mu, Evolution) stops decoding at the first such
word. Here every word but the last holds a multiple of 3 bytes (no padding); where the characters do not allow such
a cut, that word is Q-encoded instead (which has no padding at all).
"""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from scheduler.db import session_scope
from scheduler.mail.models import Installation

MAX_B_BYTES = 45  # 60 base64 characters: "=?utf-8?b?" + 60 + "?=" = 72 ≤ 75 (RFC 2047 §2)
MAX_Q_BYTES = 20  # at most 60 characters of "=XX"
Q_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
FOLD = "\r\n "


def installation_id(engine: Engine, *, now: datetime | None = None) -> str:
    """Return this installation's id, generating and keeping it the first time (two processes agree on one)."""
    with session_scope(engine) as session:
        row = session.get(Installation, 1)
        if row is not None:
            return row.token
    try:
        with session_scope(engine, write=True) as session:
            session.add(Installation(id=1, token=secrets.token_hex(8), created_at=now or datetime.now(UTC)))
    except IntegrityError:
        pass  # another process kept its id first: use that one
    with session_scope(engine) as session:
        row = session.get(Installation, 1)
        assert row is not None
        return row.token


def message_id(row_id: int | None, installation: str, domain: str) -> str:
    """Return the Message-ID of one outbox row of one installation."""
    return f"<{row_id}.{installation}@{domain}>"


def _q_word(data: bytes) -> str:
    return "=?utf-8?q?" + "".join(chr(b) if b in Q_SAFE else f"={b:02X}" for b in data) + "?="


def _b_word(data: bytes) -> str:
    return "=?utf-8?b?" + base64.b64encode(data).decode("ascii") + "?="


def encode_subject(text: str) -> str:
    """Return a Subject value: ASCII text as it is, anything else as folded encoded-words (see module doc)."""
    if text.isascii():
        return text
    words: list[str] = []
    chars = list(text)
    i = 0
    while i < len(chars):
        size, best = 0, None
        j = i
        while j < len(chars):
            n = len(chars[j].encode("utf-8"))
            if size + n > MAX_B_BYTES:
                break
            size += n
            j += 1
            if size % 3 == 0 or j == len(chars):
                best = j
        if best is not None and best > i:
            words.append(_b_word("".join(chars[i:best]).encode("utf-8")))
            i = best
            continue
        # No padding-free cut within one word: Q-encode as many whole characters as fit (at least one).
        size, j = 0, i
        while j < len(chars) and (j == i or size + len(chars[j].encode("utf-8")) <= MAX_Q_BYTES):
            size += len(chars[j].encode("utf-8"))
            j += 1
        words.append(_q_word("".join(chars[i:j]).encode("utf-8")))
        i = j
    return FOLD.join(words)
