"""A second city's plan beside the first: escalations, the weekly task digest and the monthly report mail go to the
plan's own office unit (xx-kjj), the first city's mail stays what it was, and its reports read its own goal set."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import select

from scheduler.clock import SHANGHAI
from scheduler.config import PROJECT_ROOT, Settings
from scheduler.db import session_scope
from scheduler.followups.checklists import read_checklists
from scheduler.followups.models import Task
from scheduler.followups.sync import plan_followups
from scheduler.mail.kinds import MailKind
from scheduler.mail.models import OutboxMessage
from scheduler.plan.models import Occurrence, Plan
from scheduler.reminders.planner import RuleBook
from scheduler.reminders.sync import plan_and_sync, wanted_mail
from scheduler.reports.build import build_report
from scheduler.reports.goalsets import goal_set_for, import_goal_set, list_goal_sets, parse_goals_bytes, read_goals_file
from scheduler.reports.mailing import wanted_report_mail
from tests.factories.cities import OFFICE, OFFICE_EMAIL, import_second_city, load_contacts, write_goals
from tests.factories.plans import import_year

KJJ = {"kjj.lianluo@example.org", "kjzs.office@example.org"}  # seeds/contacts.example.toml, [[kjj]]
NOTICE_2027 = datetime(2027, 1, 22, 9, 0, tzinfo=SHANGHAI)


def sh(day: date, hour: int = 9, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI)


def plan_of_occurrence(engine: Engine) -> dict[int, str]:
    with session_scope(engine) as session:
        return {o.id or 0: key for o, key in session.exec(select(Occurrence, Plan.key).join(Plan))}


def escalations(engine: Engine, now: datetime) -> dict[str, set[tuple[int, str, str]]]:
    """Return, per plan key, the escalations wanted at `now` as (occurrence id, rule, recipient)."""
    plans = plan_of_occurrence(engine)
    with session_scope(engine) as session:
        wanted, _ = wanted_mail(session=session, rules=RuleBook(), now=now)
    out: dict[str, set[tuple[int, str, str]]] = {}
    for w in wanted:
        if w.kind == MailKind.FIX_ESCALATION:
            out.setdefault(plans[w.occurrence_id or 0], set()).add((w.occurrence_id or 0, w.rule, w.recipient.email))
    return out


def two_cities(engine: Engine) -> None:
    import_year(engine, 2027, NOTICE_2027)
    import_second_city(engine, NOTICE_2027)
    load_contacts(engine, NOTICE_2027)


def test_escalations_go_to_the_office_of_the_occurrences_plan(engine: Engine) -> None:
    import_year(engine, 2027, NOTICE_2027)
    load_contacts(engine, NOTICE_2027, second_city=False)
    alone = escalations(engine, NOTICE_2027)["nantong-2027"]
    import_second_city(engine, NOTICE_2027)
    load_contacts(engine, NOTICE_2027)
    both = escalations(engine, NOTICE_2027)
    assert both["nantong-2027"] == alone, "the first city's escalations are unchanged"
    assert {r for _o, _rule, r in alone} == KJJ
    assert {r for _o, _rule, r in both["xx-2027"]} == {OFFICE_EMAIL}, "not kjj: the plan names xx-kjj"
    # Same rows on the same windows: one escalation per unfixed session in each city.
    assert len(both["xx-2027"]) == len(alone) // len(KJJ) > 0


def test_without_office_contacts_escalations_are_reported_missing_not_sent_to_kjj(engine: Engine) -> None:
    import_second_city(engine, NOTICE_2027)
    load_contacts(engine, NOTICE_2027, second_city=False)
    with session_scope(engine) as session:
        wanted, missing = wanted_mail(session=session, rules=RuleBook(), now=NOTICE_2027)
    assert not [w for w in wanted if w.kind == MailKind.FIX_ESCALATION]
    assert OFFICE in missing


def digests(engine: Engine) -> dict[str, list[int]]:
    """Return the task ids each recipient's weekly digest lists (one digest row per office contact)."""
    with session_scope(engine) as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.kind == MailKind.TASK_DIGEST)).all()
        return {m.recipient: sorted(t["task_id"] for t in m.context["overdue"]) for m in rows}


def test_the_weekly_digest_of_each_plans_overdue_tasks_goes_to_its_office(engine: Engine) -> None:
    two_cities(engine)
    now = sh(date(2027, 4, 14))  # a Wednesday: Monday 19 April's digest is wanted
    # Tasks are born with at least 3 working days to go (issue 14's policy): they are created on 1 March, so that
    # by 14 April some are overdue and the digest has something to list.
    for at in (sh(date(2027, 3, 1)), now):
        with session_scope(engine, write=True) as session:
            plan_and_sync(session=session, rules=RuleBook(), now=at)
            plan_followups(session=session, templates=read_checklists(Settings().checklist_file), now=at)
    got = digests(engine)
    assert set(got) == KJJ | {OFFICE_EMAIL}
    plans = plan_of_occurrence(engine)
    with session_scope(engine) as session:
        tasks = {t.id: t for t in session.exec(select(Task))}
    xx = {plans[tasks[i].occurrence_id] for i in got[OFFICE_EMAIL] if tasks[i].occurrence_id}
    nt = {plans[tasks[i].occurrence_id] for kjj in KJJ for i in got[kjj] if tasks[i].occurrence_id}
    assert xx == {"xx-2027"} and nt == {"nantong-2027"}
    # A 板块's weekly 洽谈 task counts for both cities here (the second city's plan lists the same districts).
    period = {i for i in got[OFFICE_EMAIL] if tasks[i].occurrence_id is None}
    assert period and period <= set(got["kjj.lianluo@example.org"])


