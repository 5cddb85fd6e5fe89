"""Capability links: signed, expiring, revocable tokens granting one action (a task kind) on one task to one recipient.

A token reads `<kind>.<signed nonce>`: an opaque random id, signed so a guess costs nothing to refuse. Everything it
grants (task, recipient, expiry, revocation) is read from its stored `issued_link` row, never from the token.

Tokens of the earlier format (`<kind>.<signed {task, recipient, nonce, expiry}>`, the recipient's address readable
in base64) are still in mailboxes: they keep working until their stored expiry, checked against the same row, and
then get the renew page like any expired link. Nothing issues them any more.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from itsdangerous import BadSignature, URLSafeSerializer
from sqlmodel import Session, select

from scheduler.followups.models import IssuedLink, TaskKind

MAX_NONCE = 32  # the issued_link.nonce column


class LinkRefused(Exception):
    """A token that grants nothing: tampered, unknown, revoked or for another action."""


class LinkExpired(Exception):
    """A genuine token past its expiry; the holder may ask for a fresh one."""

    def __init__(self, grant: Grant) -> None:
        super().__init__("link expired")
        self.grant = grant


@dataclass(frozen=True)
class Grant:
    """What a verified token allows."""

    action: TaskKind  # the kind of work the link is for; must equal the task's kind
    task_id: int
    recipient: str
    nonce: str
    expires_at: datetime


class LinkSigner:
    """Sign and verify tokens; keys are newest first (rotation: old keys still verify)."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("LinkSigner needs at least one secret key")
        self._keys = list(reversed(keys))  # itsdangerous signs with the last key

    def _serializer(self, action: TaskKind) -> URLSafeSerializer:
        return URLSafeSerializer(self._keys, salt=f"kjzs-link-{action}")

    def issue(
        self, *, session: Session, action: TaskKind, task_id: int, recipient: str, expires_at: datetime,
        now: datetime, nonce: str | None = None,
    ) -> str:
        """Record and return a new token for one action on one task for one recipient (random nonce unless given)."""
        link = IssuedLink(nonce=nonce or secrets.token_urlsafe(12), action=str(action), task_id=task_id,
                          recipient=recipient, expires_at=expires_at, created_at=now)
        session.add(link)
        return self.token_for(link)

    def token_for(self, link: IssuedLink) -> str:
        """Return the token of an issued link: its signed nonce only (deterministic: same link, same token)."""
        action = TaskKind(link.action)
        return f"{action}.{self._serializer(action).dumps(link.nonce)}"

    def derived_nonce(self, key: str) -> str:
        """Return a nonce bound to `key` (e.g. one outbox row) that only the key holder can compute."""
        digest = hmac.new(self._keys[-1].encode(), f"kjzs-link-nonce:{key}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:12]).decode()

    def verify(self, *, session: Session, token: str, now: datetime) -> Grant:
        """Return the grant of a token, or raise LinkRefused / LinkExpired."""
        action_text, _, signed = token.partition(".")
        try:
            action = TaskKind(action_text)
            payload = self._serializer(action).loads(signed)
        except (ValueError, BadSignature):
            raise LinkRefused() from None
        legacy = isinstance(payload, dict)
        nonce = payload.get("n") if legacy else payload
        if not isinstance(nonce, str) or not nonce or len(nonce) > MAX_NONCE:
            raise LinkRefused()
        issued = session.exec(select(IssuedLink).where(IssuedLink.nonce == nonce)).first()
        if issued is None or issued.revoked_at is not None or issued.action != str(action):
            raise LinkRefused()
        if legacy and (payload.get("t") != issued.task_id or payload.get("r") != issued.recipient):
            raise LinkRefused()  # an old token must agree with the row it names
        grant = Grant(action=action, task_id=issued.task_id, recipient=issued.recipient, nonce=issued.nonce,
                      expires_at=issued.expires_at)
        if now >= grant.expires_at:
            raise LinkExpired(grant)
        return grant

    @staticmethod
    def revoke(*, session: Session, task_id: int, now: datetime, recipient: str | None = None) -> int:
        """Revoke the live links of a task (optionally one recipient's); return how many."""
        query = select(IssuedLink).where(IssuedLink.task_id == task_id, IssuedLink.revoked_at.is_(None))  # type: ignore[union-attr]
        if recipient is not None:
            query = query.where(IssuedLink.recipient == recipient)
        links = session.exec(query).all()
        for link in links:
            link.revoked_at = now
        return len(links)
