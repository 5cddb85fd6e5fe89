"""Signed session cookies, CSRF tokens for forms, and the administrator dependency."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Form, HTTPException, Request
from sqlmodel import Session

from scheduler.auth import AdminUser, get_user
from scheduler.runtime import Runtime
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


def health_details_allowed(request: Request, runtime: Runtime, session: Session) -> bool:
    """Tell whether this caller may see /healthz details: a signed-in administrator, or SCHEDULER_HEALTH_TOKEN sent
    as `Authorization: Bearer …` (a header, never the URL: URLs end up in logs)."""
    token = runtime.settings.health_token
    scheme, _, sent = request.headers.get("authorization", "").partition(" ")
    if token and scheme.lower() == "bearer" and secrets.compare_digest(sent.strip().encode(), token.encode()):
        return True
    if "session" not in request.scope or request.session.get("admin_id") is None:
        return False
    try:
        return current_admin(request, session) is not None
    except Exception:  # the database is what is failing: no details, the public answer still goes out
        return False


def health_view(body: dict[str, Any], *, detailed: bool) -> dict[str, Any]:
    """Return what a caller may see of a health report: all of it when `detailed`, else only ok/degraded."""
    if detailed:
        return body
    return {"status": "ok" if body.get("status") == "ok" else "degraded"}


AdminDep = Annotated[AdminUser, Depends(require_admin)]
OptionalAdminDep = Annotated[AdminUser | None, Depends(current_admin)]
CsrfDep = Depends(verify_csrf)


# No script runs on any page (script-src 'none') and no inline style either: every page style is in the served
# /static/app.css (style-src 'self'). A response that needs another policy (an e-mail's HTML body shown in a
# sandboxed frame, the standalone printable report) sets its own Content-Security-Policy, which is kept.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'none'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)


def style_hash_policy(html: bytes) -> str:
    """Return the page CSP allowing exactly the <style> blocks of a standalone document (by their SHA-256)."""
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(m.group(1)).digest()).decode()}'"
        for m in re.finditer(rb"<style>(.*?)</style>", html, re.S)
    )
    return CONTENT_SECURITY_POLICY.replace("style-src 'self';", f"style-src 'self' {hashes};".replace(" ;", ";"))


# An e-mail's HTML part, framed by the mailbox page only: its inline styles are what mail clients see; no script,
# no form, no fetch, and the sandbox keeps it in an opaque origin.
MAIL_BODY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; base-uri 'none'; "
    "frame-ancestors 'self'; sandbox"
)
PRIVATE_PREFIXES = ("/admin", "/login", "/mail")


def security_headers(path: str, *, signed_in: bool, headers: dict[str, str]) -> dict[str, str]:
    """Return the headers to add to a response for `path` (`headers`: the response's own, lower-case names).

    Every response: nosniff. HTML: the CSP above (no framing, no scripts, no inline styles) and DENY for browsers
    without CSP 3, unless the response brought its own policy.
    Admin pages, sign-in, the mailbox, downloads (CSV, attachments) and any page shown to a signed-in session:
    `Cache-Control: no-store`, so nothing private stays in a shared or back-button cache.
    """
    added = {"x-content-type-options": "nosniff"}
    content_type = headers.get("content-type", "")
    html = content_type.startswith("text/html")
    if html and "content-security-policy" not in headers:
        added["content-security-policy"] = CONTENT_SECURITY_POLICY
        added["x-frame-options"] = "DENY"
    if html:
        added.setdefault("referrer-policy", headers.get("referrer-policy", "same-origin"))
    download = "attachment" in headers.get("content-disposition", "") or content_type.startswith("text/csv")
    private = path == "/admin" or path.startswith(tuple(p + "/" for p in PRIVATE_PREFIXES)) or path in PRIVATE_PREFIXES
    if download or private or (html and signed_in):
        added["cache-control"] = "no-store"
    return added


class SecurityHeaders:
    """ASGI middleware adding `security_headers` to every HTTP response (streamed bodies untouched)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cookie = next((v for k, v in scope.get("headers", ()) if k == b"cookie"), b"")
        signed_in = SESSION_COOKIE.encode() + b"=" in cookie

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                raw = list(message.get("headers", ()))
                present = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in raw}
                extra = security_headers(scope["path"], signed_in=signed_in, headers=present)
                kept = [(k, v) for k, v in raw if k.decode("latin-1").lower() not in extra]
                message = {**message, "headers": kept + [(k.encode(), v.encode()) for k, v in extra.items()]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