def report_mail(engine: Engine) -> dict[str, dict[str, Any]]:
    with session_scope(engine) as session:
        wanted = wanted_report_mail(session=session, now=sh(date(2027, 4, 1), 0, 30), base_url="http://kjzs.test")
    return {w.recipient.email: {"org": (w.recipient.org_key, w.recipient.org_name), **w.context} for w in wanted}


def test_the_monthly_report_of_each_city_goes_to_its_own_office(engine: Engine) -> None:
    import_year(engine, 2027, NOTICE_2027)
    load_contacts(engine, NOTICE_2027, second_city=False)
    alone = report_mail(engine)
    import_second_city(engine, NOTICE_2027)
    load_contacts(engine, NOTICE_2027)
    both = report_mail(engine)
    assert set(alone) == KJJ and set(both) == KJJ | {OFFICE_EMAIL}
    assert {k: both[k] for k in KJJ} == alone, "the first city's mail is unchanged"
    assert alone["kjj.lianluo@example.org"]["org_name"] == "市科技局（推进领导小组办公室）"
    mine = both[OFFICE_EMAIL]
    assert mine["org"] == (OFFICE, "某某市科技局") and mine["org_name"] == "某某市科技局（推进领导小组办公室）"
    assert mine["period"] == "2027-03" and mine["report_url"].endswith("?period=2027-03&plan=xx-2027")


def test_reports_of_2027_read_the_goal_set_covering_them(engine: Engine) -> None:
    two_cities(engine)
    with session_scope(engine) as session:
        report = build_report(session=session, kind="targets", period="2027", now=sh(date(2027, 6, 30)),
                              plan_key="xx-2027")
    table = report.table("goals")
    assert report.title == "2030 年某某市科技创新目标进度" and table.title == "2030 年发展目标进度"
    assert [r["goal"] for r in table.rows] == ["新招引科创项目", "高新技术企业总数"]
    # 2026-01-01 … 2027-06-30 is 365 + 181 = 546 of the 1,826 days of 2026–2030: 29.90 %.
    assert table.rows[0]["pace"] == 29.9 and table.rows[0]["semantics"] == "2026–2030 累计新增"
    assert "29.90%" in table.note


def test_the_first_citys_reports_never_read_the_second_citys_goals(engine: Engine) -> None:
    two_cities(engine)  # nantong-2027 and xx-2027 with xx's 2026–2030 set (key xx-2030, no city: its prefix xx)
    with session_scope(engine, write=True) as session:
        import_goal_set(session=session, doc=read_goals_file(PROJECT_ROOT / "seeds" / "goals_2025.toml"),
                        now=NOTICE_2027)
        cities = {s.key: s.city for s in list_goal_sets(session=session)}
    assert cities == {"xx-2030": "xx", "nantong-2025": "nantong"}
    with session_scope(engine) as session:
        nantong = build_report(session=session, kind="targets", period="2027", now=sh(date(2027, 6, 30)),
                               plan_key="nantong-2027")
    # 南通 has no set covering 2027 (its 2025 set ended 2025-12-31): an empty table, not 某某市's goals.
    table = nantong.table("goals")
    assert table.rows == [] and "没有覆盖 2027-06-30 的发展目标" in table.note
    assert "某某市" not in nantong.title
    with session_scope(engine) as session:
        assert goal_set_for(session=session, day=date(2025, 6, 30), city="nantong").goal_set.key == "nantong-2025"  # type: ignore[union-attr]
        assert goal_set_for(session=session, day=date(2025, 6, 30), city="xx") is None


def test_a_goal_set_may_name_its_city(engine: Engine, tmp_path: Path) -> None:
    two_cities(engine)  # xx-2030 stored for 某某市
    text = write_goals(tmp_path).read_text(encoding="utf-8")
    text = text.replace('key = "xx-2030"', 'key = "plan-2030"\ncity = "nantong"').replace("某某市", "南通市")
    with session_scope(engine, write=True) as session:
        import_goal_set(session=session, doc=parse_goals_bytes(text.encode()), now=NOTICE_2027)
    with session_scope(engine) as session:
        titles = {key: build_report(session=session, kind="targets", period="2027", now=sh(date(2027, 6, 30)),
                                    plan_key=key).title for key in ("nantong-2027", "xx-2027")}
    assert titles == {"nantong-2027": "2030 年南通市科技创新目标进度", "xx-2027": "2030 年某某市科技创新目标进度"}
