"""Publish a proposal as a numbered version (nothing else is written), read the latest one back, and give one
session's suggested day and why — what the 定档 form offers the host."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func
from sqlmodel import Session, select

from scheduler.plan.models import Occurrence, Plan
from scheduler.scheduling.models import ScheduleProposal
from scheduler.scheduling.proposer import Proposal


@dataclass(frozen=True)
class Suggestion:
    """A published suggested day for one session."""

    day: date
    why: str
    version: int


def latest_version(*, session: Session, plan_id: int) -> int:
    """Return the newest published version of a plan's proposal (0 when none)."""
    current = session.exec(select(func.max(ScheduleProposal.version))
                           .where(ScheduleProposal.plan_id == plan_id)).one()
    return int(current or 0)


def latest_published(*, session: Session, plan_id: int) -> dict[str, Suggestion]:
    """Return the newest published suggestion per session key."""
    version = latest_version(session=session, plan_id=plan_id)
    rows = session.exec(select(ScheduleProposal).where(ScheduleProposal.plan_id == plan_id,
                                                       ScheduleProposal.version == version))
    return {r.occurrence_key: Suggestion(r.day, r.why, r.version) for r in rows}


def publish(*, session: Session, plan: Plan, proposal: Proposal, by: str, now: datetime) -> int:
    """Record the proposal as the plan's next version and return its number; occurrences are not changed."""
    assert plan.id is not None
    version = latest_version(session=session, plan_id=plan.id) + 1
    for p in sorted(proposal.days.values(), key=lambda p: p.key):
        session.add(ScheduleProposal(plan_id=plan.id, version=version, occurrence_key=p.key, day=p.day,
                                     why=p.why[:400], published_by=by, published_at=now))
    session.flush()
    return version


def suggestion_for(*, session: Session, occurrence: Occurrence) -> Suggestion | None:
    """Return the published suggested day for an unfixed session still inside its window, else None."""
    if occurrence.start_at is not None or not occurrence.is_active:
        return None
    found = latest_published(session=session, plan_id=occurrence.plan_id).get(occurrence.key)
    if found is None or not occurrence.window_start <= found.day <= occurrence.window_end:
        return None
    return found
