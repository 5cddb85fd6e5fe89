"""The mail log page (/admin/outbox), its bulk retry button, and how outbox rows read for people (kinds, topics)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, col, select

from scheduler.audit import ActorKind, audit
from scheduler.clock import SHANGHAI
from scheduler.followups.models import Task
from scheduler.mail.kinds import KIND_LABELS, occurrence_id_of, task_id_of
from scheduler.mail.models import STATE_LABELS, OutboxMessage, OutboxState
from scheduler.mail.outbox import count_by_state, list_page
from scheduler.mail.requeue import REQUEUABLE, held_back, retry_all
from scheduler.plan.models import Event, Occurrence
from scheduler.web.admin.params import PageNumber, RowCount
from scheduler.web.deps import NowDep, SessionDep, WriteSessionDep
from scheduler.web.security import AdminDep, CsrfDep, csrf_token
from scheduler.web.templates import render

router = APIRouter(prefix="/admin")
GENERIC_KIND = "邮件"  # never show a raw kind code to office staff
PAGE_SIZE = 100


def mail_kind_label(kind: str) -> str:
    """Return the Chinese label of a mail kind, or 邮件 for a kind nobody named yet."""
    return KIND_LABELS.get(kind) or GENERIC_KIND


def mail_topics(*, session: Session, rows: Sequence[OutboxMessage]) -> dict[int, tuple[str, str | None]]:
    """Return, per outbox row id, what the mail is about (task or activity title) and its admin page."""
    task_ids = {i for m in rows if (i := task_id_of(m.subject)) is not None}
    tasks = {t.id or 0: t for t in session.exec(select(Task).where(col(Task.id).in_(task_ids)))} if task_ids else {}
    occ_of = {
        m.id: m.occurrence_id if m.occurrence_id is not None else occurrence_id_of(m.subject) for m in rows
    }
    occ_ids = {i for i in occ_of.values() if i is not None} | {
        t.occurrence_id for t in tasks.values() if t.occurrence_id is not None
    }
    occs: dict[int, tuple[str, int]] = {}
    if occ_ids:
        query = select(Occurrence.id, Occurrence.title, Event.seq).join(Event, col(Event.id) == Occurrence.event_id)
        occs = {i or 0: (title, seq) for i, title, seq in session.exec(query.where(col(Occurrence.id).in_(occ_ids)))}
    out: dict[int, tuple[str, str | None]] = {}
    for m in rows:
        task_id = task_id_of(m.subject)
        task = tasks.get(task_id) if task_id is not None else None
        occ = occs.get(occ_of[m.id] or 0)
        if task is not None:
            out[m.id or 0] = (task.title, f"/admin/tasks/{task.id}")
        elif occ is not None:
            out[m.id or 0] = (occ[0], f"/admin/events/{occ[1]}")
    return out


@router.get("/outbox", response_class=HTMLResponse)
def outbox_page(request: Request, session: SessionDep, admin: AdminDep, state: str = "", page: PageNumber = 1,
                requeued: RowCount | None = None, expired: RowCount = 0) -> HTMLResponse:
    """List outbox rows (pending: soonest first; otherwise newest first) with their state, subject and errors."""
    if state and state not in STATE_LABELS:
        raise HTTPException(status_code=400, detail=f"未知状态 {state[:40]!r}（可选：{'、'.join(STATE_LABELS)}）")
    rows = list_page(session=session, state=state, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    return render(
        request,
        "outbox.html",
        {
            "rows": rows,
            "state": state,
            "counts": count_by_state(session=session),
            "page": page,
            "state_labels": {OutboxState(k): v for k, v in STATE_LABELS.items()},
            "kind_label": mail_kind_label,
            "topics": mail_topics(session=session, rows=rows),
            "page_size": PAGE_SIZE,
            "tz": SHANGHAI,
            "held": held_back(session=session),
            "requeuable": [(s.value, STATE_LABELS[s]) for s in REQUEUABLE],
            "requeued": requeued,
            "expired": expired,
            "csrf": csrf_token(request),
        },
    )


def _refused(request: Request, message: str) -> Response:
    context = {"title": "无法批量重发", "messages": [message], "status": 400}
    return render(request, "error.html", context, status_code=400)


@router.post("/outbox/retry", dependencies=[CsrfDep])
def outbox_retry_all(request: Request, session: WriteSessionDep, now: NowDep, admin: AdminDep,
                     state: Annotated[str, Form(max_length=20)] = "failed",
                     since: Annotated[str, Form(max_length=40)] = "") -> Response:
    """Queue every failed (or deferred) row again, optionally only those since a date; audited."""
    try:
        day = date.fromisoformat(since.strip()) if since.strip() else None
    except ValueError:
        return _refused(request, f"日期应为 YYYY-MM-DD，而不是 {since[:40]!r}")
    try:
        done = retry_all(session=session, state=state, now=now, since=day)
    except ValueError as exc:
        return _refused(request, str(exc))
    audit(session=session, at=now, actor=f"admin:{admin.username}", actor_kind=ActorKind.ADMIN,
          action="outbox.retry_all", entity="outbox", before={"state": state, "since": since.strip() or None},
          after=done.as_dict())
    return RedirectResponse(f"/admin/outbox?state=pending&requeued={done.requeued}&expired={done.expired}",
                            status_code=303)
