"""Occurrence edits: 定档, 延期, 取消 — SEQUENCE only on material change, updated_at on any change."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from scheduler.clock import SHANGHAI
from scheduler.db import session_scope
from scheduler.plan.models import OccurrenceStatus, Precision
from scheduler.plan.occurrences import (
    OccurrenceEditError,
    cancel_occurrence,
    fix_occurrence,
    get_occurrence,
    move_occurrence,
)
from tests.support.instants import NOTICE_DATE

LATER = NOTICE_DATE + timedelta(days=5)
START = datetime(2023, 5, 10, 14, 0, tzinfo=SHANGHAI)


def test_fix_sets_time_status_sequence_and_is_idempotent(seeded_engine: Engine) -> None:
    with session_scope(seeded_engine, write=True) as session:
        occ = get_occurrence(session=session, key="14-2")
        assert occ is not None
        assert fix_occurrence(
            session=session, occurrence=occ, start_at=START, end_at=START + timedelta(hours=2), now=LATER
        )
    with session_scope(seeded_engine, write=True) as session:
        occ = get_occurrence(session=session, uid="nantong-2023-14-2@kjzs-scheduler")
        assert occ is not None
        assert (occ.status, occ.sequence, occ.updated_at, occ.start_at) == ("fixed", 1, LATER, START)
        again = fix_occurrence(
            session=session,
            occurrence=occ,
            start_at=START,
            end_at=START + timedelta(hours=2),
            now=LATER + timedelta(days=1),
        )
        assert again is False and occ.sequence == 1 and occ.updated_at == LATER


def test_fix_refuses_a_day_outside_the_window_and_naive_or_reversed_times(seeded_engine: Engine) -> None:
    with session_scope(seeded_engine, write=True) as session:
        occ = get_occurrence(session=session, key="14-2")
        assert occ is not None
        with pytest.raises(OccurrenceEditError, match="不在计划窗口"):
            fix_occurrence(session=session, occurrence=occ, start_at=START + timedelta(days=40), end_at=None, now=LATER)
        with pytest.raises(OccurrenceEditError, match="带时区"):
            fix_occurrence(session=session, occurrence=occ, start_at=START.replace(tzinfo=None), end_at=None, now=LATER)
        with pytest.raises(OccurrenceEditError, match="不晚于"):
            fix_occurrence(session=session, occurrence=occ, start_at=START, end_at=START, now=LATER)
        assert occ.sequence == 0 and occ.updated_at == NOTICE_DATE


def test_move_to_new_window_clears_time_and_infers_precision(seeded_engine: Engine) -> None:
    with session_scope(seeded_engine, write=True) as session:
        occ = get_occurrence(session=session, key="14-2")
        assert occ is not None
        fix_occurrence(session=session, occurrence=occ, start_at=START, end_at=None, now=LATER)
        move_occurrence(
            session=session,
            occurrence=occ,
            window_start=date(2023, 7, 1),
            window_end=date(2023, 8, 31),
            reason="嘉宾档期",
            now=LATER + timedelta(days=1),
        )
        assert occ.status == OccurrenceStatus.POSTPONED and occ.start_at is None and occ.sequence == 2
        assert occ.precision == Precision.MONTH_RANGE and occ.status_reason == "嘉宾档期"
        move_occurrence(
            session=session,
            occurrence=occ,
            start_at=datetime(2023, 9, 2, 9, tzinfo=SHANGHAI),
            end_at=None,
            now=LATER + timedelta(days=2),
        )
        assert (occ.window_start, occ.window_end, occ.precision) == (date(2023, 9, 2), date(2023, 9, 2), "day")
        assert occ.sequence == 3
        with pytest.raises(OccurrenceEditError, match="延期需要"):
            move_occurrence(session=session, occurrence=occ, now=LATER)


def test_cancel_needs_a_reason_bumps_once_and_blocks_further_fixing(seeded_engine: Engine) -> None:
    with session_scope(seeded_engine, write=True) as session:
        occ = get_occurrence(session=session, key="14-2")
        assert occ is not None
        with pytest.raises(OccurrenceEditError, match="原因"):
            cancel_occurrence(session=session, occurrence=occ, reason="  ", now=LATER)
        assert cancel_occurrence(session=session, occurrence=occ, reason="场地冲突", now=LATER)
        assert occ.sequence == 1 and occ.status == "cancelled"
        # a new reason is not a material change: updated_at moves, SEQUENCE does not
        assert cancel_occurrence(session=session, occurrence=occ, reason="场地冲突，改年后", now=LATER + timedelta(1))
        assert occ.sequence == 1 and occ.updated_at == LATER + timedelta(1)
        with pytest.raises(OccurrenceEditError, match="已取消"):
            fix_occurrence(session=session, occurrence=occ, start_at=START, end_at=None, now=LATER)
