"""Administrator accounts: argon2 password hashes, sign-in with throttling; no self-service sign-up."""

from __future__ import annotations

import re
from collections import deque
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Column, String
from sqlmodel import Field, Session, SQLModel, select

from scheduler.db import utc_column

USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$")
MIN_PASSWORD_LENGTH = 10
_HASHER = PasswordHasher()
# A hash to verify against when the user does not exist, so timing does not reveal which usernames exist.
_DUMMY_HASH = _HASHER.hash("not-a-real-password")


class AdminUser(SQLModel, table=True):
    """A person of the leading group office who may sign in to the web UI."""

    __tablename__ = "admin_user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    display_name: str
    password_hash: str
    disabled: bool = False
    # Bumped on sign-out, password change and disabling: every session cookie issued before stops working.
    session_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    created_at: datetime = Field(sa_column=utc_column(nullable=False))
    last_login_at: datetime | None = Field(default=None, sa_column=utc_column())


class AccountError(ValueError):
    """A username or password that cannot be accepted (message says why, in Chinese)."""


def create_user(*, session: Session, username: str, password: str, display_name: str, now: datetime) -> AdminUser:
    """Add an administrator; refuse bad usernames, short passwords and duplicates."""
    if not USERNAME_RE.match(username):
        raise AccountError(f"用户名 {username!r} 无效：2-64 位字母、数字、点、下划线或连字符")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"密码至少 {MIN_PASSWORD_LENGTH} 位")
    if session.exec(select(AdminUser).where(AdminUser.username == username)).first() is not None:
        raise AccountError(f"用户名 {username} 已存在")
    user = AdminUser(
        username=username, display_name=display_name or username, password_hash=_HASHER.hash(password), created_at=now
    )
    session.add(user)
    session.flush()
    return user


def set_password(*, session: Session, username: str, password: str) -> AdminUser:
    """Replace an administrator's password."""
    user = session.exec(select(AdminUser).where(AdminUser.username == username)).first()
    if user is None:
        raise AccountError(f"没有用户 {username}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"密码至少 {MIN_PASSWORD_LENGTH} 位")
    user.password_hash = _HASHER.hash(password)
    user.session_version += 1
    return user


def end_sessions(user: AdminUser) -> None:
    """Invalidate every session of `user` (sign-out everywhere)."""
    user.session_version += 1


def authenticate(*, session: Session, username: str, password: str, now: datetime) -> AdminUser | None:
    """Return the enabled user whose password matches, else None (constant work either way)."""
    user = session.exec(select(AdminUser).where(AdminUser.username == username)).first()
    try:
        _HASHER.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or user.disabled:
        return None
    if _HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = _HASHER.hash(password)
    user.last_login_at = now
    return user


class LoginThrottle:
    """Refuse sign-in for a key (username or address) after too many failures in a sliding window."""

    def __init__(self, *, limit: int = 5, window: timedelta = timedelta(minutes=15)) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[datetime]] = {}

    def blocked(self, key: str, now: datetime) -> bool:
        """Tell whether `key` has used up its attempts."""
        failures = self._failures.get(key)
        if not failures:
            return False
        while failures and now - failures[0] > self.window:
            failures.popleft()
        return len(failures) >= self.limit

    def fail(self, key: str, now: datetime) -> None:
        """Record one failed attempt."""
        self._failures.setdefault(key, deque()).append(now)
        if len(self._failures) > 10_000:  # bounded memory under a spray of usernames
            self._failures.pop(next(iter(self._failures)))

    def reset(self, key: str) -> None:
        """Forget the failures of `key` after a successful sign-in."""
        self._failures.pop(key, None)
