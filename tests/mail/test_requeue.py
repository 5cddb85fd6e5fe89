"""Bulk retry (function, CLI, admin button with CSRF and audit) and how held-back mail shows on /healthz."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from scheduler.cli import app
from scheduler.clock import FixedClock
from scheduler.config import Settings
from scheduler.db import session_scope
from scheduler.mail.models import OutboxMessage
from scheduler.mail.outbox import Outcome, claim_due, record_outcomes
from scheduler.mail.requeue import held_back, retry_all
from scheduler.reminders.planner import RuleBook
from scheduler.reminders.sync import plan_and_sync
from scheduler.runtime import Runtime
from tests.support.instants import NOTICE_DATE

WALL = datetime.fromisoformat("2026-03-01T08:00:00+00:00")


def fail_some(engine: Engine) -> tuple[list[int], list[int]]:
    """Fail three rows for good (on the notice day and the next) and defer two; return (failed ids, deferred ids)."""
    with session_scope(engine, write=True) as session:
        plan_and_sync(session=session, rules=RuleBook(), now=NOTICE_DATE)
        rows = claim_due(session=session, now=NOTICE_DATE, wall_now=WALL, worker="w", limit=5)
        ids = [r.id for r in rows]
        record_outcomes(session=session, now=NOTICE_DATE, wall_now=WALL, base=60, cap=3600, outcomes=[
            Outcome(row_id=ids[0], error="550 no such user", permanent=True),
            Outcome(row_id=ids[1], error="550 no such user", permanent=True),
            Outcome(row_id=ids[3], error="Connection refused"),
            Outcome(row_id=ids[4], error="Connection refused")])
        record_outcomes(session=session, now=NOTICE_DATE + timedelta(days=1), wall_now=WALL, base=60, cap=3600,
                        outcomes=[Outcome(row_id=ids[2], error="554 rejected", permanent=True)])
    return ids[:3], ids[3:]


def states_of(engine: Engine, ids: list[int]) -> list[str]:
    with session_scope(engine) as session:
        return [session.get(OutboxMessage, i).state for i in ids]  # type: ignore[union-attr]


def test_retry_all_since_a_date_and_held_back(mail_engine: Engine) -> None:
    failed, deferred = fail_some(mail_engine)
    with session_scope(mail_engine) as session:
        held = held_back(session=session)
    assert held is not None and (held.rows, held.since, held.reason) == (2, WALL, "Connection refused")
    later = NOTICE_DATE + timedelta(days=2)
    with session_scope(mail_engine, write=True) as session:
        done = retry_all(session=session, state="failed", now=later, since=date(2023, 1, 23))  # the notice: 01-22
    assert (done.requeued, done.expired) == (1, 0)
    assert states_of(mail_engine, failed) == ["failed", "failed", "pending"]
    with session_scope(mail_engine, write=True) as session:
        assert retry_all(session=session, state="failed", now=later).requeued == 2
        assert retry_all(session=session, state="deferred", now=later).requeued == 2
        with pytest.raises(ValueError, match="只能批量重发"):
            retry_all(session=session, state="sent", now=later)
    assert states_of(mail_engine, failed + deferred) == ["pending"] * 5
    with session_scope(mail_engine) as session:
        assert held_back(session=session) is None
        assert session.get(OutboxMessage, deferred[0]).next_attempt_at == later  # type: ignore[union-attr]


def test_cli_outbox_retry_all(mail_engine: Engine, settings: Settings) -> None:
    failed, _ = fail_some(mail_engine)
    rt = Runtime(settings, engine=mail_engine, clock=FixedClock(NOTICE_DATE + timedelta(days=2)))
    runner = CliRunner()
    result = runner.invoke(app, ["outbox", "retry", "--all", "--state", "failed", "--since", "2023-01-23"], obj=rt)
    assert result.exit_code == 0 and "已重新排队 1 封邮件" in result.output
    assert runner.invoke(app, ["outbox", "retry", "--all", "--since", "昨天"], obj=rt).exit_code == 2
    assert runner.invoke(app, ["outbox", "retry"], obj=rt).exit_code == 2
    assert runner.invoke(app, ["outbox", "retry", "--all", "--json"], obj=rt).output.strip() == \
        '{"ok": true, "requeued": 2, "expired": 0}'
    assert states_of(mail_engine, failed) == ["pending"] * 3
