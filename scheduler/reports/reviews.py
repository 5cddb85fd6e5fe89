"""The office's review entries and their rules: bimonthly notes, 整改 items, quarterly assessment adjustments.

Every refusal is a `ReviewRefused` naming the form field it is about, with a Chinese message for the page.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from sqlmodel import Session, col, select

from scheduler.reports.models import AssessmentAdjustment, RectificationItem, ReviewNote
from scheduler.reports.periods import PeriodInvalid, parse_period
from scheduler.reports.snapshots import get_snapshot
from scheduler.reports.targets import bankuai_units

TEXT_LIMIT = 2000  # characters of a note, an item, a closing note or a reason
ADJUSTMENT_LIMIT = Decimal(100)  # an adjustment lies within ±100 points


class ReviewRefused(ValueError):
    """A review entry the rules refuse; `field` names the form field, the message says why in Chinese."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


class ReviewItemMissing(ReviewRefused):
    """The 整改 item named does not exist."""


class AssessmentFrozen(ReviewRefused):
    """The quarter's assessment was issued: it is frozen and takes no more adjustments."""


def _text(value: str, what: str, field: str) -> str:
    value = value.strip()
    if not value:
        raise ReviewRefused(f"{what}不能为空", field=field)
    if len(value) > TEXT_LIMIT:
        raise ReviewRefused(f"{what}过长（最多 {TEXT_LIMIT} 字，收到 {len(value)} 字）", field=field)
    return value


def _bimonth(period: str) -> str:
    try:
        p = parse_period(period)
    except PeriodInvalid as exc:
        raise ReviewRefused(str(exc), field="period") from None
    if p.kind != "bimonth":
        raise ReviewRefused(f"点评期次应形如 2023-03/04，收到 {period!r}", field="period")
    return p.text


def _unit(session: Session, key: str) -> str:
    if key not in bankuai_units(session=session):
        raise ReviewRefused(f"未知板块 {key!r}", field="unit")
    return key


def _points(text: str) -> Decimal:
    try:
        value = Decimal(text)
        if not value.is_finite() or abs(value) > ADJUSTMENT_LIMIT:
            raise InvalidOperation
    except InvalidOperation:
        raise ReviewRefused(f"分值 {text!r} 无效（−100 到 100 之间的数字）", field="points") from None
    return value


def review_notes(*, session: Session, period: str) -> dict[str, str]:
    """Return the office's notes of one bimonthly review by unit key."""
    return {n.organization_key: n.text for n in session.exec(select(ReviewNote).where(ReviewNote.period == period))}


def open_items(*, session: Session, period: str) -> list[RectificationItem]:
    """Return the 整改 items still open at a bimonthly review (raised then or earlier), oldest first."""
    query = select(RectificationItem).where(RectificationItem.status == "open").order_by(col(RectificationItem.id))
    return [i for i in session.exec(query) if i.opened_period <= period]  # period texts sort as they read


def save_note(*, session: Session, period: str, unit: str, text: str, author: str, now: datetime) -> str:
    """Save the note on one unit for one bimonthly review, or delete it when `text` is blank; return the period."""
    p, key = _bimonth(period), _unit(session, unit)
    note = session.exec(select(ReviewNote).where(ReviewNote.period == p, ReviewNote.organization_key == key)).first()
    if not text.strip():
        if note is not None:
            session.delete(note)
    else:
        body = _text(text, "点评意见", "text")
        note = note or ReviewNote(period=p, organization_key=key, text=body, author=author, updated_at=now)
        note.text, note.author, note.updated_at = body, author, now
        session.add(note)
    session.flush()
    return p


def add_item(*, session: Session, period: str, unit: str, text: str, author: str, now: datetime) -> RectificationItem:
    """Raise a 整改 item for one unit at a bimonthly review."""
    p, key = _bimonth(period), _unit(session, unit)
    item = RectificationItem(
        opened_period=p,
        organization_key=key,
        text=_text(text, "整改事项", "text"),
        author=author,
        created_at=now,
        updated_at=now,
    )
    session.add(item)
    session.flush()
    return item


def close_item(*, session: Session, item_id: int, period: str, note: str, now: datetime) -> str:
    """Close a 整改 item at the review where it was done; return that review's period. Closing twice changes nothing."""
    p = _bimonth(period)
    item = session.get(RectificationItem, item_id)
    if item is None:
        raise ReviewItemMissing(f"没有编号 {item_id} 的整改事项", field="item_id")
    if item.status != "closed":
        item.status, item.closed_period, item.closed_note, item.updated_at = "closed", p, note.strip()[:TEXT_LIMIT], now
        session.add(item)
        session.flush()
    return p


def add_adjustment(
    *, session: Session, period: str, unit: str, points: str, reason: str, author: str, now: datetime
) -> AssessmentAdjustment:
    """Add a bonus or deduction (±100 points at most) to a quarterly assessment that is not issued yet."""
    p = period.strip().upper()
    if get_snapshot(session=session, kind="quarterly", period=p) is not None:
        raise AssessmentFrozen(f"{p} 的考核已发布冻结，不能再加减分", field="period")
    value = _points(points)
    adjustment = AssessmentAdjustment(
        period=p,
        organization_key=_unit(session, unit),
        points=value,
        reason=_text(reason, "加减分事由", "reason"),
        author=author,
        created_at=now,
    )
    session.add(adjustment)
    session.flush()
    return adjustment
