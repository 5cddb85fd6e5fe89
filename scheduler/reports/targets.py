"""Annual targets per 板块 (签约项目数, 签约金额, 引进人才): read, set, and import from CSV with located errors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import partial
from pathlib import Path

from sqlmodel import Session, select

from scheduler.plan.models import BANKUAI_KINDS, Organization
from scheduler.reports.models import AnnualTarget
from scheduler.validation import (
    INVALID_VALUE,
    FileKind,
    InputInvalid,
    LocatedError,
    ValueRefused,
    clean_text,
    csv_rows,
    decode_utf8,
    parse_decimal,
    parse_year,
    read_input_file,
    usable_decimal,
)

METRICS = {
    "signed_projects": ("签约项目数", "个"),
    "signed_amount": ("签约金额", "万元"),
    "talents": ("引进人才", "名"),
}
METRIC_BY_LABEL = {label: key for key, (label, _unit) in METRICS.items()}
CSV_HEADER = ("年度", "板块", "指标", "目标值", "来源")
MAX_TARGETS_BYTES = 1024 * 1024
MAX_TARGET = Decimal("999999999999.99")  # the column is Numeric(14, 2)
SOURCE_LIMIT = 200

Targets = dict[str, dict[str, Decimal]]  # unit key → metric → annual value


_invalid = partial(InputInvalid, kind=FileKind.TARGETS)


@dataclass(frozen=True)
class TargetRow:
    year: int
    unit: str
    metric: str
    value: Decimal
    source: str


def load_targets(*, session: Session, year: int) -> Targets:
    """Return the stored annual targets of `year` by unit and metric; a stored value out of range counts as none."""
    out: Targets = {}
    for key, metric, value in shown_targets(session=session, year=year):
        if isinstance(value, Decimal):
            out.setdefault(key, {})[metric] = value
    return out


def shown_targets(*, session: Session, year: int) -> list[tuple[str, str, Decimal | str]]:
    """Return (unit, metric, value) of every stored target of `year`; a value out of range (Inf, NaN) is 「无效值」."""
    out: list[tuple[str, str, Decimal | str]] = []
    for t in session.exec(select(AnnualTarget).where(AnnualTarget.year == year)):
        usable = usable_decimal(t.value, high=MAX_TARGET)
        out.append((t.organization_key, t.metric, INVALID_VALUE if usable is None else usable))
    return out


def parse_targets_csv(text: str, *, source: str, units: dict[str, Organization]) -> list[TargetRow]:
    """Parse a targets CSV (年度,板块,指标,目标值,来源); 板块 by key or short name, 指标 by key or label."""
    by_name = {o.short_name: o.key for o in units.values()} | {o.name: o.key for o in units.values()}
    lines = csv_rows(text.lstrip("\ufeff"), source=source, kind=FileKind.TARGETS, width=len(CSV_HEADER))
    _where, header = next(lines, ("第 1 行", []))
    if tuple(h.strip() for h in header[:4]) != CSV_HEADER[:4]:
        message = f"表头应为 {','.join(CSV_HEADER)}，收到 {','.join(header)[:200]!r}"
        raise _invalid(source, [LocatedError(where="第 1 行", message=message)])
    rows: list[TargetRow] = []
    errors: list[LocatedError] = []
    seen: set[tuple[int, str, str]] = set()
    for where, cells in lines:
        if not any(c.strip() for c in cells):
            continue
        try:
            row = _target_row(cells, units=units, by_name=by_name, source=source)
        except ValueRefused as exc:
            errors.append(LocatedError(where=where, message=str(exc)))
            continue
        if (row.year, row.unit, row.metric) in seen:
            message = f"{units[row.unit].short_name} 的 {METRICS[row.metric][0]}（{row.year}年）重复"
            errors.append(LocatedError(where=where, message=message))
            continue
        seen.add((row.year, row.unit, row.metric))
        rows.append(row)
    if errors:
        raise _invalid(source, errors)
    return rows


def _target_row(cells: list[str], *, units: dict[str, Organization], by_name: dict[str, str], source: str
                ) -> TargetRow:
    """Check one CSV row's cells; raise ValueRefused saying what is wrong."""
    year_text, unit_text, metric_text, value_text, src = ([c.strip() for c in cells] + [""] * 5)[:5]
    year = parse_year(year_text)
    unit = unit_text if unit_text in units else by_name.get(unit_text)
    if unit is None:
        names = "、".join(o.short_name for o in units.values())
        raise ValueRefused(f"未知板块 {unit_text[:40]!r}（可用板块：{names}）")
    metric = metric_text if metric_text in METRICS else METRIC_BY_LABEL.get(metric_text)
    if metric is None:
        raise ValueRefused(f"未知指标 {metric_text[:40]!r}（可选：{'、'.join(METRIC_BY_LABEL)}）")
    value = parse_decimal(value_text, label="目标值", low=Decimal(0), high=MAX_TARGET)
    return TargetRow(year, unit, metric, value, clean_text(src, label="来源", limit=SOURCE_LIMIT) or source[:200])


def bankuai_units(*, session: Session) -> dict[str, Organization]:
    """Return the 板块 organizations by key."""
    return {o.key: o for o in session.exec(select(Organization)) if o.kind in BANKUAI_KINDS}


def import_targets(*, session: Session, path: Path, now: datetime) -> int:
    """Validate a whole targets CSV, then upsert every row; return how many rows were stored."""
    data = read_input_file(path, limit=MAX_TARGETS_BYTES, kind=FileKind.TARGETS)
    text = decode_utf8(data, source=str(path), kind=FileKind.TARGETS)
    rows = parse_targets_csv(text, source=str(path), units=bankuai_units(session=session))
    for row in rows:
        set_target(
            session=session,
            year=row.year,
            unit=row.unit,
            metric=row.metric,
            value=row.value,
            source=row.source,
            now=now,
        )
    return len(rows)


def set_target(
    *, session: Session, year: int, unit: str, metric: str, value: Decimal, source: str, now: datetime
) -> AnnualTarget:
    """Insert or update one annual target."""
    row = session.exec(
        select(AnnualTarget).where(
            AnnualTarget.year == year, AnnualTarget.organization_key == unit, AnnualTarget.metric == metric
        )
    ).first()
    if row is None:
        row = AnnualTarget(year=year, organization_key=unit, metric=metric, value=value, source=source, updated_at=now)
    else:
        row.value, row.source, row.updated_at = value, source, now
    session.add(row)
    session.flush()
    return row
