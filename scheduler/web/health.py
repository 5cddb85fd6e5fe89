"""Liveness and readiness: database reachable, plan loaded, mail not held back by an SMTP outage; details only for
administrators and the health token."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import func, text
from sqlmodel import Session, select

from scheduler.mail.requeue import held_back
from scheduler.plan.models import Event, Occurrence, Organization, Plan
from scheduler.runtime import Runtime
from scheduler.web.deps import RuntimeDep, SessionDep
from scheduler.web.security import health_details_allowed, health_view

router = APIRouter()


@router.get("/healthz")
def healthz(request: Request, session: SessionDep, runtime: RuntimeDep) -> JSONResponse:
    """Report ok/degraded to anyone; database health, counts and held-back mail to administrators and the token."""
    body, status_code = health_report(session=session, runtime=runtime)
    view = health_view(body, detailed=health_details_allowed(request, runtime, session))
    return JSONResponse(view, status_code=status_code, headers={"Cache-Control": "no-store"})


def health_report(*, session: Session, runtime: Runtime) -> tuple[dict[str, Any], int]:
    """Return the full health report (database, counts, held-back mail) and its HTTP status; degraded when mail is
    held back."""
    body: dict[str, Any] = {"status": "ok", "clock": runtime.clock.describe(), "now": runtime.clock.now().isoformat()}
    try:
        session.execute(text("SELECT 1"))
        counts = {
            name: session.exec(select(func.count()).select_from(model)).one()
            for name, model in (
                ("plans", Plan),
                ("organizations", Organization),
                ("events", Event),
                ("occurrences", Occurrence),
            )
        }
    except Exception as exc:  # the whole point is to report it, not to crash
        return {"status": "error", "database": type(exc).__name__}, 503
    held = held_back(session=session)
    body["mail"] = held.as_dict() if held is not None else {"held_back": False}
    if held is not None:
        body["status"] = "degraded"
    body["database"] = session.get_bind().dialect.name
    body["counts"] = counts
    body["occurrences"] = counts["occurrences"]  # kept at the top level for existing readers
    for name, contribute in runtime.health_contributors.items():
        body[name] = contribute(session)
    return body, 200
