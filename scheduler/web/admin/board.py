"""Administrator page 排期建议: the planning board of a plan, and computing and publishing a new proposal."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from scheduler.audit import ActorKind, audit
from scheduler.clock import local_date
from scheduler.plan.catalog import PlanNotFound, choose_plan
from scheduler.scheduling.board import board
from scheduler.scheduling.proposer import ProposalImpossible, propose
from scheduler.scheduling.publish import latest_published, latest_version, publish
from scheduler.scheduling.snapshot import load_snapshot
from scheduler.web.deps import NowDep, SessionDep, WriteSessionDep
from scheduler.web.security import AdminDep, CsrfDep, csrf_token
from scheduler.web.templates import render

router = APIRouter(prefix="/admin", include_in_schema=False)
TIME_LIMIT = 4.0


def _missing(request: Request, message: str) -> Response:
    return render(request, "error.html", {"title": "没有此计划", "messages": [message], "status": 404},
                  status_code=404)


@router.get("/schedule/board", response_class=HTMLResponse)
def board_page(request: Request, session: SessionDep, now: NowDep, admin: AdminDep, plan: str = "",
               done: str = "") -> Response:
    """Show the board: rows per 板块, months across, fixed days, the published suggestions and conflicts."""
    try:
        chosen = choose_plan(session=session, key=plan or None, today=local_date(now))
    except PlanNotFound as exc:
        return _missing(request, str(exc))
    if chosen is None or chosen.id is None:
        return _missing(request, "尚未导入任何计划。")
    snap = load_snapshot(session=session, plan=chosen)
    published = latest_published(session=session, plan_id=chosen.id)
    return render(request, "admin_schedule_board.html", {
        "plan": chosen, "rows": board(snap, published), "version": latest_version(session=session, plan_id=chosen.id),
        "csrf": csrf_token(request), "done": done == "published", "months": range(1, 13),
    })


@router.post("/schedule/board/publish", dependencies=[CsrfDep])
def board_publish(request: Request, session: WriteSessionDep, now: NowDep, admin: AdminDep,
                  plan: str = "") -> Response:
    """Compute a proposal for every unfixed session (keeping the last version where it still fits) and publish it."""
    try:
        chosen = choose_plan(session=session, key=plan or None, today=local_date(now))
    except PlanNotFound as exc:
        return _missing(request, str(exc))
    if chosen is None or chosen.id is None:
        return _missing(request, "尚未导入任何计划。")
    snap = load_snapshot(session=session, plan=chosen)
    previous = {k: s.day for k, s in latest_published(session=session, plan_id=chosen.id).items()}
    try:
        result = propose(snap, previous=previous, time_limit=TIME_LIMIT)
    except ProposalImpossible as exc:
        return render(request, "error.html", {"title": "无法排期", "messages": exc.reasons, "status": 422},
                      status_code=422)
    version = publish(session=session, plan=chosen, proposal=result, by=f"admin:{admin.username}", now=now)
    audit(session=session, at=now, actor=f"admin:{admin.username}", actor_kind=ActorKind.ADMIN,
          action="schedule.publish", entity="schedule_proposal", entity_id=version, before=None,
          after={"plan": chosen.key, "version": version, "sessions": len(result.days)})
    return RedirectResponse(f"/admin/schedule/board?plan={chosen.key}&done=published#done", status_code=303)
