"""Administrator pages editing the plan: list a plan's activities, add one, edit it and its sessions, withdraw.

The rules live in plan.editor; this module reads forms, writes the audit log (plan/ sits below audit) and redirects.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from scheduler.audit import ActorKind, audit
from scheduler.auth import AdminUser
from scheduler.clock import local_date
from scheduler.plan.catalog import PlanNotFound, choose_plan, get_organizations, get_plan, list_event_views
from scheduler.plan.editor import (
    Change,
    EditInvalid,
    EventForm,
    SessionForm,
    cancel_session,
    create_event,
    event_form,
    event_sessions,
    fix_session,
    get_event,
    get_session_of,
    move_session,
    update_event,
    withdraw_event,
    withdraw_session,
)
from scheduler.plan.models import STATUS_LABELS, Event, Occurrence, OccurrenceStatus, OrgKind, Plan
from scheduler.plan.rows import occurrence_when, plan_choices
from scheduler.plan.vocabulary import plan_types
from scheduler.scheduling.checker import blocking, warnings
from scheduler.scheduling.snapshot import check_occurrence
from scheduler.web.admin.params import RowId
from scheduler.web.deps import NowDep, SessionDep, WriteSessionDep
from scheduler.web.security import AdminDep, CsrfDep, csrf_token
from scheduler.web.templates import render

router = APIRouter(prefix="/admin", include_in_schema=False)
DONE = {"created": "已添加活动。", "saved": "已保存修改。", "withdrawn": "已撤下活动。", "fixed": "已定档。",
        "moved": "已延期。", "cancelled": "已取消该场次。", "removed": "已撤下该场次。"}
EVENT_KEYS = ("seq", "quarter", "type", "theme", "title", "content", "locations", "date_text", "hosts",
              "co_organizers", "chains", "series")
MAX_FIELD = 5000
NEW_ROWS = 2  # blank session rows offered on the form


async def form_fields(request: Request) -> dict[str, str]:
    """Read a posted form as text fields (each cut at MAX_FIELD characters)."""
    form = await request.form()
    return {k: v[:MAX_FIELD] for k, v in form.items() if isinstance(v, str)}


FormDep = Annotated[dict[str, str], Depends(form_fields)]


def _actor(admin: AdminUser) -> str:
    return f"admin:{admin.username}"


def _audit(session: Session, request: Request, admin: AdminUser, now: Any, changes: list[Change]) -> None:
    for c in changes:
        audit(session=session, at=now, actor=_actor(admin), actor_kind=ActorKind.ADMIN, action=c.action,
              entity=c.entity, entity_id=c.entity_id, before=c.before, after=c.after,
              ip=request.client.host if request.client else None, user_agent=request.headers.get("user-agent"))


def _missing(request: Request, message: str) -> Response:
    return render(request, "error.html", {"title": "找不到", "messages": [message], "status": 404}, status_code=404)


def _plan(session: Session, key: str) -> Plan | None:
    return get_plan(session=session, key=key)


def _form_of(fields: dict[str, str]) -> EventForm:
    rows = []
    for i in range(200):
        prefix = f"s{i}-"
        if not any(k.startswith(prefix) for k in fields):
            break
        rows.append(SessionForm(fields.get(prefix + "key", ""), fields.get(prefix + "title", ""),
                                fields.get(prefix + "location", ""), fields.get(prefix + "date_text", "")))
    return EventForm(**{k: fields.get(k, "") for k in EVENT_KEYS}, sessions=rows)


def _directory(session: Session) -> list[dict[str, str]]:
    orgs = [o for o in get_organizations(session=session).values() if not o.withdrawn]
    return [{"short_name": o.short_name, "name": o.name, "group": "组合" if o.kind == OrgKind.GROUP else ""}
            for o in sorted(orgs, key=lambda o: o.id or 0)]


def _editor_page(request: Request, session: Session, plan: Plan, form: EventForm, *, event: Event | None,
                 errors: dict[str, str] | None = None, done: str = "", status_code: int = 200,
                 typed: dict[str, dict[str, str]] | None = None) -> Response:
    rows = [*form.sessions, *[SessionForm() for _ in range(NEW_ROWS)]]
    stored = {o.key: o for o in event_sessions(session=session, event=event)} if event is not None else {}
    sessions = [{"i": i, "form": s, "occ": stored.get(s.key)} for i, s in enumerate(rows)]
    live = [o for o in stored.values() if not o.withdrawn]
    return render(request, "admin_plan_event.html", {
        "plan": plan, "event": event, "values": form, "sessions": sessions, "live": live, "errors": errors or {},
        "done": DONE.get(done, ""), "csrf": csrf_token(request), "types": list(plan_types(plan).items()),
        "chains": list(plan.chains), "directory": _directory(session), "status_labels": STATUS_LABELS,
        "when": occurrence_when, "cancelled": OccurrenceStatus.CANCELLED,
        "withdrawn_sessions": [o for o in stored.values() if o.withdrawn], "typed": typed or {},
    }, status_code=status_code)


@router.get("/plan", response_class=HTMLResponse)
def plan_list(request: Request, session: SessionDep, now: NowDep, admin: AdminDep, plan: str = "",
              done: str = "") -> Response:
    """List the chosen plan's activities (withdrawn ones marked) with edit links."""
    try:
        chosen = choose_plan(session=session, key=plan or None, today=local_date(now))
    except PlanNotFound as exc:
        return _missing(request, str(exc))
    views = list_event_views(session=session, plan=chosen, include_withdrawn=True) if chosen else []
    return render(request, "admin_plan.html", {
        "plan": chosen, "views": views, "plans": plan_choices(session=session, chosen=chosen),
        "selector_action": "/admin/plan", "types": plan_types(chosen) if chosen else {}, "done": DONE.get(done, ""),
        "csrf": csrf_token(request),
    })


