"""GET|POST /o/g/{token}: an invited guest's personal page: accept (companions, arrival) or decline, once.

The same guards as every link form (same site, rate limit, bounded body, per-page nonce); `logistics` decides.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session

from scheduler.clock import SHANGHAI
from scheduler.db import session_scope
from scheduler.logistics.guests import MAX_COMPANIONS, GuestSigner, record_answer
from scheduler.logistics.mailing import plan_logistics_mail
from scheduler.logistics.models import GUEST_STATUS_LABELS, Guest, GuestStatus, Participation
from scheduler.logistics.participation import event_days
from scheduler.logistics.tokens import LinkExpired, LinkRefused
from scheduler.plan.models import Occurrence
from scheduler.web.deps import NowDep, RuntimeDep, SessionDep
from scheduler.web.links import (
    FORM_NONCE_FIELD,
    REFUSED,
    STALE_NONCE,
    LinkForms,
    LinkFormsDep,
    form_nonce_matches,
    guarded_form,
    page,
    problem,
)

router = APIRouter(include_in_schema=False)


def _guest(request: Request, session: Session, keys: list[str], token: str, now: datetime) -> Guest | Response:
    try:
        return GuestSigner(keys).verify(session=session, token=token, now=now)
    except LinkRefused:
        return problem(request, 403, *REFUSED)
    except LinkExpired:
        return problem(request, 410, "链接已过期", "此邀请链接已过期。如需帮助请联系主办单位。")


def _page(request: Request, session: Session, guest: Guest, state: LinkForms, now: datetime, *,
          values: dict[str, str] | None = None, errors: dict[str, str] | None = None, status_code: int = 200
          ) -> Response:
    participation = session.get(Participation, guest.participation_id)
    assert participation is not None
    occurrence = session.get(Occurrence, participation.occurrence_id)
    assert occurrence is not None
    start, end = event_days(occurrence)
    return page(request, "guest_form.html", {
        "guest": guest, "occurrence": occurrence, "participation": participation, "start": start, "end": end,
        "values": values or {}, "errors": errors or {}, "post_url": request.url.path,
        "hidden": {FORM_NONCE_FIELD: state.nonces.dumps(guest.link_nonce)}, "answered": guest.status != "invited",
        "status_label": GUEST_STATUS_LABELS[GuestStatus(guest.status)], "accepted": GuestStatus.ACCEPTED,
        "closed": now >= participation.deadline_at, "deadline": participation.deadline_at.astimezone(SHANGHAI),
        "max_companions": MAX_COMPANIONS,
    }, status_code)


@router.api_route("/o/g/{token}", methods=["GET", "HEAD"])
def open_invitation(request: Request, token: str, session: SessionDep, now: NowDep, runtime: RuntimeDep,
                    state: LinkFormsDep) -> Response:
    """Show the invitation and the answer form (or the answer already given); nothing is written."""
    guest = _guest(request, session, runtime.settings.signing_keys(), token, now)
    if isinstance(guest, Response):
        return guest
    return _page(request, session, guest, state, now)


@router.post("/o/g/{token}")
async def answer_invitation(request: Request, token: str, runtime: RuntimeDep, now: NowDep, session: SessionDep,
                            state: LinkFormsDep) -> Response:
    """Record the guest's answer; a second answer is refused with the first one shown."""
    form = await guarded_form(request, runtime, state, now)
    if isinstance(form, Response):
        return form
    keys = runtime.settings.signing_keys()
    guest = _guest(request, session, keys, token, now)
    if isinstance(guest, Response):
        return guest
    if not form_nonce_matches(state, form, guest.link_nonce):
        return _page(request, session, guest, state, now, values=form, errors={"answer": STALE_NONCE},
                     status_code=422)
    with session_scope(runtime.engine, write=True) as write:
        stored = write.get(Guest, guest.id)
        assert stored is not None
        result = record_answer(session=write, guest=stored, form=form, now=now,
                               ip=request.client.host if request.client else None,
                               user_agent=request.headers.get("user-agent", "")[:400])
        if not result.errors:
            settings = runtime.settings
            plan_logistics_mail(session=write, keys=keys, base_url=settings.base_url, mail_from=settings.mail_from,
                                now=now, participation_id=stored.participation_id)
    session.rollback()  # the read snapshot predates the answer
    fresh = session.get(Guest, guest.id) or guest
    session.refresh(fresh)
    if result.errors:
        final = "无需重复" in result.errors.get("answer", "") or "截止" in result.errors.get("answer", "")
        return _page(request, session, fresh, state, now, values=form, errors=result.errors,
                     status_code=409 if final else 422)
    return _page(request, session, fresh, state, now)
