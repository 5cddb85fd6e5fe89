"""Sign-in and sign-out pages for administrators."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from scheduler.auth import AdminUser, authenticate, end_sessions
from scheduler.web.deps import RuntimeDep, SessionDep
from scheduler.web.security import CsrfDep, OptionalAdminDep, csrf_token, start_session
from scheduler.web.templates import render

router = APIRouter()


def _safe_next(value: str | None) -> str:
    """Only redirect to a path on this site (no open redirects)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> Response:
    """Show the sign-in form."""
    return render(request, "login.html", {"next": _safe_next(next), "csrf_token": csrf_token(request), "error": None})


@router.post("/login", dependencies=[CsrfDep])
def login(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Check the credentials; on success start a fresh session and go where the user was heading."""
    now = runtime.clock.now()
    throttle, per_address = request.app.state.login_throttle, request.app.state.address_throttle
    address = request.client.host if request.client else "?"
    key = f"{username.strip().lower()}|{address}"  # a stranger's guesses cannot lock the owner out elsewhere
    if throttle.blocked(key, now) or per_address.blocked(address, now):
        context = {
            "next": _safe_next(next),
            "csrf_token": csrf_token(request),
            "error": "登录失败次数过多，请 15 分钟后再试。",
        }
        return render(request, "login.html", context, status_code=429)
    user = authenticate(session=session, username=username.strip(), password=password, now=now)
    if user is None:
        throttle.fail(key, now)
        per_address.fail(address, now)
        context = {"next": _safe_next(next), "csrf_token": csrf_token(request), "error": "用户名或密码不正确。"}
        return render(request, "login.html", context, status_code=401)
    session.commit()
    throttle.reset(key)
    start_session(request, user)
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout", dependencies=[CsrfDep])
def logout(request: Request, session: SessionDep, admin: OptionalAdminDep) -> Response:
    """End the session: the cookie is dropped and every copy of it stops working (sign-out everywhere)."""
    if admin is not None:
        user = session.get(AdminUser, admin.id)
        if user is not None:
            end_sessions(user)
            session.commit()
    request.session.clear()
    return RedirectResponse("/", status_code=303)
