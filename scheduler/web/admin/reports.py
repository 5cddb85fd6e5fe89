"""Administrator pages for reports: cadence heatmaps, report pages and downloads, reviews, quarterly issue."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from scheduler.clock import local_date
from scheduler.reports import reviews
from scheduler.reports.build import ReportUnavailable, build_report, issue_quarterly
from scheduler.reports.cadence import compute_cadence
from scheduler.reports.cadence_report import cadence_report
from scheduler.reports.documents import ascii_name, file_name
from scheduler.reports.export import FORMATS, display, export
from scheduler.reports.facts import load_facts
from scheduler.reports.periods import REPORT_KIND_LABELS, PeriodInvalid, parse_period
from scheduler.reports.reviews import AssessmentFrozen, ReviewItemMissing, ReviewRefused, open_items, review_notes
from scheduler.reports.snapshots import SnapshotExists, get_snapshot
from scheduler.reports.targets import bankuai_units
from scheduler.validation import ValueRefused, clean_text, parse_decimal
from scheduler.web.admin.params import RowId
from scheduler.web.admin.planfile import content_disposition
from scheduler.web.deps import NowDep, SessionDep, WriteSessionDep
from scheduler.web.security import AdminDep, CsrfDep, csrf_token, style_hash_policy
from scheduler.web.templates import render

router = APIRouter(prefix="/admin")


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
def cadence_page(request: Request, session: SessionDep, now: NowDep, admin: AdminDep) -> HTMLResponse:
    """Show the cadence heatmaps (months and weeks) with their text tables."""
    facts = load_facts(session=session)
    if facts is None:
        raise HTTPException(status_code=404, detail="还没有导入活动计划")
    report = cadence_report(compute_cadence(facts, local_date(now)), str(facts.year))
    return render(
        request,
        "report_page.html",
        {"report": report, "display": display, "formats": FORMATS, "query": quote(report.period, safe="")},
    )


def _index_context(request: Request, session: Session, now: datetime, error: str | None) -> dict:
    """Return what the report index needs: kinds, default periods, and the choices of each period picker."""
    facts = load_facts(session=session)
    today = local_date(now)
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
def reports_index(
    request: Request, session: SessionDep, now: NowDep, admin: AdminDep, error: str | None = None
) -> HTMLResponse:
    """List the report kinds, each with a period picker and a format."""
    return render(request, "reports.html", _index_context(request, session, now, error))


@router.get("/reports/{kind}")
def report_view(
    request: Request,
    session: SessionDep,
    now: NowDep,
    admin: AdminDep,
    kind: str,
    period: str = "",
    format: str = "page",
) -> Response:
    """Show a report page, or download it as html (printable), csv, xlsx or json."""
    try:
        report = build_report(session=session, kind=kind, period=period, now=now)
    except ReportUnavailable as exc:
        return render(request, "reports.html", _index_context(request, session, now, str(exc)), status_code=400)
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
            ctx["notes"] = review_notes(session=session, period=report.period)
            ctx["open_items"] = open_items(session=session, period=report.period)
        if kind == "quarterly":
            ctx["units"] = bankuai_units(session=session)
            ctx["issued"] = get_snapshot(session=session, kind=kind, period=report.period) is not None
        return render(request, "report_page.html", ctx)
    if format not in FORMATS:
        raise HTTPException(status_code=400, detail=f"未知格式 {format!r}（可选：{'、'.join(FORMATS)}）")
    data = export(report, format)
    # A Chinese file name (RFC 6266 filename*) with an ASCII fallback; the printable page opens in the browser.
    disposition = content_disposition(file_name(report, format), ascii_name(report, format))
    headers = {"Content-Disposition": disposition}
    if format == "html":  # a standalone document with its own <style>: allowed by hash, nothing else inline
        headers["Content-Disposition"] = disposition.replace("attachment;", "inline;", 1)
        headers |= {"Content-Security-Policy": style_hash_policy(data), "X-Frame-Options": "DENY"}
    return Response(data, media_type=FORMATS[format], headers=headers)


def _back(kind: str, period: str, message: str = "") -> RedirectResponse:
    url = f"/admin/reports/{kind}?period={quote(period, safe='')}"
    return RedirectResponse(url + (f"&msg={quote(message)}" if message else ""), status_code=303)


def _refused(exc: ReviewRefused) -> HTTPException:
    """Turn a refused review entry into the error page: 404 missing item, 409 frozen quarter, else 400."""
    status = 404 if isinstance(exc, ReviewItemMissing) else 409 if isinstance(exc, AssessmentFrozen) else 400
    return HTTPException(status_code=status, detail=str(exc))


def _text(value: str, label: str) -> str:
    """Refuse NUL and control characters and over-long text in a review field before the rules see it."""
    try:
        return clean_text(value, label=label, limit=reviews.TEXT_LIMIT, multiline=True)
    except ValueRefused as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None


def _quarter(period: str) -> str:
    """Return a quarter's text (2023Q1) or refuse the form: adjustments and issues are per quarter."""
    try:
        p = parse_period(period)
    except PeriodInvalid as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None
    if p.kind != "quarter":
        raise HTTPException(status_code=400, detail=f"考核期次应形如 2023Q1，收到 {period[:40]!r}")
    return p.text


