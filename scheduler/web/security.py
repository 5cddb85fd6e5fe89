"""Signed session cookies, CSRF tokens for forms, and the administrator dependency."""

from __future__ import annotations

import secrets
import time
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Form, HTTPException, Request

from scheduler.auth import AdminUser, get_user
from scheduler.web.deps import SessionDep

SESSION_COOKIE = "kjzs_session"
SESSION_MAX_AGE = 8 * 3600  # absolute lifetime of a sign-in (wall clock: a simulated clock must not stretch it)
CSRF_FIELD = "csrf_token"


class LoginRequired(Exception):
    """Raised by AdminDep; the app turns it into a redirect to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def csrf_token(request: Request) -> str:
    """Return this session's CSRF token, creating it on first use."""
    token = request.session.get(CSRF_FIELD)
    if not token:
        token = request.session[CSRF_FIELD] = secrets.token_urlsafe(24)
    return token


def verify_csrf(request: Request, csrf_token: Annotated[str, Form()] = "") -> None:
    """Refuse a form POST whose CSRF token does not match the session's."""
    expected = request.session.get(CSRF_FIELD)
    if not expected or not secrets.compare_digest(expected, csrf_token):
        raise HTTPException(status_code=403, detail="表单已过期或来源不明（CSRF 校验失败），请刷新页面后重试。")


def current_admin(request: Request, session: SessionDep) -> AdminUser | None:
    """Return the signed-in administrator, if any."""
    user_id = request.session.get("admin_id")
    if user_id is None:
        return None
    user = get_user(session=session, user_id=user_id)
    signed_in_at = request.session.get("iat", 0)
    if (
        user is None
        or user.disabled
        or request.session.get("sv") != user.session_version  # signed out, password changed, disabled
        or not 0 <= time.time() - signed_in_at <= SESSION_MAX_AGE
    ):
        request.session.clear()
        return None
    return user


def start_session(request: Request, user: AdminUser) -> None:
    """Replace the session with a fresh one for `user` (no fixation) stamped with its version and time."""
    request.session.clear()
    request.session.update({"admin_id": user.id, "sv": user.session_version, "iat": int(time.time())})


def require_admin(request: Request, user: Annotated[AdminUser | None, Depends(current_admin)]) -> AdminUser:
    """Return the signed-in administrator or send the browser to the sign-in page."""
    if user is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(quote(path, safe="/"))
    return user


AdminDep = Annotated[AdminUser, Depends(require_admin)]
OptionalAdminDep = Annotated[AdminUser | None, Depends(current_admin)]
CsrfDep = Depends(verify_csrf)
