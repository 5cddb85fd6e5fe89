"""Administrators' pages: tasks (filters, detail, file on behalf, resend), leads with stalls, outcome export."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import col, select

from scheduler.clock import SHANGHAI, local_date
from scheduler.followups.kinds import TASK_KIND_LABELS
from scheduler.followups.models import TASK_STATUS_LABELS, TaskKind, TaskStatus
from scheduler.followups.renewal import resend_links
from scheduler.followups.submissions import file_on_behalf, list_revisions
from scheduler.followups.tasks import get_task, list_tasks, task_trail
from scheduler.outcomes.exports import outcomes_csv, outcomes_xlsx
from scheduler.outcomes.leads import count_by_stage, stale_leads
from scheduler.outcomes.models import LEAD_STAGE_LABELS, Lead
from scheduler.plan.catalog import get_organizations
from scheduler.web.admin.params import RowId
from scheduler.web.deps import NowDep, RuntimeDep, SessionDep, WriteSessionDep
from scheduler.web.links import form_page, page, problem, read_form, result_page, rows_refusal
from scheduler.web.pages import provisional_banner
from scheduler.web.security import AdminDep, CsrfDep, csrf_token, verify_csrf
from scheduler.web.taskforms import form_context
from scheduler.web.templates import render

router = APIRouter(include_in_schema=False)
TASKS_PER_PAGE = 25
# ?page=N (1-based); FastAPI refuses a non-number or one out of range with a Chinese page naming the field
PageNumber = Annotated[int, Query(alias="page", ge=1, le=10_000)]
FILTERS = {"overdue": "逾期", "open": "待办", "done": "已完成", "cancelled": "已取消", "all": "全部"}


def _missing(request: Request, task_id: int) -> Response:
    return problem(request, 404, "没有此事项", f"没有编号为 {task_id} 的事项。")


@router.get("/admin/tasks")
def task_list(request: Request, session: SessionDep, now: NowDep, user: AdminDep, filter: str = "overdue",
              org: str = "", kind: str = "", number: PageNumber = 1) -> Response:
    """List tasks: overdue / open / done / cancelled / all, per organization and kind, a page at a time."""
    today = local_date(now)
    status = filter if filter in ("open", "done", "cancelled") else None
    found = list_tasks(session=session, status=status, organization_key=org or None, kind=kind or None,
                       overdue_on=today if filter == "overdue" else None)
    pages = max(1, -(-len(found) // TASKS_PER_PAGE))
    number = min(number, pages)
    tasks = found[(number - 1) * TASKS_PER_PAGE:number * TASKS_PER_PAGE]
    orgs = get_organizations(session=session)
    query = urlencode({"filter": filter, "org": org, "kind": kind})
    return render(request, "admin_tasks.html", {
        "tasks": tasks, "total": len(found), "page_number": number, "pages": pages, "page_query": query,
        "first_shown": (number - 1) * TASKS_PER_PAGE + 1 if found else 0,
        "filter": filter, "org": org, "kind": kind, "filters": FILTERS, "orgs": orgs, "today": today,
        "kind_labels": {str(k): v for k, v in TASK_KIND_LABELS.items()},
        "status_labels": {str(k): v for k, v in TASK_STATUS_LABELS.items()}, "tz": SHANGHAI,
        "provisional": provisional_banner(session=session, days=[t.due_on for t in tasks]),
    })


@router.get("/admin/tasks/{task_id}")
def task_detail(request: Request, task_id: RowId, session: SessionDep, user: AdminDep) -> Response:
    """Show a task with its revisions, issued links (never the tokens) and audit trail."""
    task = get_task(session=session, task_id=task_id)
    if task is None:
        return render(request, "admin_tasks.html", {"missing": task_id}, status_code=404)
    links, entries = task_trail(session=session, task_id=task_id)
    orgs = get_organizations(session=session)
    return render(request, "admin_task.html", {
        "task": task, "revisions": list_revisions(session=session, task_id=task_id), "links": links,
        "entries": entries, "org_name": orgs[task.organization_key].short_name if task.organization_key in orgs
        else task.organization_key, "csrf": csrf_token(request), "tz": SHANGHAI,
        "kind_label": TASK_KIND_LABELS.get(TaskKind(task.kind), task.kind),
        "status_label": TASK_STATUS_LABELS.get(TaskStatus(task.status), task.status),
        "provisional": provisional_banner(session=session, days=[task.opens_on, task.due_on]),
    })


@router.get("/admin/tasks/{task_id}/form")
def behalf_form(request: Request, task_id: RowId, session: SessionDep, user: AdminDep) -> Response:
    """Show a task's form for an administrator filing on the assignee's behalf."""
    task = get_task(session=session, task_id=task_id)
    if task is None:
        return _missing(request, task_id)
    ctx = form_context(session=session, task=task)
    return page(request, "task_form.html", {**ctx, "post_url": request.url.path, "on_behalf": True,
                                            "hidden": {"csrf_token": csrf_token(request)}})


@router.post("/admin/tasks/{task_id}/form")
async def behalf_submit(request: Request, task_id: RowId, user: AdminDep, runtime: RuntimeDep, now: NowDep,
                        session: SessionDep) -> Response:
    """Record a submission an administrator files on the assignee's behalf (audited as such)."""
    # The link forms' reader: size checked before parsing, field limit sized for a form full to MAX_ROWS.
    form = await read_form(request)
    if isinstance(form, Response):
        return form
    verify_csrf(request, form.get("csrf_token", ""))
    task = get_task(session=session, task_id=task_id)
    if task is None:
        return _missing(request, task_id)
    hidden = {"csrf_token": csrf_token(request)}
    refusal = rows_refusal(request, form)
    if refusal is not None:
        return refusal
    if form.get("add_rows"):
        return form_page(request, session, task, form, hidden=hidden, on_behalf=True, extra_rows=3)
    result = file_on_behalf(engine=runtime.engine, task=task, form=form, admin=user.username,
                            ip=request.client.host if request.client else None,
                            user_agent=request.headers.get("user-agent", "")[:400], now=now)
    return result_page(request, session, task, form, result, hidden=hidden, on_behalf=True)


@router.post("/admin/tasks/{task_id}/resend", dependencies=[CsrfDep])
def resend(request: Request, task_id: RowId, user: AdminDep, session: WriteSessionDep, now: NowDep,
           revoke: Annotated[str, Form()] = "") -> Response:
    """Send the assignee's contacts a fresh link now (optionally revoking every older link)."""
    task = get_task(session=session, task_id=task_id)
    if task is None:
        return _missing(request, task_id)
    sent = resend_links(session=session, task=task, now=now, admin=user.username, revoke=bool(revoke),
                        ip=request.client.host if request.client else None,
                        user_agent=request.headers.get("user-agent"))
    return RedirectResponse(f"/admin/tasks/{task_id}?sent={sent}", status_code=303)


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
def lead_list(request: Request, session: SessionDep, now: NowDep, user: AdminDep, stage: str = "",
              org: str = "") -> Response:
    """List project leads per stage and 板块, stalled ones (no update for 30 days) flagged."""
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
