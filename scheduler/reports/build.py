"""Build any report from the database: `build_report(kind, period)` on the plan of the period's year; issue quarterly
assessments as snapshots."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlmodel import Session, col, select

from scheduler.clock import local_date
from scheduler.plan.catalog import get_plan, list_plans, plans_for_year
from scheduler.plan.models import Plan
from scheduler.plan.vocabulary import city_of
from scheduler.reports.bimonthly import ListRules, ReviewInputs, bimonthly_report
from scheduler.reports.cadence import compute_cadence
from scheduler.reports.cadence_report import cadence_report
from scheduler.reports.facts import Facts, load_facts
from scheduler.reports.goals import goals_report, list_entries
from scheduler.reports.goalsets import goal_set_for
from scheduler.reports.models import AssessmentAdjustment, RectificationItem, ReviewNote
from scheduler.reports.monthly import monthly_report
from scheduler.reports.periods import REPORT_KIND_LABELS, Period, PeriodInvalid, period_for
from scheduler.reports.quarterly import Scoring, quarterly_report
from scheduler.reports.snapshots import get_snapshot, issue_snapshot, snapshot_report
from scheduler.reports.tables import Report
from scheduler.reports.targets import load_targets

KINDS = tuple(REPORT_KIND_LABELS)


class ReportUnavailable(ValueError):
    """The report cannot be built: unknown kind, bad period, or no plan stored."""


def check_kind(kind: str) -> str:
    """Return `kind` if it names a report; raise with the list of kinds otherwise."""
    if kind not in REPORT_KIND_LABELS:
        choices = "、".join(f"{k}（{v}）" for k, v in REPORT_KIND_LABELS.items())
        raise ReportUnavailable(f"未知报表类型 {kind!r}，可选：{choices}")
    return kind


def review_inputs(*, session: Session, period: str) -> ReviewInputs:
    """Return the office's notes for a bimonthly period and every 整改 item raised so far."""
    notes = {n.organization_key: n.text for n in session.exec(select(ReviewNote).where(ReviewNote.period == period))}
    items = [
        {
            "id": i.id,
            "opened_period": i.opened_period,
            "unit": i.organization_key,
            "text": i.text,
            "status": i.status,
            "closed_period": i.closed_period,
        }
        for i in session.exec(select(RectificationItem).order_by(col(RectificationItem.id)))
    ]
    return ReviewInputs(notes, items)


def adjustments_for(*, session: Session, period: str) -> dict[str, list[tuple[Decimal, str]]]:
    """Return the bonus/deduction items of a quarterly period by unit."""
    out: dict[str, list[tuple[Decimal, str]]] = {}
    for a in session.exec(
        select(AssessmentAdjustment).where(AssessmentAdjustment.period == period).order_by(col(AssessmentAdjustment.id))
    ):
        out.setdefault(a.organization_key, []).append((Decimal(a.points), a.reason))
    return out


def _period(kind: str, text: str) -> Period:
    try:
        return period_for(kind, text)
    except PeriodInvalid as exc:
        raise ReportUnavailable(str(exc)) from None


def plan_for_period(*, session: Session, period: Period, plan_key: str | None = None) -> Plan:
    """Return the plan a report of `period` reads: `plan_key` if given, else the (first) plan of the period's year."""
    plans = list_plans(session=session)
    if not plans:
        raise ReportUnavailable("数据库中还没有计划，请先运行：scheduler plan import seeds/events_2023.json")
    if plan_key:
        plan = get_plan(session=session, key=plan_key)
        if plan is None:
            raise ReportUnavailable(f"没有计划 {plan_key!r}（已有：{'、'.join(p.key for p in plans)}）")
        if plan.year != period.year:
            raise ReportUnavailable(f"期间 {period.text!r} 不在计划 {plan.key} 的年度 {plan.year} 内")
        return plan
    same_year = plans_for_year(session=session, year=period.year)
    if not same_year:
        years = "、".join(str(y) for y in sorted({p.year for p in plans}))
        raise ReportUnavailable(f"{period.year} 年没有导入计划：期间 {period.text!r} 不在计划年度 {years} 内")
    return same_year[0]


def _facts(session: Session, plan: Plan) -> Facts:
    facts = load_facts(session=session, plan=plan)
    assert facts is not None, "a stored plan always has facts"
    return facts


def build_report(
    *, session: Session, kind: str, period: str, now: datetime, scoring: Scoring | None = None, live: bool = False,
    plan_key: str | None = None, rules: ListRules | None = None,
) -> Report:
    """Build one report on the plan of the period's year (or `plan_key`); an issued quarterly assessment comes from
    its frozen snapshot unless `live`; `rules` states the 红黑榜 thresholds of a bimonthly review."""
    check_kind(kind)
    today = local_date(now)
    if kind == "quarterly" and not live:
        snap = get_snapshot(session=session, kind=kind, period=period.strip().upper())
        if snap is not None:
            return snapshot_report(snap)
    p = _period(kind, period)
    plan = plan_for_period(session=session, period=p, plan_key=plan_key)
    facts = _facts(session, plan)
    if kind == "targets":
        day = min(today, p.end)
        chosen = goal_set_for(session=session, day=day, city=city_of(plan.key))
        return goals_report(facts, list_entries(session=session), day, chosen)
    if kind == "cadence":
        return cadence_report(compute_cadence(facts, today), p.text)
    targets = load_targets(session=session, year=facts.year)
    if kind == "monthly":
        return monthly_report(facts, targets, p, today)
    if kind == "bimonthly":
        return bimonthly_report(facts, targets, p, today, review_inputs(session=session, period=p.text), rules)
    report = quarterly_report(
        facts, targets, p, today, scoring or Scoring(), adjustments_for(session=session, period=p.text)
    )
    report.meta["issued"] = False
    return report


def issue_quarterly(*, session: Session, period: str, now: datetime, by: str, scoring: Scoring | None = None,
                    plan_key: str | None = None) -> Report:
    """Compute and freeze a quarterly assessment; refuse a period already issued or not yet over."""
    report = build_report(session=session, kind="quarterly", period=period, now=now, scoring=scoring, live=True,
                          plan_key=plan_key)
    if date.fromisoformat(report.as_of) < _period("quarterly", period).end:
        raise ReportUnavailable(f"{period} 尚未结束（截至 {report.as_of}），季末之后才能发布考核")
    report.meta.pop("issued", None)
    issue_snapshot(session=session, report=report, by=by, now=now)
    return build_report(session=session, kind="quarterly", period=report.period, now=now)
