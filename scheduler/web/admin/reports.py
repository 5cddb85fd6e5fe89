"""Administrator pages for reports: cadence heatmaps, report pages and downloads, reviews, quarterly issue."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, select

from scheduler.clock import local_date
from scheduler.reports.build import ReportUnavailable, build_report, issue_quarterly
from scheduler.reports.cadence import compute_cadence
from scheduler.reports.cadence_report import cadence_report
from scheduler.reports.export import FORMATS, display, export
from scheduler.reports.facts import load_facts
from scheduler.reports.models import AssessmentAdjustment, RectificationItem, ReviewNote
from scheduler.reports.periods import REPORT_KIND_LABELS, PeriodInvalid, parse_period
from scheduler.reports.snapshots import SnapshotExists, get_snapshot
from scheduler.reports.targets import bankuai_units
from scheduler.web.deps import SessionDep
from scheduler.web.security import AdminDep, CsrfDep, csrf_token
from scheduler.web.templates import render

router = APIRouter(prefix="/admin")
TEXT_LIMIT = 2000


def _now(request: Request) -> datetime:
    return request.app.state.runtime.clock.now()


def _defaults(today_month: int, year: int) -> dict[str, str]:
    m = max(today_month - 1, 1)
    b = m - 1 if m % 2 == 0 else m
    return {
        "monthly": f"{year}-{m:02d}",
        "bimonthly": f"{year}-{b:02d}/{b + 1:02d}",
        "quarterly": f"{year}Q{max((today_month - 1) // 3, 1)}",
        "cadence": str(year),
        "targets": str(year),
    }


@router.get("/cadence", response_class=HTMLResponse)
def cadence_page(request: Request, session: SessionDep, admin: AdminDep) -> HTMLResponse:
    """Show the cadence heatmaps (months and weeks) with their text tables."""
    facts = load_facts(session=session)
    if facts is None:
        raise HTTPException(status_code=404, detail="还没有导入活动计划")
    report = cadence_report(compute_cadence(facts, local_date(_now(request))), str(facts.year))
    return render(
        request,
        "report_page.html",
        {"report": report, "display": display, "formats": FORMATS, "query": quote(report.period, safe="")},
    )


def _index_context(request: Request, session: Session, error: str | None) -> dict:
    """Return what the report index needs: kinds, default periods, and the choices of each period picker."""
    facts = load_facts(session=session)
    today = local_date(_now(request))
    year = facts.year if facts else today.year
    return {
        "kinds": REPORT_KIND_LABELS,
        "defaults": _defaults(today.month if today.year == year else 13, year),
        "year": year,
        "bimonths": [f"{year}-{m:02d}/{m + 1:02d}" for m in range(1, 12, 2)],
        "quarters": [f"{year}Q{q}" for q in range(1, 5)],
        "formats": FORMATS,
        "error": error,
        "csrf": csrf_token(request),
    }


@router.get("/reports", response_class=HTMLResponse)
def reports_index(request: Request, session: SessionDep, admin: AdminDep, error: str | None = None) -> HTMLResponse:
    """List the report kinds, each with a period picker and a format."""
    return render(request, "reports.html", _index_context(request, session, error))


@router.get("/reports/{kind}")
def report_view(
    request: Request, session: SessionDep, admin: AdminDep, kind: str, period: str = "", format: str = "page"
) -> Response:
    """Show a report page, or download it as html (printable), csv, xlsx or json."""
    try:
        report = build_report(session=session, kind=kind, period=period, now=_now(request))
    except ReportUnavailable as exc:
        return render(request, "reports.html", _index_context(request, session, str(exc)), status_code=400)
    if format == "page":
        ctx = {
            "report": report,
            "display": display,
            "formats": FORMATS,
            "query": quote(report.period, safe=""),
            "csrf": csrf_token(request),
        }
        if kind == "bimonthly":
            ctx["units"] = bankuai_units(session=session)
            ctx["notes"] = {
                n.organization_key: n.text
                for n in session.exec(select(ReviewNote).where(ReviewNote.period == report.period))
            }
            ctx["open_items"] = [
                i
                for i in session.exec(select(RectificationItem))
                if i.status == "open" and i.opened_period <= report.period
            ]
        if kind == "quarterly":
            ctx["units"] = bankuai_units(session=session)
            ctx["issued"] = get_snapshot(session=session, kind=kind, period=report.period) is not None
        return render(request, "report_page.html", ctx)
    if format not in FORMATS:
        raise HTTPException(status_code=400, detail=f"未知格式 {format!r}（可选：{'、'.join(FORMATS)}）")
    data = export(report, format)
    name = f"{kind}-{report.period.replace('/', '-')}.{format}"
    disposition = "inline" if format == "html" else "attachment"
    return Response(
        data, media_type=FORMATS[format], headers={"Content-Disposition": f'{disposition}; filename="{name}"'}
    )


def _back(kind: str, period: str, message: str = "") -> RedirectResponse:
    url = f"/admin/reports/{kind}?period={quote(period, safe='')}"
    return RedirectResponse(url + (f"&msg={quote(message)}" if message else ""), status_code=303)


def _text(value: str, what: str) -> str:
    value = value.strip()
    if not value:
        raise HTTPException(status_code=400, detail=f"{what}不能为空")
    if len(value) > TEXT_LIMIT:
        raise HTTPException(status_code=400, detail=f"{what}过长（最多 {TEXT_LIMIT} 字，收到 {len(value)} 字）")
    return value


def _bimonth(period: str) -> str:
    try:
        p = parse_period(period)
    except PeriodInvalid as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None
    if p.kind != "bimonth":
        raise HTTPException(status_code=400, detail=f"点评期次应形如 2023-03/04，收到 {period!r}")
    return p.text


def _unit(session: Session, key: str) -> str:
    if key not in bankuai_units(session=session):
        raise HTTPException(status_code=400, detail=f"未知板块 {key!r}")
    return key


@router.post("/reviews/note", dependencies=[CsrfDep])
def save_note(
    request: Request,
    session: SessionDep,
    admin: AdminDep,
    period: Annotated[str, Form()],
    unit: Annotated[str, Form()],
    text: Annotated[str, Form()] = "",
) -> Response:
    """Save (or clear) the office's note on one unit for one bimonthly review."""
    p, key = _bimonth(period), _unit(session, unit)
    note = session.exec(select(ReviewNote).where(ReviewNote.period == p, ReviewNote.organization_key == key)).first()
    if not text.strip():
        if note is not None:
            session.delete(note)
    else:
        body = _text(text, "点评意见")
        note = note or ReviewNote(
            period=p, organization_key=key, text=body, author=admin.username, updated_at=_now(request)
        )
        note.text, note.author, note.updated_at = body, admin.username, _now(request)
        session.add(note)
    session.commit()
    return _back("bimonthly", p, "已保存点评意见")


