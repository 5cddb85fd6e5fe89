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


@dataclass(frozen=True)
class ListRules:
    """The stated, configurable rules of the 红黑榜; each listed unit names the rule that put it there."""

    red_top: int = 3  # 红榜 R1: among the first `red_top` by 完成率 …
    black_lag_pp: float = 10.0  # 黑榜 B1: more than this many points behind 序时进度
    black_overdue_reports: int = 1  # 黑榜 B2: at least this many outcome reports overdue
    black_missed_weeks: int = 2  # 黑榜 B3: at least this many weeks without a 洽谈 check-in in the period
    black_max: int = 3  # at most this many units, the most rules broken first, then the lowest ranked

    def red_note(self) -> str:
        return (f"规则 R1：完成率前 {self.red_top} 名，且不欠序时进度、无逾期未填报的成效、"
                f"本期洽谈漏报少于 {self.black_missed_weeks} 周。")

    def black_note(self) -> str:
        return (f"规则 B1：欠序时进度超过 {self.black_lag_pp:g} 个百分点；"
                f"B2：逾期未填报的成效 {self.black_overdue_reports} 份及以上；"
                f"B3：本期 {self.black_missed_weeks} 周及以上未报洽谈。触犯任一规则者列入，红榜单位不列入；"
                f"至多列 {self.black_max} 个，触犯规则多者、排名靠后者（未排名者视为最后）优先。")

    def black_reasons(self, r: dict) -> list[str]:
        """Return the 黑榜 rules a ranking row breaks, each saying its figure."""
        reasons = []
        if r["ahead"] is not None and r["ahead"] < -self.black_lag_pp:
            reasons.append(f"B1 欠序时进度 {-r['ahead']:.2f} 个百分点（超过 {self.black_lag_pp:g}）")
        if r["reports_overdue"] >= self.black_overdue_reports:
            reasons.append(f"B2 {r['reports_overdue']} 份活动成效逾期未填报")
        if r["weeks_missed"] >= self.black_missed_weeks:
            reasons.append(f"B3 本期 {r['weeks_missed']} 周未报洽谈")
        return reasons

    def is_red(self, r: dict) -> bool:
        return (r["rank"] is not None and r["rank"] <= self.red_top and (r["ahead"] or 0) >= 0
                and not r["reports_overdue"] and r["weeks_missed"] < self.black_missed_weeks)


@dataclass
class ReviewInputs:
    """What the office entered: notes per unit and 整改 items (open ones carry over)."""

    notes: dict[str, str] = field(default_factory=dict)  # unit key → note
    items: list[dict] = field(default_factory=list)  # opened_period, unit, text, status, closed_period, id


def bimonthly_report(
    facts: Facts, targets: Targets, period: Period, today: date, inputs: ReviewInputs, rules: ListRules | None = None
) -> Report:
    """Build the 双月点评 of one two-month period."""
    rules = rules or ListRules()
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
        note=rules.red_note(),
    )
    black = Table(
        "black",
        "黑榜",
        [Column("unit", "板块"), Column("reason", "理由")],
        note=rules.black_note(),
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
    candidates = []
    for r in rows:
        if rules.is_red(r):
            red.rows.append(
                {
                    "unit": r["unit"],
                    "reason": f"R1 完成率 {r['rate']:.2f}%，第 {r['rank']} 名，超序时进度 {r['ahead']:.2f} 个百分点",
                }
            )
        elif reasons := rules.black_reasons(r):
            candidates.append((r, reasons))
    # The most rules broken first, then the lowest ranked (unranked last of all), then plan order.
    candidates.sort(key=lambda c: (-len(c[1]), -(c[0]["rank"] if c[0]["rank"] is not None else 10**6)))
    for r, reasons in candidates[: rules.black_max]:
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
