"""How a quarterly indicator is scored: the settings (method, weights, 满意值/不允许值), one indicator's score, and
the weights renormalised over the indicators that apply to a 板块 (an indicator with nothing due is 不适用)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from scheduler.validation import FileKind, InputInvalid, LocatedError, decode_utf8, load_toml, read_input_file

MAX_SCORING_BYTES = 64 * 1024  # a scoring file is a dozen lines

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


NOT_APPLICABLE = "不适用"
CENT = Decimal("0.01")


def applicable_weights(weights: dict[str, float], applies: dict[str, bool]) -> dict[str, float]:
    """Return the weights of the applicable indicators scaled to sum to 100 (2 decimals); 不适用 ones are left out."""
    kept = {k: Decimal(str(w)) for k, w in weights.items() if applies.get(k, False)}
    total = sum(kept.values(), Decimal(0))
    if total <= 0:
        return {}
    return {k: float((w * 100 / total).quantize(CENT, ROUND_HALF_UP)) for k, w in kept.items()}


def weighted_points(weight: float, score: float) -> float:
    """Return the points an indicator adds to 总分: its (renormalised) weight × its score ÷ 100, 2 decimals."""
    # Decimal half-up, as counted by hand: 12.5 × 33.33 ÷ 100 = 4.16625 → 4.17 (binary floats may give 4.16)
    return float((Decimal(str(weight)) * Decimal(str(score)) / 100).quantize(CENT, ROUND_HALF_UP))


def label(key: str) -> str:
    """Name an indicator in Chinese."""
    return OUTCOMES[key][0] if key in OUTCOMES else INPUTS[key]
