"""月度跟踪: per 板块 planned vs held, outcome reports missing/overdue, signed projects, 完成率 against 序时进度."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from scheduler.outcomes.models import LEAD_STAGE_LABELS
from scheduler.reports.facts import Facts
from scheduler.reports.metrics import (
    Span,
    held_count,
    new_leads,
    open_report_tasks,
    planned_count,
    signed,
    stalled_leads,
    unit_occurrences,
)
from scheduler.reports.periods import Period
from scheduler.reports.tables import Column, Report, Table, pct, rank_desc
from scheduler.reports.targets import Targets

MAIN_COLUMNS = [
    Column("unit", "板块"),
    Column("planned", "本月计划活动", "int"),
    Column("held", "本月已举办", "int"),
    Column("planned_ytd", "累计计划", "int"),
    Column("held_ytd", "累计已举办", "int"),
    Column("reports_missing", "成效待填报", "int"),
    Column("reports_overdue", "成效逾期未填报", "int"),
    Column("signed", "本月签约项目", "int"),
    Column("amount", "本月签约额（万元）", "money"),
    Column("signed_ytd", "累计签约项目", "int"),
    Column("amount_ytd", "累计签约额（万元）", "money"),
    Column("target", "年度目标（个）", "int"),
    Column("rate", "完成率（%）", "pct"),
    Column("pace", "序时进度（%）", "pct"),
    Column("ahead", "超/欠进度（百分点）", "pp"),
    Column("rank", "排名", "int"),
    Column("new_leads", "新增线索", "int"),
    Column("stalled_leads", "停滞线索", "int"),
]
LEAD_COLUMNS = [
    Column("unit", "板块"),
    Column("name", "项目"),
    Column("stage", "阶段"),
    Column("created_on", "录入日期"),
    Column("last_update_on", "最近更新"),
]
HELD_COLUMNS = [
    Column("date", "举办日期"),
    Column("title", "活动"),
    Column("hosts", "主办单位"),
    Column("units", "计入板块"),
]
SIGNED_COLUMNS = [
    Column("date", "签约日期"),
    Column("name", "项目"),
    Column("category", "类别"),
    Column("unit", "落地板块"),
    Column("amount", "签约额（万元）", "money"),
    Column("event", "签约活动"),
]
TASK_COLUMNS = [
    Column("unit", "板块"),
    Column("title", "活动"),
    Column("due_on", "应填报日期"),
    Column("days", "逾期工作日", "int"),
]


def as_of_for(period: Period, today: date) -> date:
    """Return the day the figures of a period stand at: its last day, or today while it runs."""
    return min(period.end, today)


def pace_pct(last_month: int) -> float:
    """Return 序时进度 after `last_month` months, in percent (N/12)."""
    return round(last_month / 12 * 100, 2)


def ahead_pp(done: float | Decimal, target: float | Decimal | None, last_month: int) -> float | None:
    """Return 超/欠进度 in percentage points from unrounded rates (完成率 − N/12)."""
    if not target:
        return None
    return round((float(done) / float(target) - last_month / 12) * 100, 2)


def unit_progress(facts: Facts, targets: Targets, period: Period) -> dict[str, dict]:
    """Return per 板块: signed YTD, target, 完成率, 序时进度, 超/欠进度 and rank at the period's end."""
    year_span = Span(date(facts.year, 1, 1), period.end)
    pace = pace_pct(period.last_month)
    out: dict[str, dict] = {}
    for u in facts.units:
        n, amount = signed(facts, u.key, year_span)
        target = targets.get(u.key, {}).get("signed_projects")
        rate = pct(n, target)
        out[u.key] = {
            "signed_ytd": n,
            "amount_ytd": amount,
            "target": int(target) if target is not None else None,
            "rate": rate,
            "pace": pace,
            "ahead": ahead_pp(n, target, period.last_month),
        }
    ranks = rank_desc({k: v["rate"] for k, v in out.items()})
    for key, row in out.items():
        row["rank"] = ranks[key]
    return out