@router.get("/plan/{plan_key}/events/new", response_class=HTMLResponse)
def event_new_page(request: Request, plan_key: str, session: SessionDep, admin: AdminDep) -> Response:
    """Show the form adding an activity."""
    plan = _plan(session, plan_key)
    if plan is None:
        return _missing(request, f"没有计划 {plan_key!r}。")
    views = list_event_views(session=session, plan=plan, include_withdrawn=True)
    next_seq = max((v.event.seq for v in views), default=0) + 1
    return _editor_page(request, session, plan, EventForm(seq=str(next_seq)), event=None)


@router.post("/plan/{plan_key}/events/new", dependencies=[CsrfDep])
def event_create(request: Request, plan_key: str, session: WriteSessionDep, now: NowDep, admin: AdminDep,
                 fields: FormDep) -> Response:
    """Add an activity; a refused form comes back with each problem next to its field, nothing written."""
    plan = _plan(session, plan_key)
    if plan is None:
        return _missing(request, f"没有计划 {plan_key!r}。")
    form = _form_of(fields)
    try:
        event, changes = create_event(session=session, plan=plan, form=form, now=now)
    except EditInvalid as exc:
        return _editor_page(request, session, plan, form, event=None, errors=exc.errors, status_code=422)
    _audit(session, request, admin, now, changes)
    return RedirectResponse(f"/admin/plan/{plan.key}/events/{event.seq}?done=created#done", status_code=303)


def _event(session: Session, plan_key: str, seq: int) -> tuple[Plan | None, Event | None]:
    plan = _plan(session, plan_key)
    return plan, get_event(session=session, plan=plan, seq=seq) if plan is not None else None


@router.get("/plan/{plan_key}/events/{seq:rowid}", response_class=HTMLResponse)
def event_edit_page(request: Request, plan_key: str, seq: RowId, session: SessionDep, admin: AdminDep,
                    done: str = "") -> Response:
    """Show the form editing an activity and its sessions, with 定档, 延期, 取消 and 撤下 per session."""
    plan, event = _event(session, plan_key, seq)
    if plan is None or event is None:
        return _missing(request, f"计划 {plan_key!r} 中没有序号 {seq}。")
    return _editor_page(request, session, plan, event_form(session=session, event=event), event=event, done=done)


