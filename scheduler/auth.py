"""Administrator accounts: argon2 password hashes, sign-in with throttling; no self-service sign-up."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Column, String, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Field, Session, SQLModel, col, select

from scheduler.audit import ActorKind, audit
from scheduler.db import session_scope, utc_column
from scheduler.faults import Fault, classify

log = logging.getLogger(__name__)
USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$")
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256  # the sign-in form accepts no longer password
MAX_DISPLAY_NAME = 100
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
    """A username or password that cannot be accepted (message says why, in Chinese; `field` names the form field)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def check_password(password: str) -> None:
    """Refuse a password shorter than the minimum or longer than the sign-in form accepts."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"密码至少 {MIN_PASSWORD_LENGTH} 位", field="password")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"密码最多 {MAX_PASSWORD_LENGTH} 位", field="password")


def create_user(*, session: Session, username: str, password: str, display_name: str, now: datetime) -> AdminUser:
    """Add an administrator; refuse bad usernames, short passwords and duplicates."""
    if not USERNAME_RE.fullmatch(username):  # match() would let a trailing newline through
        raise AccountError(f"用户名 {username!r} 无效：2-64 位字母、数字、点、下划线或连字符", field="username")
    check_password(password)
    if session.exec(select(AdminUser).where(AdminUser.username == username)).first() is not None:
        raise AccountError(f"用户名 {username} 已存在", field="username")
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
    check_password(password)
    user.password_hash = _HASHER.hash(password)
    user.session_version += 1
    return user


def list_users(*, session: Session) -> list[AdminUser]:
    """Return every administrator, by username."""
    return list(session.exec(select(AdminUser).order_by(col(AdminUser.username))))


def _actor(by: AdminUser) -> str:
    return f"admin:{by.username}"


def add_user(
    *, session: Session, username: str, password: str, display_name: str, by: AdminUser, now: datetime
) -> AdminUser:
    """Add an administrator on behalf of `by` with the CLI's rules; audited (never the password)."""
    display_name = display_name.strip()
    if len(display_name) > MAX_DISPLAY_NAME:
        raise AccountError(f"显示名称过长（最多 {MAX_DISPLAY_NAME} 字）", field="display_name")
    user = create_user(session=session, username=username.strip(), password=password, display_name=display_name,
                       now=now)
    audit(session=session, at=now, actor=_actor(by), actor_kind=ActorKind.ADMIN, action="admin_user.add",
          entity="admin_user", entity_id=user.id, after={"username": user.username, "display_name": user.display_name})
    return user


def reset_password(*, session: Session, user_id: int, password: str, by: AdminUser, now: datetime) -> AdminUser:
    """Replace an administrator's password (their sessions end); audited without the password."""
    user = session.get(AdminUser, user_id)
    if user is None:
        raise AccountError(f"没有编号为 {user_id} 的管理员")
    set_password(session=session, username=user.username, password=password)
    session.add(user)
    session.flush()
    audit(session=session, at=now, actor=_actor(by), actor_kind=ActorKind.ADMIN, action="admin_user.password",
          entity="admin_user", entity_id=user.id, after={"username": user.username})
    return user


def set_disabled(*, session: Session, user_id: int, disabled: bool, by: AdminUser, now: datetime) -> AdminUser:
    """Disable (ending every session) or enable an administrator; nobody disables themselves."""
    user = session.get(AdminUser, user_id)
    if user is None:
        raise AccountError(f"没有编号为 {user_id} 的管理员")
    if disabled and user.id == by.id:
        raise AccountError("不能停用自己的账号（请另一位管理员操作）")
    if user.disabled == disabled:
        return user
    user.disabled = disabled
    if disabled:
        end_sessions(user)
    session.add(user)
    session.flush()
    audit(session=session, at=now, actor=_actor(by), actor_kind=ActorKind.ADMIN,
          action="admin_user.disable" if disabled else "admin_user.enable", entity="admin_user", entity_id=user.id,
          before={"username": user.username, "disabled": not disabled},
          after={"username": user.username, "disabled": disabled})
    return user


def end_sessions(user: AdminUser) -> None:
    """Invalidate every session of `user` (sign-out everywhere)."""
    user.session_version += 1


def get_user(*, session: Session, user_id: int) -> AdminUser | None:
    """Return the administrator with this id, if any."""
    return session.get(AdminUser, user_id)


