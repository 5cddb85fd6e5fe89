"""Outcome reports (成效填报): store a submission as the current report with its rows, leads and credit; totals."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, select

from scheduler.outcomes.leads import credit, lead_for_row, normalized
from scheduler.outcomes.models import (
    COUNT_FIELDS,
    SIGNED_FORMS,
    TALENT_LEVELS,
    Lead,
    LeadStageChange,
    OutcomeReport,
    ProjectRow,
    TalentRow,
)
from scheduler.plan.models import Occurrence

REPORT_FIELDS = ("status", "status_reason", "actual_date", "actual_place", "filer_name", "filer_contact",
                 *(name for name, _l, _r in COUNT_FIELDS), "narrative", "next_steps")


def get_report(*, session: Session, occurrence_id: int) -> OutcomeReport | None:
    """Return the current report of an occurrence."""
    return session.exec(select(OutcomeReport).where(OutcomeReport.occurrence_id == occurrence_id)).first()


def report_rows(*, session: Session, report: OutcomeReport) -> tuple[list[ProjectRow], list[TalentRow]]:
    """Return the report's project and talent rows in form order."""
    projects = session.exec(select(ProjectRow).where(ProjectRow.report_id == report.id)
                            .order_by(col(ProjectRow.position))).all()
    talents = session.exec(select(TalentRow).where(TalentRow.report_id == report.id)
                           .order_by(col(TalentRow.position))).all()
    return list(projects), list(talents)


def report_totals(projects: Sequence[ProjectRow], talents: Sequence[TalentRow]) -> dict[str, Any]:
    """Compute the totals from rows (never typed): signed projects credited here, amount, intents, talents."""
    signed = [p for p in projects if p.sign_form in SIGNED_FORMS and p.credited]
    levels = Counter(t.level for t in talents)
    return {
        "projects": len(projects),
        "signed": len(signed),
        "signed_amount_wan": sum((p.amount_wan or Decimal(0) for p in signed), Decimal(0)),
        "signed_on_site": sum(1 for p in signed if p.signed_on_site),
        "intents": sum(1 for p in projects if p.sign_form == "意向"),
        "negotiating": sum(1 for p in projects if p.sign_form == "在谈"),
        "not_credited": sum(1 for p in projects if p.sign_form in SIGNED_FORMS and not p.credited),
        "talents": len(talents),
        "talents_by_level": {level: levels.get(level, 0) for level in TALENT_LEVELS},
    }


def snapshot(*, session: Session, report: OutcomeReport | None) -> dict[str, Any] | None:
    """Return the report and its rows as plain data (for audit before/after)."""
    if report is None:
        return None
    projects, talents = report_rows(session=session, report=report)
    return {**{f: getattr(report, f) for f in REPORT_FIELDS}, "revision": report.revision,
            "projects": [p.model_dump(exclude={"id", "report_id", "occurrence_id"}) for p in projects],
            "talents": [t.model_dump(exclude={"id", "report_id", "occurrence_id"}) for t in talents]}


def store_report(
    *, session: Session, occurrence: Occurrence, task_id: int | None, data: dict[str, Any], revision: int,
    actor: str, now: datetime,
) -> OutcomeReport:
    """Make `data` (forms.parse_outcome) the occurrence's current report: rows replaced, leads linked and credited."""
    assert occurrence.id is not None
    report = get_report(session=session, occurrence_id=occurrence.id)
    previous: dict[str, int] = {}
    if report is None:
        report = OutcomeReport(occurrence_id=occurrence.id, task_id=task_id, status=data["status"], filed_by=actor,
                               created_at=now, updated_at=now)
        session.add(report)
        session.flush()
    else:
        old_projects, _ = report_rows(session=session, report=report)
        previous = {normalized(p.name): p.lead_id for p in old_projects if p.lead_id}
        session.execute(delete(TalentRow).where(col(TalentRow.report_id) == report.id))
        session.execute(delete(ProjectRow).where(col(ProjectRow.report_id) == report.id))
    for name in REPORT_FIELDS:
        value = data.get(name)
        setattr(report, name, date.fromisoformat(value) if name == "actual_date" and value else value)
    report.narrative, report.next_steps = data.get("narrative") or "", data.get("next_steps") or ""
    report.revision, report.filed_by, report.updated_at = revision, actor, now
    signed_on = report.actual_date or now.date()
    kept: set[int] = set()
    lead_ids: list[int | None] = []
    for position, row in enumerate(data["projects"], start=1):
        lead = lead_for_row(session=session, row=row, occurrence_id=occurrence.id, previous=previous, actor=actor,
                            now=now, changed_on=signed_on)
        credited = credit(lead=lead, sign_form=row["sign_form"], occurrence_id=occurrence.id, signed_on=signed_on)
        session.add(ProjectRow(
            report_id=report.id or 0, occurrence_id=occurrence.id, position=position, name=row["name"],
            partner=row["partner"], category=row["category"], sign_form=row["sign_form"],
            amount_wan=Decimal(row["amount"]) if row.get("amount") else None, chain=row["chain"],
            origin=row["origin"], bankuai_key=row["bankuai"] or None, contact=row["contact"],
            signed_on_site=bool(row["on_site"]), lead_id=lead.id, credited=credited))
        kept.add(lead.id or 0)
        lead_ids.append(lead.id)
    for position, row in enumerate(data["talents"], start=1):
        project = row.get("project")
        session.add(TalentRow(report_id=report.id or 0, occurrence_id=occurrence.id, position=position,
                              level=row["level"], name=row["name"], project_position=project,
                              lead_id=lead_ids[project - 1] if project else None))
    _drop_orphans(session, occurrence.id, set(previous.values()) - kept)
    session.add(report)
    session.flush()
    return report


def _drop_orphans(session: Session, occurrence_id: int, lead_ids: set[int]) -> None:
    """Delete leads an earlier revision of this report created and the new one no longer lists."""
    for lead_id in lead_ids:
        lead = session.get(Lead, lead_id)
        if lead is None or lead.source_occurrence_id != occurrence_id:
            continue
        others = session.exec(select(ProjectRow.id).where(ProjectRow.lead_id == lead_id)).first()
        changes = session.exec(select(LeadStageChange).where(LeadStageChange.lead_id == lead_id)).all()
        if others is None and all(c.occurrence_id == occurrence_id for c in changes):
            for c in changes:
                session.delete(c)
            session.flush()
            session.delete(lead)
