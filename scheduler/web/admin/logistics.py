"""Administrator pages of logistics: open participation on an occurrence, the roster (confirm / trim), manifests
(XLSX, CSV) and the printable sign-in sheet. `logistics` decides; this module reads forms and renders."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, col, select

from scheduler.clock import SHANGHAI
from scheduler.logistics.guests import add_guests, list_guests
from scheduler.logistics.mailing import plan_logistics_mail
from scheduler.logistics.manifests import MANIFESTS, build_manifest, manifest_csv, manifest_xlsx
from scheduler.logistics.models import (
    COLLECT_LABELS,
    GUEST_STATUS_LABELS,
    NOMINEE_STATUS_LABELS,
    ROLE_LABELS,
    NomineeRole,
    NomineeStatus,
    Participation,
)
from scheduler.logistics.nomform import mask_mobile
from scheduler.logistics.participation import (
    OpenForm,
    OpenRefused,
    askable_units,
    event_days,
    get_participation,
    occurrence_and_event,
    open_participation,
)
from scheduler.logistics.roster import RosterRefused, build_roster, confirm_unit, decide
from scheduler.plan.models import Event, Occurrence
from scheduler.runtime import Runtime
from scheduler.web.admin.params import RowId
from scheduler.web.admin.plan import FormDep
from scheduler.web.deps import NowDep, RuntimeDep, SessionDep, WriteSessionDep
from scheduler.web.security import AdminDep, CsrfDep, csrf_token
from scheduler.web.templates import render

router = APIRouter(prefix="/admin/logistics", include_in_schema=False)
DONE = {"opened": "已开启报名，报名通知已进入发件箱。", "confirmed": "已确认。", "declined": "已标记为未采纳。",
        "unit": "已确认该单位名单（名额以内）。", "reset": "已恢复为已报名。",
        "guests": "已添加嘉宾，邀请函已进入发件箱。"}


def _missing(request: Request, message: str) -> Response:
    return render(request, "error.html", {"title": "找不到", "messages": [message], "status": 404}, status_code=404)


def _client(request: Request) -> tuple[str | None, str | None]:
    return (request.client.host if request.client else None), request.headers.get("user-agent")


Subject = tuple[Occurrence, Event]


def _subject(session: Session, occurrence_id: int) -> Subject | None:
    return occurrence_and_event(session=session, occurrence_id=occurrence_id)


@router.get("", response_class=HTMLResponse)
def participation_list(request: Request, session: SessionDep, admin: AdminDep) -> Response:
    """List every occurrence with participation opened."""
    rows = []
    for p in session.exec(select(Participation).order_by(col(Participation.deadline_at).desc())).all():
        subject = _subject(session, p.occurrence_id)
        if subject is not None:
            roster = build_roster(session=session, participation=p)
            rows.append({"p": p, "occ": subject[0], "event": subject[1], "owing": roster.owing,
                         "listed": sum(r.listed for r in roster.rows)})
    return render(request, "logistics_list.html", {"rows": rows, "tz": SHANGHAI})


def _open_page(request: Request, session: Session, subject: Subject, *, values: dict[str, str] | None = None,
               chosen: set[str] | None = None, errors: dict[str, str] | None = None, status_code: int = 200
               ) -> Response:
    occurrence, event = subject
    units, defaults = askable_units(session=session, occurrence=occurrence)
    start, end = event_days(occurrence)
    return render(request, "logistics_open.html", {
        "occ": occurrence, "event": event, "units": units, "chosen": defaults if chosen is None else chosen,
        "values": values or {"deadline_time": "17:00", "collect": ""}, "errors": errors or {},
        "collect_labels": COLLECT_LABELS, "csrf": csrf_token(request), "start": start, "end": end,
    }, status_code=status_code)


@router.get("/{occurrence_id:rowid}", response_class=HTMLResponse)
def participation_page(request: Request, occurrence_id: RowId, session: SessionDep, admin: AdminDep,
                       done: str = "") -> Response:
    """Show the roster of an occurrence, or the form opening participation when none is open yet."""
    subject = _subject(session, occurrence_id)
    if subject is None:
        return _missing(request, f"没有编号为 {occurrence_id} 的场次。")
    participation = get_participation(session=session, occurrence_id=occurrence_id)
    if participation is None:
        return _open_page(request, session, subject)
    return _roster_page(request, session, subject, participation, done=DONE.get(done, ""))


def _roster_page(request: Request, session: Session, subject: Subject, participation: Participation, *,
                 done: str = "", error: str = "", guest_text: str = "", status_code: int = 200) -> Response:
    occurrence, event = subject
    roster = build_roster(session=session, participation=participation)
    guests = list_guests(session=session, participation_id=participation.id or 0)
    return render(request, "logistics_roster.html", {
        "occ": occurrence, "event": event, "p": participation, "roster": roster, "done": done, "error": error,
        "csrf": csrf_token(request), "tz": SHANGHAI, "status_labels": NOMINEE_STATUS_LABELS,
        "role_labels": {str(k): v for k, v in ROLE_LABELS.items()}, "statuses": NomineeStatus,
        "manifests": MANIFESTS, "collect_labels": COLLECT_LABELS, "guests": guests, "guest_text": guest_text,
        "guest_labels": GUEST_STATUS_LABELS,
        "guest_counts": {s: sum(1 for g in guests if g.status == s) for s in GUEST_STATUS_LABELS},
    }, status_code=status_code)


@router.post("/{occurrence_id:rowid}/open", dependencies=[CsrfDep])
async def participation_open(request: Request, occurrence_id: RowId, session: WriteSessionDep, now: NowDep,
                             admin: AdminDep, runtime: RuntimeDep) -> Response:
    """Open participation: ask the ticked units; the request mail goes to the outbox in the same transaction."""
    subject = _subject(session, occurrence_id)
    if subject is None:
        return _missing(request, f"没有编号为 {occurrence_id} 的场次。")
    raw = await request.form()
    fields = {k: v[:2000] for k, v in raw.items() if isinstance(v, str)}
    units = [v for v in raw.getlist("units") if isinstance(v, str)]
    collect = [v for v in raw.getlist("collect") if isinstance(v, str)]
    form = OpenForm(units=units, capacities={k[4:]: v for k, v in fields.items() if k.startswith("cap-")},
                    total_capacity=fields.get("total_capacity", ""), deadline=fields.get("deadline", ""),
                    deadline_time=fields.get("deadline_time", ""), collect=collect, note=fields.get("note", ""))
    ip, agent = _client(request)
    try:
        participation = open_participation(session=session, occurrence=subject[0], form=form,
                                           actor=f"admin:{admin.username}", now=now, ip=ip, user_agent=agent)
    except OpenRefused as exc:
        return _open_page(request, session, subject, values={**fields, "collect": " ".join(collect)},
                          chosen=set(units), errors=exc.errors, status_code=422)
    _plan_mail(session, runtime, now, participation.id)
    return RedirectResponse(f"/admin/logistics/{occurrence_id}?done=opened#done", status_code=303)


@router.post("/{occurrence_id:rowid}/roster", dependencies=[CsrfDep])
def roster_decide(request: Request, occurrence_id: RowId, session: WriteSessionDep, now: NowDep, admin: AdminDep,
                  fields: FormDep) -> Response:
    """Confirm or decline (trim) one person, or confirm a unit's list up to its capacity; audited."""
    subject = _subject(session, occurrence_id)
    participation = get_participation(session=session, occurrence_id=occurrence_id) if subject else None
    if subject is None or participation is None:
        return _missing(request, f"场次 {occurrence_id} 没有开启报名。")
    ip, agent = _client(request)
    action, actor = fields.get("action", ""), f"admin:{admin.username}"
    try:
        if action == "unit":
            target = fields.get("unit_id", "")
            confirm_unit(session=session, participation=participation,
                         unit_id=int(target) if target.isascii() and target.isdigit() else 0, actor=actor, now=now,
                         ip=ip, user_agent=agent)
        elif action in ("confirmed", "declined", "nominated"):
            target = fields.get("person_id", "")
            decide(session=session, participation=participation,
                   person_id=int(target) if target.isascii() and target.isdigit() else 0, decision=action,
                   reason=fields.get("reason", ""), actor=actor, now=now, ip=ip, user_agent=agent)
        else:
            raise RosterRefused("未知的操作")
    except RosterRefused as exc:
        return _roster_page(request, session, subject, participation, error=str(exc), status_code=422)
    done = "reset" if action == "nominated" else action
    return RedirectResponse(f"/admin/logistics/{occurrence_id}?done={done}#done", status_code=303)


