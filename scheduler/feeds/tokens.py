"""Internal feed tokens: unguessable, revocable; only a SHA-256 of each token is stored."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime

from sqlalchemy import Column, String
from sqlmodel import Field, Session, SQLModel, col, select

from scheduler.db import utc_column

TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")


class FeedToken(SQLModel, table=True):
    """One subscriber's key to the internal feed (contacts, internal notes, 定档 status)."""

    __tablename__ = "feed_token"

    id: int | None = Field(default=None, primary_key=True)
    label: str = Field(max_length=200)
    token_hash: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    filters: str = Field(default="", max_length=500)
    created_at: datetime = Field(sa_column=utc_column(nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=utc_column())


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