@router.post("/reviews/note", dependencies=[CsrfDep])
def save_note(
    session: WriteSessionDep,
    now: NowDep,
    admin: AdminDep,
    period: Annotated[str, Form()],
    unit: Annotated[str, Form()],
    text: Annotated[str, Form()] = "",
) -> Response:
    """Save (or clear) the office's note on one unit for one bimonthly review."""
    try:
        p = reviews.save_note(session=session, period=period, unit=unit, text=_text(text, "点评意见"),
                              author=admin.username, now=now)
    except ReviewRefused as exc:
        raise _refused(exc) from None
    return _back("bimonthly", p, "已保存点评意见")


@router.post("/reviews/items", dependencies=[CsrfDep])
def add_item(
    session: WriteSessionDep,
    now: NowDep,
    admin: AdminDep,
    period: Annotated[str, Form()],
    unit: Annotated[str, Form()],
    text: Annotated[str, Form()],
) -> Response:
    """Raise a 整改 item at a bimonthly review."""
    try:
        item = reviews.add_item(session=session, period=period, unit=unit, text=_text(text, "整改事项"),
                                author=admin.username, now=now)
    except ReviewRefused as exc:
        raise _refused(exc) from None
    return _back("bimonthly", item.opened_period, "已添加整改事项")


@router.post("/reviews/items/{item_id}/close", dependencies=[CsrfDep])
def close_item(
    session: WriteSessionDep,
    now: NowDep,
    admin: AdminDep,
    item_id: RowId,
    period: Annotated[str, Form()],
    note: Annotated[str, Form()] = "",
) -> Response:
    """Close a 整改 item at the review where it was done; it no longer carries over."""
    try:
        p = reviews.close_item(session=session, item_id=item_id, period=period, note=_text(note, "办结说明"), now=now)
    except ReviewRefused as exc:
        raise _refused(exc) from None
    return _back("bimonthly", p, "整改事项已办结")


@router.post("/assessments/adjustments", dependencies=[CsrfDep])
def add_adjustment(
    session: WriteSessionDep,
    now: NowDep,
    admin: AdminDep,
    period: Annotated[str, Form()],
    unit: Annotated[str, Form()],
    points: Annotated[str, Form()],
    reason: Annotated[str, Form()],
) -> Response:
    """Add a bonus or deduction item to a quarterly assessment that is not issued yet."""
    try:
        value = parse_decimal(points, label="分值", low=-reviews.ADJUSTMENT_LIMIT, high=reviews.ADJUSTMENT_LIMIT)
    except ValueRefused as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None
    try:
        adjustment = reviews.add_adjustment(
            session=session, period=_quarter(period), unit=unit, points=str(value), reason=_text(reason, "加减分事由"),
            author=admin.username, now=now
        )
    except ReviewRefused as exc:
        raise _refused(exc) from None
    return _back("quarterly", adjustment.period, "已记录加减分")


@router.post("/assessments/issue", dependencies=[CsrfDep])
def issue(session: WriteSessionDep, now: NowDep, admin: AdminDep, period: Annotated[str, Form()]) -> Response:
    """Issue a quarterly assessment: compute it now and freeze it."""
    quarter = _quarter(period)
    try:
        issue_quarterly(session=session, period=quarter, now=now, by=admin.username)
    except (ReportUnavailable, SnapshotExists) as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from None
    return _back("quarterly", quarter, "考核已发布并冻结")