def sign_out_everywhere(*, session: Session, user_id: int) -> None:
    """End every session of the administrator with this id (nothing happens for an unknown id)."""
    user = session.get(AdminUser, user_id)
    if user is not None:
        end_sessions(user)
        session.add(user)
        session.flush()


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
    """Refuse a key (username, address, link) after too many failures in a sliding window of wall-clock time.

    The window runs on `wall` (seconds, monotonic by default), never on the application clock: a simulated clock
    at 3600× would otherwise end a 15-minute lockout after a quarter of a second.
    """

    def __init__(self, *, limit: int = 5, window: timedelta = timedelta(minutes=15),
                 wall: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window.total_seconds()
        self._wall = wall
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()  # sync routes run in a thread pool

    def blocked(self, key: str) -> bool:
        """Tell whether `key` has used up its attempts."""
        with self._lock:
            failures = self._failures.get(key)
            if not failures:
                return False
            now = self._wall()
            while failures and now - failures[0] > self.window:
                failures.popleft()
            return len(failures) >= self.limit

    def fail(self, key: str) -> None:
        """Record one failed attempt."""
        with self._lock:
            self._failures.setdefault(key, deque()).append(self._wall())
            if len(self._failures) > 10_000:  # bounded memory under a spray of usernames
                self._failures.pop(next(iter(self._failures)))

    def reset(self, key: str) -> None:
        """Forget the failures of `key` after a successful sign-in."""
        with self._lock:
            self._failures.pop(key, None)


class SignInGuard:
    """Sign-in with throttling, per (username, address) and per address; the failure counts live in this object."""

    def __init__(self, *, wall: Callable[[], float] = time.monotonic) -> None:
        self.per_account = LoginThrottle(wall=wall)  # a stranger's guesses cannot lock the owner out elsewhere
        self.per_address = LoginThrottle(limit=20, wall=wall)  # one address spraying usernames

    def blocked(self, *, username: str, address: str) -> bool:
        """Tell whether sign-in from `address` as `username` is refused for now (too many failures)."""
        return self.per_account.blocked(self._key(username, address)) or self.per_address.blocked(address)

    def sign_in(self, *, engine: Engine, username: str, password: str, address: str, now: datetime) -> AdminUser | None:
        """Check the credentials, then stamp the sign-in in a short write of its own; count failures.

        The password is checked outside any transaction (argon2 takes tens of milliseconds: held under SQLite's
        write lock, sixty sign-ins at once queued past the busy timeout and answered 500). The stamp (and a
        rehash) is one UPDATE, retried while the database is busy; a stamp that still cannot be written after
        the retries is logged and the sign-in goes ahead: nobody is refused because the ticker was writing.
        """
        with session_scope(engine) as session:  # a WAL read: never waits on the write lock
            user = session.exec(select(AdminUser).where(AdminUser.username == username)).first()
        try:
            _HASHER.verify(user.password_hash if user else _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            user = None
        if user is None or user.disabled:
            self.per_account.fail(self._key(username, address))
            self.per_address.fail(address)
            return None
        values: dict[str, object] = {"last_login_at": now}
        if _HASHER.check_needs_rehash(user.password_hash):
            values["password_hash"] = _HASHER.hash(password)
        _stamp_sign_in(engine, user_id=user.id, values=values)
        for name, value in values.items():
            setattr(user, name, value)
        self.per_account.reset(self._key(username, address))
        return user

    @staticmethod
    def _key(username: str, address: str) -> str:
        return f"{username.lower()}|{address}"


SIGN_IN_WRITE_ATTEMPTS = 5


def _stamp_sign_in(engine: Engine, *, user_id: int | None, values: dict[str, object]) -> bool:
    """Write the sign-in stamp in one short transaction, retrying while SQLite is busy; tell whether it was written."""
    for attempt in range(SIGN_IN_WRITE_ATTEMPTS):
        try:
            with session_scope(engine, write=True) as session:
                session.execute(update(AdminUser).where(col(AdminUser.id) == user_id).values(**values))
            return True
        except DBAPIError as exc:  # SQLite says OperationalError, PostgreSQL InternalError (read-only transaction)
            fault = classify(exc)
            if fault in (Fault.READ_ONLY, Fault.DISK_FULL):  # read-only mode: people may still sign in to read
                log.warning("sign-in stamp of admin %s not written: %s", user_id, fault)
                return False
            if fault != Fault.BUSY:
                raise
            time.sleep(0.05 * 2**attempt)
    log.warning("sign-in stamp of admin %s not written: the database stayed busy", user_id)
    return False