def _plan_mail(session: Session, runtime: Runtime, now: datetime, participation_id: int | None) -> None:
    settings = runtime.settings
    plan_logistics_mail(session=session, keys=settings.signing_keys(), base_url=settings.base_url,
                        mail_from=settings.mail_from, now=now, participation_id=participation_id)


@router.post("/{occurrence_id:rowid}/guests", dependencies=[CsrfDep])
def guests_add(request: Request, occurrence_id: RowId, session: WriteSessionDep, now: NowDep, admin: AdminDep,
               fields: FormDep, runtime: RuntimeDep) -> Response:
    """Add invited guests (one '姓名，单位，邮箱' per line); their invitations go to the outbox at once."""
    subject = _subject(session, occurrence_id)
    participation = get_participation(session=session, occurrence_id=occurrence_id) if subject else None
    if subject is None or participation is None:
        return _missing(request, f"场次 {occurrence_id} 没有开启报名。")
    _added, errors = add_guests(session=session, participation=participation, text=fields.get("guests", ""),
                                actor=f"admin:{admin.username}", now=now)
    if errors:
        return _roster_page(request, session, subject, participation, error="；".join(errors.values()),
                            guest_text=fields.get("guests", ""), status_code=422)
    _plan_mail(session, runtime, now, participation.id)
    return RedirectResponse(f"/admin/logistics/{occurrence_id}?done=guests#done", status_code=303)


