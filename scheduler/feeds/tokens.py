"""Internal feed tokens: unguessable, revocable; only a SHA-256 of each token is stored."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime

from sqlmodel import Session, col, select

from scheduler.feeds.models import FeedToken

TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")


def hash_token(token: str) -> str:
    """Return the stored form of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_feed_token(*, session: Session, label: str, filters: str, now: datetime) -> tuple[FeedToken, str]:
    """Create a token; return the row and the token itself (shown once, never stored)."""
    if not label.strip():
        raise ValueError("请为令牌填写用途说明（--label），例如“如皋市科技局内部日历”")
    token = secrets.token_urlsafe(32)
    row = FeedToken(label=label.strip(), token_hash=hash_token(token), filters=filters, created_at=now)
    session.add(row)
    session.flush()
    return row, token


def list_feed_tokens(*, session: Session) -> list[FeedToken]:
    """Return every token row, oldest first."""
    return list(session.exec(select(FeedToken).order_by(col(FeedToken.id))))


def revoke_feed_token(*, session: Session, token_id: int, now: datetime) -> FeedToken | None:
    """Revoke a token by id (idempotent); return None when there is no such id."""
    row = session.get(FeedToken, token_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = now
        session.add(row)
    return row


def find_active_token(*, session: Session, token: str) -> FeedToken | None:
    """Return the live row for a presented token, or None (wrong, malformed or revoked alike)."""
    if not TOKEN_SHAPE.match(token):
        return None
    row = session.exec(select(FeedToken).where(FeedToken.token_hash == hash_token(token))).first()
    if row is None or row.revoked_at is not None:
        return None
    return row
