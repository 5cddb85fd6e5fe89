"""Feed tables: internal feed tokens (only a SHA-256 of each token is stored)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, String
from sqlmodel import Field, SQLModel

from scheduler.db import utc_column


class FeedToken(SQLModel, table=True):
    """One subscriber's key to the internal feed (contacts, internal notes, 定档 status)."""

    __tablename__ = "feed_token"

    id: int | None = Field(default=None, primary_key=True)
    label: str = Field(max_length=200)
    token_hash: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    filters: str = Field(default="", max_length=500)
    created_at: datetime = Field(sa_column=utc_column(nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=utc_column())
