"""Administrators' pages: tasks (filters, detail, file on behalf, resend), leads with stalls, outcome export."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import col, select

from scheduler.audit import ActorKind, AuditEntry, audit
from scheduler.clock import SHANGHAI, local_date
from scheduler.contacts import contacts_by_org
from scheduler.db import session_scope
from scheduler.followups.action_links import ACTIONS
from scheduler.followups.links import LinkSigner
from scheduler.followups.models import TASK_KIND_LABELS, TASK_STATUS_LABELS, IssuedLink, Task, TaskKind, TaskStatus
from scheduler.followups.planner import task_context
from scheduler.followups.submissions import Actor, list_revisions
from scheduler.followups.tasks import list_tasks
from scheduler.mail.kinds import MailKind, task_subject
from scheduler.mail.outbox import Recipient, enqueue
from scheduler.outcomes.exports import outcomes_csv, outcomes_xlsx
from scheduler.outcomes.leads import count_by_stage, stale_leads
from scheduler.outcomes.models import LEAD_STAGE_LABELS, Lead
from scheduler.plan.catalog import get_organizations
from scheduler.runtime import Runtime
from scheduler.web.deps import SessionDep
from scheduler.web.links import more_rows, outcome_page, page, problem, read_form, record, record_check
from scheduler.web.security import AdminDep, CsrfDep, csrf_token, verify_csrf
from scheduler.web.taskforms import form_context
from scheduler.web.templates import render

router = APIRouter(include_in_schema=False)
FILTERS = {"overdue": "逾期", "open": "待办", "done": "已完成", "cancelled": "已取消", "all": "全部"}


@router.get("/admin/tasks")
def task_list(request: Request, session: SessionDep, user: AdminDep, filter: str = "overdue", org: str = "",
              kind: str = "") -> Response:
    """List tasks: overdue / open / done / cancelled / all, per organization and kind."""
    runtime: Runtime = request.app.state.runtime
    today = local_date(runtime.clock.now())
    status = filter if filter in ("open", "done", "cancelled") else None
    tasks = list_tasks(session=session, status=status, organization_key=org or None, kind=kind or None,
                       overdue_on=today if filter == "overdue" else None)
    orgs = get_organizations(session=session)
    return render(request, "admin_tasks.html", {
        "tasks": tasks, "filter": filter, "org": org, "kind": kind, "filters": FILTERS, "orgs": orgs, "today": today,
        "kind_labels": {str(k): v for k, v in TASK_KIND_LABELS.items()},
        "status_labels": {str(k): v for k, v in TASK_STATUS_LABELS.items()}, "tz": SHANGHAI,
    })


@router.get("/admin/tasks/{task_id}")
def task_detail(request: Request, task_id: int, session: SessionDep, user: AdminDep) -> Response:
    """Show a task with its revisions, issued links (never the tokens) and audit trail."""
    task = session.get(Task, task_id)
    if task is None:
        return render(request, "admin_tasks.html", {"missing": task_id}, status_code=404)
    links = session.exec(select(IssuedLink).where(IssuedLink.task_id == task_id)
                         .order_by(col(IssuedLink.id).desc())).all()
    entries = session.exec(select(AuditEntry).where(AuditEntry.task_id == task_id)
                           .order_by(col(AuditEntry.id).desc())).all()
    orgs = get_organizations(session=session)
    return render(request, "admin_task.html", {
        "task": task, "revisions": list_revisions(session=session, task_id=task_id), "links": links,
        "entries": entries, "org_name": orgs[task.organization_key].short_name if task.organization_key in orgs
        else task.organization_key, "csrf": csrf_token(request), "tz": SHANGHAI,
        "kind_label": TASK_KIND_LABELS.get(TaskKind(task.kind), task.kind),
        "status_label": TASK_STATUS_LABELS.get(TaskStatus(task.status), task.status),
    })


@router.get("/admin/tasks/{task_id}/form")
def behalf_form(request: Request, task_id: int, session: SessionDep, user: AdminDep) -> Response:
    """Show a task's form for an administrator filing on the assignee's behalf."""
    task = session.get(Task, task_id)
    if task is None:
        return problem(request, 404, "没有此事项", f"没有编号为 {task_id} 的事项。")
    ctx = form_context(session=session, task=task, action=ACTIONS[TaskKind(task.kind)])
    return page(request, "task_form.html", {**ctx, "post_url": request.url.path, "on_behalf": True,
                                            "hidden": {"csrf_token": csrf_token(request)}})


@router.post("/admin/tasks/{task_id}/form")
async def behalf_submit(request: Request, task_id: int, user: AdminDep) -> Response:
    """Record a submission an administrator files on the assignee's behalf (audited as such)."""
    runtime: Runtime = request.app.state.runtime
    # The link forms' reader: size checked before parsing, field limit sized for a form full to MAX_ROWS.
    form = await read_form(request)
    if isinstance(form, Response):
        return form
    verify_csrf(request, form.get("csrf_token", ""))
    with session_scope(runtime.engine) as session:
        task = session.get(Task, task_id)
        if task is None:
            return problem(request, 404, "没有此事项", f"没有编号为 {task_id} 的事项。")
        action = ACTIONS[TaskKind(task.kind)]
        org = task.organization_key
    hidden = {"csrf_token": csrf_token(request)}
    if form.get("add_rows") and not record_check(form):
        return more_rows(request, task_id, action, form, hidden=hidden, on_behalf=True)
    agent = request.headers.get("user-agent", "")[:400]
    actor = Actor(f"admin:{user.username}", ActorKind.ADMIN, on_behalf_of=org,
                  ip=request.client.host if request.client else None, user_agent=agent)
    kind, payload = record(runtime=runtime, task_id=task_id, action=action, form=form, actor=actor)
    return outcome_page(request, kind, payload, post_url=request.url.path, hidden=hidden, on_behalf=True)


