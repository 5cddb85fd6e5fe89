"""Signed links of the logistics domain (a unit's nomination form, a guest's RSVP): `<prefix>.<signed nonce>`.

Same rules as every link of the product: the token carries only a random nonce; who it is for, its expiry and
its revocation live in the row it points to. Keys are newest first; old keys still verify.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar, cast

from itsdangerous import BadSignature, URLSafeSerializer
from sqlmodel import Session, select

__all__ = ["LinkExpired", "LinkRefused", "NonceSigner"]


class LinkRefused(Exception):
    """A token that grants nothing: tampered, unknown or revoked."""


class LinkExpired(Exception):
    """A genuine token past its expiry."""


Row = TypeVar("Row")  # a table with link_nonce, link_expires_at and link_revoked_at


class NonceSigner(Generic[Row]):
    """Sign and verify `<prefix>.<signed nonce>` tokens for rows of `model`."""

    def __init__(self, keys: list[str], *, prefix: str, model: type[Row]) -> None:
        if not keys:
            raise ValueError(f"{type(self).__name__} needs at least one secret key")
        self.prefix, self.model = prefix, model
        self._serializer = URLSafeSerializer(list(reversed(keys)), salt=f"kjzs-link-{prefix}")

    def token_for(self, row: Row) -> str:
        """Return the row's token (deterministic: the same row, the same token)."""
        return f"{self.prefix}.{self._serializer.dumps(cast(Any, row).link_nonce)}"

    def verify(self, *, session: Session, token: str, now: datetime) -> Row:
        """Return the row a token was issued to, or raise LinkRefused / LinkExpired."""
        prefix, _, signed = token.partition(".")
        if prefix != self.prefix:
            raise LinkRefused()
        try:
            nonce = self._serializer.loads(signed)
        except BadSignature:
            raise LinkRefused() from None
        if not isinstance(nonce, str) or not nonce or len(nonce) > 32:
            raise LinkRefused()
        model: Any = self.model
        row = session.exec(select(model).where(model.link_nonce == nonce)).first()
        if row is None or row.link_revoked_at is not None:
            raise LinkRefused()
        if now >= row.link_expires_at:
            raise LinkExpired()
        return cast(Row, row)