def _download(data: bytes, filename: str, media: str) -> Response:
    return Response(data, media_type=media, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}", "Cache-Control": "no-store"})


@router.get("/{occurrence_id:rowid}/manifests/{kind}.{fmt}")
def manifest_download(request: Request, occurrence_id: RowId, kind: str, fmt: str, session: SessionDep,
                      admin: AdminDep) -> Response:
    """Download a manifest (rooming, transport, participants) as XLSX or CSV."""
    subject = _subject(session, occurrence_id)
    participation = get_participation(session=session, occurrence_id=occurrence_id) if subject else None
    if subject is None or participation is None or kind not in MANIFESTS or fmt not in ("xlsx", "csv"):
        return _missing(request, "没有这份名单（可选：住宿名单 rooming、交通名单 transport、参会人员名单 participants；"
                                 "格式 xlsx 或 csv）。")
    title = f"序号{subject[1].seq} {subject[0].title}"
    sheets = build_manifest(build_roster(session=session, participation=participation), kind, title=title)
    name = f"{title}-{MANIFESTS[kind]}.{fmt}"
    if fmt == "xlsx":
        return _download(manifest_xlsx(sheets), name,
                         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return _download(manifest_csv(sheets), name, "text/csv; charset=utf-8")


@router.get("/{occurrence_id:rowid}/signin", response_class=HTMLResponse)
def signin_sheet(request: Request, occurrence_id: RowId, session: SessionDep, admin: AdminDep) -> Response:
    """Show the printable sign-in sheet (签到表): one table per unit, mobiles masked, a signature column."""
    subject = _subject(session, occurrence_id)
    participation = get_participation(session=session, occurrence_id=occurrence_id) if subject else None
    if subject is None or participation is None:
        return _missing(request, f"场次 {occurrence_id} 没有开启报名。")
    roster = build_roster(session=session, participation=participation)
    start, end = event_days(subject[0])
    units = [(r.unit.org_name, [p for p in r.people if p.status != NomineeStatus.DECLINED]) for r in roster.rows]
    return render(request, "logistics_signin.html", {
        "occ": subject[0], "event": subject[1], "units": [u for u in units if u[1]], "mask": mask_mobile,
        "role_label": lambda r: ROLE_LABELS.get(NomineeRole(r), r) if r in ROLE_LABELS else r,
        "start": start, "end": end})

