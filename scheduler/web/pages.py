"""Public pages: the plan, quarter by quarter, for the plan chosen with `?plan=KEY` (default: the current one)."""

from __future__ import annotations

from datetime import date
from itertools import groupby

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from scheduler.clock import local_date
from scheduler.plan.catalog import PlanNotFound, choose_plan
from scheduler.plan.models import Plan
from scheduler.plan.rows import plan_choices, plan_rows
from scheduler.web.deps import NowDep, SessionDep
from scheduler.web.templates import render

router = APIRouter()
QUARTER_NAMES = {1: "第一季度", 2: "第二季度", 3: "第三季度", 4: "第四季度"}


def chosen_plan(*, session: Session, key: str | None, today: date) -> Plan | None:
    """Return the plan a page shows (`key`, else the current plan); an unknown key is a 404 naming the known ones."""
    try:
        return choose_plan(session=session, key=key, today=today)
    except PlanNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None


@router.get("/plan", response_class=HTMLResponse)
def plan_page(request: Request, session: SessionDep, now: NowDep, plan: str | None = None) -> HTMLResponse:
    """Show every row of the chosen plan with dates, hosts, co-organizers and type, and a selector of plans."""
    today = local_date(now)  # picks the current plan; a passed window is judged by it
    chosen = chosen_plan(session=session, key=plan, today=today)
    rows = plan_rows(session=session, plan=chosen) if chosen is not None else []
    quarters = [
        {"number": q, "name": QUARTER_NAMES[q], "rows": list(items)}
        for q, items in groupby(rows, key=lambda r: r["quarter"])
    ]
    return render(request, "plan.html", {
        "quarters": quarters, "has_plan": chosen is not None, "plan": chosen, "today": today,
        "plans": plan_choices(session=session, chosen=chosen), "selector_action": "/plan",
    })
