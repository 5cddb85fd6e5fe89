"""Feeds over several plans (the 2023 seed re-dated to 2026 and 2027): which plans all.ics holds on which day,
per-plan feeds, headers, Last-Modified when a plan joins or leaves, incremental refresh across plans.

Expected run spans are hand-computed from the rule "1 October of the year before to 31 March after the year",
in calendar dates (leap years alike): 2026 runs 2025-10-01…2027-03-31, 2027 runs 2026-10-01…2028-03-31.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import icalendar
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from scheduler.clock import SHANGHAI
from scheduler.db import session_scope
from scheduler.feeds.cache import FeedCache, FeedCalendars
from scheduler.feeds.filters import FeedNotFound, FeedSpec
from scheduler.feeds.render import NO_RUNNING_PLAN, plans_title
from scheduler.feeds.snapshot import PlanRec
from scheduler.plan.catalog import list_plans, plan_runs_on
from scheduler.plan.occurrences import fix_occurrence, get_occurrence
from tests.factories.feedplans import DEC_1_2026, FEED_EVENTS_PER_PLAN, import_year, import_years, uid_years
from tests.feeds.test_render import vevents

BASE = "https://kjzs.example.org"
SPANS = {2026: (date(2025, 10, 1), date(2027, 3, 31)), 2027: (date(2026, 10, 1), date(2028, 3, 31))}


@pytest.fixture
def two_plans(engine: Engine) -> Engine:
    return import_years(engine, 2026, 2027)


def resolve(cache: FeedCache, name: str, query: list[tuple[str, str]] | None = None) -> FeedSpec:
    kind, _, value = name.partition("/")
    return cache.resolve(kind, value or None, query or [], private=False)


def render(engine: Engine, name: str = "all", query: list[tuple[str, str]] | None = None, *, now: datetime):
    """Render one public feed through a fresh cache (what HTTP and the CLI do)."""
    cache = FeedCache(engine, base_url=BASE, recheck_seconds=0)
    return cache.feed(resolve(cache, name, query), now)


def at(day: date) -> datetime:
    return datetime.combine(day, time(9), tzinfo=SHANGHAI)


def header(body: bytes, name: str) -> str:
    return str(icalendar.Calendar.from_ical(body)[name])


def test_run_spans_agree_with_the_catalog_and_the_hand_computed_days(two_plans: Engine) -> None:
    snap = FeedCache(two_plans, base_url=BASE).current()
    with session_scope(two_plans) as session:
        stored = {p.key: p for p in list_plans(session=session)}
    for plan in snap.plans.values():
        first, last = SPANS[plan.year]
        assert plan.run_span == (first, last)
        for day in (first - timedelta(days=1), first, last, last + timedelta(days=1)):
            expected = first <= day <= last
            assert plan.runs_on(day) is expected and plan_runs_on(stored[plan.key], day) is expected, (plan.key, day)


def test_on_1_december_2026_all_ics_holds_both_years_and_per_plan_feeds_their_own(two_plans: Engine) -> None:
    both = render(two_plans, now=DEC_1_2026)
    assert uid_years(list(vevents(both.body))) == {2026: 60, 2027: 60} and both.event_count == 2 * FEED_EVENTS_PER_PLAN
    assert header(both.body, "X-WR-CALNAME") == "2026—2027年科技招商活动安排表"
    assert header(both.body, "X-WR-CALDESC").startswith("2026—2027年科技招商活动安排表。")
    uids = list(vevents(both.body))  # December 2026 comes before 2027: oldest plan first
    assert uids.index("nantong-2026-46-1@kjzs-scheduler") < uids.index("nantong-2027-01-1@kjzs-scheduler")
    for year in (2026, 2027):
        own = render(two_plans, f"plan/nantong-{year}", now=DEC_1_2026)
        assert uid_years(list(vevents(own.body))) == {year: 60}
        assert header(own.body, "X-WR-CALNAME") == f"{year}年科技招商活动安排表"
        assert f"URL:{BASE}/events/nantong-{year}/14".encode() in own.body
        by_query = render(two_plans, "all", [("plan", f"nantong-{year}")], now=DEC_1_2026)
        assert by_query.body == own.body  # one canonical spec: same bytes, same ETag
    rugao_2027 = render(two_plans, "bankuai/rugao", [("plan", "nantong-2027")], now=DEC_1_2026)
    rugao_both = render(two_plans, "bankuai/rugao", now=DEC_1_2026)
    assert uid_years(list(vevents(rugao_2027.body))) == {2027: 10}  # 4, 13, 15, 25 ×3, 29, 37, 39, 42
    assert uid_years(list(vevents(rugao_both.body))) == {2026: 10, 2027: 10}
    assert header(rugao_2027.body, "X-WR-CALNAME") == "2027年科技招商活动安排表·如皋市"
    assert header(rugao_both.body, "X-WR-CALNAME") == "2026—2027年科技招商活动安排表·如皋市"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(day=st.dates(min_value=date(2025, 6, 1), max_value=date(2028, 6, 30)))
def test_all_ics_holds_exactly_the_plans_running_that_day(two_plans: Engine, day: date) -> None:
    expected = {year: 60 for year, (first, last) in SPANS.items() if first <= day <= last}
    feed = render(two_plans, now=at(day))
    assert uid_years(list(vevents(feed.body))) == expected
    for year in SPANS:  # a per-plan feed does not depend on the day
        assert uid_years(list(vevents(render(two_plans, f"plan/nantong-{year}", now=at(day)).body))) == {year: 60}


def test_a_plan_that_stops_running_leaves_all_ics_and_last_modified_says_when(two_plans: Engine) -> None:
    last_day, next_day = at(date(2027, 3, 31)), at(date(2027, 4, 1))
    before = render(two_plans, now=last_day)
    after = render(two_plans, now=next_day)
    assert uid_years(list(vevents(after.body))) == {2027: 60}
    assert after.etag != before.etag and header(after.body, "X-WR-CALNAME") == "2027年科技招商活动安排表"
    assert after.last_modified == datetime(2027, 4, 1, tzinfo=SHANGHAI)  # the day 2026 left, not its last edit
    kept = render(two_plans, "plan/nantong-2026", now=next_day)
    assert uid_years(list(vevents(kept.body))) == {2026: 60}
    assert kept.body == render(two_plans, "plan/nantong-2026", now=last_day).body


def test_a_plan_imported_early_joins_all_ics_on_1_october_and_last_modified_says_so(engine: Engine) -> None:
    import_years(engine, 2026)
    import_year(engine, 2027, now=datetime(2026, 9, 15, 9, 0, tzinfo=SHANGHAI))
    before = render(engine, now=at(date(2026, 9, 30)))
    joined = render(engine, now=at(date(2026, 10, 1)))
    assert uid_years(list(vevents(before.body))) == {2026: 60}
    assert uid_years(list(vevents(joined.body))) == {2026: 60, 2027: 60}
    # not 2026-09-15: a client that fetched on 30 September must not get a 304 for the grown feed
    assert joined.last_modified == datetime(2026, 10, 1, tzinfo=SHANGHAI)


def test_nothing_running_gives_an_empty_calendar_that_says_so(engine: Engine) -> None:
    import_years(engine, 2026)
    empty = render(engine, now=at(date(2027, 4, 1)))
    assert empty.event_count == 0 and b"BEGIN:VEVENT" not in empty.body
    assert header(empty.body, "X-WR-CALNAME") == NO_RUNNING_PLAN
    assert render(engine, "plan/nantong-2026", now=at(date(2027, 4, 1))).event_count == 60


def test_plan_filter_refuses_unknown_plans_in_path_and_query(two_plans: Engine) -> None:
    cache = FeedCache(two_plans, base_url=BASE, recheck_seconds=0)
    for kind, value, query in (("plan", "nantong-2099", []), ("all", None, [("plan", "nantong-2026,2099")])):
        with pytest.raises(FeedNotFound) as caught:
            cache.resolve(kind, value, query, private=False)
        assert "没有计划“" in caught.value.message and "可用：nantong-2026、nantong-2027" in caught.value.message
    assert cache.resolve("all", None, [("plan", "nantong-2027,nantong-2026")], private=False).query == (
        "plan=nantong-2026,nantong-2027"
    )


def test_an_edit_in_one_plan_changes_one_vevent_and_only_that_plans_feeds(two_plans: Engine) -> None:
    cache = FeedCache(two_plans, base_url=BASE, recheck_seconds=0)
    names = ("all", "plan/nantong-2026", "plan/nantong-2027")
    specs = {name: resolve(cache, name) for name in names}
    before = {name: cache.feed(spec, DEC_1_2026) for name, spec in specs.items()}
    first = cache.snapshot
    uid = "nantong-2027-14-2@kjzs-scheduler"
    start = datetime(2027, 5, 20, 14, 0, tzinfo=SHANGHAI)
    with session_scope(two_plans, write=True) as session:
        occ = get_occurrence(session=session, uid=uid)
        fix_occurrence(session=session, occurrence=occ, start_at=start, end_at=None, now=DEC_1_2026)
    after = {name: cache.feed(spec, DEC_1_2026) for name, spec in specs.items()}
    assert cache.snapshot is not first and cache.snapshot.events is first.events  # the incremental path
    assert after["plan/nantong-2026"].body == before["plan/nantong-2026"].body
    for name in ("all", "plan/nantong-2027"):
        old, new = vevents(before[name].body), vevents(after[name].body)
        assert [u for u in old if old[u] != new[u]] == [uid], name
        assert b"SEQUENCE:0\r\n" in old[uid] and b"SEQUENCE:1\r\n" in new[uid]
        assert after[name].etag != before[name].etag
        assert after[name].body == render(two_plans, name, now=DEC_1_2026).body  # same bytes as a full read


def test_mail_attachments_find_occurrences_of_any_plan(two_plans: Engine) -> None:
    calendars = FeedCalendars(two_plans, base_url=BASE)
    for uid in ("nantong-2026-14-2@kjzs-scheduler", "nantong-2027-14-2@kjzs-scheduler"):
        data = calendars(uid)
        assert list(vevents(data)) == [uid]
        assert vevents(data)[uid] == vevents(render(two_plans, now=DEC_1_2026).body)[uid]
    assert header(calendars("nantong-2026-14-2@kjzs-scheduler"), "X-WR-CALDESC").startswith("2026年科技招商活动安排表")


def rec(year: int, title: str | None = None) -> PlanRec:
    when = datetime(year, 1, 1, tzinfo=SHANGHAI)
    return PlanRec(year, f"nantong-{year}", year, title or f"{year}年科技招商活动安排表", when.date(), when, {})


@pytest.mark.parametrize(
    ("plans", "title"),
    [
        ([], NO_RUNNING_PLAN),
        ([rec(2027)], "2027年科技招商活动安排表"),
        ([rec(2026), rec(2027)], "2026—2027年科技招商活动安排表"),
        ([rec(2023), rec(2027)], "2023、2027年科技招商活动安排表"),
        ([rec(2026), rec(2027, "2027年南通市科技招商计划")], "2026年科技招商活动安排表、2027年南通市科技招商计划"),
        ([rec(2027), rec(2027, "2027年科技招商活动安排表")], "2027年科技招商活动安排表"),
    ],
)
def test_the_calendar_name_names_the_plans(plans: list[PlanRec], title: str) -> None:
    assert plans_title(plans) == title
