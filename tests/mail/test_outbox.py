"""The outbox: sync with the planner (re-planning after edits), claims, results, backoff, recovery, admin actions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import select

from scheduler.db import session_scope
from scheduler.mail.kinds import MailKind, occurrence_subject, task_subject
from scheduler.mail.models import CANCELLED_BY_PLANNER, OutboxMessage, OutboxState
from scheduler.mail.outbox import (
    Outcome,
    Recipient,
    cancel_row,
    claim_due,
    count_by_state,
    enqueue,
    record_outcomes,
    recover_stuck,
    retry_row,
)
from scheduler.plan.models import Occurrence
from scheduler.reminders.planner import RuleBook
from scheduler.reminders.sync import plan_and_sync
from tests.factories.mail import edit_occurrence
from tests.support.instants import FIRST_WORKDAY, NOTICE_DATE

SH = timedelta(hours=8)


def sync(engine: Engine, now: datetime):
    with session_scope(engine, write=True) as session:
        return plan_and_sync(session=session, rules=RuleBook(), now=now)


def rows(engine: Engine, **where) -> list[OutboxMessage]:
    with session_scope(engine) as session:
        query = select(OutboxMessage)
        for name, value in where.items():
            query = query.where(getattr(OutboxMessage, name) == value)
        return list(session.exec(query).all())


def test_sync_is_idempotent_and_replanning_cancels_what_no_longer_applies(mail_engine: Engine) -> None:
    first = sync(mail_engine, NOTICE_DATE)
    assert first.added > 400 and first.missing_contacts == []  # a year of 定档 mail, at most 3 nudges each
    again = sync(mail_engine, NOTICE_DATE)
    assert (again.added, again.updated, again.cancelled) == (0, 0, 0)
    occ = edit_occurrence(mail_engine, "04-1", NOTICE_DATE + timedelta(days=3), status="fixed",
               start_at=datetime(2023, 3, 20, 6, tzinfo=UTC), end_at=datetime(2023, 3, 20, 9, tzinfo=UTC))
    report = sync(mail_engine, NOTICE_DATE + timedelta(days=3))
    subject = occurrence_subject(occ.id)
    by_state = {(r.kind, r.state, r.cancel_reason) for r in rows(mail_engine, subject=subject)}
    assert (MailKind.FIX_REQUEST, "cancelled", CANCELLED_BY_PLANNER) in by_state
    assert {(MailKind.REMINDER, "pending", None), (MailKind.CHANGE_NOTICE, "pending", None)} <= by_state
    assert not any(k.startswith("fix_") and s == "pending" for k, s, _ in by_state)
    assert report.cancelled > 0 and report.added > 0
    # Moved again: reminders for the old date go, new ones come; the first notice is superseded.
    edit_occurrence(mail_engine, "04-1", NOTICE_DATE + timedelta(days=4), start_at=datetime(2023, 3, 27, 6, tzinfo=UTC))
    sync(mail_engine, NOTICE_DATE + timedelta(days=4))
    live = {(r.kind, r.rule) for r in rows(mail_engine, subject=subject, state="pending")}
    assert live == {(MailKind.CHANGE_NOTICE, "change:2"), (MailKind.REMINDER, "remind-7d:2023-03-27"),
                    (MailKind.REMINDER, "remind-1d:2023-03-27")}
    # Back to unfixed: the 定档 rows the planner had cancelled come back.
    edit_occurrence(mail_engine, "04-1", NOTICE_DATE + timedelta(days=5), status="planned", start_at=None, end_at=None)
    report = sync(mail_engine, NOTICE_DATE + timedelta(days=5))
    assert report.revived > 0


def test_sent_rows_are_never_touched_by_replanning(mail_engine: Engine) -> None:
    sync(mail_engine, FIRST_WORKDAY)
    with session_scope(mail_engine, write=True) as session:
        claimed = claim_due(session=session, now=FIRST_WORKDAY, wall_now=FIRST_WORKDAY, worker="w", limit=500)
    with session_scope(mail_engine, write=True) as session:
        record_outcomes(session=session, outcomes=[Outcome(row_id=r.id, message_id=f"<{r.id}@x>") for r in claimed],
                        now=FIRST_WORKDAY, wall_now=FIRST_WORKDAY, base=60, cap=3600)
    occ = claimed[0].occurrence_id
    with session_scope(mail_engine, write=True) as session:
        o = session.get(Occurrence, occ)
        o.status, o.status_reason, o.sequence, o.updated_at = "cancelled", "场地", o.sequence + 1, FIRST_WORKDAY + SH
    sync(mail_engine, FIRST_WORKDAY + SH)
    sent = rows(mail_engine, occurrence_id=occ, kind=MailKind.FIX_REQUEST)
    assert {r.state for r in sent} == {"sent"}
    assert {r.kind for r in rows(mail_engine, occurrence_id=occ, state="pending")} == {MailKind.CHANGE_NOTICE}


def test_claim_record_wall_clock_backoff_and_failure(mail_engine: Engine) -> None:
    # Planned and sent on the first working day: the notice day 2023-01-22 is 春节 (国办发明电〔2022〕16号).
    sync(mail_engine, FIRST_WORKDAY)
    wall = datetime(2026, 1, 1, tzinfo=UTC)  # the wall clock is unrelated to the application clock
    with session_scope(mail_engine, write=True) as session:
        batch = claim_due(session=session, now=FIRST_WORKDAY, wall_now=wall, worker="w1", limit=3)
    assert [r.state for r in batch] == ["sending"] * 3 and all(r.attempts == 1 for r in batch)
    a, b, c = batch
    with session_scope(mail_engine, write=True) as session:
        record_outcomes(session=session, now=FIRST_WORKDAY, wall_now=wall, base=60, cap=3600, outcomes=[
            Outcome(row_id=a.id, message_id="<a@x>"),
            Outcome(row_id=b.id, error="451 4.3.0 try later"),
            Outcome(row_id=c.id, error="550 5.1.1 no such user", permanent=True),
        ])
    with session_scope(mail_engine) as session:
        ra, rb, rc = (session.get(OutboxMessage, r.id) for r in batch)
    assert (ra.state, ra.message_id, ra.sent_at) == ("sent", "<a@x>", FIRST_WORKDAY)
    assert (rb.state, rb.last_error, rb.retry_at, rb.deferred_since) == (
        "deferred", "451 4.3.0 try later", wall + timedelta(seconds=60), wall)
    assert (rc.state, rc.last_error) == ("failed", "550 5.1.1 no such user")
    # However far the application clock runs (a demo clock at 3600×), the row waits for the wall clock.
    with session_scope(mail_engine, write=True) as session:
        assert b.id not in {r.id for r in claim_due(session=session, now=FIRST_WORKDAY + timedelta(days=3),
                                                    wall_now=wall + timedelta(seconds=59), worker="w1", limit=500)}
    # Twenty transient failures in a row (far past the old 8 attempts) still leave it deferred, backoff capped.
    for n in range(20):
        later = wall + timedelta(hours=n + 1)
        with session_scope(mail_engine, write=True) as session:
            again = claim_due(session=session, now=FIRST_WORKDAY, wall_now=later, worker="w1", limit=500)
            assert b.id in {r.id for r in again}
            record_outcomes(session=session, now=FIRST_WORKDAY, wall_now=later, base=60, cap=3600,
                            outcomes=[Outcome(row_id=r.id, error="421 4.3.2 busy") for r in again])
    row = rows(mail_engine, id=b.id)[0]
    assert (row.state, row.attempts, row.deferred_since) == ("deferred", 21, wall)
    assert row.retry_at == wall + timedelta(hours=20) + timedelta(seconds=3600)


def test_rows_claimed_but_not_tried_go_back_unchanged(mail_engine: Engine) -> None:
    sync(mail_engine, FIRST_WORKDAY)  # the notice day 2023-01-22 is 春节: nothing is due before Saturday 1-28
    with session_scope(mail_engine, write=True) as session:
        a, b = claim_due(session=session, now=FIRST_WORKDAY, wall_now=FIRST_WORKDAY, worker="w", limit=2)
        record_outcomes(session=session, now=FIRST_WORKDAY, wall_now=FIRST_WORKDAY, base=60, cap=3600,
                        outcomes=[Outcome(row_id=a.id, error="421 down")])
    with session_scope(mail_engine, write=True) as session:
        [again] = claim_due(session=session, now=FIRST_WORKDAY, wall_now=FIRST_WORKDAY, worker="w", limit=1, probe=True)
        assert again.id == a.id  # a probe takes a deferred row before its retry time
        record_outcomes(session=session, now=FIRST_WORKDAY, wall_now=FIRST_WORKDAY, base=60, cap=3600, outcomes=[
            Outcome(row_id=a.id, attempted=False), Outcome(row_id=b.id, attempted=False)])
    ra, rb = rows(mail_engine, id=a.id)[0], rows(mail_engine, id=b.id)[0]
    assert (ra.state, ra.attempts, ra.last_error) == ("deferred", 1, "421 down")
    assert (rb.state, rb.attempts, rb.last_error) == ("pending", 0, None)


def test_expired_rows_are_cancelled_at_claim_not_sent(mail_engine: Engine) -> None:
    sync(mail_engine, NOTICE_DATE)
    late = datetime(2023, 3, 2, 1, tzinfo=UTC)  # the February windows closed yesterday
    with session_scope(mail_engine, write=True) as session:
        claimed = claim_due(session=session, now=late, wall_now=late, worker="w", limit=5000)
    assert all(r.expires_at is None or r.expires_at > late for r in claimed)
    expired = rows(mail_engine, cancel_reason="expired")
    assert expired and all(r.expires_at <= late for r in expired)


def test_recover_puts_stuck_rows_back_after_the_timeout(mail_engine: Engine) -> None:
    sync(mail_engine, FIRST_WORKDAY)
    wall = datetime(2026, 1, 1, tzinfo=UTC)
    with session_scope(mail_engine, write=True) as session:
        stuck = claim_due(session=session, now=FIRST_WORKDAY, wall_now=wall, worker="dead", limit=2)
    with session_scope(mail_engine, write=True) as session:
        assert recover_stuck(session=session, wall_now=wall + timedelta(seconds=599),
                             timeout=timedelta(seconds=600)) == 0
        assert recover_stuck(session=session, wall_now=wall + timedelta(seconds=600),
                             timeout=timedelta(seconds=600)) == 2
    assert {r.state for r in rows(mail_engine, claimed_by=None) if r.id in {s.id for s in stuck}} == {"pending"}


def test_admin_retry_and_cancel(mail_engine: Engine) -> None:
    sync(mail_engine, FIRST_WORKDAY)
    with session_scope(mail_engine, write=True) as session:
        row = claim_due(session=session, now=FIRST_WORKDAY, wall_now=FIRST_WORKDAY, worker="w", limit=1)[0]
        with pytest.raises(ValueError, match="发送中"):
            cancel_row(session=session, row_id=row.id, now=FIRST_WORKDAY)
    with session_scope(mail_engine, write=True) as session:
        record_outcomes(session=session, now=FIRST_WORKDAY, wall_now=FIRST_WORKDAY, base=60, cap=3600,
                        outcomes=[Outcome(row_id=row.id, error="550 no", permanent=True)])
    with session_scope(mail_engine, write=True) as session:
        again = retry_row(session=session, row_id=row.id, now=FIRST_WORKDAY + SH)
        assert (again.state, again.attempts, again.next_attempt_at) == ("pending", 0, FIRST_WORKDAY + SH)
        cancelled = cancel_row(session=session, row_id=row.id, now=FIRST_WORKDAY + SH)
        assert cancelled.cancel_reason == "admin"
        with pytest.raises(LookupError):
            retry_row(session=session, row_id=999_999, now=FIRST_WORKDAY)
    # An administrator's cancellation sticks: re-planning does not revive it.
    report = sync(mail_engine, FIRST_WORKDAY + SH)
    assert report.revived == 0
    assert rows(mail_engine, id=row.id)[0].state == "cancelled"


def test_enqueue_is_idempotent_and_counts_show_on_every_state(engine: Engine) -> None:
    people = [Recipient(email="a@example.org", name="甲", org_key="kjj", org_name="市科技局", role="host"),
              Recipient(email="b@example.org", name="乙", org_key="kjj", org_name="市科技局", role="host")]
    with session_scope(engine, write=True) as session:
        first = enqueue(session=session, origin="tasks", kind="outcome_request", subject=task_subject(7), rule="open",
                        recipients=people, context={"title": "成效填报"}, due_at=NOTICE_DATE, now=NOTICE_DATE)
    with session_scope(engine, write=True) as session:
        second = enqueue(session=session, origin="tasks", kind="outcome_request", subject=task_subject(7), rule="open",
                         recipients=people, context={"title": "成效填报"}, due_at=NOTICE_DATE, now=NOTICE_DATE)
        counts = count_by_state(session=session)
    assert [r.id for r in first] == [r.id for r in second]
    assert counts == {"pending": 2, "sending": 0, "sent": 0, "deferred": 0, "failed": 0, "cancelled": 0,
                      "skipped": 0}
    assert first[0].context == {"title": "成效填报", "org_name": "市科技局", "role": "host"}


def test_planner_sync_leaves_other_origins_alone(mail_engine: Engine, tmp_path: Path) -> None:
    with session_scope(mail_engine, write=True) as session:
        enqueue(session=session, origin="tasks", kind="digest", subject="report:2023-02", rule="monthly",
                recipients=[Recipient(email="a@example.org", name="甲", org_key="kjj", org_name="市科技局",
                                      role="host")],
                context={}, due_at=NOTICE_DATE, now=NOTICE_DATE)
    sync(mail_engine, NOTICE_DATE)
    assert rows(mail_engine, origin="tasks")[0].state == OutboxState.PENDING


def test_a_sync_that_changes_nothing_builds_no_row_objects_and_writes_nothing(mail_engine: Engine) -> None:
    sync(mail_engine, NOTICE_DATE)
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement.split(None, 1)[0].upper())

    loaded: list[object] = []

    def load(target: object, _context: object) -> None:
        loaded.append(target)

    event.listen(mail_engine, "before_cursor_execute", seen)
    event.listen(OutboxMessage, "load", load)
    try:
        again = sync(mail_engine, NOTICE_DATE)
    finally:
        event.remove(mail_engine, "before_cursor_execute", seen)
        event.remove(OutboxMessage, "load", load)
    assert (again.added, again.updated, again.cancelled, again.revived) == (0, 0, 0, 0)
    assert [s for s in statements if s in ("UPDATE", "INSERT", "DELETE")] == [], "nothing to write"
    assert loaded == [], "the 900-odd queued rows are compared as columns"