@router.post("/plan/{plan_key}/events/{seq:rowid}", dependencies=[CsrfDep])
def event_save(request: Request, plan_key: str, seq: RowId, session: WriteSessionDep, now: NowDep, admin: AdminDep,
               fields: FormDep) -> Response:
    """Save an edited activity and its session rows; a refused form writes nothing."""
    plan, event = _event(session, plan_key, seq)
    if plan is None or event is None:
        return _missing(request, f"计划 {plan_key!r} 中没有序号 {seq}。")
    form = _form_of(fields)
    try:
        changes = update_event(session=session, plan=plan, event=event, form=form, now=now)
    except EditInvalid as exc:
        return _editor_page(request, session, plan, form, event=event, errors=exc.errors, status_code=422)
    _audit(session, request, admin, now, changes)
    return RedirectResponse(f"/admin/plan/{plan.key}/events/{seq}?done=saved#done", status_code=303)


@router.post("/plan/{plan_key}/events/{seq:rowid}/withdraw", dependencies=[CsrfDep])
def event_withdraw(request: Request, plan_key: str, seq: RowId, session: WriteSessionDep, now: NowDep,
                   admin: AdminDep) -> Response:
    """Withdraw an activity and its sessions (never deleted; feeds show them cancelled)."""
    plan, event = _event(session, plan_key, seq)
    if plan is None or event is None:
        return _missing(request, f"计划 {plan_key!r} 中没有序号 {seq}。")
    _audit(session, request, admin, now, withdraw_event(session=session, event=event, now=now))
    return RedirectResponse(f"/admin/plan?plan={plan.key}&done=withdrawn#done", status_code=303)


def fix_findings(*, session: Session, occurrence: Occurrence, fields: dict[str, str]) -> dict[str, str]:
    """Run the conflict checker on the date typed into the editor's 定档 form: errors by field for what blocks, or
    for warnings not yet confirmed for that date; {} when the date may be set (bad dates are left to the editor)."""
    try:
        day = date.fromisoformat(fields.get("date", "").strip())
    except ValueError:
        return {}
    findings = check_occurrence(session=session, occurrence=occurrence, start=day)
    prefix = f"{occurrence.key}-fix"
    if refusals := blocking(findings):
        return {f"{prefix}-date": "该日期不能选：" + "；".join(f.reason for f in refusals)}
    warned = warnings(findings)
    if warned and fields.get("confirm", "").strip() != day.isoformat():
        return {f"{prefix}-confirm": "需要确认：" + "；".join(f.reason for f in warned)}
    return {}


@router.post("/plan/{plan_key}/events/{seq:rowid}/sessions/{key}/{action}", dependencies=[CsrfDep])
def session_action(request: Request, plan_key: str, seq: RowId, key: str, action: str, session: WriteSessionDep,
                   now: NowDep, admin: AdminDep, fields: FormDep) -> Response:
    """定档 (fix), 延期 (move), 取消 (cancel) or 撤下 (withdraw) one session, through the hosts' own services."""
    plan, event = _event(session, plan_key, seq)
    occ = get_session_of(session=session, event=event, key=key) if event is not None else None
    if plan is None or event is None or occ is None or action not in ("fix", "move", "cancel", "withdraw"):
        return _missing(request, f"计划 {plan_key!r} 序号 {seq} 中没有场次 {key!r}。")
    change: Change | None
    if action == "fix" and (problems := fix_findings(session=session, occurrence=occ, fields=fields)):
        form = event_form(session=session, event=event)
        return _editor_page(request, session, plan, form, event=event, errors=problems, status_code=422,
                            typed={occ.key: fields})
    try:
        if action == "fix":
            change = fix_session(session=session, plan=plan, occurrence=occ, day=fields.get("date", ""),
                                 start=fields.get("start", ""), end=fields.get("end", ""),
                                 place=fields.get("place", ""), now=now)
        elif action == "move":
            change = move_session(session=session, plan=plan, occurrence=occ, date_text=fields.get("date_text", ""),
                                  reason=fields.get("reason", ""), now=now)
        elif action == "cancel":
            change = cancel_session(session=session, occurrence=occ, reason=fields.get("reason", ""), now=now)
        else:
            change = withdraw_session(session=session, event=event, occurrence=occ, now=now)
    except EditInvalid as exc:
        form = event_form(session=session, event=event)
        return _editor_page(request, session, plan, form, event=event, errors=exc.errors, status_code=422)
    _audit(session, request, admin, now, [change] if change else [])
    done = {"fix": "fixed", "move": "moved", "cancel": "cancelled", "withdraw": "removed"}[action]
    return RedirectResponse(f"/admin/plan/{plan.key}/events/{seq}?done={done}#done", status_code=303)
