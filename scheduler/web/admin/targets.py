"""Administrator pages: 2025 goals and annual targets (view and enter), and the mail log (outbox states)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import col, func, select

from scheduler.clock import SHANGHAI, local_date
from scheduler.mail.models import STATE_LABELS, OutboxMessage, OutboxState
from scheduler.reports.build import build_report
from scheduler.reports.export import FORMATS, display, display_quantity
from scheduler.reports.facts import load_facts
from scheduler.reports.goals import GOALS, add_entry
from scheduler.reports.targets import METRICS, bankuai_units, load_targets, set_target
from scheduler.web.admin.outbox import mail_kind_label, mail_topics
from scheduler.web.deps import SessionDep
from scheduler.web.security import AdminDep, CsrfDep, csrf_token
from scheduler.web.templates import render

router = APIRouter(prefix="/admin")
PAGE_SIZE = 100


def _number(text: str, what: str) -> Decimal:
    try:
        value = Decimal(text.strip())
        if not value.is_finite() or value < 0:
            raise InvalidOperation
    except InvalidOperation:
        raise HTTPException(status_code=400, detail=f"{what} {text!r} 无效：应为非负数字") from None
    return value


@router.get("/targets", response_class=HTMLResponse)
def targets_page(request: Request, session: SessionDep, admin: AdminDep) -> HTMLResponse:
    """Show the 2025 goals chart and table, the annual targets per 板块, and the entry forms."""
    now = request.app.state.runtime.clock.now()
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
            "goals": GOALS,
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
    request: Request,
    session: SessionDep,
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
            now=request.app.state.runtime.clock.now(),
        )
    except ValueError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None
    session.commit()
    return RedirectResponse("/admin/targets", status_code=303)


@router.post("/targets/annual", dependencies=[CsrfDep])
def enter_annual(
    request: Request,
    session: SessionDep,
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
        now=request.app.state.runtime.clock.now(),
    )
    session.commit()
    return RedirectResponse("/admin/targets", status_code=303)


def _outbox_order(state: str) -> tuple:
    """Pending mail by when it goes out (soonest first); sent and failed mail newest first."""
    if state in (OutboxState.PENDING, OutboxState.SENDING):
        return col(OutboxMessage.due_at).asc(), col(OutboxMessage.id).asc()
    if state == OutboxState.SENT:
        return col(OutboxMessage.sent_at).desc(), col(OutboxMessage.id).desc()
    if state:
        return col(OutboxMessage.updated_at).desc(), col(OutboxMessage.id).desc()
    return col(OutboxMessage.due_at).desc(), col(OutboxMessage.id).desc()


@router.get("/outbox", response_class=HTMLResponse)
def outbox_page(request: Request, session: SessionDep, admin: AdminDep, state: str = "", page: int = 1) -> HTMLResponse:
    """List outbox rows (pending: soonest first; otherwise newest first) with their state, subject and errors."""
    if state and state not in STATE_LABELS:
        raise HTTPException(status_code=400, detail=f"未知状态 {state!r}（可选：{'、'.join(STATE_LABELS)}）")
    query = select(OutboxMessage)
    if state:
        query = query.where(OutboxMessage.state == state)
    counts = dict(session.exec(select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)).all())
    page = max(page, 1)
    rows = list(
        session.exec(
            query.order_by(*_outbox_order(state))
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE)
        )
    )
    return render(
        request,
        "outbox.html",
        {
            "rows": rows,
            "state": state,
            "counts": counts,
            "page": page,
            "state_labels": {OutboxState(k): v for k, v in STATE_LABELS.items()},
            "kind_label": mail_kind_label,
            "topics": mail_topics(session=session, rows=rows),
            "page_size": PAGE_SIZE,
            "tz": SHANGHAI,
        },
    )
