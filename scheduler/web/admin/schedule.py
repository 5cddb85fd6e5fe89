"""Administrator page 排期规则: units' blackout days (declare, remove) and the checker's limits."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from scheduler.audit import ActorKind, audit
from scheduler.auth import AdminUser
from scheduler.scheduling.blackouts import (
    BlackoutInvalid,
    add_blackout,
    list_blackouts,
    remove_blackout,
    rules_problems,
    set_rules,
)
from scheduler.scheduling.models import ScheduleBlackout
from scheduler.scheduling.snapshot import load_rules
from scheduler.validation import MAX_ID, ValueRefused, parse_int
from scheduler.web.admin.params import CleanText
from scheduler.web.deps import NowDep, SessionDep, WriteSessionDep
from scheduler.web.security import AdminDep, CsrfDep, csrf_token
from scheduler.web.templates import render

router = APIRouter(prefix="/admin", include_in_schema=False)
DONE = {"added": "已声明不可安排日期。", "removed": "已删除。", "rules": "已保存排期规则。"}
Text = Annotated[str, Form(max_length=400), CleanText]


def _page(request: Request, session: Session, *, values: dict[str, str] | None = None,
          errors: dict[str, str] | None = None, rule_values: dict[str, str] | None = None,
          rule_errors: dict[str, str] | None = None, done: str = "", status_code: int = 200) -> Response:
    rules = load_rules(session=session)
    return render(request, "admin_schedule.html", {
        "blackouts": list_blackouts(session=session), "values": values or {}, "errors": errors or {},
        "rule_values": rule_values or {"buffer": str(rules.travel_buffer_days), "cap": str(rules.away_cap)},
        "rule_errors": rule_errors or {}, "done": DONE.get(done, ""), "csrf": csrf_token(request),
    }, status_code=status_code)


def _day(text: str, label: str, errors: dict[str, str], field: str) -> date | None:
    if not text.strip():
        return None  # the service says it is missing
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        errors[field] = f"{label} {text.strip()[:20]!r} 不是有效日期（形如 2023-03-14）"
        return None


def _audit(session: Session, admin: AdminUser, now: Any, action: str, before: Any, after: Any) -> None:
    audit(session=session, at=now, actor=f"admin:{admin.username}", actor_kind=ActorKind.ADMIN, action=action,
          entity="schedule", before=before, after=after)


@router.get("/schedule", response_class=HTMLResponse)
def schedule_page(request: Request, session: SessionDep, admin: AdminDep, done: str = "") -> Response:
    """Show the declared blackout days and the limits, with the forms changing them."""
    return _page(request, session, done=done)


@router.post("/schedule/blackouts", dependencies=[CsrfDep])
def blackout_add(request: Request, session: WriteSessionDep, now: NowDep, admin: AdminDep, unit: Text = "",
                 start: Text = "", end: Text = "", reason: Text = "") -> Response:
    """Declare that a unit cannot take part in activities on some days."""
    values = {"unit": unit, "start": start, "end": end, "reason": reason}
    errors: dict[str, str] = {}
    first, last = _day(start, "开始日期", errors, "start"), _day(end, "结束日期", errors, "end")
    try:  # a date that does not parse reaches the service as missing, so every other field is still checked
        row = add_blackout(session=session, unit=unit, start=first, end=last, reason=reason,
                           by=f"admin:{admin.username}", now=now)
    except BlackoutInvalid as exc:
        session.rollback()
        return _page(request, session, values=values, errors={**exc.errors, **errors}, status_code=422)
    _audit(session, admin, now, "schedule.blackout.add", None,
           {"id": row.id, "unit": row.organization_key, "start": row.start.isoformat(), "end": row.end.isoformat(),
            "reason": row.reason})
    return RedirectResponse("/admin/schedule?done=added#done", status_code=303)


@router.post("/schedule/blackouts/{blackout_id}/remove", dependencies=[CsrfDep])
def blackout_remove(request: Request, blackout_id: str, session: WriteSessionDep, now: NowDep,
                    admin: AdminDep) -> Response:
    """Remove one declared blackout."""
    try:
        number = parse_int(blackout_id, label="编号", low=1, high=MAX_ID)
    except ValueRefused:
        number = 0
    row = session.get(ScheduleBlackout, number) if number else None
    before = {"id": row.id, "unit": row.organization_key, "start": row.start.isoformat(),
              "end": row.end.isoformat()} if row is not None else None
    if row is None or not remove_blackout(session=session, blackout_id=number):
        message = f"没有编号为 {blackout_id[:12]} 的不可安排日期（可能已被删除）。"
        context = {"title": "没有此记录", "messages": [message], "status": 404}
        return render(request, "error.html", context, status_code=404)
    _audit(session, admin, now, "schedule.blackout.remove", before, None)
    return RedirectResponse("/admin/schedule?done=removed#done", status_code=303)


@router.post("/schedule/rules", dependencies=[CsrfDep])
def rules_save(request: Request, session: WriteSessionDep, now: NowDep, admin: AdminDep, buffer: Text = "",
               cap: Text = "") -> Response:
    """Change the travel buffer and the city-wide cap on delegations away per day."""
    values = {"buffer": buffer, "cap": cap}
    errors: dict[str, str] = {}
    parsed: dict[str, int] = {}
    for field, label, text in (("buffer", "行程缓冲天数", buffer), ("cap", "每日外出团组上限", cap)):
        try:
            parsed[field] = parse_int(text.strip(), label=label, low=0, high=1000)
        except ValueRefused as exc:
            errors[field] = str(exc)
    errors |= rules_problems(parsed.get("buffer"), parsed.get("cap"))
    if errors:
        return _page(request, session, rule_values=values, rule_errors=errors, status_code=422)
    before = asdict(load_rules(session=session))
    set_rules(session=session, travel_buffer_days=parsed["buffer"], away_cap=parsed["cap"], now=now)
    _audit(session, admin, now, "schedule.rules", before, asdict(load_rules(session=session)))
    return RedirectResponse("/admin/schedule?done=rules#done", status_code=303)
