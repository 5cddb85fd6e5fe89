"""Plain factories for report tests: outcome reports, check-ins, tasks and leads written straight to the tables,
and the office's dashboard on 20 March 2023."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import select

from scheduler.auth import create_user
from scheduler.clock import SHANGHAI
from scheduler.db import session_scope
from scheduler.followups.models import NegotiationCheckin, Task
from scheduler.mail.models import OutboxMessage
from scheduler.outcomes.models import Lead, OutcomeReport, ProjectRow, TalentRow
from scheduler.plan.models import Occurrence
from tests.support.admin import PASSWORD
from tests.support.instants import NOTICE_DATE

T0 = NOTICE_DATE
DASHBOARD_NOW = datetime(2023, 3, 20, 2, 0, tzinfo=UTC)  # 10:00 on 20 March in Shanghai


def at(day: date, hour: int = 10) -> datetime:
    """Return `day` at `hour` o'clock Shanghai, as an aware instant."""
    return datetime.combine(day, time(hour), tzinfo=SHANGHAI)


def hold(
    engine: Engine,
    key: str,
    day: date,
    *,
    reported: bool = True,
    projects: list[dict[str, Any]] = (),  # type: ignore[assignment]
    talents: list[str] = (),
) -> int:  # type: ignore[assignment]
    """Mark an occurrence held on `day` (fixed at 14:00) and, when `reported`, file its outcome report."""
    with session_scope(engine, write=True) as session:
        occ = session.exec(select(Occurrence).where(Occurrence.key == key)).one()
        occ.start_at, occ.end_at = at(day, 14), at(day, 17)
        occ.status = "reported" if reported else "held"
        occ.sequence += 1
        occ.updated_at = at(day, 18)
        session.add(occ)
        if reported:
            report = OutcomeReport(
                occurrence_id=occ.id,
                status="held",
                actual_date=day,
                actual_place="南通",
                attendees=100,
                companies=20,
                filed_by="host@example.org",
                created_at=at(day, 18),
                updated_at=at(day, 18),
            )
            session.add(report)
            session.flush()
            for i, p in enumerate(projects):
                session.add(
                    ProjectRow(
                        report_id=report.id,
                        occurrence_id=occ.id,
                        position=i,
                        name=p["name"],
                        category=p.get("category", "科创项目"),
                        sign_form=p.get("sign_form", "合同"),
                        amount_wan=Decimal(str(p.get("amount", 0))),
                        bankuai_key=p.get("unit"),
                        credited=p.get("credited", True),
                    )
                )
            for i, level in enumerate(talents):
                session.add(TalentRow(report_id=report.id, occurrence_id=occ.id, position=i, level=level))
        return int(occ.id or 0)


def checkin(engine: Engine, unit: str, monday: date, count: int = 1) -> None:
    """Log one 板块's 洽谈 check-in for the week starting `monday`."""
    with session_scope(engine, write=True) as session:
        session.add(
            NegotiationCheckin(
                organization_key=unit,
                week_start=monday,
                count=count,
                filed_by="x@example.org",
                created_at=at(monday),
                updated_at=at(monday),
            )
        )


def outcome_task(engine: Engine, key: str, unit: str, opens: date, due: date, done: date | None = None) -> None:
    """Add an outcome-report task for an occurrence, done on `done` if given."""
    with session_scope(engine, write=True) as session:
        occ = session.exec(select(Occurrence).where(Occurrence.key == key)).one()
        session.add(
            Task(
                key=f"outcome:occ:{occ.id}",
                kind="outcome",
                title=f"成效填报：{occ.title}",
                occurrence_id=occ.id,
                organization_key=unit,
                opens_on=opens,
                due_on=due,
                status="done" if done else "open",
                done_at=at(done) if done else None,
                created_at=at(opens),
                updated_at=at(done or opens),
            )
        )


def lead(engine: Engine, name: str, unit: str, created: date, updated: date, stage: str = "negotiating") -> None:
    """Add a project lead."""
    with session_scope(engine, write=True) as session:
        session.add(
            Lead(
                name=name,
                category="科创项目",
                bankuai_key=unit,
                stage=stage,
                last_update_at=at(updated),
                created_at=at(created),
                updated_at=at(updated),
            )
        )


def prepare_dashboard(engine: Engine) -> None:
    """An administrator, a held and reported event, an overdue outcome report, a failed mail."""
    now = DASHBOARD_NOW
    with session_scope(engine, write=True) as session:
        create_user(session=session, username="office", password=PASSWORD, display_name="办公室", now=now)
        session.add(
            OutboxMessage(
                origin="reminders",
                kind="reminder",
                subject="occurrence:1",
                rule="r",
                recipient="bad@example.org",
                recipient_name="坏地址",
                state="failed",
                due_at=now,
                next_attempt_at=now,
                attempts=1,
                last_error="550 用户不存在",
                created_at=now,
                updated_at=now,
            )
        )
    occ_id = hold(
        engine, "04-1", date(2023, 3, 6), projects=[{"name": "校企项目<script>", "amount": 300, "unit": "rugao"}]
    )
    outcome_task(engine, "04-1", "rugao", date(2023, 3, 6), date(2023, 3, 13), done=date(2023, 3, 10))
    outcome_task(engine, "07-1", "chongchuan", date(2023, 2, 20), date(2023, 2, 27))  # overdue
    with session_scope(engine, write=True) as session:
        session.add(
            OutboxMessage(
                origin="reminders",
                kind="reminder",
                subject=f"occurrence:{occ_id}",
                rule="7d",
                occurrence_id=occ_id,
                recipient="rugao@example.org",
                recipient_name="如皋联络员",
                state="sent",
                due_at=at(date(2023, 2, 27)),
                next_attempt_at=at(date(2023, 2, 27)),
                sent_at=at(date(2023, 2, 27)),
                created_at=now,
                updated_at=now,
            )
        )
