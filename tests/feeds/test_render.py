"""Feed bytes: parsed by four libraries, counts in 2023, VEVENT shapes, edits, determinism, golden bytes."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import icalendar
import pytest
from sqlalchemy.engine import Engine

from scheduler.clock import SHANGHAI, local_date
from scheduler.db import session_scope
from scheduler.feeds.cache import FeedCache
from scheduler.feeds.render import Party, occurrence_calendar
from scheduler.plan.occurrences import cancel_occurrence, fix_occurrence, get_occurrence, move_occurrence
from scheduler.web.subscribe import feed_groups
from tests.support.feedparse import months, parse_four_ways
from tests.support.instants import NOTICE_DATE

BASE = "https://kjzs.example.org"
GOLDEN = Path(__file__).parent.parent / "golden"
LIBRARIES = ("icalendar", "ical", "vobject", "recurring-ical-events")


def feed(engine: Engine, name: str = "all", query: list[tuple[str, str]] | None = None, *, now=NOTICE_DATE):
    """Render one public feed through a fresh cache (what HTTP and the CLI do)."""
    cache = FeedCache(engine, base_url=BASE, recheck_seconds=0)
    kind, _, value = name.partition("/")
    return cache.feed(cache.resolve(kind, value or None, query or [], private=False), now)


def vevents(body: bytes) -> dict[str, bytes]:
    """Split feed bytes into VEVENT blocks by UID."""
    blocks = body.split(b"BEGIN:VEVENT\r\n")[1:]
    out = {}
    for block in blocks:
        block = block.split(b"END:VEVENT\r\n")[0]
        uid = block.split(b"UID:", 1)[1].split(b"\r\n", 1)[0].decode()
        out[uid] = block
    return out


def unfold(body: bytes) -> str:
    """Undo line folding (to search the text)."""
    return body.replace(b"\r\n ", b"").decode()


def edit(engine: Engine, key: str, action, **kwargs) -> None:
    with session_scope(engine, write=True) as session:
        occ = get_occurrence(session=session, key=key)
        action(session=session, occurrence=occ, **kwargs)


def test_every_library_reads_the_main_feed_with_the_2023_counts(seeded_engine: Engine) -> None:
    body = feed(seeded_engine).body
    for library, events in parse_four_ways(body).items():
        assert len(events) == 60, library  # 61 sessions; the whole-year 金融惠企“下午茶” is not a banner
        assert len({e.uid for e in events}) == 60, library
        series = [e for e in events if "江海创投行" in e.summary]
        assert months(series) == [2, 4, 6, 8, 10, 12], library  # one bimonthly series: six, not 4 × 6
        row14 = [e for e in events if e.url.endswith("/events/nantong-2023/14")]
        assert months(row14) == [4, 5, 6], library
        assert not [e for e in events if "下午茶" in e.summary], library
        row32 = sorted(e.summary for e in events if e.url.endswith("/events/nantong-2023/32"))
        assert row32 == ["【时间待定·2023年7-9月】深圳科创产业推介会", "【时间待定·2023年9月】西安科创产业招商周"]


def test_every_listed_feed_parses_four_ways_with_the_listed_count(seeded_engine: Engine) -> None:
    cache = FeedCache(seeded_engine, base_url=BASE, recheck_seconds=0)
    groups = feed_groups(cache.current(), BASE, today=local_date(NOTICE_DATE))
    paths = [link for _, links in groups for link in links]
    assert len(paths) >= 30
    for link in paths:
        name, _, query = link.path.removesuffix(".ics").partition("?")
        from urllib.parse import parse_qsl, unquote

        body = feed(seeded_engine, unquote(name.removesuffix(".ics")), parse_qsl(query)).body
        for library, events in parse_four_ways(body).items():
            assert len(events) == link.count, (link.path, library)
        for line in body.split(b"\r\n")[:-1]:
            assert len(line) <= 75 and b"\n" not in line
            line.decode("utf-8")


def test_windows_are_tentative_transparent_all_day_items_with_a_visible_prefix(seeded_engine: Engine) -> None:
    cal = icalendar.Calendar.from_ical(feed(seeded_engine).body)
    event = next(e for e in cal.walk("VEVENT") if str(e["UID"]) == "nantong-2023-01-1@kjzs-scheduler")
    assert event.decoded("DTSTART") == date(2023, 2, 1)
    assert event.decoded("DTEND") == date(2023, 4, 1)  # exclusive: the window ends 3月31日
    assert str(event["STATUS"]) == "TENTATIVE" and str(event["TRANSP"]) == "TRANSPARENT"
    assert str(event["X-MICROSOFT-CDO-BUSYSTATUS"]) == "FREE"
    assert str(event["SUMMARY"]).startswith("【时间待定·2023年2-3月】")
    assert "时间待定" in event["CATEGORIES"].cats and "季度主题活动" in event["CATEGORIES"].cats
    desc = str(event["DESCRIPTION"])
    for part in (
        "主办单位：市科技局",
        "承办（配合）单位：东部中心",
        "活动类型：季度主题活动（主题：科技成果）",
        "2023 年东部中心与南通重点产业链科技成果对接活动",
        f"详情：{BASE}/events/nantong-2023/1",
    ):
        assert part in desc
    assert str(cal["X-WR-CALNAME"]) == str(cal["NAME"]) == "2023年科技招商活动安排表"
    assert str(cal["REFRESH-INTERVAL"].to_ical().decode()) == "PT6H" and str(cal["X-PUBLISHED-TTL"]) == "PT6H"


def test_fixing_a_date_changes_exactly_that_vevent_with_same_uid_and_sequence_plus_one(seeded_engine: Engine) -> None:
    before = feed(seeded_engine)
    untouched = feed(seeded_engine, "bankuai/haian")
    start = datetime(2023, 3, 15, 9, 30, tzinfo=SHANGHAI)
    later = NOTICE_DATE + timedelta(days=3)
    edit(seeded_engine, "01-1", fix_occurrence, start_at=start, end_at=start + timedelta(hours=3), now=later)
    after = feed(seeded_engine, now=later)
    old, new = vevents(before.body), vevents(after.body)
    uid = "nantong-2023-01-1@kjzs-scheduler"
    assert old.keys() == new.keys()
    assert [u for u in old if old[u] != new[u]] == [uid]
    assert b"SEQUENCE:0\r\n" in old[uid] and b"SEQUENCE:1\r\n" in new[uid]
    assert b"DTSTART;TZID=Asia/Shanghai:20230315T093000\r\n" in new[uid]
    assert b"DTEND;TZID=Asia/Shanghai:20230315T123000\r\n" in new[uid]
    assert b"LAST-MODIFIED:20230125T010000Z\r\n" in new[uid] and b"DTSTAMP:20230125T010000Z\r\n" in new[uid]
    assert b"STATUS:CONFIRMED\r\nTRANSP:OPAQUE" in new[uid] and "【时间待定" not in new[uid].decode()
    assert after.etag != before.etag and after.last_modified == later
    assert feed(seeded_engine, "bankuai/haian", now=later).etag == untouched.etag
    event = next(e for e in icalendar.Calendar.from_ical(after.body).walk("VEVENT") if str(e["UID"]) == uid)
    assert event.decoded("DTSTART") == start and event.decoded("DTSTART").utcoffset() == timedelta(hours=8)


def test_moving_and_cancelling_bump_sequence_and_cancelled_stays_until_its_date(seeded_engine: Engine) -> None:
    t1, t2 = NOTICE_DATE + timedelta(days=1), NOTICE_DATE + timedelta(days=2)
    edit(
        seeded_engine,
        "04-1",
        move_occurrence,
        window_start=date(2023, 5, 1),
        window_end=date(2023, 5, 31),
        reason="高校档期调整",
        now=t1,
    )
    moved = vevents(feed(seeded_engine, now=t1).body)["nantong-2023-04-1@kjzs-scheduler"].decode()
    assert "SEQUENCE:1\r\n" in moved and "DTSTART;VALUE=DATE:20230501" in moved and "【时间待定·2023年5月】" in moved
    assert "高校档期调整" not in unfold(feed(seeded_engine, now=t1).body)  # internal reasons stay out of public feeds
    edit(seeded_engine, "04-1", cancel_occurrence, reason="合作方取消", now=t2)
    body = feed(seeded_engine, now=t2).body
    cancelled = vevents(body)["nantong-2023-04-1@kjzs-scheduler"].decode()
    assert "SEQUENCE:2\r\n" in cancelled and "STATUS:CANCELLED" in cancelled
    assert "SUMMARY:【已取消】如皋—江南大学校企对接活动" in cancelled
    for library, events in parse_four_ways(body).items():
        assert len(events) == 60, library
    on_last_day = datetime(2023, 5, 31, 23, 0, tzinfo=SHANGHAI)
    assert "nantong-2023-04-1@kjzs-scheduler" in vevents(feed(seeded_engine, now=on_last_day).body)
    gone = feed(seeded_engine, now=on_last_day + timedelta(hours=2))
    assert "nantong-2023-04-1@kjzs-scheduler" not in vevents(gone.body) and gone.event_count == 59
    assert gone.last_modified == datetime(2023, 6, 1, tzinfo=SHANGHAI)  # the feed changed when it left


def test_windows_0_keeps_only_fixed_items_and_a_fixed_year_round_item_appears(seeded_engine: Engine) -> None:
    assert feed(seeded_engine, "all", [("windows", "0")]).event_count == 0
    start = datetime(2023, 6, 8, 14, 0, tzinfo=SHANGHAI)
    edit(seeded_engine, "47-1", fix_occurrence, start_at=start, end_at=start + timedelta(hours=2), now=NOTICE_DATE)
    only_fixed = feed(seeded_engine, "all", [("windows", "0")])
    assert only_fixed.event_count == 1 and "下午茶" in unfold(only_fixed.body)
    assert feed(seeded_engine).event_count == 61


def test_same_data_gives_identical_bytes_and_private_feeds_carry_internal_fields(seeded_engine: Engine) -> None:
    assert feed(seeded_engine).body == feed(seeded_engine).body
    cache = FeedCache(seeded_engine, base_url=BASE, recheck_seconds=0)
    private = cache.feed(cache.resolve("private", None, [], private=True), NOTICE_DATE).body
    private_text, public = unfold(private), unfold(feed(seeded_engine).body)
    assert "定档状态：计划（计划原文：2023 年 2-3 月）" in private_text and "定档状态" not in public
    private = private_text
    assert "CLASS:PRIVATE" in private and "（内部）" in private and "CLASS:PUBLIC" in public


def test_one_occurrence_as_its_own_calendar_for_mail_attachments(seeded_engine: Engine) -> None:
    uid = "nantong-2023-14-2@kjzs-scheduler"
    with session_scope(seeded_engine) as session:
        data = occurrence_calendar(session=session, uid=uid, base_url=BASE, method="REQUEST",
                                   organizer=Party(email="a@b.cn"))
        with pytest.raises(LookupError):
            occurrence_calendar(session=session, uid="nope", base_url=BASE)
    cal = icalendar.Calendar.from_ical(data)
    assert str(cal["METHOD"]) == "REQUEST" and len(cal.walk("VEVENT")) == 1
    assert str(cal.walk("VEVENT")[0]["ORGANIZER"]) == "mailto:a@b.cn"
    in_feed = vevents(feed(seeded_engine).body)[uid]
    assert vevents(data)[uid].replace(b"ORGANIZER:mailto:a@b.cn\r\n", b"") == in_feed


def test_golden_bytes_of_the_rugao_feed_after_a_fix_and_a_cancellation(seeded_engine: Engine) -> None:
    start = datetime(2023, 10, 18, 9, 0, tzinfo=SHANGHAI)
    edit(
        seeded_engine,
        "42-1",
        fix_occurrence,
        start_at=start,
        end_at=start + timedelta(hours=4),
        location="如皋市人才科创中心,3楼;报告厅",
        now=datetime(2023, 2, 1, 2, 0, tzinfo=UTC),
    )
    edit(
        seeded_engine,
        "29-1",
        cancel_occurrence,
        reason="并入三季度省级活动",
        now=datetime(2023, 2, 2, 3, 0, tzinfo=UTC),
    )
    body = feed(seeded_engine, "bankuai/rugao", now=datetime(2023, 2, 3, tzinfo=UTC)).body
    golden = GOLDEN / "bankuai-rugao.ics"
    if os.environ.get("UPDATE_GOLDEN") == "1":  # regenerate deliberately, review the diff, commit
        golden.write_bytes(body)
    assert body == golden.read_bytes(), "feed bytes changed: review, then rerun with UPDATE_GOLDEN=1"


def test_incremental_refresh_gives_the_same_bytes_as_a_full_read(seeded_engine: Engine) -> None:
    cache = FeedCache(seeded_engine, base_url=BASE, recheck_seconds=0)
    spec = cache.resolve("all", None, [], private=False)
    cache.feed(spec, NOTICE_DATE)
    first = cache.snapshot
    start = datetime(2023, 3, 2, 14, 0, tzinfo=SHANGHAI)
    edit(seeded_engine, "05-1", fix_occurrence, start_at=start, end_at=None, now=NOTICE_DATE)  # same instant as import
    incremental = cache.feed(spec, NOTICE_DATE)
    assert cache.snapshot is not first and cache.snapshot.events is first.events  # only occurrences were re-read
    assert incremental.body == feed(seeded_engine).body
    assert b"DTSTART;TZID=Asia/Shanghai:20230302T140000" in incremental.body
    with session_scope(seeded_engine, write=True) as session:  # an event edit: the whole plan is read again
        from sqlmodel import select

        from scheduler.plan.models import Event

        event = session.exec(select(Event).where(Event.seq == 5)).one()
        event.content, event.updated_at = "新的活动内容", NOTICE_DATE + timedelta(hours=1)
    again = cache.feed(spec, NOTICE_DATE)
    assert cache.snapshot.events is not first.events and "新的活动内容" in unfold(again.body)
    assert again.body == feed(seeded_engine).body
