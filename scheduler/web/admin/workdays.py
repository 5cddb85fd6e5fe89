"""Administrator pages: a year's working-day calendar, the office's overrides and confirming a year."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from scheduler.audit import ActorKind, audit
from scheduler.auth import AdminUser
from scheduler.clock import SHANGHAI, local_date
from scheduler.web.admin.params import CleanText
from scheduler.web.deps import NowDep, SessionDep, WriteSessionDep
from scheduler.web.security import AdminDep, CsrfDep, csrf_token
from scheduler.web.templates import render
from scheduler.workdays import (
    LIBRARY,
    MAX_TEXT,
    YEARS,
    WorkdayOverride,
    WorkdaysInvalid,
    WorkdayYear,
    confirm_problems,
    confirm_year,
    override_fields,
    override_problems,
    remove_override,
    set_override,
    view_year,
)

router = APIRouter(prefix="/admin", include_in_schema=False)
WEEKDAYS = "一二三四五六日"
KINDS = {"work": "上班", "off": "放假"}
DONE = {"set": "已录入调整。", "unset": "已删除调整，恢复日历库（或周末）的安排。", "confirmed": "已确认该年工作日历。"}
# Longer than allowed, so the service explains the limit; control characters refused at the door.
Text = Annotated[str, Form(max_length=MAX_TEXT * 2), CleanText]


def _audit(session: Session, admin: AdminUser, now: datetime, action: str, entity: str,
           before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
    """Record one change to the calendar (workdays sits below the audit log, so the page records it)."""
    audit(session=session, at=now, actor=f"admin:{admin.username}", actor_kind=ActorKind.ADMIN, action=action,
          entity=entity, before=before, after=after)


def _year(text: str | int, default: int) -> int:
    try:
        year = int(text)
    except (TypeError, ValueError):
        return default
    return year if year in YEARS else default


def _page(request: Request, session: Session, year: int, *, values: dict[str, str] | None = None,
          errors: dict[str, str] | None = None, confirm_values: dict[str, str] | None = None,
          confirm_errors: dict[str, str] | None = None, done: str = "", status_code: int = 200) -> Response:
    view = view_year(session=session, year=year)
    return render(request, "admin_workdays.html", {
        "view": view, "library": LIBRARY, "weekdays": WEEKDAYS, "kinds": KINDS, "csrf": csrf_token(request),
        "values": values or {"day": f"{year}-01-01"}, "errors": errors or {}, "confirm_values": confirm_values or {},
        "confirm_errors": confirm_errors or {}, "done": DONE.get(done, ""), "tz": SHANGHAI,
        "years": (YEARS[0], YEARS[-1]),
    }, status_code=status_code)


@router.get("/workdays", response_class=HTMLResponse)
def workdays_page(request: Request, session: SessionDep, now: NowDep, admin: AdminDep, year: str = "",
                  done: str = "") -> Response:
    """Show a year's holidays, 调休 and overrides, whether it is provisional, and the forms changing it."""
    return _page(request, session, _year(year, local_date(now).year), done=done)


def _parse_day(text: str) -> date | str:
    """Return the day typed into the form, or why it cannot be used."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        return f"日期 {text.strip()!r} 无效（形如 2027-02-05）" if text.strip() else "日期不能为空"
    if day.year not in YEARS:
        return f"日期 {day.isoformat()} 超出范围（年份须在 {YEARS[0]}–{YEARS[-1]} 之间）"
    return day


@router.post("/workdays/overrides", dependencies=[CsrfDep])
def override_add(request: Request, session: WriteSessionDep, now: NowDep, admin: AdminDep, day: Text = "",
                 kind: Text = "", note: Text = "", source: Text = "", year: Text = "") -> Response:
    """Make one day a working day or a day off, with its note and source notice."""
    values = {"day": day, "kind": kind, "note": note, "source": source}
    parsed = _parse_day(day)
    errors = override_problems(note=note, source=source)
    if isinstance(parsed, str):
        errors["day"] = parsed
    if kind not in KINDS:
        errors["kind"] = "安排：请选择上班或放假"
    shown = parsed.year if isinstance(parsed, date) else _year(year, local_date(now).year)
    if errors or not isinstance(parsed, date):
        return _page(request, session, shown, values=values, errors=errors, status_code=422)
    before = override_fields(session.get(WorkdayOverride, parsed))
    try:
        row = set_override(session=session, day=parsed, is_workday=kind == "work", note=note, source=source, now=now)
    except WorkdaysInvalid as exc:  # not expected after the checks above; still shown, never a 500
        return _page(request, session, shown, values=values, errors={"note": str(exc)}, status_code=422)
    _audit(session, admin, now, "workday.set", "workday_override", before, override_fields(row))
    return RedirectResponse(f"/admin/workdays?year={parsed.year}&done=set#done", status_code=303)


@router.post("/workdays/overrides/{day}/remove", dependencies=[CsrfDep])
def override_remove(request: Request, day: str, session: WriteSessionDep, now: NowDep, admin: AdminDep) -> Response:
    """Delete the office's override of one day."""
    parsed = _parse_day(day)
    before = override_fields(session.get(WorkdayOverride, parsed)) if isinstance(parsed, date) else None
    if isinstance(parsed, str) or not remove_override(session=session, day=parsed):
        context = {"title": "没有此调整", "messages": [f"{day} 没有录入过调整（可能已被删除）。"], "status": 404}
        return render(request, "error.html", context, status_code=404)
    _audit(session, admin, now, "workday.unset", "workday_override", before, None)
    return RedirectResponse(f"/admin/workdays?year={parsed.year}&done=unset#done", status_code=303)


@router.post("/workdays/confirm", dependencies=[CsrfDep])
def year_confirm(request: Request, session: WriteSessionDep, now: NowDep, admin: AdminDep, year: Text = "",
                 source: Text = "") -> Response:
    """Confirm a year as entered from the State Council's notice, so it is no longer provisional."""
    try:
        y = int(year)
    except ValueError:
        y = -1
    errors = confirm_problems(session=session, year=y, source=source) if y != -1 else {"year": f"年份 {year!r} 无效"}
    shown = y if y in YEARS else local_date(now).year
    if errors:
        return _page(request, session, shown, confirm_values={"source": source}, confirm_errors=errors,
                     status_code=422)
    old = session.get(WorkdayYear, y)
    before = {"year": y, "source": old.source} if old is not None else None
    try:
        row = confirm_year(session=session, year=y, source=source, now=now)
    except WorkdaysInvalid as exc:
        return _page(request, session, shown, confirm_values={"source": source}, confirm_errors={"year": str(exc)},
                     status_code=422)
    _audit(session, admin, now, "workday.confirm", "workday_year", before, {"year": y, "source": row.source})
    return RedirectResponse(f"/admin/workdays?year={y}&done=confirmed#done", status_code=303)

