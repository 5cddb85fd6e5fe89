"""Administrator pages: administrator accounts (list, add, reset a password, disable and enable)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from scheduler.auth import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    AccountError,
    AdminUser,
    add_user,
    get_user,
    list_users,
    reset_password,
    set_disabled,
)
from scheduler.clock import SHANGHAI
from scheduler.web.admin.params import CleanText, RowId
from scheduler.web.deps import NowDep, SessionDep, WriteSessionDep
from scheduler.web.security import AdminDep, CsrfDep, csrf_token, start_session
from scheduler.web.templates import render

router = APIRouter(prefix="/admin", include_in_schema=False)
DONE = {"added": "已添加管理员。", "password": "已重设密码，该管理员需用新密码重新登录。", "disabled": "已停用管理员。",
        "enabled": "已启用管理员。", "own-password": "已重设你自己的密码；其他设备上的登录已退出。"}
# Longer than any valid value, so the service (not a 422 page) explains what is wrong.
Text = Annotated[str, Form(max_length=MAX_PASSWORD_LENGTH + 64), CleanText]
MISMATCH = "两次输入的密码不一致"


def _page(request: Request, session: Session, admin: AdminUser, *, values: dict[str, str] | None = None,
          errors: dict[str, str] | None = None, notice: str = "", done: str = "", status_code: int = 200) -> Response:
    return render(request, "admin_users.html", {
        "users": list_users(session=session), "me": admin, "values": values or {}, "errors": errors or {},
        "notice": notice, "done": DONE.get(done, ""), "csrf": csrf_token(request), "tz": SHANGHAI,
        "min_length": MIN_PASSWORD_LENGTH,
    }, status_code=status_code)


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, session: SessionDep, admin: AdminDep, done: str = "") -> Response:
    """List administrators with their state and last sign-in, and the form adding one."""
    return _page(request, session, admin, done=done)


@router.post("/users", dependencies=[CsrfDep])
def users_add(request: Request, session: WriteSessionDep, now: NowDep, admin: AdminDep, username: Text = "",
              display_name: Text = "", password: Text = "", password2: Text = "") -> Response:
    """Add an administrator (password rules as `scheduler user add`); a refused form names the field."""
    values = {"username": username, "display_name": display_name}
    try:
        if password != password2:
            raise AccountError(MISMATCH, field="password2")
        add_user(session=session, username=username, password=password, display_name=display_name, by=admin, now=now)
    except AccountError as exc:
        errors = {exc.field or "username": str(exc)}
        return _page(request, session, admin, values=values, errors=errors, status_code=422)
    return RedirectResponse("/admin/users?done=added#done", status_code=303)


def _password_page(request: Request, user: AdminUser, errors: dict[str, str] | None = None,
                   status_code: int = 200) -> Response:
    return render(request, "admin_user_password.html", {
        "user": user, "errors": errors or {}, "csrf": csrf_token(request), "min_length": MIN_PASSWORD_LENGTH,
    }, status_code=status_code)


def _missing(request: Request, user_id: int) -> Response:
    context = {"title": "没有此管理员", "messages": [f"没有编号为 {user_id} 的管理员。"], "status": 404}
    return render(request, "error.html", context, status_code=404)


@router.get("/users/{user_id:rowid}/password", response_class=HTMLResponse)
def password_page(request: Request, user_id: RowId, session: SessionDep, admin: AdminDep) -> Response:
    """Show the form resetting an administrator's password."""
    user = get_user(session=session, user_id=user_id)
    return _missing(request, user_id) if user is None else _password_page(request, user)


@router.post("/users/{user_id:rowid}/password", dependencies=[CsrfDep])
def password_reset(request: Request, user_id: RowId, session: WriteSessionDep, now: NowDep, admin: AdminDep,
                   password: Text = "", password2: Text = "") -> Response:
    """Reset a password; the administrator's sessions end (one's own: signed in again here, elsewhere out)."""
    user = get_user(session=session, user_id=user_id)
    if user is None:
        return _missing(request, user_id)
    try:
        if password != password2:
            raise AccountError(MISMATCH, field="password2")
        reset_password(session=session, user_id=user_id, password=password, by=admin, now=now)
    except AccountError as exc:
        return _password_page(request, user, {exc.field or "password": str(exc)}, status_code=422)
    if user.id == admin.id:
        start_session(request, user)  # the new session version: this browser stays signed in
        return RedirectResponse("/admin/users?done=own-password#done", status_code=303)
    return RedirectResponse("/admin/users?done=password#done", status_code=303)


def _switch(request: Request, session: Session, admin: AdminUser, user_id: int, *, disabled: bool,
            now: datetime) -> Response:
    if get_user(session=session, user_id=user_id) is None:
        return _missing(request, user_id)
    try:
        set_disabled(session=session, user_id=user_id, disabled=disabled, by=admin, now=now)
    except AccountError as exc:
        return _page(request, session, admin, notice=str(exc), status_code=409)
    return RedirectResponse(f"/admin/users?done={'disabled' if disabled else 'enabled'}#done", status_code=303)


@router.post("/users/{user_id:rowid}/disable", dependencies=[CsrfDep])
def user_disable(request: Request, user_id: RowId, session: WriteSessionDep, now: NowDep, admin: AdminDep) -> Response:
    """Disable an administrator (every session of theirs ends); nobody disables themselves."""
    return _switch(request, session, admin, user_id, disabled=True, now=now)


@router.post("/users/{user_id:rowid}/enable", dependencies=[CsrfDep])
def user_enable(request: Request, user_id: RowId, session: WriteSessionDep, now: NowDep, admin: AdminDep) -> Response:
    """Enable a disabled administrator again."""
    return _switch(request, session, admin, user_id, disabled=False, now=now)
