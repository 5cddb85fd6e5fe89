"""Public pages: the plan, quarter by quarter."""

from __future__ import annotations

from itertools import groupby

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from scheduler.clock import local_date
from scheduler.plan.rows import plan_rows
from scheduler.web.deps import NowDep, SessionDep
from scheduler.web.templates import render

router = APIRouter()
QUARTER_NAMES = {1: "第一季度", 2: "第二季度", 3: "第三季度", 4: "第四季度"}


@router.get("/plan", response_class=HTMLResponse)
def plan_page(request: Request, session: SessionDep, now: NowDep) -> HTMLResponse:
    """Show every row of the plan with dates, hosts, co-organizers and type."""
    rows = plan_rows(session=session) or []
    quarters = [
        {"number": q, "name": QUARTER_NAMES[q], "rows": list(items)}
        for q, items in groupby(rows, key=lambda r: r["quarter"])
    ]
    today = local_date(now)  # a passed window is judged by it
    return render(request, "plan.html", {"quarters": quarters, "has_plan": bool(rows), "today": today})
