"""季度考核: a score per 板块 from six weighted indicators (the method is `METHOD_TEXT`, in Chinese, shown with
the table), plus the office's bonus/deduction items; an indicator with nothing due is 不适用 and leaves the weights."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from decimal import Decimal

from scheduler.reports.facts import Facts
from scheduler.reports.metrics import (
    Span,
    checkin_weeks,
    held_count,
    reports_on_time,
    signed,
    talents,
    unit_occurrences,
)
from scheduler.reports.monthly import as_of_for
from scheduler.reports.periods import Period
from scheduler.reports.scoring import (
    DEFAULT_WEIGHTS,
    INPUTS,
    METHOD_LABELS,
    NOT_APPLICABLE,
    OUTCOMES,
    Scoring,
    applicable_weights,
    indicator_score,
    label,
    weighted_points,
)
from scheduler.reports.tables import Column, Report, Table, rank_desc
from scheduler.reports.targets import Targets

__all__ = ["Scoring", "method_text", "quarterly_report"]

INDICATORS = (*OUTCOMES, *INPUTS)


def method_text(scoring: Scoring, last_month: int) -> str:
    """Describe, in Chinese, how the table is computed under `scoring` (shown next to the table and in print)."""
    weights = "，".join(f"{label(k)} {scoring.weights[k]:g}" for k in DEFAULT_WEIGHTS)
    if scoring.method == "rate":
        rule = "完成率法：指标分 = 100 × 完成率（完成率超过 100% 按 100% 计）。"
    else:
        rule = (
            f"功效系数法：指标分 = 60 + (完成率 − 不允许值 {scoring.disallowed:g}) ÷ (满意值 {scoring.satisfactory:g}"
            f" − 不允许值 {scoring.disallowed:g}) × 40，取值 0–100（按序时完成得 100，毫无进展得 60）。"
        )
    return "\n".join(
        [
            "一、完成率 = 实际完成 ÷ 应完成，均按 1 月 1 日至季末（季度进行中则至统计日）累计。",
            f"成果类：签约项目、签约金额、引进人才，应完成 = 年度目标 × {last_month}/12（序时进度）；"
            "未设年度目标的，该项计 0 分并注明“未设目标”。",
            "投入类：活动举办 = 已举办 ÷ 截至统计日应举办的计划活动；成效填报及时率 = 按期填报 ÷ 到期应填报；"
            "周周有洽谈 = 已报周数 ÷ 应报周数。",
            f"二、截至统计日没有任何应完成事项的投入类指标记为“{NOT_APPLICABLE}”：不计分，也不占权重，"
            "其权重按其余适用指标的原权重比例重新分配（适用权重合计 100）。",
            f"三、{rule}",
            f"四、加权得分 = 适用权重 × 指标分 ÷ 100；指标得分 = 各项加权得分之和；总分 = 指标得分 + 加减分。"
            f"原权重：{weights}。",
            "五、总分相同者名次并列；季度尚未开始的不计分、不排名；季度进行中的排名为截至统计日的预排名。",
        ]
    )


def _ratio(actual: float, expected: float | None) -> float | None:
    if not expected:
        return None
    return round(actual / expected, 4)


def _events_due(facts: Facts, unit: str, period: Period, as_of: date) -> tuple[int, int]:
    """Return (held, due) for 活动举办: planned occurrences of January … the quarter's last month whose day (or
    window's end) has come by `as_of`, or that were held already."""
    due = [
        o
        for o in unit_occurrences(facts, unit)
        if (o.start_on or o.window_end).year == facts.year
        and o.due_month <= period.last_month
        and (o.held or (o.start_on or o.window_end) <= as_of)
    ]
    return held_count(due, Span(date(facts.year, 1, 1), as_of)), len(due)


def _columns() -> list[Column]:
    return [
        Column("rank", "排名", "int"),
        Column("unit", "板块"),
        *[Column(f"{k}_points", f"{label(k)}（加权得分）", "score") for k in INDICATORS],
        Column("base", "指标得分", "score"),
        Column("adjust", "加减分", "score"),
        Column("total", "总分", "score"),
    ]


def _detail_columns() -> list[Column]:
    return [
        Column("unit", "板块"),
        Column("indicator", "指标"),
        Column("actual", "实际完成", "qty"),
        Column("expected", "应完成", "qty"),
        Column("rate", "完成率（%）", "pct"),
        Column("score", "指标分", "score"),
        Column("weight", "原权重", "score"),
        Column("applied_weight", "适用权重", "score"),
        Column("points", "加权得分", "score"),
    ]


