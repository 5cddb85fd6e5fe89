"""Issued reports frozen as immutable snapshots: canonical JSON + SHA-256, one per kind and period."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from scheduler.clock import SHANGHAI
from scheduler.reports.models import ReportSnapshot
from scheduler.reports.tables import Report


class SnapshotExists(ValueError):
    """The period was issued already; an issued report is never replaced."""


class SnapshotCorrupt(RuntimeError):
    """A stored snapshot whose bytes no longer match their hash."""


def canonical_json(report: Report) -> str:
    """Return the report as canonical JSON text (sorted keys, no spaces): the bytes that are hashed."""
    return json.dumps(report.to_dict(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def get_snapshot(*, session: Session, kind: str, period: str) -> ReportSnapshot | None:
    """Return the issued snapshot of a report, if any."""
    return session.exec(
        select(ReportSnapshot).where(ReportSnapshot.kind == kind, ReportSnapshot.period == period)
    ).first()


def snapshot_report(snap: ReportSnapshot) -> Report:
    """Return the frozen report, after checking its hash."""
    if hashlib.sha256(snap.payload_text.encode()).hexdigest() != snap.sha256:
        raise SnapshotCorrupt(f"{snap.kind} {snap.period} 的快照校验失败：内容与发布时的哈希不符")
    report = Report.from_dict(json.loads(snap.payload_text))
    report.meta = {
        **report.meta,
        "issued_at": snap.issued_at.astimezone(SHANGHAI).isoformat(),
        "issued_by": snap.issued_by,
        "sha256": snap.sha256,
    }
    return report


def issue_snapshot(*, session: Session, report: Report, by: str, now: datetime) -> ReportSnapshot:
    """Freeze `report`; refuse when its kind and period were issued before."""
    existing = get_snapshot(session=session, kind=report.kind, period=report.period)
    if existing is not None:
        raise SnapshotExists(_refusal(existing))
    text = canonical_json(report)
    snap = ReportSnapshot(
        kind=report.kind,
        period=report.period,
        payload_text=text,
        sha256=hashlib.sha256(text.encode()).hexdigest(),
        issued_by=by,
        issued_at=now,
    )
    session.add(snap)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:  # issued concurrently by someone else
        again = get_snapshot(session=session, kind=report.kind, period=report.period)
        raise SnapshotExists(_refusal(again) if again else "该期报告已发布") from None
    return snap


def _refusal(snap: ReportSnapshot) -> str:
    at = snap.issued_at.astimezone(SHANGHAI)
    return f"{snap.period} 的考核已于 {at:%Y-%m-%d %H:%M} 由 {snap.issued_by} 发布，已冻结，不能重复发布"
