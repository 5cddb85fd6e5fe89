"""What cadence and reports read: plain facts loaded once from the plan and the follow-up tables (issue 5)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from scheduler.clock import local_date
from scheduler.followups.models import NegotiationCheckin, Task, TaskKind
from scheduler.outcomes.models import SIGNED_FORMS, Lead, OutcomeReport, ProjectRow, TalentRow
from scheduler.plan.catalog import get_organizations, get_plan, list_event_views
from scheduler.plan.models import BANKUAI_KINDS, EventType, Occurrence, Organization, Plan
from scheduler.plan.vocabulary import plan_bankuai
from scheduler.workdays import WorkCalendar, load_calendar


@dataclass(frozen=True)
class Unit:
    """One 板块 (county/district/park) in plan order."""

    key: str
    name: str


@dataclass(frozen=True)
class OccFact:
    """One occurrence as cadence sees it."""

    id: int
    key: str
    seq: int
    quarter: int
    type: str
    theme: str | None
    title: str
    window_start: date
    window_end: date
    precision: str
    start_on: date | None  # fixed date (Shanghai) or the reported actual date
    status: str
    hosts: tuple[str, ...]  # 板块 credited as host (directly or through a sub-unit)
    host_names: tuple[str, ...]
    organizers: tuple[str, ...]  # 板块 named as co-organizer of a 板块招商活动 (counts like hosting)
    city_level: bool  # hosted by a city department or platform

    @property
    def credited(self) -> tuple[str, ...]:
        """Return every 板块 this occurrence counts for in 月度有活动."""
        return tuple(dict.fromkeys(self.hosts + self.organizers))

    @property
    def held(self) -> bool:
        return self.status in ("held", "reported")

    @property
    def active(self) -> bool:
        return self.status != "cancelled"

    @property
    def due_month(self) -> int:
        """Return the month the occurrence is planned for: its day once known, else its window's last month."""
        return (self.start_on or self.window_end).month


@dataclass(frozen=True)
class SignedProject:
    """A project credited as signed (合同/协议) at one occurrence, once."""

    name: str
    unit: str | None  # 拟落地板块, else the host 板块
    signed_on: date
    amount_wan: Decimal
    category: str
    occurrence_id: int


@dataclass(frozen=True)
class TalentFact:
    level: str
    unit: str | None
    on: date


@dataclass(frozen=True)
class LeadFact:
    id: int
    name: str
    unit: str | None
    stage: str
    created_on: date
    last_update_on: date


@dataclass(frozen=True)
class ReportTask:
    """An outcome-report task (成效填报)."""

    occurrence_id: int | None
    unit: str
    opens_on: date
    due_on: date
    status: str
    done_on: date | None


@dataclass
class Facts:
    """Everything the read-only reports need, for one plan year."""

    year: int
    units: list[Unit]
    themes: dict[int, str]
    occurrences: list[OccFact] = field(default_factory=list)
    projects: list[SignedProject] = field(default_factory=list)
    talents: list[TalentFact] = field(default_factory=list)
    leads: list[LeadFact] = field(default_factory=list)
    report_tasks: list[ReportTask] = field(default_factory=list)
    checkins: dict[str, set[date]] = field(default_factory=dict)  # unit → week Mondays logged
    checkin_counts: dict[tuple[str, date], int] = field(default_factory=dict)
    week_from: date | None = None  # first week 周周有洽谈 is expected (the notice's week)
    names: dict[str, str] = field(default_factory=dict)  # every organization's short name by key
    calendar: WorkCalendar = field(default_factory=WorkCalendar)  # working days, with the office's overrides

    def unit_name(self, key: str) -> str:
        return next((u.name for u in self.units if u.key == key), self.names.get(key, key))

    def occurrence(self, occ_id: int | None) -> OccFact | None:
        return next((o for o in self.occurrences if o.id == occ_id), None)


def _bankuai_of(org: Organization, orgs: dict[str, Organization]) -> str | None:
    """Return the 板块 an organization is or belongs to (海门区科技局 → 海门区)."""
    if org.kind in BANKUAI_KINDS:
        return org.key
    parent = orgs.get(org.parent or "")
    return parent.key if parent is not None and parent.kind in BANKUAI_KINDS else None


