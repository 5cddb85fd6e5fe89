"""Sign-in and sign-out pages for administrators."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from scheduler.auth import SignInGuard, sign_out_everywhere
from scheduler.web.deps import NowDep, RuntimeDep, WriteSessionDep
from scheduler.web.security import CsrfDep, OptionalAdminDep, csrf_token, start_session
from scheduler.web.templates import render

router = APIRouter()


def get_sign_in_guard(request: Request) -> SignInGuard:
    """Return the app's sign-in guard (its failure counts are per process)."""
    return request.app.state.sign_in_guard


SignInGuardDep = Annotated[SignInGuard, Depends(get_sign_in_guard)]


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
    runtime: RuntimeDep,
    now: NowDep,
    guard: SignInGuardDep,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Check the credentials; on success start a fresh session and go where the user was heading."""
    address = request.client.host if request.client else "?"
    name = username.strip()
    if guard.blocked(username=name, address=address):
        context = {
            "next": _safe_next(next),
            "csrf_token": csrf_token(request),
            "error": "登录失败次数过多，请 15 分钟后再试。",
        }
        return render(request, "login.html", context, status_code=429)
    user = guard.sign_in(engine=runtime.engine, username=name, password=password, address=address, now=now)
    if user is None:
        context = {"next": _safe_next(next), "csrf_token": csrf_token(request), "error": "用户名或密码不正确。"}
        return render(request, "login.html", context, status_code=401)
    start_session(request, user)
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout", dependencies=[CsrfDep])
def logout(request: Request, session: WriteSessionDep, admin: OptionalAdminDep) -> Response:
    """End the session: the cookie is dropped and every copy of it stops working (sign-out everywhere)."""
    if admin is not None and admin.id is not None:
        sign_out_everywhere(session=session, user_id=admin.id)
    request.session.clear()
    return RedirectResponse("/", status_code=303)