def quarterly_report(
    facts: Facts,
    targets: Targets,
    period: Period,
    today: date,
    scoring: Scoring,
    adjustments: dict[str, list[tuple[Decimal, str]]],
) -> Report:
    """Build the 季度考核 of one quarter (no scores or ranking before the quarter begins)."""
    scoring.check()
    as_of = as_of_for(period, today)
    title = f"季度考核得分（{METHOD_LABELS[scoring.method]}）"
    scores = Table("scores", title, _columns(), note="总分 = 各指标加权得分之和 + 加减分；“不适用”的指标不占权重。")
    detail = Table("indicators", "各指标完成率、权重与加权得分", _detail_columns())
    adjust_t = Table(
        "adjustments",
        "加分/减分项",
        [Column("unit", "板块"), Column("points", "分值", "score"), Column("reason", "事由")],
    )
    report = Report(
        "quarterly",
        period.text,
        f"{period.label}科技招商季度考核",
        as_of.isoformat(),
        [scores, detail, adjust_t],
        meta={"scoring": asdict(scoring), "ranked": today >= period.start},
    )
    report.notes.append(method_text(scoring, period.last_month))
    if today < period.start:
        scores.note = f"{period.label}尚未开始（{period.start.isoformat()} 起），不计分、不排名。"
        return report
    if today < period.end:
        scores.note += f"季度进行中：以下为截至 {as_of.isoformat()} 的预排名，季末后方可发布。"
    rows: dict[str, dict] = {}
    for u in facts.units:
        figures = _figures(facts, targets.get(u.key, {}), u.key, period, as_of)
        rows[u.key] = _score_unit(u.name, figures, scoring, adjustments.get(u.key, []), detail, adjust_t)
    ranks = rank_desc({k: r["total"] for k, r in rows.items()})
    for key, row in rows.items():
        row["rank"] = ranks[key]
    scores.rows = sorted(rows.values(), key=lambda r: (r["rank"], r["unit"]))
    return report


def _figures(facts: Facts, t: dict, unit: str, period: Period, as_of: date) -> dict[str, tuple[float, float | None]]:
    """Return (actual, expected) per indicator; expected None: no target (outcomes) or nothing due (inputs)."""
    year_span = Span(date(facts.year, 1, 1), period.end)
    share = period.last_month / 12
    n, amount = signed(facts, unit, year_span)

    def expected(metric: str) -> float | None:
        return round(float(t[metric]) * share, 4) if metric in t else None

    on_time, due = reports_on_time(facts, unit, as_of)
    logged, weeks = checkin_weeks(facts, unit, year_span, as_of)
    return {
        "projects": (n, expected("signed_projects")),
        "amount": (float(amount), expected("signed_amount")),
        "talents": (talents(facts, unit, year_span), expected("talents")),
        "events": _events_due(facts, unit, period, as_of),
        "reporting": (on_time, due),
        "checkins": (logged, weeks),
    }


def _score_unit(
    name: str,
    figures: dict[str, tuple[float, float | None]],
    scoring: Scoring,
    extra: list[tuple[Decimal, str]],
    detail: Table,
    adjust_t: Table,
) -> dict:
    """Score one 板块: fill its detail rows and adjustments and return its summary row."""
    # Outcomes always apply (a missing target scores 0, said so); an input applies once something is due.
    applies = {k: k in OUTCOMES or bool(figures[k][1]) for k in INDICATORS}
    weights = applicable_weights(scoring.weights, applies)
    row: dict = {"unit": name}
    base = 0.0
    for key in INDICATORS:
        actual, expected = figures[key]
        rate = _ratio(actual, expected)
        line = {
            "unit": name,
            "indicator": label(key),
            "actual": actual,
            "expected": expected if expected else ("未设目标" if key in OUTCOMES else 0),
            "rate": None if rate is None else round(rate * 100, 2),
            "weight": scoring.weights[key],
        }
        if not applies[key]:
            line.update(score=NOT_APPLICABLE, applied_weight=NOT_APPLICABLE, points=NOT_APPLICABLE)
            row[f"{key}_points"] = NOT_APPLICABLE
        else:
            score = indicator_score(rate, scoring)
            points = weighted_points(weights[key], score)
            line.update(score=score, applied_weight=weights[key], points=points)
            row[f"{key}_points"] = points
            base += points
        detail.rows.append(line)
    adjust = float(sum((p for p, _r in extra), Decimal(0)))
    for points_, reason in extra:
        adjust_t.rows.append({"unit": name, "points": float(points_), "reason": reason})
    row.update(base=round(base, 2), adjust=round(adjust, 2), total=round(base + adjust, 2))
    return row
