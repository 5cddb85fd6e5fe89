"""Declare, list and remove units' blackout days, and set the checker's limits; every bad input is refused whole,
with a Chinese message naming the field (CLI option or form field)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, select

from scheduler.plan.catalog import get_organizations
from scheduler.scheduling.models import ScheduleBlackout, ScheduleRules
from scheduler.validation import ValueRefused, clean_text

MAX_BLACKOUT_DAYS = 92  # a quarter: longer than that is not a blackout but a withdrawal
MAX_BUFFER_DAYS = 7
MAX_AWAY_CAP = 50


class BlackoutInvalid(ValueError):
    """Input that cannot be stored; `errors` maps each field to its Chinese message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("；".join(errors.values()))
        self.errors = errors


@dataclass(frozen=True)
class BlackoutRow:
    """A blackout as pages and the CLI show it."""

    id: int
    unit: str
    unit_name: str
    start: date
    end: date
    reason: str
    created_by: str


def _unit_key(session: Session, text: str) -> tuple[str | None, str | None]:
    """Resolve a unit by key, short name, full name or alias; return (key, problem)."""
    wanted = text.strip()
    if not wanted:
        return None, "请填写单位"
    for org in get_organizations(session=session).values():
        if wanted in (org.key, org.short_name, org.name, *org.aliases):
            if org.members:
                return None, f"“{wanted}”是单位组合，请按成员单位逐个声明"
            return org.key, None
    return None, f"单位“{wanted[:30]}”不在单位名录中（可填简称，如 启东市、市科技局）"


def add_blackout(*, session: Session, unit: str, start: date | None, end: date | None, reason: str, by: str,
                 now: datetime) -> ScheduleBlackout:
    """Declare that `unit` cannot take part from `start` to `end`; raise BlackoutInvalid naming each bad field."""
    errors: dict[str, str] = {}
    key, problem = _unit_key(session, unit)
    if problem:
        errors["unit"] = problem
    if start is None:
        errors["start"] = "请填写开始日期"
    if end is None:
        errors["end"] = "请填写结束日期"
    if start and end:
        if end < start:
            errors["end"] = f"结束日期 {end} 早于开始日期 {start}"
        elif (end - start).days + 1 > MAX_BLACKOUT_DAYS:
            errors["end"] = f"一次最多声明 {MAX_BLACKOUT_DAYS} 天（现为 {(end - start).days + 1} 天）"
    try:
        text = clean_text(reason, label="原因", limit=200, required=True)
    except ValueRefused as exc:
        errors["reason"] = str(exc)
        text = ""
    if errors:
        raise BlackoutInvalid(errors)
    assert key is not None and start is not None and end is not None
    row = ScheduleBlackout(organization_key=key, start=start, end=end, reason=text, created_by=by, created_at=now)
    session.add(row)
    session.flush()
    return row


def list_blackouts(*, session: Session) -> list[BlackoutRow]:
    """Return every blackout, by start date then unit."""
    orgs = get_organizations(session=session)
    rows = session.exec(select(ScheduleBlackout).order_by(col(ScheduleBlackout.start),
                                                          col(ScheduleBlackout.organization_key)))
    return [BlackoutRow(r.id or 0, r.organization_key,
                        orgs[r.organization_key].short_name if r.organization_key in orgs else r.organization_key,
                        r.start, r.end, r.reason, r.created_by) for r in rows]


def remove_blackout(*, session: Session, blackout_id: int) -> bool:
    """Remove one blackout; return whether it existed."""
    row = session.get(ScheduleBlackout, blackout_id)
    if row is None:
        return False
    session.delete(row)
    return True


def rules_problems(travel_buffer_days: int | None, away_cap: int | None) -> dict[str, str]:
    """Say which limits are out of range, by field (buffer, cap)."""
    errors: dict[str, str] = {}
    if travel_buffer_days is not None and not 0 <= travel_buffer_days <= MAX_BUFFER_DAYS:
        errors["buffer"] = f"行程缓冲天数须在 0–{MAX_BUFFER_DAYS} 之间（收到 {travel_buffer_days}）"
    if away_cap is not None and not 1 <= away_cap <= MAX_AWAY_CAP:
        errors["cap"] = f"每日外出团组上限须在 1–{MAX_AWAY_CAP} 之间（收到 {away_cap}）"
    return errors


def set_rules(*, session: Session, travel_buffer_days: int | None, away_cap: int | None,
              now: datetime) -> ScheduleRules:
    """Change the travel buffer and/or the city-wide cap; raise BlackoutInvalid for values out of range."""
    errors = rules_problems(travel_buffer_days, away_cap)
    if errors:
        raise BlackoutInvalid(errors)
    row = session.get(ScheduleRules, 1) or ScheduleRules(id=1, updated_at=now)
    if travel_buffer_days is not None:
        row.travel_buffer_days = travel_buffer_days
    if away_cap is not None:
        row.away_cap = away_cap
    row.updated_at = now
    session.add(row)
    session.flush()
    return row
