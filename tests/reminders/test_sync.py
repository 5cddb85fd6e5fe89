"""The reminders and follow-up syncs over a database: a 2027 plan (a year chinesecalendar does not cover) says
「暂定」 in its mail until the office enters and confirms the year; the next tick then re-dates and rewrites the rows.

Dates by hand: 1 April 2027 is a Thursday; the 2027 plan is the 2023 seed moved to 2027 (row 13: 2027年5月).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from scheduler.clock import SHANGHAI
from scheduler.config import Settings
from scheduler.contacts import read_contacts_file, replace_contacts
from scheduler.db import session_scope
from scheduler.followups.checklists import read_checklists
from scheduler.followups.sync import plan_followups
from scheduler.mail.kinds import MailKind
from scheduler.mail.models import OutboxMessage, OutboxState
from scheduler.plan.catalog import get_organizations
from scheduler.reminders.planner import RuleBook
from scheduler.reminders.sync import plan_and_sync, planning_fingerprint
from scheduler.workdays import confirm_year, set_override
from tests.factories.mail import EXAMPLE_CONTACTS
from tests.factories.plans import import_year

LINE_2027 = "2027年节假日安排尚未发布，日期按周末推算，待国务院办公厅通知后复核"
REQUEST_13 = "request:2027-05-01..2027-05-31"  # row 13 (2027年5月): 定档 request 30 days before, Thu 1 April


def sh(day: date, hour: int = 9) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=SHANGHAI)


NOW = sh(date(2026, 12, 1))  # the 2027 plan runs from 1 October 2026


def tick(engine: Engine, now: datetime) -> dict[str, Any]:
    with session_scope(engine, write=True) as session:
        mail = plan_and_sync(session=session, rules=RuleBook(), now=now).as_dict()
        plan_followups(session=session, templates=read_checklists(Settings().checklist_file), now=now)
    return mail


def pending(engine: Engine, origin: str) -> list[OutboxMessage]:
    with session_scope(engine) as session:
        return list(session.exec(select(OutboxMessage).where(
            OutboxMessage.origin == origin, OutboxMessage.state == OutboxState.PENDING)
            .order_by(col(OutboxMessage.id))))


def test_a_2027_plan_says_provisional_until_confirmed_and_the_next_tick_re_dates_it(engine: Engine) -> None:
    import_year(engine, 2027, NOW, published=date(2026, 11, 20))
    with session_scope(engine, write=True) as session:
        people = read_contacts_file(EXAMPLE_CONTACTS, organizations=get_organizations(session=session))
        replace_contacts(session=session, people=people, now=NOW)
    tick(engine, NOW)
    reminders, followups = pending(engine, "reminders"), pending(engine, "followups")
    assert reminders and all(r.context["provisional"] == [LINE_2027] for r in reminders)
    # Task mail: what is due in 2027 says so; a December 2026 洽谈 check-in (covered year, no 2027 date) does not.
    due_2027 = [r for r in followups if r.context.get("due_on", "").startswith("2027")]
    due_2026 = [r for r in followups if r.context.get("due_on", "").startswith("2026") and not r.context["occurrence"]]
    assert due_2027 and all(r.context["provisional"] == [LINE_2027] for r in due_2027)
    assert due_2026 and all("provisional" not in r.context for r in due_2026)
    request = next(r for r in reminders if r.rule == REQUEST_13)
    assert request.kind == MailKind.FIX_REQUEST and request.due_at == sh(date(2027, 4, 1))  # weekends only: Thursday

    with session_scope(engine) as session:
        before = planning_fingerprint(session=session, now=NOW)
    with session_scope(engine, write=True) as session:  # the office enters the (here hypothetical) notice
        set_override(session=session, day=date(2027, 4, 1), is_workday=False, note="测试假日", source="test", now=NOW)
        confirm_year(session=session, year=2027, source="test", now=NOW)
    with session_scope(engine) as session:
        assert planning_fingerprint(session=session, now=NOW) != before, "the plan job re-plans on its next tick"
    report = tick(engine, NOW + timedelta(minutes=1))
    assert report["cancelled"] == 0 and report["updated"] >= len(reminders)  # the same rows, rewritten in place
    after = {r.id: r for r in pending(engine, "reminders")}
    assert set(after) == {r.id for r in reminders}
    assert all("provisional" not in r.context for r in after.values())
    # Task mail loses the 2027 line; an outcome report of the 全年 row (ends 2027-12-31, due 5 working days later
    # in January 2028) says 2028 is provisional instead.
    tasks = pending(engine, "followups")
    assert all(LINE_2027 not in r.context.get("provisional", []) for r in tasks)
    assert {tuple(r.context.get("provisional", [])) for r in tasks if r.context.get("due_on", "").startswith("2028")} \
        == {(LINE_2027.replace("2027", "2028"),)}
    assert after[request.id].due_at == sh(date(2027, 4, 2))  # 4-01 is off now: Friday 2 April
