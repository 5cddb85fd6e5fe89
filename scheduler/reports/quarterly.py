"""季度考核: a score per 板块 = Σ weight × indicator score (completion-rate or 功效系数法) + bonus/deduction items.

Indicator rates (actual ÷ expected, cumulative from 1 January to the quarter's end):
- outcomes: 签约项目, 签约金额, 引进人才 — expected = annual target × quarter/4 (序时);
- inputs: 活动举办 (held ÷ planned), 成效填报及时率 (filed by the due day ÷ due), 周周有洽谈 (weeks logged ÷ due).
  An input with nothing due yet counts as fully met (rate 1).
Scoring an indicator (0–100):
- completion rate ("rate"): 100 × min(rate, 1);
- 功效系数法 ("efficacy"): 60 + (rate − 不允许值) ÷ (满意值 − 不允许值) × 40, clamped to [0, 100]
  (满意值 1.0 and 不允许值 0.0 by default: on pace scores 100, nothing done scores 60).
An outcome indicator without a target scores 0 and says so. Total = Σ weight × score ÷ 100 + adjustments.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from scheduler.reports.facts import Facts
from scheduler.reports.metrics import (
    Span,
    checkin_weeks,
    held_count,
    planned_count,
    reports_on_time,
    signed,
    talents,
    unit_occurrences,
)
from scheduler.reports.monthly import as_of_for
from scheduler.reports.periods import Period
from scheduler.reports.tables import Column, Report, Table, rank_desc
from scheduler.reports.targets import Targets
from scheduler.validation import FileKind, InputInvalid, LocatedError, decode_utf8, load_toml, read_input_file

OUTCOMES = {
    "projects": ("签约项目", "signed_projects"),
    "amount": ("签约金额", "signed_amount"),
    "talents": ("引进人才", "talents"),
}
INPUTS = {"events": "活动举办", "reporting": "成效填报及时率", "checkins": "周周有洽谈"}
DEFAULT_WEIGHTS = {
    "projects": 30.0,
    "amount": 25.0,
    "talents": 15.0,
    "events": 12.0,
    "reporting": 8.0,
    "checkins": 10.0,
}
MAX_SCORING_BYTES = 64 * 1024  # a scoring file is a dozen lines
METHOD_LABELS = {"rate": "完成率法", "efficacy": "功效系数法"}


@dataclass
class Scoring:
    method: str = "rate"
    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    satisfactory: float = 1.0  # 满意值 (as a rate)
    disallowed: float = 0.0  # 不允许值 (as a rate)

    def check(self, *, source: str = "<input>") -> Scoring:
        """Validate: known method and indicators, weights summing to 100, outcomes weighted above inputs."""
        errors: list[LocatedError] = []
        if self.method not in METHOD_LABELS:
            message = f"未知计分方法 {self.method!r}（可选：rate 完成率法、efficacy 功效系数法）"
            errors.append(LocatedError(where="method", message=message))
        outcome = sum(self.weights.get(k, 0.0) for k in OUTCOMES)
        if set(self.weights) != set(DEFAULT_WEIGHTS):
            message = f"权重须且只须包含 {', '.join(DEFAULT_WEIGHTS)}，收到 {', '.join(sorted(self.weights))}"
            errors.append(LocatedError(where="weights", message=message))
        elif any(w < 0 for w in self.weights.values()) or abs(sum(self.weights.values()) - 100) > 1e-6:
            message = f"权重须为非负数且合计 100，现合计 {sum(self.weights.values()):g}"
            errors.append(LocatedError(where="weights", message=message))
        elif outcome <= 100 - outcome:
            message = f"成果类指标权重（{outcome:g}）须高于投入类指标（{100 - outcome:g}）"
            errors.append(LocatedError(where="weights", message=message))
        if self.satisfactory <= self.disallowed:
            errors.append(LocatedError(where="satisfactory", message="满意值须大于不允许值"))
        if errors:
            raise InputInvalid(source, errors, kind=FileKind.SCORING)
        return self

    @classmethod
    def from_file(cls, path: Path) -> Scoring:
        """Read scoring settings from TOML: method, satisfactory, disallowed, [weights]."""
        source = str(path)
        raw = read_input_file(path, limit=MAX_SCORING_BYTES, kind=FileKind.SCORING)
        data = load_toml(decode_utf8(raw, source=source, kind=FileKind.SCORING), source=source, kind=FileKind.SCORING)
        errors: list[LocatedError] = []

        def number(where: str, value: Any) -> float:
            if isinstance(value, int | float) and not isinstance(value, bool):
                return float(value)
            errors.append(LocatedError(where=where, message=f"应为数字，收到 {value!r}"))
            return 0.0

        raw_weights = data.get("weights", {})
        if not isinstance(raw_weights, dict):
            errors.append(LocatedError(where="weights", message="应为 [weights] 表格"))
            raw_weights = {}
        weights = {**DEFAULT_WEIGHTS, **{k: number(f"weights.{k}", v) for k, v in raw_weights.items()}}
        scoring = cls(
            str(data.get("method", "rate")),
            weights,
            number("satisfactory", data.get("satisfactory", 1.0)),
            number("disallowed", data.get("disallowed", 0.0)),
        )
        if errors:
            raise InputInvalid(source, errors, kind=FileKind.SCORING)
        return scoring.check(source=source)


def indicator_score(rate: float | None, scoring: Scoring) -> float:
    """Score one indicator rate (0–100) under the configured method."""
    if rate is None:
        return 0.0
    if scoring.method == "rate":
        return round(100 * min(max(rate, 0.0), 1.0), 2)
    raw = 60 + (rate - scoring.disallowed) / (scoring.satisfactory - scoring.disallowed) * 40
    return round(min(max(raw, 0.0), 100.0), 2)


def _ratio(actual: float, expected: float | None, *, empty_is_met: bool = False) -> float | None:
    if not expected:
        return 1.0 if empty_is_met else None
    return round(actual / expected, 4)


def quarterly_report(
    facts: Facts,
    targets: Targets,
    period: Period,
    today: date,
    scoring: Scoring,
    adjustments: dict[str, list[tuple[Decimal, str]]],
) -> Report:
    """Build the 季度考核 of one quarter."""
    scoring.check()
    as_of = as_of_for(period, today)
    year_span = Span(date(facts.year, 1, 1), period.end)
    share = period.last_month / 12
    scores = Table(
        "scores",
        f"季度考核得分（{METHOD_LABELS[scoring.method]}）",
        [
            Column("rank", "排名", "int"),
            Column("unit", "板块"),
            *[Column(f"{k}_rate", f"{label}完成率", "pct") for k, (label, _m) in OUTCOMES.items()],
            *[Column(f"{k}_rate", f"{label}完成率", "pct") for k, label in INPUTS.items()],
            *[
                Column(f"{k}_score", f"{label}得分", "score")
                for k, label in [*((k, v[0]) for k, v in OUTCOMES.items()), *INPUTS.items()]
            ],
            Column("base", "指标得分", "score"),
            Column("adjust", "加减分", "score"),
            Column("total", "总分", "score"),
        ],
        note=f"权重：{'，'.join(f'{_label(k)} {w:g}' for k, w in scoring.weights.items())}；"
        f"完成率按 1 月 1 日至季末累计、目标按序时（年度目标 × {period.last_month}/12）计。",
    )
    adjust_t = Table(
        "adjustments",
        "加分/减分项",
        [Column("unit", "板块"), Column("points", "分值", "score"), Column("reason", "事由")],
    )
    rows: dict[str, dict] = {}
    for u in facts.units:
        t = targets.get(u.key, {})
        n, amount = signed(facts, u.key, year_span)
        occs = unit_occurrences(facts, u.key)
        on_time, due = reports_on_time(facts, u.key, as_of)
        logged, weeks = checkin_weeks(facts, u.key, year_span, as_of)
        rates = {
            "projects": _ratio(n, float(t["signed_projects"]) * share if "signed_projects" in t else None),
            "amount": _ratio(float(amount), float(t["signed_amount"]) * share if "signed_amount" in t else None),
            "talents": _ratio(
                talents(facts, u.key, year_span), float(t["talents"]) * share if "talents" in t else None
            ),
            "events": _ratio(
                held_count(occs, year_span), planned_count(occs, facts.year, period.months_to_date()), empty_is_met=True
            ),
            "reporting": _ratio(on_time, due, empty_is_met=True),
            "checkins": _ratio(logged, weeks, empty_is_met=True),
        }
        row: dict = {"unit": u.name}
        base = 0.0
        for key, rate in rates.items():
            s = indicator_score(rate, scoring)
            row[f"{key}_rate"] = None if rate is None else round(rate * 100, 2)
            row[f"{key}_score"] = s
            base += scoring.weights[key] * s / 100
        extra = adjustments.get(u.key, [])
        adjust = float(sum((p for p, _r in extra), Decimal(0)))
        for points, reason in extra:
            adjust_t.rows.append({"unit": u.name, "points": float(points), "reason": reason})
        row.update(base=round(base, 2), adjust=round(adjust, 2), total=round(base + adjust, 2))
        rows[u.key] = row
    ranks = rank_desc({k: r["total"] for k, r in rows.items()})
    for key, row in rows.items():
        row["rank"] = ranks[key]
    scores.rows = sorted(rows.values(), key=lambda r: (r["rank"], r["unit"]))
    report = Report(
        "quarterly",
        period.text,
        f"{period.label}科技招商季度考核",
        as_of.isoformat(),
        [scores, adjust_t],
        meta={"scoring": asdict(scoring)},
    )
    report.notes.append(__doc__.split("\n\n", 1)[1].strip() if __doc__ else "")
    return report


def _label(key: str) -> str:
    return OUTCOMES[key][0] if key in OUTCOMES else INPUTS[key]
