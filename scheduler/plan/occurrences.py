"""Edit one occurrence — fix its date (定档), move it (延期), cancel it — keeping SEQUENCE and updated_at honest."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlmodel import Session, select

from scheduler.clock import local_date
from scheduler.plan.models import MATERIAL_OCCURRENCE_FIELDS, Occurrence, OccurrenceStatus, Precision
from scheduler.plan.windows import month_end


class OccurrenceEditError(ValueError):
    """An edit that cannot be applied; the message says what and which occurrence (Chinese)."""


def get_occurrence(*, session: Session, key: str | None = None, uid: str | None = None) -> Occurrence | None:
    """Return the occurrence with session key `key` or feed UID `uid`."""
    if (key is None) == (uid is None):
        raise ValueError("give exactly one of key or uid")
    query = select(Occurrence).where(Occurrence.key == key if key is not None else Occurrence.uid == uid)
    return session.exec(query).first()


def _apply(occ: Occurrence, values: dict[str, Any], now: datetime) -> bool:
    """Set values; bump SEQUENCE once when a material field changed; stamp updated_at on any change."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    before = {name: getattr(occ, name) for name in MATERIAL_OCCURRENCE_FIELDS}
    changed = False
    for name, value in values.items():
        if getattr(occ, name) != value:
            setattr(occ, name, value)
            changed = True
    if not changed:
        return False
    if any(getattr(occ, name) != before[name] for name in MATERIAL_OCCURRENCE_FIELDS):
        occ.sequence += 1
    occ.updated_at = now
    return True


def _check_times(occ: Occurrence, start_at: datetime, end_at: datetime | None) -> None:
    if start_at.tzinfo is None or (end_at is not None and end_at.tzinfo is None):
        raise OccurrenceEditError(f"场次 {occ.key}：时间必须带时区")
    if end_at is not None and end_at <= start_at:
        raise OccurrenceEditError(f"场次 {occ.key}：结束时间 {end_at} 不晚于开始时间 {start_at}")


def _refuse_cancelled(occ: Occurrence, action: str) -> None:
    if occ.status == OccurrenceStatus.CANCELLED or occ.withdrawn:
        raise OccurrenceEditError(f"场次 {occ.key} 已取消或已撤下，不能{action}")


def fix_occurrence(
    *,
    session: Session,
    occurrence: Occurrence,
    start_at: datetime,
    end_at: datetime | None,
    now: datetime,
    location: str | None = None,
) -> bool:
    """Fix the exact time (定档) inside the planned window; return whether anything changed."""
    _refuse_cancelled(occurrence, "定档")
    _check_times(occurrence, start_at, end_at)
    day = local_date(start_at)
    if not occurrence.window_start <= day <= occurrence.window_end:
        raise OccurrenceEditError(
            f"场次 {occurrence.key}：{day} 不在计划窗口 {occurrence.window_start}–{occurrence.window_end} 之内，"
            "请用“延期”改到窗口之外"
        )
    values: dict[str, Any] = {"start_at": start_at, "end_at": end_at, "status": str(OccurrenceStatus.FIXED)}
    if location is not None:
        values["location"] = location
    changed = _apply(occurrence, values, now)
    session.add(occurrence)
    return changed


def _infer_precision(start: date, end: date) -> Precision:
    if start.day == 1 and end == month_end(end.year, end.month):
        if (start.year, start.month) == (end.year, end.month):
            return Precision.MONTH
        return Precision.MONTH_RANGE
    return Precision.DAY


def move_occurrence(
    *,
    session: Session,
    occurrence: Occurrence,
    now: datetime,
    window_start: date | None = None,
    window_end: date | None = None,
    start_at: datetime | None = None,
    end_at: datetime | None = None,
    location: str | None = None,
    reason: str | None = None,
) -> bool:
    """Move (延期) to a new window, or to a new exact time; return whether anything changed."""
    _refuse_cancelled(occurrence, "延期")
    values: dict[str, Any] = {"status": str(OccurrenceStatus.POSTPONED)}
    if start_at is not None:
        _check_times(occurrence, start_at, end_at)
        day = local_date(start_at)
        values |= {"start_at": start_at, "end_at": end_at}
        if not occurrence.window_start <= day <= occurrence.window_end:
            # A new date outside the old window makes that day the window (what the plan now says).
            values |= {"window_start": day, "window_end": day, "precision": str(Precision.DAY)}
    elif window_start is not None and window_end is not None:
        if window_end < window_start:
            raise OccurrenceEditError(f"场次 {occurrence.key}：新窗口结束 {window_end} 早于开始 {window_start}")
        values |= {
            "window_start": window_start,
            "window_end": window_end,
            "precision": str(_infer_precision(window_start, window_end)),
            "start_at": None,
            "end_at": None,
        }
    else:
        raise OccurrenceEditError(f"场次 {occurrence.key}：延期需要新的窗口（开始与结束日期）或新的时间")
    if location is not None:
        values["location"] = location
    if reason is not None:
        values["status_reason"] = reason
    changed = _apply(occurrence, values, now)
    session.add(occurrence)
    return changed


def cancel_occurrence(*, session: Session, occurrence: Occurrence, reason: str, now: datetime) -> bool:
    """Cancel (取消) with a reason; the feed keeps it as CANCELLED until its date has passed."""
    if not reason.strip():
        raise OccurrenceEditError(f"场次 {occurrence.key}：取消需要填写原因")
    changed = _apply(occurrence, {"status": str(OccurrenceStatus.CANCELLED), "status_reason": reason.strip()}, now)
    session.add(occurrence)
    return changed


def mark_reported(*, session: Session, occurrence: Occurrence, now: datetime) -> bool:
    """Record that the outcome of a held occurrence has been reported (已填报)."""
    _refuse_cancelled(occurrence, "填报成效")
    changed = _apply(occurrence, {"status": str(OccurrenceStatus.REPORTED)}, now)
    session.add(occurrence)
    return changed
