"""Per-板块 report figures on hand-built Facts. Fixtures are asymmetric (a filter inverted gives another answer)
and every day boundary is pinned on both sides; expected counts are worked out by hand in the comments."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from scheduler.reports.facts import Facts, LeadFact, OccFact, ReportTask, SignedProject, TalentFact, Unit
from scheduler.reports.metrics import (
    QUIET_STAGES,
    Span,
    checkin_weeks,
    held_count,
    new_leads,
    open_report_tasks,
    planned_count,
    reports_on_time,
    signed,
    stalled_leads,
    talents,
    unit_occurrences,
    ytd,
)

D = date
UNITS = [Unit("rugao", "如皋"), Unit("haian", "海安")]
MARCH = Span(D(2023, 3, 1), D(2023, 3, 31))


def occ(i: int, *, start: date | None, window_end: date, status: str = "planned", hosts: tuple[str, ...] = ("rugao",),
        organizers: tuple[str, ...] = ()) -> OccFact:
    return OccFact(i, f"E{i}", 1, 1, "板块招商活动", None, f"活动{i}", D(2023, 1, 1), window_end, "month", start,
                   status, hosts, hosts, organizers, False)


def facts(**kw: object) -> Facts:
    return Facts(year=2023, units=UNITS, themes={}, **kw)  # type: ignore[arg-type]


def test_span_is_inclusive_at_both_ends_and_only_holds_dates() -> None:
    assert D(2023, 3, 1) in MARCH and D(2023, 3, 31) in MARCH
    assert D(2023, 2, 28) not in MARCH and D(2023, 4, 1) not in MARCH
    assert "2023-03-05" not in MARCH
    assert ytd(2023, D(2023, 5, 6)) == Span(D(2023, 1, 1), D(2023, 5, 6))


def test_unit_occurrences_are_the_active_ones_credited_as_host_or_organizer() -> None:
    f = facts(occurrences=[
        occ(1, start=None, window_end=D(2023, 3, 31)),
        occ(2, start=None, window_end=D(2023, 3, 31), status="cancelled"),
        occ(3, start=None, window_end=D(2023, 3, 31), hosts=("haian",), organizers=("rugao",)),
        occ(4, start=None, window_end=D(2023, 3, 31), hosts=("haian",)),
    ])
    assert [o.id for o in unit_occurrences(f, "rugao")] == [1, 3]
    assert [o.id for o in unit_occurrences(f, "haian")] == [3, 4]


def test_planned_count_uses_the_day_once_known_else_the_window_end() -> None:
    occs = [
        occ(1, start=D(2023, 3, 1), window_end=D(2023, 6, 30)),     # March by its day
        occ(2, start=None, window_end=D(2023, 3, 31)),              # March by its window
        occ(3, start=D(2023, 4, 1), window_end=D(2023, 3, 31)),     # moved to April
        occ(4, start=D(2022, 3, 15), window_end=D(2022, 3, 31)),    # March of another year
        occ(5, start=None, window_end=D(2023, 12, 31)),             # December
    ]
    assert planned_count(occs, 2023, [3]) == 2
    assert planned_count(occs, 2023, range(3, 5)) == 3
    assert planned_count(occs, 2023, [12]) == 1
    assert planned_count(occs, 2022, [3]) == 1


def test_held_count_counts_held_and_reported_within_the_span_only() -> None:
    occs = [
        occ(1, start=D(2023, 3, 1), window_end=D(2023, 3, 31), status="held"),
        occ(2, start=D(2023, 3, 31), window_end=D(2023, 3, 31), status="reported"),
        occ(3, start=D(2023, 2, 28), window_end=D(2023, 3, 31), status="held"),
        occ(4, start=D(2023, 4, 1), window_end=D(2023, 4, 30), status="held"),
        occ(5, start=D(2023, 3, 15), window_end=D(2023, 3, 31), status="planned"),
        occ(6, start=D(2023, 3, 15), window_end=D(2023, 3, 31), status="cancelled"),
        occ(7, start=D(2023, 5, 5), window_end=D(2023, 5, 31), status="held"),
    ]
    assert held_count(occs, MARCH) == 2  # and 3 held outside March: an inverted span test gives 3
    assert held_count(occs, Span(D(2023, 1, 1), D(2023, 12, 31))) == 5


def test_signed_and_talents_count_each_row_once_per_unit_and_span() -> None:
    projects = [
        SignedProject("甲", "rugao", D(2023, 3, 1), Decimal("1200.50"), "制造业", 1),
        SignedProject("乙", "rugao", D(2023, 3, 31), Decimal("300"), "制造业", 1),
        SignedProject("丙", "rugao", D(2023, 4, 1), Decimal("999"), "制造业", 1),
        SignedProject("丁", "haian", D(2023, 3, 10), Decimal("50"), "服务业", 2),
    ]
    people = [TalentFact("A", "rugao", D(2023, 3, 1)), TalentFact("B", "rugao", D(2023, 3, 31)),
              TalentFact("C", "rugao", D(2023, 2, 28)), TalentFact("A", "haian", D(2023, 3, 2))]
    f = facts(projects=projects, talents=people)
    assert signed(f, "rugao", MARCH) == (2, Decimal("1500.50"))
    assert signed(f, "haian", MARCH) == (1, Decimal("50"))
    assert signed(f, None, MARCH) == (3, Decimal("1550.50"))
    none = signed(f, "rugao", Span(D(2023, 5, 1), D(2023, 5, 31)))
    assert none == (0, Decimal(0)) and isinstance(none[1], Decimal)  # amounts stay Decimal, even when empty
    assert talents(f, "rugao", MARCH) == 2
    assert talents(f, "haian", MARCH) == 1
    assert talents(f, None, MARCH) == 3


def task(i: int, unit: str, opens: date, due: date, done: date | None = None, status: str = "open") -> ReportTask:
    return ReportTask(i, unit, opens, due, status, done)


REPORT_TASKS = [
    task(1, "rugao", D(2023, 3, 1), D(2023, 3, 10)),                       # open, due 10 March
    task(2, "rugao", D(2023, 3, 1), D(2023, 3, 9)),                        # overdue on 10 March
    task(3, "rugao", D(2023, 3, 1), D(2023, 3, 5), done=D(2023, 3, 5)),    # filed on its due day
    task(4, "rugao", D(2023, 3, 1), D(2023, 3, 5), done=D(2023, 3, 6)),    # filed a day late
    task(5, "rugao", D(2023, 3, 1), D(2023, 3, 5), done=D(2023, 3, 11)),   # late, still open on 10 March
    task(6, "rugao", D(2023, 3, 11), D(2023, 3, 20)),                      # not open yet on 10 March
    task(7, "rugao", D(2023, 3, 1), D(2023, 3, 5), status="cancelled"),
    task(8, "haian", D(2023, 3, 1), D(2023, 3, 5)),
]


def test_open_report_tasks_on_the_due_day_is_missing_the_day_after_overdue() -> None:
    f = facts(report_tasks=REPORT_TASKS)
    missing, overdue = open_report_tasks(f, "rugao", D(2023, 3, 10))
    assert [t.occurrence_id for t in missing] == [1]
    assert [t.occurrence_id for t in overdue] == [2, 5]
    missing, overdue = open_report_tasks(f, "rugao", D(2023, 3, 11))  # task 5 done that day; task 6 opens
    assert [t.occurrence_id for t in missing] == [6]
    assert [t.occurrence_id for t in overdue] == [1, 2]
    assert open_report_tasks(f, "haian", D(2023, 3, 5)) == ([REPORT_TASKS[7]], [])


def test_reports_on_time_counts_filed_by_the_due_day_among_those_due_before_as_of() -> None:
    f = facts(report_tasks=REPORT_TASKS)
    # due before 10 March: 2 (9th), 3, 4, 5 (5th); on time: only 3
    assert reports_on_time(f, "rugao", D(2023, 3, 10)) == (1, 4)
    # on 11 March task 1 (due the 10th) counts as due too
    assert reports_on_time(f, "rugao", D(2023, 3, 11)) == (1, 5)
    assert reports_on_time(f, "rugao", D(2023, 3, 5)) == (0, 0)
    assert reports_on_time(f, "haian", D(2023, 3, 6)) == (0, 1)


def lead(i: int, stage: str, created: date, updated: date, unit: str = "rugao") -> LeadFact:
    return LeadFact(i, f"线索{i}", unit, stage, created, updated)


def test_stalled_leads_thirty_days_without_update_and_never_the_quiet_stages() -> None:
    as_of = D(2023, 6, 30)  # the cutoff is 31 May: updated that day or earlier is stalled
    leads = [
        lead(1, "negotiating", D(2023, 1, 10), D(2023, 5, 31)),   # stalled (exactly 30 days)
        lead(2, "negotiating", D(2023, 1, 10), D(2023, 6, 1)),    # 29 days: not stalled
        lead(3, "visiting", D(2023, 1, 10), D(2023, 6, 29)),      # fresh
        lead(4, "paused", D(2023, 1, 10), D(2023, 1, 10)),        # quiet stages never flagged
        lead(5, "stopped", D(2023, 1, 10), D(2023, 1, 10)),
        lead(6, "full", D(2023, 1, 10), D(2023, 1, 10)),
        lead(7, "negotiating", D(2023, 7, 1), D(2023, 3, 1)),     # recorded after as_of (backdated contact)
        lead(8, "visiting", D(2023, 2, 1), D(2023, 2, 1), unit="haian"),
        lead(9, "negotiating", D(2023, 6, 30), D(2023, 5, 1)),    # recorded on as_of itself
    ]
    f = facts(leads=leads)
    assert QUIET_STAGES == ("stopped", "paused", "full")
    assert [x.id for x in stalled_leads(f, "rugao", as_of)] == [1, 9]
    assert [x.id for x in stalled_leads(f, None, as_of)] == [1, 8, 9]
    assert [x.id for x in stalled_leads(f, "haian", D(2023, 3, 2))] == []      # 29 days after 1 Feb
    assert [x.id for x in stalled_leads(f, "haian", D(2023, 3, 3))] == [8]     # 30 days after 1 Feb


def test_new_leads_are_those_first_recorded_within_the_span() -> None:
    f = facts(leads=[
        lead(1, "negotiating", D(2023, 3, 1), D(2023, 3, 1)),
        lead(2, "negotiating", D(2023, 3, 31), D(2023, 4, 2)),
        lead(3, "negotiating", D(2023, 2, 28), D(2023, 3, 5)),
        lead(4, "negotiating", D(2023, 4, 1), D(2023, 4, 1)),
        lead(5, "negotiating", D(2023, 3, 9), D(2023, 3, 9), unit="haian"),
    ])
    assert [x.id for x in new_leads(f, "rugao", MARCH)] == [1, 2]
    assert [x.id for x in new_leads(f, None, MARCH)] == [1, 2, 5]


def test_checkin_weeks_due_after_the_first_working_day_following_sunday() -> None:
    # Weeks from Monday 6 March: the week of 6 March is due Monday 13 March, that of 13 March on Monday 20 March.
    mondays = {D(2023, 3, 13), D(2023, 4, 3)}
    f = facts(checkins={"rugao": mondays, "haian": {D(2023, 3, 6)}}, week_from=D(2023, 3, 6))
    # 20 March: 6 March missed, 13 March logged, 20 March pending → (1 logged, 2 due); April outside the span
    assert checkin_weeks(f, "rugao", MARCH, D(2023, 3, 20)) == (1, 2)
    # 21 March, same weeks: nothing new is due yet (20 March's week is due 27 March)
    assert checkin_weeks(f, "rugao", MARCH, D(2023, 3, 21)) == (1, 2)
    # haian: 6 March logged; 13 March due 20 March — on the 20th still pending, on the 21st missed
    assert checkin_weeks(f, "haian", MARCH, D(2023, 3, 20)) == (1, 1)
    assert checkin_weeks(f, "haian", MARCH, D(2023, 3, 21)) == (1, 2)
    # 13 March (the due day of the first week): pending, so nothing is due for haian's missing weeks
    assert checkin_weeks(f, "haian", MARCH, D(2023, 3, 13)) == (1, 1)
    assert checkin_weeks(f, "haian", MARCH, D(2023, 3, 14)) == (1, 1)
    assert checkin_weeks(f, "nobody", MARCH, D(2023, 3, 14)) == (0, 1)
