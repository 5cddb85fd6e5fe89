"""Administrator pages: development goals (the set covering the year) and annual targets (view and enter)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from scheduler.clock import local_date
from scheduler.reports.build import build_report
from scheduler.reports.export import FORMATS, display, display_quantity
from scheduler.reports.facts import load_facts
from scheduler.reports.goals import add_entry
from scheduler.reports.goalsets import known_goal_keys
from scheduler.reports.targets import MAX_TARGET, METRICS, SOURCE_LIMIT, bankuai_units, set_target, shown_targets
from scheduler.validation import ValueRefused, clean_text, parse_decimal, parse_year
from scheduler.web.deps import NowDep, SessionDep, WriteSessionDep
from scheduler.web.security import AdminDep, CsrfDep, csrf_token
from scheduler.web.templates import render

router = APIRouter(prefix="/admin")


MAX_GOAL = Decimal("99999999999999.99")  # goal_entry.value is Numeric(16, 2)


def _number(text: str, what: str, high: Decimal = MAX_TARGET) -> Decimal:
    try:
        return parse_decimal(text, label=what, low=Decimal(0), high=high)
    except ValueRefused as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None


def _refused(exc: ValueRefused) -> HTTPException:
    return HTTPException(status_code=400, detail=str(exc))


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
            "targets": _shown(session, year),
            "year": year,
            "csrf": csrf_token(request),
            "query": str(year),
        },
    )


def _shown(session: Session, year: int) -> dict[str, dict[str, Decimal | str]]:
    out: dict[str, dict[str, Decimal | str]] = {}
    for key, metric, value in shown_targets(session=session, year=year):
        out.setdefault(key, {})[metric] = value
    return out


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
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", as_of.strip(), re.ASCII):
            raise ValueError(as_of)
        day = date.fromisoformat(as_of.strip())
        parse_year(str(day.year), label="数据日期的年份")
    except (ValueError, ValueRefused):
        raise HTTPException(status_code=400, detail=f"数据日期 {as_of[:40]!r} 无效，应形如 2023-06-30") from None
    try:
        text = clean_text(source, label="数据来源", limit=SOURCE_LIMIT)
    except ValueRefused as exc:
        raise _refused(exc) from None
    try:
        add_entry(
            session=session,
            goal_key=goal,
            as_of=day,
            value=_number(value, "数值", MAX_GOAL),
            source=text,
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
    year: Annotated[str, Form()],
    unit: Annotated[str, Form()],
    metric: Annotated[str, Form()],
    value: Annotated[str, Form()],
) -> Response:
    """Set one 板块's annual target for one metric."""
    try:
        target_year = parse_year(year)
    except ValueRefused as exc:
        raise _refused(exc) from None
    if unit not in bankuai_units(session=session):
        raise HTTPException(status_code=400, detail=f"未知板块 {unit[:40]!r}")
    if metric not in METRICS:
        raise HTTPException(status_code=400, detail=f"未知指标 {metric[:40]!r}")
    set_target(
        session=session,
        year=target_year,
        unit=unit,
        metric=metric,
        value=_number(value, "目标值"),
        source=f"admin:{admin.username}",
        now=now,
    )
    return RedirectResponse("/admin/targets", status_code=303)
