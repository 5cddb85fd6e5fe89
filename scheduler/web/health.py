"""Liveness and readiness: database reachable, plan loaded, mail not held back by an SMTP outage."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import func, text
from sqlmodel import select

from scheduler.mail.requeue import held_back
from scheduler.plan.models import Event, Occurrence, Organization, Plan
from scheduler.web.deps import RuntimeDep, SessionDep

router = APIRouter()


@router.get("/healthz")
def healthz(session: SessionDep, runtime: RuntimeDep) -> JSONResponse:
    """Report database health, basic counts and whether (since when) mail is held back; degraded when it is."""
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
        return JSONResponse({"status": "error", "database": type(exc).__name__}, status_code=503)
    held = held_back(session=session)
    body["mail"] = held.as_dict() if held is not None else {"held_back": False}
    if held is not None:
        body["status"] = "degraded"
    body["database"] = session.get_bind().dialect.name
    body["counts"] = counts
    body["occurrences"] = counts["occurrences"]  # kept at the top level for existing readers
    for name, contribute in runtime.health_contributors.items():
        body[name] = contribute(session)
    return JSONResponse(body)