def load_facts(*, session: Session, plan: Plan | None = None) -> Facts | None:
    """Load the facts of `plan` (default: the newest); None when no plan is stored.

    Occurrences and outcome-report tasks are the plan's own; signed projects, talents, leads and 洽谈 check-ins
    are dated and shared (a goal spans several plan years), and each report keeps to its period's dates.
    """
    plan = plan if plan is not None else get_plan(session=session)
    if plan is None:
        return None
    orgs = get_organizations(session=session)
    # The 板块 that take part in this plan (its list, else the district/park units it lists), not every unit the
    # shared directory holds: a unit only another plan names is neither flagged nor ranked for this one.
    taking_part = set(plan_bankuai(session=session, plan=plan))
    units = [
        Unit(o.key, o.short_name)
        for o in sorted(orgs.values(), key=lambda o: o.id or 0)
        if o.key in taking_part and not o.withdrawn
    ]
    facts = Facts(
        year=plan.year,
        units=units,
        themes={int(k): v for k, v in (plan.themes or {}).items()},
        week_from=plan.published,
        names={k: o.short_name for k, o in orgs.items()},
        calendar=load_calendar(session=session),
    )
    reports = {r.occurrence_id: r for r in session.exec(select(OutcomeReport))}
    occ_hosts: dict[int, tuple[str, ...]] = {}
    for view in list_event_views(session=session, plan=plan):
        ev = view.event
        hosts = tuple(k for o in view.hosts if (k := _bankuai_of(o, orgs)))
        organizers = (
            tuple(k for o in view.co_organizers if (k := _bankuai_of(o, orgs))) if ev.type == EventType.DISTRICT else ()
        )
        city = any(o.kind not in BANKUAI_KINDS and _bankuai_of(o, orgs) is None for o in view.hosts)
        for occ in view.occurrences:
            report = reports.get(occ.id or 0)
            start_on = local_date(occ.start_at) if occ.start_at else None
            if report is not None and report.actual_date is not None and report.status == "held":
                start_on = report.actual_date
            occ_hosts[occ.id or 0] = hosts
            facts.occurrences.append(
                OccFact(
                    id=occ.id or 0,
                    key=occ.key,
                    seq=ev.seq,
                    quarter=ev.quarter,
                    type=ev.type,
                    theme=ev.theme,
                    title=occ.title,
                    window_start=occ.window_start,
                    window_end=occ.window_end,
                    precision=occ.precision,
                    start_on=start_on,
                    status=occ.status,
                    hosts=hosts,
                    host_names=tuple(o.short_name for o in view.hosts),
                    organizers=organizers,
                    city_level=city,
                )
            )
    # Column selects, not ORM entities: a year holds thousands of rows and the reports only read them.
    signed_rows = session.execute(
        sa_select(
            col(ProjectRow.name),
            col(ProjectRow.bankuai_key),
            col(ProjectRow.occurrence_id),
            col(ProjectRow.amount_wan),
            col(ProjectRow.category),
            col(OutcomeReport.actual_date),
        ).where(
            col(ProjectRow.report_id) == col(OutcomeReport.id),
            col(ProjectRow.credited).is_(True),
            col(ProjectRow.sign_form).in_(SIGNED_FORMS),
            col(OutcomeReport.actual_date).is_not(None),
        )
    )
    for name, bankuai, occ_id, amount, category, day in signed_rows:
        unit = bankuai or next(iter(occ_hosts.get(occ_id, ())), None)
        facts.projects.append(SignedProject(name, unit, day, amount or Decimal(0), category, occ_id))
    landing = dict(
        ((rid, pos), key)
        for rid, pos, key in session.exec(
            select(col(ProjectRow.report_id), col(ProjectRow.position), col(ProjectRow.bankuai_key))
        )
    )
    talent_rows = session.execute(
        sa_select(
            col(TalentRow.level),
            col(TalentRow.occurrence_id),
            col(TalentRow.project_position),
            col(OutcomeReport.id),
            col(OutcomeReport.actual_date),
        ).where(
            col(TalentRow.report_id) == col(OutcomeReport.id),
            col(OutcomeReport.status) == "held",
            col(OutcomeReport.actual_date).is_not(None),
        )
    )
    for level, occ_id, position, report_id, day in talent_rows:
        unit = landing.get((report_id, position if position is not None else -1)) or next(
            iter(occ_hosts.get(occ_id, ())), None
        )
        facts.talents.append(TalentFact(level, unit, day))
    for lead_id, name, bankuai, stage, created, updated in session.execute(
        sa_select(
            col(Lead.id),
            col(Lead.name),
            col(Lead.bankuai_key),
            col(Lead.stage),
            col(Lead.created_at),
            col(Lead.last_update_at),
        )
    ):
        facts.leads.append(LeadFact(lead_id or 0, name, bankuai, stage, local_date(created), local_date(updated)))
    own = set(session.exec(select(Occurrence.id).where(Occurrence.plan_id == plan.id)).all())  # withdrawn too
    for occ_id, org, opens, due, status, done in session.execute(
        sa_select(
            col(Task.occurrence_id),
            col(Task.organization_key),
            col(Task.opens_on),
            col(Task.due_on),
            col(Task.status),
            col(Task.done_at),
        ).where(col(Task.kind) == TaskKind.OUTCOME)
    ):
        if occ_id not in own:
            continue  # another plan's report
        facts.report_tasks.append(ReportTask(occ_id, org, opens, due, status, local_date(done) if done else None))
    for org, week, count in session.exec(
        select(
            col(NegotiationCheckin.organization_key), col(NegotiationCheckin.week_start), col(NegotiationCheckin.count)
        )
    ):
        facts.checkins.setdefault(org, set()).add(week)
        facts.checkin_counts[(org, week)] = count
    return facts