@router.post("/admin/tasks/{task_id}/resend", dependencies=[CsrfDep])
def resend(request: Request, task_id: int, user: AdminDep, revoke: Annotated[str, Form()] = "") -> Response:
    """Send the assignee's contacts a fresh link now (optionally revoking every older link)."""
    runtime: Runtime = request.app.state.runtime
    now = runtime.clock.now()
    with session_scope(runtime.engine, write=True) as session:
        task = session.get(Task, task_id)
        if task is None:
            return problem(request, 404, "没有此事项", f"没有编号为 {task_id} 的事项。")
        revoked = LinkSigner.revoke(session=session, task_id=task_id, now=now) if revoke else 0
        orgs = get_organizations(session=session)
        name = orgs[task.organization_key].short_name if task.organization_key in orgs else task.organization_key
        people = contacts_by_org(session=session).get(task.organization_key, [])
        rcpts = [Recipient(email=c.email, name=c.name, org_key=task.organization_key, org_name=name, role="assignee")
                 for c in people]
        enqueue(session=session, origin="links", kind=MailKind.TASK_REQUEST, subject=task_subject(task_id),
                rule=f"resend:{now.isoformat()}", recipients=rcpts, context=task_context(task, name, None),
                due_at=now, now=now)
        audit(session=session, at=now, actor=f"admin:{user.username}", actor_kind=ActorKind.ADMIN,
              action="link.resend", entity="task", entity_id=task_id, task_id=task_id,
              ip=request.client.host if request.client else None, user_agent=request.headers.get("user-agent"),
              after={"recipients": [r.email for r in rcpts], "revoked": revoked})
    return RedirectResponse(f"/admin/tasks/{task_id}?sent={len(rcpts)}", status_code=303)


@router.get("/admin/outcomes.{fmt}")
def export_outcomes(request: Request, fmt: str, session: SessionDep, user: AdminDep) -> Response:
    """Download every outcome report with its project rows as CSV or XLSX."""
    if fmt == "csv":
        return Response(outcomes_csv(session=session), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": "attachment; filename=outcomes.csv"})
    if fmt == "xlsx":
        return Response(outcomes_xlsx(session=session),
                        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": "attachment; filename=outcomes.xlsx"})
    return Response("未知格式（可选 csv、xlsx）", status_code=404, media_type="text/plain; charset=utf-8")


@router.get("/admin/leads")
def lead_list(request: Request, session: SessionDep, user: AdminDep, stage: str = "", org: str = "") -> Response:
    """List project leads per stage and 板块, stalled ones (no update for 30 days) flagged."""
    runtime: Runtime = request.app.state.runtime
    now = runtime.clock.now()
    query = select(Lead).order_by(col(Lead.last_update_at))
    if stage:
        query = query.where(Lead.stage == stage)
    if org:
        query = query.where(Lead.bankuai_key == org)
    leads = list(session.exec(query).all())
    stale = {lead.id for lead in stale_leads(session=session, now=now)}
    return render(request, "admin_leads.html", {
        "leads": leads, "stale": stale, "counts": count_by_stage(session=session), "stage": stage, "org": org,
        "stage_labels": {str(k): v for k, v in LEAD_STAGE_LABELS.items()}, "orgs": get_organizations(session=session),
        "tz": SHANGHAI,
    })
