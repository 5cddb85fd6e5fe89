"""Staff check-in page for a phone (signed in): search by name or unit, one tap per person, or a guest's code.

A repeat check-in changes nothing and says so; a forged or foreign code is refused with the reason at the field.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from scheduler.logistics.checkin import CheckinRefused, check_in, check_in_code, search, when_text
from scheduler.logistics.participation import get_participation, occurrence_and_event
from scheduler.logistics.roster import build_roster
from scheduler.web.admin.params import RowId
from scheduler.web.admin.plan import FormDep
from scheduler.web.deps import NowDep, SessionDep, WriteSessionDep
from scheduler.web.security import AdminDep, CsrfDep, csrf_token
from scheduler.web.templates import render

router = APIRouter(prefix="/admin/logistics", include_in_schema=False)
MAX_QUERY = 50


def _page(request: Request, session: Session, occurrence_id: int, *, query: str = "", done: str = "",
          error: str = "", code: str = "", status_code: int = 200) -> Response:
    subject = occurrence_and_event(session=session, occurrence_id=occurrence_id)
    participation = get_participation(session=session, occurrence_id=occurrence_id) if subject else None
    if subject is None or participation is None:
        return render(request, "error.html", {"title": "找不到", "messages": [f"场次 {occurrence_id} 没有开启报名。"],
                                              "status": 404}, status_code=404)
    hits = search(session=session, participation=participation, query=query[:MAX_QUERY])
    roster = build_roster(session=session, participation=participation)
    checked = sum(1 for r in roster.rows for p in r.people if p.checked_in_at is not None)
    return render(request, "logistics_checkin.html", {
        "occ": subject[0], "event": subject[1], "hits": hits, "query": query[:MAX_QUERY], "done": done,
        "error": error, "code": code, "csrf": csrf_token(request), "when": when_text, "checked": checked,
    }, status_code=status_code)


@router.get("/{occurrence_id:rowid}/checkin", response_class=HTMLResponse)
def checkin_page(request: Request, occurrence_id: RowId, session: SessionDep, admin: AdminDep, q: str = "",
                 done: str = "") -> Response:
    """Show the search box, the code box and who matches (everyone not yet checked in when no search)."""
    return _page(request, session, occurrence_id, query=q, done=done[:100])


@router.post("/{occurrence_id:rowid}/checkin", dependencies=[CsrfDep])
def checkin_post(request: Request, occurrence_id: RowId, session: WriteSessionDep, now: NowDep, admin: AdminDep,
                 fields: FormDep) -> Response:
    """Check one person in (by tap or by code) and come back to the same search."""
    participation = get_participation(session=session, occurrence_id=occurrence_id)
    if participation is None:
        return _page(request, session, occurrence_id)
    actor, query = f"admin:{admin.username}", fields.get("q", "")[:MAX_QUERY]
    try:
        if fields.get("code"):
            name, fresh = check_in_code(session=session, participation=participation, code=fields["code"],
                                        actor=actor, now=now)
        else:
            target = fields.get("person_id", "")
            name, fresh = check_in(session=session, participation=participation, kind=fields.get("kind", ""),
                                   person_id=int(target) if target.isascii() and target.isdigit() else 0,
                                   actor=actor, now=now)
    except CheckinRefused as exc:
        return _page(request, session, occurrence_id, query=query, error=str(exc), code=fields.get("code", "")[:20],
                     status_code=422)
    done = f"{name} 签到成功" if fresh else f"{name} 已签到过，未重复计数"
    return RedirectResponse(f"/admin/logistics/{occurrence_id}/checkin?{urlencode({'q': query, 'done': done})}",
                            status_code=303)