@router.post("/reviews/items", dependencies=[CsrfDep])
def add_item(
    request: Request,
    session: SessionDep,
    admin: AdminDep,
    period: Annotated[str, Form()],
    unit: Annotated[str, Form()],
    text: Annotated[str, Form()],
) -> Response:
    """Raise a 整改 item at a bimonthly review."""
    p, key = _bimonth(period), _unit(session, unit)
    now = _now(request)
    session.add(
        RectificationItem(
            opened_period=p,
            organization_key=key,
            text=_text(text, "整改事项"),
            author=admin.username,
            created_at=now,
            updated_at=now,
        )
    )
    session.commit()
    return _back("bimonthly", p, "已添加整改事项")


@router.post("/reviews/items/{item_id}/close", dependencies=[CsrfDep])
def close_item(
    request: Request,
    session: SessionDep,
    admin: AdminDep,
    item_id: int,
    period: Annotated[str, Form()],
    note: Annotated[str, Form()] = "",
) -> Response:
    """Close a 整改 item at the review where it was done; it no longer carries over."""
    p = _bimonth(period)
    item = session.get(RectificationItem, item_id)
    if item is None:
        raise HTTPException(status_code=404, detail=f"没有编号 {item_id} 的整改事项")
    if item.status != "closed":
        item.status, item.closed_period, item.closed_note, item.updated_at = (
            "closed",
            p,
            note.strip()[:TEXT_LIMIT],
            _now(request),
        )
        session.add(item)
        session.commit()
    return _back("bimonthly", p, "整改事项已办结")


@router.post("/assessments/adjustments", dependencies=[CsrfDep])
def add_adjustment(
    request: Request,
    session: SessionDep,
    admin: AdminDep,
    period: Annotated[str, Form()],
    unit: Annotated[str, Form()],
    points: Annotated[str, Form()],
    reason: Annotated[str, Form()],
) -> Response:
    """Add a bonus or deduction item to a quarterly assessment that is not issued yet."""
    p = period.strip().upper()
    if get_snapshot(session=session, kind="quarterly", period=p) is not None:
        raise HTTPException(status_code=409, detail=f"{p} 的考核已发布冻结，不能再加减分")
    try:
        value = Decimal(points)
        if not value.is_finite() or abs(value) > 100:
            raise InvalidOperation
    except InvalidOperation:
        raise HTTPException(status_code=400, detail=f"分值 {points!r} 无效（−100 到 100 之间的数字）") from None
    session.add(
        AssessmentAdjustment(
            period=p,
            organization_key=_unit(session, unit),
            points=value,
            reason=_text(reason, "加减分事由"),
            author=admin.username,
            created_at=_now(request),
        )
    )
    session.commit()
    return _back("quarterly", p, "已记录加减分")


@router.post("/assessments/issue", dependencies=[CsrfDep])
def issue(request: Request, session: SessionDep, admin: AdminDep, period: Annotated[str, Form()]) -> Response:
    """Issue a quarterly assessment: compute it now and freeze it."""
    try:
        issue_quarterly(session=session, period=period, now=_now(request), by=admin.username)
    except (ReportUnavailable, SnapshotExists) as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from None
    session.commit()
    return _back("quarterly", period.strip().upper(), "考核已发布并冻结")
