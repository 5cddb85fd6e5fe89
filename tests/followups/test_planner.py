"""The pure follow-up planner: which tasks exist when, with which dates; and their mail."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from scheduler.clock import week_start
from scheduler.config import Settings
from scheduler.followups.checklists import ChecklistItem, parse_checklists, read_checklists
from scheduler.followups.models import Task, TaskKind
from scheduler.followups.planner import plan_task_mail, plan_tasks
from scheduler.mail.kinds import MailKind, task_subject
from scheduler.reminders.planner import PersonRef
from scheduler.validation import InputInvalid
from scheduler.workdays import WorkCalendar
from tests.factories.mail import occurrence, org, view

HOST, CO = org("rugao", short="如皋市"), org("jrj", kind="city_department", short="市金融局")
KJJ = org("kjj", kind="city_department", short="市科技局")
ORGS = {o.key: o for o in (HOST, CO, KJJ)}
TEMPLATES = {"default": (ChecklistItem("venue", "落实场地", -10, "host"),
                         ChecklistItem("support", "配合筹备", -7, "co_organizer"))}
NOW = datetime(2023, 2, 1, 2, 0, tzinfo=UTC)


def sh(month: int, day: int, hour: int = 9) -> datetime:
    return datetime(2023, month, day, hour - 8, 0, tzinfo=UTC)


def wanted(occs, now=NOW, stored=None, lead_orgs=frozenset()):
    return plan_tasks([view(occs, hosts=[HOST], cos=[CO])], ORGS, TEMPLATES, stored or {}, set(lead_orgs),
                      date(2023, 1, 20), now, calendar=WorkCalendar())


def test_a_window_occurrence_has_a_fix_task_and_an_outcome_task_due_five_working_days_after_the_window() -> None:
    w = wanted([occurrence(id=5, window_start=date(2023, 9, 1), window_end=date(2023, 9, 28))])
    fix, outcome = w["fix:occ:5"], w["outcome:occ:5"]
    assert (fix.kind, fix.organization_key, fix.opens_on, fix.due_on) == (
        TaskKind.FIX_DATE, "rugao", date(2023, 8, 2), date(2023, 9, 28))
    assert (outcome.opens_on, outcome.due_on) == (date(2023, 9, 28), date(2023, 10, 11))
    assert not [k for k in w if k.startswith("checklist:")], "no checklist before the date is fixed"


def test_a_fixed_occurrence_gets_checklist_items_for_host_and_each_co_organizer() -> None:
    occ = occurrence(id=5, start_at=sh(3, 20, 14), end_at=sh(3, 20, 17), status="fixed")
    w = wanted([occ])
    assert "fix:occ:5" not in w
    assert w["checklist:occ:5:venue"].due_on == date(2023, 3, 10)
    assert w["checklist:occ:5:venue"].organization_key == "rugao"
    assert w["checklist:occ:5:support:jrj"].organization_key == "jrj"
    assert w["outcome:occ:5"].due_on == date(2023, 3, 27)
    # Moving the occurrence re-dates every task; cancelling it wants none.
    moved = wanted([occurrence(id=5, start_at=sh(4, 20), status="postponed")])
    assert moved["checklist:occ:5:venue"].due_on == date(2023, 4, 10)
    assert moved["outcome:occ:5"].due_on == date(2023, 4, 26), "Sunday 04-23 is a working day (调休)"
    assert not [k for k in wanted([occurrence(id=5, status="cancelled", start_at=sh(3, 20))]) if "occ:5" in k]


def test_weekly_check_ins_exist_per_bankuai_up_to_next_week_and_monthly_lead_check_ins_only_with_leads() -> None:
    w = wanted([], now=datetime(2023, 2, 8, 2, tzinfo=UTC), lead_orgs={"rugao"})
    weeks = sorted(t.period_start for t in w.values() if t.kind == TaskKind.NEGOTIATION)
    assert weeks == [date(2023, 1, 16), date(2023, 1, 23), date(2023, 1, 30), date(2023, 2, 6), date(2023, 2, 13)]
    jan23 = w["negotiation:rugao:2023-01-23"]
    # First planned on Wed 02-08, after its week: the policy moves the due date to 3 working days later (Mon 02-13).
    assert jan23.due_on == date(2023, 2, 13)
    # Planned on the notice day (Sun 01-22), it keeps the Monday after its week: 01-28 and 01-29 were worked (调休),
    # so 01-30 is the third working day after the notice and the policy has nothing to move.
    stored = {"negotiation:rugao:2023-01-23": _task(9, "negotiation", date(2023, 1, 30),
                                                    key="negotiation:rugao:2023-01-23",
                                                    created_at=datetime(2023, 1, 22, 1, tzinfo=UTC))}
    assert wanted([], now=datetime(2023, 2, 8, 2, tzinfo=UTC), stored=stored)[
        "negotiation:rugao:2023-01-23"].due_on == date(2023, 1, 30)
    # Due on the 10th, but first planned on 02-08: only 2 working days ahead, so 3 working days later (02-13).
    assert "leads:rugao:2023-02" in w and w["leads:rugao:2023-02"].due_on == date(2023, 2, 13)
    assert week_start(datetime(2023, 1, 29, 17, tzinfo=UTC)) == date(2023, 1, 30), "Monday 01:00 in Shanghai"


def _task(id: int, kind: str, due: date, **over) -> Task:
    values = dict(id=id, key=f"k{id}", kind=kind, title=f"事项{id}", organization_key="rugao", opens_on=due,
                  due_on=due, created_at=NOW, updated_at=NOW, assignee_role="host")
    values.update(over)
    return Task(**values)


def test_task_mail_requests_then_nudges_overdue_tasks_and_lists_them_in_the_monday_digest() -> None:
    contacts = {"rugao": [PersonRef("联络员", "rg@example.org")], "kjj": [PersonRef("办公室", "office@example.org")]}
    tasks = [_task(1, "outcome", date(2023, 2, 3)), _task(2, "fix_date", date(2023, 1, 31)),
             _task(3, "outcome", date(2023, 3, 1), status="done")]
    now = datetime(2023, 2, 8, 2, tzinfo=UTC)  # a Wednesday
    mail, missing = plan_task_mail(tasks, ORGS, contacts, {}, now, calendar=WorkCalendar(),
                                   offices={t.id: ["kjj"] for t in tasks})
    kinds = sorted((m.kind, m.rule, m.recipient.email) for m in mail)
    assert (MailKind.TASK_REQUEST, "request", "rg@example.org") in kinds
    nudges = [m for m in mail if m.kind == MailKind.TASK_NUDGE]
    assert [m.rule for m in nudges] == ["nudge:2023-02-04", "nudge:2023-02-11", "nudge:2023-02-18",
                                        "nudge:2023-02-25"], "four in all, one a week, from the day after the due date"
    # The nudge days are Saturdays (rest days; February 2023 has no 调休): each goes out the Monday after, at 09:00,
    # except the first: the request goes Fri 02-03 and the policy wants 2 working days before a nudge (Tue 02-07).
    assert [m.due_at for m in nudges] == [sh(2, 7), sh(2, 13), sh(2, 20), sh(2, 27)]
    assert nudges[0].expires_at == sh(2, 13), "a late nudge gives way to the next one"
    assert not [m for m in mail if m.subject == task_subject(2) and m.kind != MailKind.TASK_DIGEST], \
        "定档 mail is the reminders'"
    [digest] = [m for m in mail if m.kind == MailKind.TASK_DIGEST]
    assert digest.subject == "digest:2023-02-13" and digest.recipient.email == "office@example.org"
    assert [t["task_id"] for t in digest.context["overdue"]] == [2, 1]
    assert missing == set()


def test_checklist_templates_are_read_from_the_editable_file_and_bad_ones_say_where() -> None:
    items = read_checklists(Settings().checklist_file)
    assert [i.title for i in items["default"]][:2] == ["邀请嘉宾", "落实场地"]
    with pytest.raises(InputInvalid) as err:
        parse_checklists('[[default]]\nkey = "Bad Key"\ntitle = ""\noffset_days = 500\nassignee = "x"\n')
    text = str(err.value)
    assert "default[0].key" in text and "default[0].offset_days" in text and "default[0].assignee" in text
    with pytest.raises(InputInvalid, match="未知分组"):
        parse_checklists('[[party]]\nkey="a"\ntitle="b"\noffset_days=1\n')


def test_a_digest_monday_in_national_day_goes_out_on_the_swapped_saturday_and_stays_wanted_until_then() -> None:
    # 国办发明电〔2022〕16号: 9月29日至10月6日放假，10月7日（星期六）上班. Monday 2023-10-02 is off: that week's digest
    # goes Saturday 10-07 09:00; on Tuesday 10-03 it is still the one wanted (not next Monday's).
    contacts = {"rugao": [PersonRef("联络员", "rg@example.org")], "kjj": [PersonRef("办公室", "office@example.org")]}
    tasks = [_task(1, "outcome", date(2023, 9, 20))]
    for now in (datetime(2023, 10, 3, 2, tzinfo=UTC), datetime(2023, 10, 7, 0, tzinfo=UTC)):
        mail, _missing = plan_task_mail(tasks, ORGS, contacts, {}, now, calendar=WorkCalendar(),
                                        offices={1: ["kjj"]})
        [digest] = [m for m in mail if m.kind == MailKind.TASK_DIGEST]
        assert (digest.subject, digest.due_at) == ("digest:2023-10-02", sh(10, 7))
    # Sunday 10-08 (also a working day): the next digest is Monday 10-09's.
    mail, _missing = plan_task_mail(tasks, ORGS, contacts, {}, datetime(2023, 10, 8, 2, tzinfo=UTC),
                                    calendar=WorkCalendar(), offices={1: ["kjj"]})
    assert [m.subject for m in mail if m.kind == MailKind.TASK_DIGEST] == ["digest:2023-10-09"]


def test_a_task_request_opening_in_the_2024_spring_festival_goes_out_on_the_swapped_sunday() -> None:
    # 国办发明电〔2023〕7号: 2月10日至17日放假，2月18日（星期日）上班.
    contacts = {"rugao": [PersonRef("联络员", "rg@example.org")]}
    task = _task(1, "checklist", date(2024, 2, 20), opens_on=date(2024, 2, 12))
    mail, _missing = plan_task_mail([task], ORGS, contacts, {}, datetime(2024, 2, 1, tzinfo=UTC),
                                    calendar=WorkCalendar(), offices={1: ["kjj"]})
    [request] = [m for m in mail if m.kind == MailKind.TASK_REQUEST]
    assert request.due_at == datetime(2024, 2, 18, 1, 0, tzinfo=UTC)  # 09:00 Shanghai
    assert "provisional" not in request.context and request.context["due_on"] == "2024-02-20"