def monthly_report(facts: Facts, targets: Targets, period: Period, today: date) -> Report:
    """Build the 月度跟踪 report of one month."""
    as_of = as_of_for(period, today)
    month = Span(period.start, period.end)
    progress = unit_progress(facts, targets, period)
    main = Table(
        "units",
        "各板块月度跟踪",
        MAIN_COLUMNS,
        note="完成率 = 累计签约项目 ÷ 年度目标；序时进度 = 月份 ÷ 12；超/欠进度 = 完成率 − 序时进度；"
        "按完成率排名，并列同名次，未设目标不排名。",
    )
    leads_t = Table("new_leads", "本月新增项目线索", LEAD_COLUMNS)
    stalled_t = Table("stalled_leads", "停滞线索（30 天未更新）", LEAD_COLUMNS)
    overdue_t = Table("overdue_reports", "逾期未填报的活动成效", TASK_COLUMNS)
    totals: dict[str, int | Decimal] = {}
    for u in facts.units:
        occs = unit_occurrences(facts, u.key)
        missing, overdue = open_report_tasks(facts, u.key, as_of)
        n, amount = signed(facts, u.key, month)
        fresh = new_leads(facts, u.key, month)
        stale = stalled_leads(facts, u.key, as_of)
        row = {
            "unit": u.name,
            "planned": planned_count(occs, facts.year, [period.first_month]),
            "held": held_count(occs, month),
            "planned_ytd": planned_count(occs, facts.year, range(1, period.last_month + 1)),
            "held_ytd": held_count(occs, Span(date(facts.year, 1, 1), period.end)),
            "reports_missing": len(missing),
            "reports_overdue": len(overdue),
            "signed": n,
            "amount": amount,
            **progress[u.key],
            "new_leads": len(fresh),
            "stalled_leads": len(stale),
        }
        main.rows.append(row)
        for key, value in row.items():
            if key in (
                "planned",
                "held",
                "planned_ytd",
                "held_ytd",
                "reports_missing",
                "reports_overdue",
                "signed",
                "amount",
                "signed_ytd",
                "amount_ytd",
                "new_leads",
                "stalled_leads",
                "target",
            ):
                totals[key] = totals.get(key, 0) + (value or 0)
        leads_t.rows += [_lead_row(u.name, lead) for lead in fresh]
        stalled_t.rows += [_lead_row(u.name, lead) for lead in stale]
        for t in overdue:
            occ = facts.occurrence(t.occurrence_id)
            overdue_t.rows.append(
                {
                    "unit": u.name,
                    "title": occ.title if occ else "—",
                    "due_on": t.due_on.isoformat(),
                    "days": facts.calendar.workdays_between(t.due_on, as_of),
                }
            )
    target_total = totals.get("target") or None
    rate = pct(totals.get("signed_ytd", 0), target_total)
    pace = pace_pct(period.last_month)
    main.rows.append(
        {
            **{c.key: None for c in MAIN_COLUMNS},
            **totals,
            "unit": "合计",
            "rate": rate,
            "pace": pace,
            "ahead": ahead_pp(totals.get("signed_ytd", 0), target_total, period.last_month),
            "rank": None,
            "target": target_total,
        }
    )
    held_t, signed_t = held_and_signed(facts, month)
    return Report(
        "monthly",
        period.text,
        f"{period.label}科技招商月度跟踪",
        as_of.isoformat(),
        [main, held_t, signed_t, overdue_t, leads_t, stalled_t],
    )


def held_and_signed(facts: Facts, span: Span) -> tuple[Table, Table]:
    """List what was held and what was signed within the span (not only how many), in date order."""
    held = Table("held", "本月已举办活动", HELD_COLUMNS)
    for o in sorted((o for o in facts.occurrences if o.held and o.start_on in span),
                    key=lambda o: (o.start_on, o.key)):
        held.rows.append({
            "date": o.start_on.isoformat() if o.start_on else "",
            "title": o.title,
            "hosts": "、".join(o.host_names) or "—",
            "units": "、".join(facts.unit_name(k) for k in o.credited) or "市级",
        })
    signed_t = Table("signed", "本月签约项目", SIGNED_COLUMNS, note="只列签约形式为合同、协议的项目（意向不计）。")
    for p in sorted((p for p in facts.projects if p.signed_on in span), key=lambda p: (p.signed_on, p.name)):
        occ = facts.occurrence(p.occurrence_id)
        signed_t.rows.append({
            "date": p.signed_on.isoformat(),
            "name": p.name,
            "category": p.category,
            "unit": facts.unit_name(p.unit) if p.unit else "市级",
            "amount": p.amount_wan,
            "event": occ.title if occ else "—",
        })
    return held, signed_t


def _lead_row(unit_name: str, lead) -> dict:
    stage = {str(k): v for k, v in LEAD_STAGE_LABELS.items()}.get(lead.stage, lead.stage)
    return {
        "unit": unit_name,
        "name": lead.name,
        "stage": stage,
        "created_on": lead.created_on.isoformat(),
        "last_update_on": lead.last_update_on.isoformat(),
    }
