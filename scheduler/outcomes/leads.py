"""Project leads: created from outcome project rows, credited once, moved through stages, flagged when stale."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from scheduler.outcomes.models import (
    EXIT_STAGES,
    PROGRESS_STAGES,
    SIGNED_FORMS,
    STALE_AFTER_DAYS,
    Lead,
    LeadStage,
    LeadStageChange,
)
from scheduler.plan.catalog import occurrence_org_keys

STAGE_FOR_FORM = {"合同": LeadStage.SIGNED, "协议": LeadStage.SIGNED, "在谈": LeadStage.NEGOTIATING,
                  "意向": LeadStage.LEAD}
MAX_LEAD_CHOICES = 300  # options offered on one outcome form


def progress(stage: str) -> int:
    """Return the rank of a stage on the way to 达产 (exits rank -1)."""
    return PROGRESS_STAGES.index(LeadStage(stage)) if stage not in EXIT_STAGES else -1


def normalized(name: str) -> str:
    """Return a project name reduced for matching (case, spaces)."""
    return "".join(name.split()).lower()


def change_stage(
    *, session: Session, lead: Lead, stage: str, actor: str, now: datetime, changed_on: date, evidence: str = "",
    reason: str | None = None, occurrence_id: int | None = None,
) -> LeadStageChange | None:
    """Move a lead to `stage` (keeping the change); a check-in without change only refreshes last_update_at."""
    lead.last_update_at, lead.updated_at = now, now
    session.add(lead)
    if lead.stage == stage and not evidence:
        return None
    change = LeadStageChange(lead_id=lead.id or 0, from_stage=lead.stage if lead.id else None, to_stage=stage,
                             changed_on=changed_on, evidence=evidence, reason=reason, occurrence_id=occurrence_id,
                             actor=actor, created_at=now)
    lead.stage, lead.stage_reason = stage, reason if stage in EXIT_STAGES else None
    session.add(change)
    return change


def lead_for_row(
    *, session: Session, row: dict[str, Any], occurrence_id: int, previous: dict[str, int], actor: str, now: datetime,
    changed_on: date,
) -> Lead:
    """Return the lead of a project row: the linked one, the one this report created before, or a new one."""
    lead_id = row.get("lead") or previous.get(normalized(row["name"]))
    lead = session.get(Lead, lead_id) if lead_id else None
    amount = Decimal(row["amount"]) if row.get("amount") else None
    if lead is None:
        lead = Lead(name=row["name"], partner=row["partner"], category=row["category"], chain=row["chain"],
                    origin=row["origin"], bankuai_key=row["bankuai"] or None, contact=row["contact"],
                    amount_wan=amount, stage=STAGE_FOR_FORM[row["sign_form"]], source_occurrence_id=occurrence_id,
                    last_update_at=now, created_at=now, updated_at=now)
        session.add(lead)
        session.flush()
        session.add(LeadStageChange(lead_id=lead.id or 0, from_stage=None, to_stage=lead.stage, changed_on=changed_on,
                                    evidence="活动成效填报", occurrence_id=occurrence_id, actor=actor, created_at=now))
        return lead
    if lead.source_occurrence_id == occurrence_id:  # this report owns the lead's description
        lead.name, lead.partner, lead.category, lead.chain = row["name"], row["partner"], row["category"], row["chain"]
        lead.origin, lead.contact, lead.amount_wan = row["origin"], row["contact"], amount
        lead.bankuai_key = row["bankuai"] or lead.bankuai_key
    wanted = STAGE_FOR_FORM[row["sign_form"]]
    if lead.stage not in EXIT_STAGES and progress(wanted) > progress(lead.stage):
        change_stage(session=session, lead=lead, stage=wanted, actor=actor, now=now, changed_on=changed_on,
                     evidence="活动成效填报", occurrence_id=occurrence_id)
    return lead


def credit(*, lead: Lead, sign_form: str, occurrence_id: int, signed_on: date | None) -> bool:
    """Credit a signed project to this occurrence unless an earlier one has it; return whether this one has it."""
    if sign_form not in SIGNED_FORMS:
        if lead.credited_occurrence_id == occurrence_id:  # an edit withdrew the signing
            lead.credited_occurrence_id, lead.signed_on = None, None
        return False
    if lead.credited_occurrence_id in (None, occurrence_id):
        lead.credited_occurrence_id, lead.signed_on = occurrence_id, signed_on
        return True
    return False


def leads_of(*, session: Session, bankuai_key: str) -> list[Lead]:
    """Return a 板块's leads that still move (not 达产, not stopped or paused), oldest first."""
    return list(session.exec(select(Lead).where(Lead.bankuai_key == bankuai_key,
                                                col(Lead.stage).not_in([*EXIT_STAGES, LeadStage.FULL]))
                             .order_by(col(Lead.id))).all())


def occurrence_leads(*, session: Session, occurrence_id: int) -> list[Lead]:
    """Return the leads an outcome report of this occurrence may link: its own, or its organizations' (newest first)."""
    keys = occurrence_org_keys(session=session, occurrence_id=occurrence_id)
    return list(session.exec(select(Lead).where(or_(col(Lead.source_occurrence_id) == occurrence_id,
                                                    col(Lead.bankuai_key).in_(keys)))
                             .order_by(col(Lead.id).desc()).limit(MAX_LEAD_CHOICES)).all())


def stale_leads(*, session: Session, now: datetime) -> list[Lead]:
    """Return moving leads without any update for 30 days."""
    limit = now - timedelta(days=STALE_AFTER_DAYS)
    return list(session.exec(select(Lead).where(col(Lead.last_update_at) < limit,
                                                col(Lead.stage).not_in([*EXIT_STAGES, LeadStage.FULL]))
                             .order_by(col(Lead.last_update_at))).all())


def count_by_stage(*, session: Session) -> dict[str, int]:
    """Return the number of leads in each stage (every stage present)."""
    counts = {str(s): 0 for s in LeadStage}
    for lead in session.exec(select(Lead.stage)):
        counts[lead] += 1
    return counts
