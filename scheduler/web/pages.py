"""Public pages: the plan, quarter by quarter, for the plan chosen with `?plan=KEY` (default: the current one)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from itertools import groupby

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session, col, func, select

from scheduler.clock import local_date
from scheduler.mail.senddays import provisional_lines
from scheduler.plan.catalog import PlanNotFound, choose_plan
from scheduler.plan.models import Occurrence, Plan
from scheduler.plan.rows import plan_choices, plan_rows
from scheduler.web.deps import NowDep, SessionDep
from scheduler.web.templates import render
from scheduler.workdays import load_calendar

router = APIRouter()
QUARTER_NAMES = {1: "第一季度", 2: "第二季度", 3: "第三季度", 4: "第四季度"}


def chosen_plan(*, session: Session, key: str | None, today: date) -> Plan | None:
    """Return the plan a page shows (`key`, else the current plan); an unknown key is a 404 naming the known ones."""
    try:
        return choose_plan(session=session, key=key, today=today)
    except PlanNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None


def provisional_banner(*, session: Session, days: Iterable[date | None]) -> list[str]:
    """Return the 暂定 lines a page shows for the years of `days` the working-day calendar does not cover yet."""
    return provisional_lines(days, load_calendar(session=session))


def plan_days(*, session: Session, plan: Plan | None) -> list[date]:
    """Return the first day of `plan`'s year and the span of its windows (a row may start the December before)."""
    if plan is None:
        return []
    first, last = session.exec(select(func.min(col(Occurrence.window_start)), func.max(col(Occurrence.window_end)))
                               .where(Occurrence.plan_id == plan.id)).one()
    return [d for d in (date(plan.year, 1, 1), first, last) if d is not None]


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
        "provisional": provisional_banner(session=session, days=plan_days(session=session, plan=chosen)),
    })
