"""The pure planner: tables of (occurrence state, now) → the rows it wants."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time

import pytest

from scheduler.clock import SHANGHAI
from scheduler.mail.kinds import MailKind
from scheduler.reminders.planner import PersonRef, RuleBook, plan_mail
from scheduler.workdays import Override, WorkCalendar
from tests.factories.mail import T0, occurrence, org, view

CAL = WorkCalendar()  # chinesecalendar: 2023 as the State Council's notice (国办发明电〔2022〕16号) has it

RUGAO, KJJ = org("rugao", short="如皋市"), org("kjj", kind="city_department", short="市科技局")
A, B = org("haian", short="海安市"), org("qidong", short="启东市")
DISTRICTS = org("all-districts", kind="group", members=("haian", "qidong"), short="各县（市、区）")
UNIS = org("univ-tt-centers", kind="group", short="相关高校技术转移中心")
ORGS = {o.key: o for o in (RUGAO, KJJ, A, B, DISTRICTS, UNIS)}
CONTACTS = {
    "rugao": [PersonRef("如皋联络员", "rg@example.org")],
    "kjj": [PersonRef("科技局联络员", "kjj@example.org"), PersonRef("办公室", "office@example.org")],
    "haian": [PersonRef("海安联络员", "ha@example.org")],
    "qidong": [PersonRef("启东联络员", "qd@example.org")],
    "univ-tt-centers": [PersonRef("高校联络员", "uni@example.org")],
}
OFFICES = {1: "kjj"}  # the factory's events belong to plan 1, whose office unit is kjj
HOST = {"rg@example.org"}
OFFICE = {"kjj@example.org", "office@example.org"}
EVERYONE = HOST | {"ha@example.org", "qd@example.org", "uni@example.org"}


def sh(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    """An instant in 2023, Shanghai time, as UTC."""
    return datetime(2023, month, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def rows(occ_over: dict, now: datetime, *, cos=(DISTRICTS, UNIS), rules: RuleBook | None = None,
         opted_out: frozenset[str] = frozenset()) -> set[tuple[str, str, str, str]]:
    """Return (kind, rule, recipient, due in Shanghai) for one occurrence hosted by 如皋市."""
    plan = plan_mail([view([occurrence(**occ_over)], hosts=[RUGAO], cos=list(cos))], ORGS, CONTACTS,
                     rules or RuleBook(), now, opted_out=opted_out, calendar=CAL, offices=OFFICES)
    return {(w.kind, w.rule, w.recipient.email, f"{w.due_at.astimezone(SHANGHAI):%m-%d %H:%M}") for w in plan.wanted}


def expand(kind: str, rule: str, due: str, recipients: set[str]) -> set[tuple[str, str, str, str]]:
    return {(kind, rule, r, due) for r in recipients}


WINDOW = "request:2023-03-01..2023-03-31"
# Weekly from the request's working day (Mon 01-30), capped at the policy's three nudges.
NUDGES = ["02-06", "02-13", "02-20"]
FIXED = {"start_at": sh(3, 15, 14), "end_at": sh(3, 15, 17), "status": "fixed", "sequence": 1,
         "updated_at": sh(2, 1, 10)}


def unfixed_rows(nudges: list[str], *, request: bool = True, escalation: bool = True) -> set:
    out = set()
    if request:
        out |= expand(MailKind.FIX_REQUEST, WINDOW, "01-30 09:00", HOST)
    for d in nudges:
        out |= expand(MailKind.FIX_NUDGE, f"nudge:2023-{d}", f"{d} 09:00", HOST)
    if escalation:
        out |= expand(MailKind.FIX_ESCALATION, "escalate:2023-03-01..2023-03-31", "03-24 09:00", OFFICE)
    return out


CASES = [
    # (what, occurrence fields, now, expected rows)
    ("window ahead: request 30 days before, weekly nudges, escalation 7 days before close",
     {}, T0, unfixed_rows(NUDGES)),
    ("inside the window: the last (third) nudge stands until the escalation, the request until the window closes",
     {}, sh(3, 15, 10), unfixed_rows(["02-20"])),
    ("window over and never fixed: nothing", {}, sh(4, 1, 0, 1), set()),
    ("fixed: notice at once, reminders 7 and 1 days before at 09:00 to host and every co-organizer",
     FIXED, sh(2, 1, 10),
     expand(MailKind.CHANGE_NOTICE, "change:1", "02-01 10:00", EVERYONE)
     | expand(MailKind.REMINDER, "remind-7d:2023-03-15", "03-08 09:00", EVERYONE)
     | expand(MailKind.REMINDER, "remind-1d:2023-03-15", "03-14 09:00", EVERYONE)),
    ("fixed, the day before: only what has not expired", FIXED, sh(3, 14, 12),
     expand(MailKind.CHANGE_NOTICE, "change:1", "02-01 10:00", EVERYONE)
     | expand(MailKind.REMINDER, "remind-1d:2023-03-15", "03-14 09:00", EVERYONE)),
    ("event started: nothing 'before the event' any more", FIXED, sh(3, 15, 14, 1), set()),
    ("fixed three days before: the 7-day reminder is covered by the notice",
     {**FIXED, "updated_at": sh(3, 12, 16)}, sh(3, 12, 16),
     expand(MailKind.CHANGE_NOTICE, "change:1", "03-12 16:00", EVERYONE)
     | expand(MailKind.REMINDER, "remind-1d:2023-03-15", "03-14 09:00", EVERYONE)),
    ("moved to another day: a new notice and reminders keyed by the new date",
     {**FIXED, "start_at": sh(3, 22, 14), "end_at": None, "sequence": 2, "updated_at": sh(3, 1, 11)}, sh(3, 1, 11),
     expand(MailKind.CHANGE_NOTICE, "change:2", "03-01 11:00", EVERYONE)
     | expand(MailKind.REMINDER, "remind-7d:2023-03-22", "03-15 09:00", EVERYONE)
     | expand(MailKind.REMINDER, "remind-1d:2023-03-22", "03-21 09:00", EVERYONE)),
    ("cancelled: the cancellation notice only",
     {**FIXED, "status": "cancelled", "status_reason": "场地原因", "sequence": 2, "updated_at": sh(3, 2, 15)},
     sh(3, 2, 15), expand(MailKind.CHANGE_NOTICE, "change:2", "03-02 15:00", EVERYONE)),
    ("cancelled after the date: nothing", {**FIXED, "status": "cancelled", "sequence": 2}, sh(3, 16), set()),
    ("withdrawn from the plan: nothing", {**FIXED, "withdrawn": True, "sequence": 2}, sh(2, 2), set()),
    ("held: nothing before the event", {**FIXED, "status": "held"}, sh(3, 15, 18), set()),
    ("postponed to a new window: notice, and 定档 rows for the new window",
     {"status": "postponed", "window_start": date(2023, 5, 1), "window_end": date(2023, 5, 31), "sequence": 1,
      "updated_at": sh(4, 20, 10)}, sh(4, 20, 10),
     expand(MailKind.CHANGE_NOTICE, "change:1", "04-20 10:00", EVERYONE)
     | expand(MailKind.FIX_REQUEST, "request:2023-05-01..2023-05-31", "04-20 10:00", HOST)
     | {(MailKind.FIX_NUDGE, f"nudge:2023-{d}", r, f"{d} 09:00")
        for d in ("04-27", "05-04", "05-11") for r in HOST}
     | expand(MailKind.FIX_ESCALATION, "escalate:2023-05-01..2023-05-31", "05-24 09:00", OFFICE)),
    ("imported late (after the request date): the request goes at import time",
     {"created_at": sh(2, 10, 15), "updated_at": sh(2, 10, 15)}, sh(2, 10, 15),
     expand(MailKind.FIX_REQUEST, WINDOW, "02-10 15:00", HOST)
     | {(MailKind.FIX_NUDGE, f"nudge:2023-{d}", r, f"{d} 09:00") for d in ("02-17", "02-24", "03-03") for r in HOST}
     | expand(MailKind.FIX_ESCALATION, "escalate:2023-03-01..2023-03-31", "03-24 09:00", OFFICE)),
]


@pytest.mark.parametrize(("what", "over", "now", "expected"), CASES, ids=[c[0] for c in CASES])
def test_planner_table(what: str, over: dict, now: datetime, expected: set) -> None:
    assert rows(over, now) == expected


def test_nudges_stop_before_the_escalation_and_expire_at_the_next_nudge() -> None:
    plan = plan_mail([view([occurrence()], hosts=[RUGAO])], ORGS, CONTACTS, RuleBook(), T0, calendar=CAL)
    nudges = sorted((w for w in plan.wanted if w.kind == MailKind.FIX_NUDGE), key=lambda w: w.due_at)
    for this, nxt in itertools.pairwise(nudges):
        assert this.expires_at == nxt.due_at
    assert nudges[-1].expires_at == sh(3, 24)


def test_every_session_of_the_bimonthly_series_is_planned_on_its_own() -> None:
    sessions = [occurrence(id=10 + m, key=f"s-{m}", uid=f"s-{m}@x", window_start=date(2023, m, 1),
                           window_end=date(2023, m, 28)) for m in (2, 4, 6, 8, 10, 12)]
    plan = plan_mail([view(sessions, hosts=[RUGAO])], ORGS, CONTACTS, RuleBook(), T0, calendar=CAL)
    requests = sorted((w.subject, w.rule) for w in plan.wanted if w.kind == MailKind.FIX_REQUEST)
    assert requests == [(f"occurrence:{10 + m}", f"request:2023-{m:02d}-01..2023-{m:02d}-28")
                        for m in (2, 4, 6, 8, 10, 12)]


def test_groups_expand_to_members_and_memberless_groups_use_their_own_contacts() -> None:
    plan = plan_mail([view([occurrence(**FIXED)], hosts=[RUGAO], cos=[DISTRICTS, UNIS])], ORGS, CONTACTS,
                     RuleBook(), sh(2, 1, 10), calendar=CAL)
    reminder = {(w.recipient.email, w.recipient.org_key, w.recipient.role, w.context["org_name"])
                for w in plan.wanted if w.rule == "remind-7d:2023-03-15"}
    assert reminder == {
        ("rg@example.org", "rugao", "host", "如皋市"),
        ("ha@example.org", "haian", "co_organizer", "海安市"),
        ("qd@example.org", "qidong", "co_organizer", "启东市"),
        ("uni@example.org", "univ-tt-centers", "co_organizer", "相关高校技术转移中心"),
    }


def test_organizations_without_contacts_are_reported_not_silently_skipped() -> None:
    contacts = {k: v for k, v in CONTACTS.items() if k != "qidong"}
    plan = plan_mail([view([occurrence(**FIXED)], hosts=[RUGAO], cos=[DISTRICTS])], ORGS, contacts, RuleBook(),
                     sh(2, 1, 10), calendar=CAL)
    assert plan.missing_contacts == {"qidong"}
    assert "qd@example.org" not in {w.recipient.email for w in plan.wanted}


def test_an_address_in_two_roles_gets_one_message() -> None:
    plan = plan_mail([view([occurrence(**FIXED)], hosts=[RUGAO], cos=[RUGAO])], ORGS, CONTACTS, RuleBook(),
                     sh(2, 1, 10), calendar=CAL)
    assert sorted(w.recipient.role for w in plan.wanted if w.rule == "remind-1d:2023-03-15") == ["host"]


def test_rules_per_activity_type() -> None:
    rules = RuleBook.from_overrides({"district": {"remind_days_before": [3], "send_at": "08:30",
                                                  "nudge_every_days": 0, "escalate_to": []}})
    got = rows(FIXED, sh(2, 1, 10), cos=(), rules=rules)
    assert got == expand(MailKind.CHANGE_NOTICE, "change:1", "02-01 10:00", HOST) | expand(
        MailKind.REMINDER, "remind-3d:2023-03-15", "03-10 09:00", HOST)  # 03-12 is a Sunday: the Friday before
    # 08:30 is before the mail policy's sending hours (09:00–17:30): rows go at 09:00.
    assert rows({}, T0, cos=(), rules=rules) == expand(MailKind.FIX_REQUEST, WINDOW, "01-30 09:00", HOST)
    # Other activity types keep the defaults.
    assert rules.for_type("city_service").remind_days_before == (7, 1)
    assert rules.for_type("district").send_at == time(8, 30)


def test_default_override_applies_to_every_type_and_per_type_overrides_build_on_it() -> None:
    rules = RuleBook.from_overrides({"default": {"send_at": "08:00", "remind_days_before": [5]},
                                     "district": {"remind_days_before": [2]}})
    assert rules.default.send_at == time(8, 0) and rules.default.remind_days_before == (5,)
    assert rules.for_type("city_service").send_at == time(8, 0)  # no entry of its own: the new default
    assert rules.for_type("city_service").remind_days_before == (5,)
    assert rules.for_type("district").send_at == time(8, 0)  # its own entry starts from the new default
    assert rules.for_type("district").remind_days_before == (2,)
    assert rules.for_type("district").nudge_every_days == 7  # untouched fields keep the built-in value
    assert set(rules.by_type) == {"district"}
    plain = RuleBook.from_overrides({})
    assert plain.default.send_at == time(9, 0) and plain.by_type == {}
    got = rows(FIXED, sh(2, 1, 10), cos=(), rules=RuleBook.from_overrides({"default": {"remind_days_before": [3]}}))
    assert {r for k, r, _, _ in got if k == MailKind.REMINDER} == {"remind-3d:2023-03-15"}


def test_unknown_activity_type_or_field_in_rules_is_refused() -> None:
    with pytest.raises(ValueError) as info:
        RuleBook.from_overrides({"festival": {}, "gala": {}})
    assert str(info.value) == ("SCHEDULER_REMINDER_RULES: 未知活动类型 festival、gala"
                               "（可选：city_coordinated、city_service、default、district、quarterly_theme）")
    with pytest.raises(ValueError):
        RuleBook.from_overrides({"district": {"remind_days": [3]}})


def test_opted_out_addresses_get_no_routine_reminders_but_still_notices() -> None:
    got = rows(FIXED, sh(2, 1, 10), opted_out=frozenset({"ha@example.org"}))
    assert ("ha@example.org" in {r for k, _, r, _ in got if k == MailKind.CHANGE_NOTICE})
    assert "ha@example.org" not in {r for k, _, r, _ in got if k == MailKind.REMINDER}


def test_the_planner_is_pure() -> None:
    occ = occurrence(**FIXED)
    before = occ.model_dump()
    first = plan_mail([view([occ], hosts=[RUGAO], cos=[DISTRICTS])], ORGS, CONTACTS, RuleBook(), sh(2, 1, 10),
                      calendar=CAL)
    second = plan_mail([view([occ], hosts=[RUGAO], cos=[DISTRICTS])], ORGS, CONTACTS, RuleBook(), sh(2, 1, 10),
                       calendar=CAL)
    assert first.wanted == second.wanted
    assert occ.model_dump() == before


# --- Working days (chinesecalendar, checked by hand against the State Council's notices) ---

def at(y: int, m: int, d: int, hour: int = 9) -> datetime:
    return datetime(y, m, d, hour, tzinfo=SHANGHAI).astimezone(UTC)


def test_a_nudge_due_in_the_2024_spring_festival_goes_out_on_the_swapped_sunday() -> None:
    # Window 2024-03-06…03-31: request 30 days before, Mon 2-05; nudges weekly from Mon 2-12.
    # 国办发明电〔2023〕7号: 春节 2月10日至17日放假调休，2月18日（星期日）上班 → the 2-12 nudge goes 2-18 09:00.
    occ = occurrence(window_start=date(2024, 3, 6), window_end=date(2024, 3, 31))
    plan = plan_mail([view([occ], hosts=[RUGAO])], ORGS, CONTACTS, RuleBook(), at(2024, 2, 1), calendar=CAL,
                     offices=OFFICES)
    got = {(w.kind, w.rule): (w.due_at, w.expires_at) for w in plan.wanted if w.recipient.email != "office@example.org"}
    assert got[(MailKind.FIX_REQUEST, "request:2024-03-06..2024-03-31")][0] == at(2024, 2, 5)
    assert got[(MailKind.FIX_NUDGE, "nudge:2024-02-12")] == (at(2024, 2, 18), at(2024, 2, 19))
    assert got[(MailKind.FIX_NUDGE, "nudge:2024-02-19")][0] == at(2024, 2, 19)
    # Escalation 7 days before the close: Sun 3-24 (an ordinary weekend) → Mon 3-25; the deadline text stays 3-31.
    escalation = got[(MailKind.FIX_ESCALATION, "escalate:2024-03-06..2024-03-31")]
    assert escalation == (at(2024, 3, 25), at(2024, 4, 1, 0))
    assert {w.context["window_close"] for w in plan.wanted} == {"2024-03-31"}
    assert "provisional" not in plan.wanted[0].context


def test_a_reminder_due_in_national_day_goes_on_the_working_day_before() -> None:
    # Event Mon 2023-10-09. 国办发明电〔2022〕16号: 9月29日至10月6日放假，10月7日、8日上班.
    # 7 days before is 10-02 (off): the previous working day is Thu 9-28; 1 day before is Sun 10-08, a working day.
    fixed = {**FIXED, "start_at": at(2023, 10, 9, 14), "end_at": at(2023, 10, 9, 17), "updated_at": at(2023, 9, 1)}
    got = {(w.rule, w.due_at, w.context["days_before"]) for w in plan_mail(
        [view([occurrence(**fixed)], hosts=[RUGAO])], ORGS, CONTACTS, RuleBook(), at(2023, 9, 1),
        calendar=CAL).wanted if w.kind == MailKind.REMINDER}
    assert got == {("remind-7d:2023-10-09", at(2023, 9, 28), 11), ("remind-1d:2023-10-09", at(2023, 10, 8), 1)}


def test_two_reminders_moved_onto_one_day_go_as_one() -> None:
    # Event Sat 2023-10-07 (a 调休 working day): 9-30 and 10-06 are both off, both move to Thu 9-28.
    fixed = {**FIXED, "start_at": at(2023, 10, 7, 14), "end_at": None, "updated_at": at(2023, 9, 1)}
    got = [(w.rule, w.due_at, w.context["days_before"]) for w in plan_mail(
        [view([occurrence(**fixed)], hosts=[RUGAO])], ORGS, CONTACTS, RuleBook(), at(2023, 9, 1),
        calendar=CAL).wanted if w.kind == MailKind.REMINDER]
    assert got == [("remind-1d:2023-10-07", at(2023, 9, 28), 9)]


def test_a_2027_window_says_provisional_until_the_year_is_confirmed() -> None:
    occ = occurrence(window_start=date(2027, 3, 1), window_end=date(2027, 3, 31))
    line = "2027年节假日安排尚未发布，日期按周末推算，待国务院办公厅通知后复核"
    before = plan_mail([view([occ], hosts=[RUGAO])], ORGS, CONTACTS, RuleBook(), at(2027, 1, 4), calendar=CAL,
                       offices=OFFICES)
    assert before.wanted and all(w.context["provisional"] == [line] for w in before.wanted)
    confirmed = WorkCalendar([Override(date(2027, 2, 6), False, "春节", "test")], confirmed={2027: "test"})
    after = plan_mail([view([occ], hosts=[RUGAO])], ORGS, CONTACTS, RuleBook(), at(2027, 1, 4), calendar=confirmed,
                      offices=OFFICES)
    assert after.wanted and all("provisional" not in w.context for w in after.wanted)
    # The rows are the same rows (same keys): the sync updates them in place.
    assert {w.key for w in before.wanted} == {w.key for w in after.wanted}
