"""Follow-up task sync on the stored plan: cancelling or moving an occurrence cancels or re-dates its tasks;
`scheduler run-job followups` runs one tick."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import select
from typer.testing import CliRunner

from scheduler.cli import app
from scheduler.clock import FixedClock
from scheduler.db import session_scope
from scheduler.followups.models import Task
from scheduler.mail.models import OutboxMessage
from scheduler.plan.models import Occurrence
from scheduler.plan.occurrences import cancel_occurrence, move_occurrence
from scheduler.runtime import Runtime
from tests.factories.followups import T_MARCH, plan, settings, task_by_key


def test_cancelling_or_moving_an_occurrence_cancels_or_re_dates_its_tasks(mail_engine: Engine) -> None:
    plan(mail_engine, T_MARCH)
    assert task_by_key(mail_engine, "outcome:occ:13").due_on == date(2023, 4, 10)
    with session_scope(mail_engine, write=True) as session:
        cancel_occurrence(session=session, occurrence=session.get(Occurrence, 12), reason="场地冲突", now=T_MARCH)
        move_occurrence(session=session, occurrence=session.get(Occurrence, 13), now=T_MARCH,
                        window_start=date(2023, 6, 1), window_end=date(2023, 6, 30), reason="嘉宾时间调整")
    report = plan(mail_engine, T_MARCH + timedelta(hours=1))
    cancelled = [task_by_key(mail_engine, k) for k in ("fix:occ:12", "outcome:occ:12")]
    assert {(t.status, t.status_reason, t.done_by) for t in cancelled} == {("cancelled", "活动已取消", "system")}
    moved = task_by_key(mail_engine, "outcome:occ:13")
    assert (moved.status, moved.opens_on, moved.due_on) == ("open", date(2023, 6, 30), date(2023, 7, 7))
    assert task_by_key(mail_engine, "fix:occ:13").due_on == date(2023, 6, 30)
    assert report["tasks_cancelled"] == 2 and report["tasks_updated"] >= 2
    with session_scope(mail_engine) as session:
        pending = session.exec(select(OutboxMessage).where(OutboxMessage.subject.in_(  # type: ignore[attr-defined]
            [f"task:{t.id}" for t in cancelled]), OutboxMessage.state == "pending")).all()
    assert pending == [], "mail about cancelled tasks is withdrawn"


def test_run_job_followups_runs_one_tick(mail_engine: Engine, tmp_path: Path) -> None:
    rt = Runtime(settings(tmp_path), engine=mail_engine, clock=FixedClock(T_MARCH))
    result = CliRunner().invoke(app, ["run-job", "followups"], obj=rt)
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["tasks_added"] > 100 and body["mail"]["added"] > 50
    with session_scope(mail_engine) as session:
        assert session.exec(select(Task).where(Task.key == "outcome:occ:1")).one().status == "open"


def test_an_outcome_report_saying_postponed_moves_the_occurrence_and_keeps_the_report_owed(
        mail_engine: Engine) -> None:
    from scheduler.followups.effects import Actor
    from scheduler.followups.forms import parse_outcome
    from scheduler.followups.submissions import submit
    from tests.factories.followups import outcome_form

    plan(mail_engine, T_MARCH)
    postponed = parse_outcome(outcome_form(status="postponed", status_reason="嘉宾行程冲突", new_start="2023-05-01",
                                           new_end="2023-05-31"), lead_ids=set(), bankuai_keys={"rugao"})
    cancelled = parse_outcome(outcome_form(status="cancelled", status_reason="疫情"), lead_ids=set(),
                              bankuai_keys={"rugao"})
    assert postponed.ok and cancelled.ok
    actor = Actor("rugao.lianluo@example.org", "link")
    with session_scope(mail_engine, write=True) as session:
        t5 = session.exec(select(Task).where(Task.key == "outcome:occ:5")).one()
        t6 = session.exec(select(Task).where(Task.key == "outcome:occ:6")).one()
        submit(session=session, task=t5, data=postponed.data, actor=actor, now=T_MARCH)
        submit(session=session, task=t6, data=cancelled.data, actor=actor, now=T_MARCH)
    plan(mail_engine, T_MARCH + timedelta(hours=1))
    with session_scope(mail_engine) as session:
        occ5, occ6 = session.get(Occurrence, 5), session.get(Occurrence, 6)
    assert occ5 is not None and (occ5.status, occ5.window_start, occ5.status_reason) == (
        "postponed", date(2023, 5, 1), "嘉宾行程冲突")
    assert occ6 is not None and occ6.status == "cancelled"
    t5, t6 = task_by_key(mail_engine, "outcome:occ:5"), task_by_key(mail_engine, "outcome:occ:6")
    assert (t5.status, t5.opens_on, t5.due_on) == ("open", date(2023, 5, 31), date(2023, 6, 7))
    assert t6.status == "done", "a report saying 取消 is the report"
