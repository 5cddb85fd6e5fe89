"""Review rules: notes, 整改 items and adjustments are checked field by field; an issued quarter is frozen."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from scheduler.db import session_scope
from scheduler.reports.models import AssessmentAdjustment, RectificationItem, ReportSnapshot
from scheduler.reports.reviews import (
    AssessmentFrozen,
    ReviewItemMissing,
    ReviewRefused,
    add_adjustment,
    add_item,
    close_item,
    open_items,
    review_notes,
    save_note,
)

NOW = datetime(2023, 4, 3, 2, 0, tzinfo=UTC)


def test_a_note_is_saved_replaced_and_cleared(seeded_engine: Engine) -> None:
    with session_scope(seeded_engine, write=True) as session:
        period = save_note(session=session, period=" 2023-03/04 ", unit="rugao", text=" 偏慢 ", author="a", now=NOW)
        save_note(session=session, period=period, unit="haian", text="良好", author="a", now=NOW)
        save_note(session=session, period=period, unit="rugao", text="已改进", author="b", now=NOW)
        assert period == "2023-03/04"
        assert review_notes(session=session, period=period) == {"rugao": "已改进", "haian": "良好"}
        save_note(session=session, period=period, unit="rugao", text="  ", author="b", now=NOW)
        assert review_notes(session=session, period=period) == {"haian": "良好"}


@pytest.mark.parametrize(
    ("period", "unit", "text", "field", "says"),
    [
        ("2023-03", "rugao", "x", "period", "点评期次应形如 2023-03/04"),
        ("2023-02/03", "rugao", "x", "period", "双月期间"),
        ("2023-03/04", "kjj", "x", "unit", "未知板块 'kjj'"),
        ("2023-03/04", "rugao", "长" * 2001, "text", "点评意见过长（最多 2000 字，收到 2001 字）"),
    ],
)
def test_a_bad_note_names_its_field(
    seeded_engine: Engine, period: str, unit: str, text: str, field: str, says: str
) -> None:
    with session_scope(seeded_engine, write=True) as session, pytest.raises(ReviewRefused, match=says) as refused:
        save_note(session=session, period=period, unit=unit, text=text, author="a", now=NOW)
    assert refused.value.field == field


def test_items_carry_over_until_closed(seeded_engine: Engine) -> None:
    with session_scope(seeded_engine, write=True) as session:
        item = add_item(session=session, period="2023-03/04", unit="rugao", text="补报成效", author="a", now=NOW)
        with pytest.raises(ReviewRefused, match="整改事项不能为空") as empty:
            add_item(session=session, period="2023-03/04", unit="rugao", text=" ", author="a", now=NOW)
        assert empty.value.field == "text"
        assert [i.text for i in open_items(session=session, period="2023-01/02")] == []  # raised later
        assert [i.text for i in open_items(session=session, period="2023-05/06")] == ["补报成效"]
        assert item.id is not None
        closed = close_item(session=session, item_id=item.id, period="2023-05/06", note=" 已补 ", now=NOW)
        assert closed == "2023-05/06" and open_items(session=session, period="2023-07/08") == []
        # closing again changes nothing: it stays closed at the review where it was done
        close_item(session=session, item_id=item.id, period="2023-07/08", note="again", now=NOW)
        stored = session.exec(select(RectificationItem)).one()
        assert (stored.status, stored.closed_period, stored.closed_note) == ("closed", "2023-05/06", "已补")
        with pytest.raises(ReviewItemMissing, match="没有编号 999 的整改事项"):
            close_item(session=session, item_id=999, period="2023-05/06", note="", now=NOW)


@pytest.mark.parametrize("points", ["100.01", "-101", "NaN", "Infinity", "abc", ""])
def test_adjustments_stay_within_a_hundred_points(seeded_engine: Engine, points: str) -> None:
    with session_scope(seeded_engine, write=True) as session, pytest.raises(ReviewRefused, match="−100 到 100") as bad:
        add_adjustment(session=session, period="2023Q1", unit="haian", points=points, reason="x", author="a", now=NOW)
    assert bad.value.field == "points"


def test_an_issued_quarter_takes_no_adjustments(seeded_engine: Engine) -> None:
    with session_scope(seeded_engine, write=True) as session:
        added = add_adjustment(
            session=session, period="2023q1", unit="haian", points="-100", reason=" 迟报 ", author="a", now=NOW
        )
        assert (added.period, added.points, added.reason) == ("2023Q1", Decimal(-100), "迟报")
        session.add(
            ReportSnapshot(
                kind="quarterly", period="2023Q1", payload_text="{}", sha256="0" * 64, issued_by="a", issued_at=NOW
            )
        )
        session.flush()
        with pytest.raises(AssessmentFrozen, match="2023Q1 的考核已发布冻结，不能再加减分"):
            add_adjustment(session=session, period="2023Q1", unit="haian", points="1", reason="补", author="a", now=NOW)
        assert len(session.exec(select(AssessmentAdjustment)).all()) == 1
