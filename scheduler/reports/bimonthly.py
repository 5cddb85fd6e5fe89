"""双月点评 (for the 科技创新双月例会): ranking, 红黑榜, the office's notes per unit, and the 整改 list."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from scheduler.reports.facts import Facts
from scheduler.reports.metrics import (
    Span,
    checkin_weeks,
    held_count,
    open_report_tasks,
    planned_count,
    signed,
    unit_occurrences,
)
from scheduler.reports.monthly import as_of_for, unit_progress
from scheduler.reports.periods import Period
from scheduler.reports.tables import Column, Report, Table
from scheduler.reports.targets import Targets

RED_TOP = 3  # 红榜: the first three by 完成率 that are on pace with no overdue outcome report
BLACK_LAG_PP = 10.0  # 黑榜: more than this many points behind pace …
BLACK_MISSED_WEEKS = 2  # … or this many weeks without a 洽谈 check-in in the period, or an overdue report


@dataclass
class ReviewInputs:
    """What the office entered: notes per unit and 整改 items (open ones carry over)."""

    notes: dict[str, str] = field(default_factory=dict)  # unit key → note
    items: list[dict] = field(default_factory=list)  # opened_period, unit, text, status, closed_period, id


def bimonthly_report(facts: Facts, targets: Targets, period: Period, today: date, inputs: ReviewInputs) -> Report:
    """Build the 双月点评 of one two-month period."""
    as_of = as_of_for(period, today)
    span = Span(period.start, period.end)
    progress = unit_progress(facts, targets, period)
    ranking = Table(
        "ranking",
        "排名",
        [
            Column("rank", "排名", "int"),
            Column("unit", "板块"),
            Column("planned", "本期计划活动", "int"),
            Column("held", "本期已举办", "int"),
            Column("signed", "本期签约项目", "int"),
            Column("amount", "本期签约额（万元）", "money"),
            Column("signed_ytd", "累计签约项目", "int"),
            Column("target", "年度目标（个）", "int"),
            Column("rate", "完成率（%）", "pct"),
            Column("pace", "序时进度（%）", "pct"),
            Column("ahead", "超/欠进度（百分点）", "pp"),
            Column("reports_overdue", "成效逾期", "int"),
            Column("weeks_missed", "洽谈漏报周数", "int"),
            Column("note", "点评意见"),
        ],
        note="按完成率排名（并列同名次，未设目标者列后）。",
    )
    red = Table(
        "red",
        "红榜",
        [Column("unit", "板块"), Column("reason", "理由")],
        note=f"完成率前 {RED_TOP} 名、不欠进度且无逾期未填报的成效。",
    )
    black = Table(
        "black",
        "黑榜",
        [Column("unit", "板块"), Column("reason", "理由")],
        note=f"欠进度超过 {BLACK_LAG_PP:g} 个百分点，或有逾期未填报的成效，"
        f"或本期 {BLACK_MISSED_WEEKS} 周以上未报洽谈。",
    )
    rows = []
    for u in facts.units:
        occs = unit_occurrences(facts, u.key)
        n, amount = signed(facts, u.key, span)
        _missing, overdue = open_report_tasks(facts, u.key, as_of)
        logged, due = checkin_weeks(facts, u.key, span, as_of)
        p = progress[u.key]
        rows.append(
            {
                "key": u.key,
                "rank": p["rank"],
                "unit": u.name,
                "planned": planned_count(occs, facts.year, period.months),
                "held": held_count(occs, span),
                "signed": n,
                "amount": amount,
                "signed_ytd": p["signed_ytd"],
                "target": p["target"],
                "rate": p["rate"],
                "pace": p["pace"],
                "ahead": p["ahead"],
                "reports_overdue": len(overdue),
                "weeks_missed": due - logged,
                "note": inputs.notes.get(u.key, ""),
            }
        )
    rows.sort(key=lambda r: (r["rank"] is None, r["rank"] or 0))
    for r in rows:
        if r["rank"] is not None and r["rank"] <= RED_TOP and (r["ahead"] or 0) >= 0 and not r["reports_overdue"]:
            red.rows.append(
                {
                    "unit": r["unit"],
                    "reason": f"完成率 {r['rate']:.2f}%，第 {r['rank']} 名，超序时进度 {r['ahead']:.2f} 个百分点",
                }
            )
        reasons = []
        if r["ahead"] is not None and r["ahead"] < -BLACK_LAG_PP:
            reasons.append(f"欠序时进度 {-r['ahead']:.2f} 个百分点")
        if r["reports_overdue"]:
            reasons.append(f"{r['reports_overdue']} 份活动成效逾期未填报")
        if r["weeks_missed"] >= BLACK_MISSED_WEEKS:
            reasons.append(f"{r['weeks_missed']} 周未报洽谈")
        if reasons:
            black.rows.append({"unit": r["unit"], "reason": "；".join(reasons)})
    ranking.rows = [{k: v for k, v in r.items() if k != "key"} for r in rows]
    items = Table(
        "rectification",
        "整改清单",
        [
            Column("id", "编号", "int"),
            Column("unit", "板块"),
            Column("text", "整改事项"),
            Column("opened", "提出期次"),
            Column("status", "状态"),
            Column("carried", "上期遗留"),
        ],
        note="未完成的整改事项自动转入下一期点评，直至办结。",
    )
    for item in carried_items(inputs.items, period.text):
        items.rows.append(
            {
                "id": item["id"],
                "unit": facts.unit_name(item["unit"]),
                "text": item["text"],
                "opened": item["opened_period"],
                "status": "已办结" if item["status"] == "closed" else "未办结",
                "carried": "是" if item["opened_period"] < period.text else "否",
            }
        )
    return Report(
        "bimonthly", period.text, f"{period.label}科技招商双月点评", as_of.isoformat(), [ranking, red, black, items]
    )


def carried_items(items: list[dict], period: str) -> list[dict]:
    """Return the 整改 items a review lists: raised at or before it and not closed before it."""
    return sorted(
        (
            i
            for i in items
            if i["opened_period"] <= period and (i["status"] != "closed" or (i["closed_period"] or "") >= period)
        ),
        key=lambda i: (i["opened_period"], i["id"]),
    )
