"""GET|POST /o/n/{token}: an asked unit's nomination form (no login). GET shows its list; only a POST records.

The same guards as every link form (same site, rate limit, bounded body, per-page nonce); `logistics` decides.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session

from scheduler.clock import SHANGHAI
from scheduler.db import session_scope
from scheduler.logistics.models import (
    COLLECT_LABELS,
    ROLE_LABELS,
    ROOM_CHOICES,
    TRANSPORT_CHOICES,
    DelegationUnit,
    Participation,
)
from scheduler.logistics.nomform import FIELD_LABELS, MAX_PEOPLE, row_count
from scheduler.logistics.participation import (
    NominationSigner,
    event_days,
    list_nominees,
    nomination_rules,
    person_values,
    record_nomination,
)
from scheduler.logistics.tokens import LinkExpired, LinkRefused
from scheduler.plan.models import Occurrence
from scheduler.web.deps import NowDep, RuntimeDep, SessionDep
from scheduler.web.links import (
    FORM_NONCE_FIELD,
    REFUSED,
    STALE_NONCE,
    LinkFormsDep,
    form_nonce_matches,
    guarded_form,
    page,
    problem,
)

router = APIRouter(include_in_schema=False)
BLANK_ROWS = 1  # empty rows under the stored list; "再加一行" adds one more each time


def signer_of(request: Request, keys: list[str]) -> NominationSigner:
    """Return the app's nomination signer, built on first use."""
    signer = getattr(request.app.state, "nomination_signer", None)
    if signer is None:
        signer = request.app.state.nomination_signer = NominationSigner(keys)
    return signer


def _unit(request: Request, session: Session, keys: list[str], token: str, now: datetime
          ) -> DelegationUnit | Response:
    try:
        return signer_of(request, keys).verify(session=session, token=token, now=now)
    except LinkRefused:
        return problem(request, 403, *REFUSED)
    except LinkExpired:
        return problem(request, 410, "链接已过期", "此报名链接已过期。已提交的名单不受影响；如需修改请联系主办单位。")


def _form_page(request: Request, session: Session, unit: DelegationUnit, values: dict[str, str], *, now: datetime,
               hidden: dict[str, str], rows: int, errors: dict[str, str] | None = None, notice: str | None = None,
               saved: int | None = None, status_code: int = 200) -> Response:
    participation = session.get(Participation, unit.participation_id)
    assert participation is not None
    occurrence = session.get(Occurrence, participation.occurrence_id)
    assert occurrence is not None
    start, end = event_days(occurrence)
    rules = nomination_rules(session=session, unit=unit)
    return page(request, "nomination_form.html", {
        "unit": unit, "participation": participation, "occurrence": occurrence, "start": start, "end": end,
        "values": values, "errors": errors or {}, "notice": notice, "saved": saved, "rows": range(rows),
        "hidden": hidden, "post_url": request.url.path, "closed": now >= participation.deadline_at,
        "collect": set(participation.collect), "collect_labels": COLLECT_LABELS, "roles": list(ROLE_LABELS.values()),
        "transports": TRANSPORT_CHOICES, "rooms": ROOM_CHOICES, "labels": FIELD_LABELS,
        "deadline": participation.deadline_at.astimezone(SHANGHAI), "others": rules.others_count,
        "slack_low": rules.event_start, "slack_high": rules.event_end,
    }, status_code)


@router.api_route("/o/n/{token}", methods=["GET", "HEAD"])
def open_nomination(request: Request, token: str, session: SessionDep, now: NowDep, runtime: RuntimeDep,
                    state: LinkFormsDep) -> Response:
    """Show the unit's list, pre-filled, with one blank row; nothing is written."""
    unit = _unit(request, session, runtime.settings.signing_keys(), token, now)
    if isinstance(unit, Response):
        return unit
    people = list_nominees(session=session, participation_id=unit.participation_id, unit_id=unit.id)
    hidden = {FORM_NONCE_FIELD: state.nonces.dumps(unit.link_nonce)}
    return _form_page(request, session, unit, person_values(people), now=now, hidden=hidden,
                      rows=len(people) + BLANK_ROWS)


@router.post("/o/n/{token}")
async def post_nomination(request: Request, token: str, runtime: RuntimeDep, now: NowDep, session: SessionDep,
                          state: LinkFormsDep) -> Response:
    """Record the unit's list (a later POST replaces it, kept as a revision), or show it again with errors."""
    form = await guarded_form(request, runtime, state, now)
    if isinstance(form, Response):
        return form
    keys = runtime.settings.signing_keys()
    unit = _unit(request, session, keys, token, now)
    if isinstance(unit, Response):
        return unit
    hidden = {FORM_NONCE_FIELD: state.nonces.dumps(unit.link_nonce)}
    rows = min(row_count(form), MAX_PEOPLE)
    if not form_nonce_matches(state, form, unit.link_nonce):
        return _form_page(request, session, unit, form, now=now, hidden=hidden, rows=max(rows, 1),
                          notice=STALE_NONCE, status_code=422)
    if form.get("add_row"):
        return _form_page(request, session, unit, form, now=now, hidden=hidden, rows=min(rows + 1, MAX_PEOPLE))
    ip = request.client.host if request.client else None
    agent = request.headers.get("user-agent", "")[:400]
    with session_scope(runtime.engine, write=True) as write:
        fresh = write.get(DelegationUnit, unit.id)
        assert fresh is not None
        result = record_nomination(session=write, unit=fresh, form=form, now=now, actor=fresh.contact_email,
                                   ip=ip, user_agent=agent)
    if result.errors:
        participation = session.get(Participation, unit.participation_id)
        closed = participation is not None and now >= participation.deadline_at
        return _form_page(request, session, unit, form, now=now, hidden=hidden, rows=max(rows, 1),
                          errors=result.errors, status_code=409 if closed else 422)
    session.rollback()  # end the read transaction begun before the write: its snapshot predates the new list
    people = list_nominees(session=session, participation_id=unit.participation_id, unit_id=unit.id)
    saved_unit = session.get(DelegationUnit, unit.id) or unit
    return _form_page(request, session, saved_unit, person_values(people), now=now, hidden=hidden,
                      rows=len(people) + BLANK_ROWS, saved=result.number)
