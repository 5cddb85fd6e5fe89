"""A real CalDAV server (Radicale on 127.0.0.1) accepts every event of the main feed; time-range queries work."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import caldav
import httpx
import icalendar
import pytest
import recurring_ical_events
from sqlalchemy.engine import Engine

from scheduler.clock import SHANGHAI
from scheduler.db import session_scope
from scheduler.feeds.cache import FeedCache
from scheduler.plan.occurrences import fix_occurrence, get_occurrence
from tests.support.instants import NOTICE_DATE
from tests.support.servers import free_port


@pytest.fixture
def radicale(tmp_path: Path) -> Iterator[str]:
    """Start Radicale (no auth, filesystem storage in tmp_path) and yield its URL."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "radicale",
            "--server-hosts",
            f"127.0.0.1:{port}",
            "--auth-type",
            "none",
            "--storage-filesystem-folder",
            str(tmp_path / "collections"),
            "--logging-level",
            "warning",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(url + "/.web/", timeout=1)
                break
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"Radicale did not start: {proc.stderr.read() if proc.stderr else ''}") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def split_events(body: bytes) -> list[bytes]:
    """Cut a feed into one calendar object per VEVENT, keeping the served bytes (CalDAV forbids METHOD)."""
    head, _, rest = body.partition(b"BEGIN:VEVENT\r\n")
    head = head.replace(b"METHOD:PUBLISH\r\n", b"")
    blocks = (b"BEGIN:VEVENT\r\n" + rest).split(b"END:VEVENT\r\n")[:-1]
    return [head + block + b"END:VEVENT\r\nEND:VCALENDAR\r\n" for block in blocks]


def test_radicale_accepts_every_event_and_answers_a_time_range_query(seeded_engine: Engine, radicale: str) -> None:
    start = datetime(2023, 5, 18, 9, 30, tzinfo=SHANGHAI)
    with session_scope(seeded_engine, write=True) as session:
        occ = get_occurrence(session=session, key="18-1")
        fix_occurrence(
            session=session, occurrence=occ, start_at=start, end_at=start + timedelta(hours=3), now=NOTICE_DATE
        )
    cache = FeedCache(seeded_engine, base_url="https://kjzs.example.org", recheck_seconds=0)
    body = cache.feed(cache.resolve("all", None, [], private=False), NOTICE_DATE).body
    objects = split_events(body)
    assert len(objects) == 60

    with caldav.DAVClient(url=radicale, username="planner", password="x", timeout=20) as client:
        calendar = client.principal().make_calendar(name="科技招商活动")
        for data in objects:
            calendar.save_event(data.decode("utf-8"))
        stored = calendar.events()
        assert len(stored) == 60
        may_start, may_end = datetime(2023, 5, 1, tzinfo=SHANGHAI), datetime(2023, 6, 1, tzinfo=SHANGHAI)
        found = calendar.search(start=may_start, end=may_end, event=True, expand=False)
        found_uids = {str(icalendar.Calendar.from_ical(r.data).walk("VEVENT")[0]["UID"]) for r in found}

    feed = icalendar.Calendar.from_ical(body)
    expected = {str(e["UID"]) for e in recurring_ical_events.of(feed).between(date(2023, 5, 1), date(2023, 6, 1))}
    assert "nantong-2023-18-1@kjzs-scheduler" in found_uids  # the fixed, TZID=Asia/Shanghai one
    assert "nantong-2023-16-1@kjzs-scheduler" in found_uids  # 二季度 window overlaps May
    assert "nantong-2023-01-1@kjzs-scheduler" not in found_uids
    assert found_uids == expected and len(expected) == 9  # 13, 14-2, 15, 16, 18, 19, 21, 22, 23
