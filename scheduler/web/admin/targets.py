"""Administrator pages: development goals (the set covering the year) and annual targets (view and enter)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from scheduler.clock import local_date
from scheduler.reports.build import build_report
from scheduler.reports.export import FORMATS, display, display_quantity
from scheduler.reports.facts import load_facts
from scheduler.reports.goals import add_entry
from scheduler.reports.goalsets import known_goal_keys
from scheduler.reports.targets import METRICS, bankuai_units, load_targets, set_target
from scheduler.web.deps import NowDep, SessionDep, WriteSessionDep
from scheduler.web.security import AdminDep, CsrfDep, csrf_token
from scheduler.web.templates import render

router = APIRouter(prefix="/admin")


def _number(text: str, what: str) -> Decimal:
    try:
        value = Decimal(text.strip())
        if not value.is_finite() or value < 0:
            raise InvalidOperation
    except InvalidOperation:
        raise HTTPException(status_code=400, detail=f"{what} {text!r} 无效：应为非负数字") from None
    return value


@router.get("/targets", response_class=HTMLResponse)
def targets_page(request: Request, session: SessionDep, now: NowDep, admin: AdminDep) -> HTMLResponse:
    """Show the 2025 goals chart and table, the annual targets per 板块, and the entry forms."""
    facts = load_facts(session=session)
    year = facts.year if facts else local_date(now).year
    report = build_report(session=session, kind="targets", period=str(year), now=now) if facts else None
    return render(
        request,
        "targets.html",
        {
            "report": report,
            "display": display,
            "qty": display_quantity,
            "formats": FORMATS,
            "goals": list(known_goal_keys(session=session).values()),
            "metrics": METRICS,
            "units": bankuai_units(session=session),
            "targets": load_targets(session=session, year=year),
            "year": year,
            "csrf": csrf_token(request),
            "query": str(year),
        },
    )


@router.post("/targets/goal", dependencies=[CsrfDep])
def enter_goal(
    session: WriteSessionDep,
    now: NowDep,
    admin: AdminDep,
    goal: Annotated[str, Form()],
    value: Annotated[str, Form()],
    as_of: Annotated[str, Form()],
    source: Annotated[str, Form(max_length=200)],
) -> Response:
    """Record a 2025 goal's value as of a date, with its source."""
    try:
        day = date.fromisoformat(as_of)
    except ValueError:
        raise HTTPException(status_code=400, detail=f"数据日期 {as_of!r} 无效，应形如 2023-06-30") from None
    try:
        add_entry(
            session=session,
            goal_key=goal,
            as_of=day,
            value=_number(value, "数值"),
            source=source,
            by=f"admin:{admin.username}",
            now=now,
        )
    except ValueError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None
    return RedirectResponse("/admin/targets", status_code=303)


@router.post("/targets/annual", dependencies=[CsrfDep])
def enter_annual(
    session: WriteSessionDep,
    now: NowDep,
    admin: AdminDep,
    year: Annotated[int, Form()],
    unit: Annotated[str, Form()],
    metric: Annotated[str, Form()],
    value: Annotated[str, Form()],
) -> Response:
    """Set one 板块's annual target for one metric."""
    if unit not in bankuai_units(session=session):
        raise HTTPException(status_code=400, detail=f"未知板块 {unit!r}")
    if metric not in METRICS:
        raise HTTPException(status_code=400, detail=f"未知指标 {metric!r}")
    set_target(
        session=session,
        year=year,
        unit=unit,
        metric=metric,
        value=_number(value, "目标值"),
        source=f"admin:{admin.username}",
        now=now,
    )
    return RedirectResponse("/admin/targets", status_code=303)
