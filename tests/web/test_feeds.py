"""Feeds over real HTTP (uvicorn on 127.0.0.1): ETag, 304, HEAD, gzip, 404s, tokens, cache, pages; several plans."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from datetime import datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import Engine

from scheduler.clock import SHANGHAI, FixedClock
from scheduler.config import Settings
from scheduler.db import session_scope
from scheduler.feeds.tokens import create_feed_token, revoke_feed_token
from scheduler.plan.occurrences import cancel_occurrence, get_occurrence
from scheduler.web.app import create_app
from tests.factories.feedplans import DEC_1_2026, import_years, uid_years
from tests.support.feedparse import parse_four_ways
from tests.support.instants import NOTICE_DATE
from tests.support.servers import run_uvicorn

BASE = "https://kjzs.example.org"


@pytest.fixture
def app(seeded_engine: Engine) -> FastAPI:
    settings = Settings(base_url=BASE, feed_recheck_seconds=0)
    return create_app(settings, clock=FixedClock(NOTICE_DATE), engine=seeded_engine)


@pytest.fixture
def client(app: FastAPI) -> Iterator[httpx.Client]:
    # identity by default so validators compare plain bytes; gzip tests ask for it explicitly
    identity = {"accept-encoding": "identity"}
    with run_uvicorn(app, lifespan="off") as url, httpx.Client(base_url=url, timeout=10, headers=identity) as c:
        yield c


def test_feed_headers_etag_304_and_head(client: httpx.Client) -> None:
    r = client.get("/feeds/all.ics", headers={"accept-encoding": "identity"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/calendar; charset=utf-8"
    etag, modified = r.headers["etag"], r.headers["last-modified"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert modified == "Sun, 22 Jan 2023 01:00:00 GMT"
    assert len(parse_four_ways(r.content)["icalendar"]) == 60
    again = client.get("/feeds/all.ics", headers={"accept-encoding": "identity"})
    assert again.content == r.content and again.headers["etag"] == etag
    assert client.get("/feeds/all.ics", headers={"if-none-match": etag}).status_code == 304
    assert client.get("/feeds/all.ics", headers={"if-none-match": f'"other", W/{etag}'}).status_code == 304
    assert client.get("/feeds/all.ics", headers={"if-none-match": '"stale"'}).status_code == 200
    not_modified = client.get("/feeds/all.ics", headers={"if-modified-since": modified})
    assert not_modified.status_code == 304 and not_modified.content == b"" and not_modified.headers["etag"] == etag
    earlier = format_datetime(NOTICE_DATE - timedelta(seconds=1), usegmt=True)
    assert client.get("/feeds/all.ics", headers={"if-modified-since": earlier}).status_code == 200
    # If-None-Match wins over If-Modified-Since
    both = {"if-none-match": '"stale"', "if-modified-since": modified}
    assert client.get("/feeds/all.ics", headers=both).status_code == 200
    head = client.head("/feeds/all.ics", headers={"accept-encoding": "identity"})
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == etag and head.headers["content-length"] == str(len(r.content))
    assert client.post("/feeds/all.ics").status_code == 405


def test_gzip_when_asked(client: httpx.Client) -> None:
    plain = client.get("/feeds/all.ics", headers={"accept-encoding": "identity"})
    raw = client.send(client.build_request("GET", "/feeds/all.ics", headers={"accept-encoding": "gzip"}), stream=True)
    body = b"".join(raw.iter_raw())
    raw.close()
    assert raw.headers["content-encoding"] == "gzip" and raw.headers["vary"] == "Accept-Encoding"
    assert int(raw.headers["content-length"]) < len(plain.content) / 3
    assert raw.headers["etag"] != plain.headers["etag"]
    assert gzip.decompress(body) == plain.content
    refused = client.get("/feeds/all.ics", headers={"accept-encoding": "gzip;q=0"})
    assert "content-encoding" not in refused.headers
    assert client.get("/feeds/all.ics", headers={"if-none-match": raw.headers["etag"]}).status_code == 304


def test_edit_changes_that_feed_etag_and_leaves_untouched_feeds_alone(
    client: httpx.Client, app: FastAPI, seeded_engine: Engine
) -> None:
    all_before = client.get("/feeds/all.ics").headers["etag"]
    haian_before = client.get("/feeds/bankuai/haian.ics").headers["etag"]
    cache = app.state.runtime.__dict__["feed_cache"]
    renders = cache.renders
    for _ in range(5):
        client.get("/feeds/all.ics")
    assert cache.renders == renders  # served from the cache, not rebuilt per request
    with session_scope(seeded_engine, write=True) as session:
        occ = get_occurrence(session=session, key="04-1")
        cancel_occurrence(session=session, occurrence=occ, reason="合作方取消", now=NOTICE_DATE + timedelta(days=1))
    after = client.get("/feeds/all.ics", headers={"if-none-match": all_before})
    assert after.status_code == 200 and after.headers["etag"] != all_before
    assert "【已取消】如皋—江南大学校企对接活动" in after.content.replace(b"\r\n ", b"").decode()
    assert client.get("/feeds/bankuai/haian.ics", headers={"if-none-match": haian_before}).status_code == 304
    assert client.get("/feeds/bankuai/rugao.ics").status_code == 200


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/feeds/org/nobody.ics", "没有单位“nobody”"),
        ("/feeds/type/party.ics", "没有活动类型“party”"),
        ("/feeds/chain/%E8%8A%AF%E7%89%87.ics", "计划中没有产业链“芯片”"),
        ("/feeds/all.ics?windows=yes", "windows 只能是 0"),
        ("/feeds/all.ics?typ=district", "未知的筛选参数“typ”"),
        ("/feeds/org/..%2F..%2Fetc%2Fpasswd.ics", "订阅地址无效"),
        ("/feeds/org/kjj/extra.ics", "没有这个日历订阅"),
        ("/feeds/all.json", "必须以 .ics 结尾"),
    ],
)
def test_bad_feed_names_are_clear_404s(client: httpx.Client, path: str, message: str) -> None:
    r = client.get(path)
    assert r.status_code == 404 and message in r.text
    assert r.headers["content-type"] == "text/plain; charset=utf-8"


def test_private_feed_by_token_and_revocation(client: httpx.Client, seeded_engine: Engine) -> None:
    with session_scope(seeded_engine, write=True) as session:
        row, token = create_feed_token(session=session, label="如皋内部", filters="bankuai=rugao", now=NOTICE_DATE)
        row_id = row.id
    r = client.get(f"/feeds/private/{token}.ics")
    assert r.status_code == 200 and r.headers["cache-control"].startswith("private")
    text = r.content.replace(b"\r\n ", b"").decode()
    assert "定档状态：计划" in text and "（内部）" in text and "如皋市" in text
    assert len(parse_four_ways(r.content)["ical"]) == 10  # 4, 13, 15, 25 ×3, 29, 37, 39, 42
    wrong = client.get(f"/feeds/private/{'A' * 43}.ics")
    malformed = client.get("/feeds/private/short.ics")
    with session_scope(seeded_engine, write=True) as session:
        revoke_feed_token(session=session, token_id=row_id, now=NOTICE_DATE)
    revoked = client.get(f"/feeds/private/{token}.ics")
    assert wrong.status_code == malformed.status_code == revoked.status_code == 404
    assert wrong.text == malformed.text == revoked.text  # nothing tells a revoked token from a wrong one


def test_a_private_tokens_filters_cannot_be_widened_by_the_url(client: httpx.Client, seeded_engine: Engine) -> None:
    with session_scope(seeded_engine, write=True) as session:
        _row, token = create_feed_token(session=session, label="如皋内部", filters="bankuai=rugao", now=NOTICE_DATE)
    own = parse_four_ways(client.get(f"/feeds/private/{token}.ics").content)["ical"]
    haian = parse_four_ways(client.get("/feeds/bankuai/haian.ics").content)["ical"]
    only_haian = {e.uid for e in haian} - {e.uid for e in own}
    assert only_haian, "海安 has events 如皋's token must not show"
    for query in ("bankuai=haian", "org=haian", "quarter=2023Q2", "windows=1&bankuai=haian"):
        widened = parse_four_ways(client.get(f"/feeds/private/{token}.ics?{query}").content)["ical"]
        assert {e.uid for e in widened} == {e.uid for e in own}, query


def test_subscribe_page_lists_feeds_with_https_webcal_qr_and_client_help(client: httpx.Client) -> None:
    r = client.get("/subscribe")
    assert r.status_code == 200
    html = r.text
    for text in (
        f"{BASE}/feeds/all.ics",
        "webcal://kjzs.example.org/feeds/all.ics",
        "<svg",
        "Outlook",
        "Apple",
        "Google",
        "Thunderbird",
        "钉钉",
        "飞书",
        "企业微信",
        "bankuai/haian.ics",
        "type/district.ics",
        "quarter/2.ics",
        "org/kjj.ics",
        "金融惠企“下午茶”",
        "windows=0",
    ):
        assert text in html, text
    assert "http://" not in html.replace("http://www.w3.org", "")  # no third-party assets
    assert "金融惠企“下午茶”</a>（苏锡通园区）" in html and "苏锡通园区，苏锡通园区" not in html  # host = place: once
    assert f'href="{BASE}/feeds/chain/%E6%96%B0%E8%83%BD%E6%BA%90.ics"' in html  # the link keeps the full URL…
    assert ">/feeds/chain/新能源.ics</a>" in html  # …its text is the short decoded path
    qr = client.get("/subscribe/qr.svg", params={"feed": "chain/%E6%96%B0%E8%83%BD%E6%BA%90.ics"})
    assert qr.status_code == 200 and qr.headers["content-type"].startswith("image/svg+xml")
    assert client.get("/subscribe/qr.svg", params={"feed": "org/nobody.ics"}).status_code == 404


def test_event_page_shows_what_the_public_feed_shows(client: httpx.Client) -> None:
    r = client.get("/events/14")
    assert r.status_code == 200
    for text in (
        "高校院所南通重点产业链科技成果对接洽谈会",
        "上海应用技术大学（新材料）",
        "东南大学（船舶海工、生物医药）",
        "武汉理工大学（船舶海工、高端装备）",
        "市科技局",
        "相关高校技术转移中心",
        "市级统筹活动",
    ):
        assert text in r.text
    assert "定档状态" not in r.text
    assert "全年常态化开展" in client.get("/events/47").text
    assert client.get("/events/999").status_code == 404


def test_cancelled_item_leaves_the_feed_when_its_date_has_passed(
    app: FastAPI, client: httpx.Client, seeded_engine: Engine
) -> None:
    with session_scope(seeded_engine, write=True) as session:
        occ = get_occurrence(session=session, key="07-1")
        cancel_occurrence(session=session, occurrence=occ, reason="改期未定", now=NOTICE_DATE)
    assert b"nantong-2023-07-1@" in client.get("/feeds/all.ics").content
    app.state.runtime.clock.set(datetime(2023, 3, 1, 9, tzinfo=SHANGHAI))
    r = client.get("/feeds/all.ics")
    assert b"nantong-2023-07-1@" not in r.content and r.headers["last-modified"] == "Tue, 28 Feb 2023 16:00:00 GMT"


# --- several plans: the 2023 seed re-dated to 2026 and 2027 (and the real 2023 plan), clock at 2026-12-01 ---


@pytest.fixture
def plans_app(engine: Engine) -> FastAPI:
    import_years(engine, 2023, 2026, 2027)
    settings = Settings(base_url=BASE, feed_recheck_seconds=0)
    return create_app(settings, clock=FixedClock(DEC_1_2026), engine=engine)


@pytest.fixture
def plans_client(plans_app: FastAPI) -> Iterator[httpx.Client]:
    identity = {"accept-encoding": "identity"}
    with run_uvicorn(plans_app, lifespan="off") as url, httpx.Client(base_url=url, timeout=10, headers=identity) as c:
        yield c


def years_seen(body: bytes) -> dict[str, dict[int, int]]:
    """Count events per plan year as three independent parsers see them (recurring-ical-events expands 2023 only)."""
    seen = parse_four_ways(body)
    return {lib: uid_years([e.uid for e in seen[lib]]) for lib in ("icalendar", "ical", "vobject")}


def test_all_ics_covers_every_running_plan_and_plan_feeds_their_own(plans_client: httpx.Client) -> None:
    both = plans_client.get("/feeds/all.ics")
    assert both.status_code == 200
    for library, years in years_seen(both.content).items():
        assert years == {2026: 60, 2027: 60}, library  # 2023 is stored but not running
    assert "X-WR-CALNAME:2026—2027年科技招商活动安排表" in both.content.replace(b"\r\n ", b"").decode()
    for year in (2023, 2026, 2027):  # any stored plan has its feed, running or not
        own = plans_client.get(f"/feeds/plan/nantong-{year}.ics")
        assert own.status_code == 200
        for library, years in years_seen(own.content).items():
            assert years == {year: 60}, (year, library)
        by_query = plans_client.get(f"/feeds/all.ics?plan=nantong-{year}")
        assert by_query.headers["etag"] == own.headers["etag"]
    combined = plans_client.get("/feeds/bankuai/rugao.ics?plan=nantong-2027&windows=1")
    for library, years in years_seen(combined.content).items():
        assert years == {2027: 10}, library  # 4, 13, 15, 25 ×3, 29, 37, 39, 42


def test_an_edit_in_one_plan_changes_its_feeds_etags_and_not_the_other_plans(
    plans_client: httpx.Client, engine: Engine
) -> None:
    paths = ("/feeds/all.ics", "/feeds/plan/nantong-2026.ics", "/feeds/plan/nantong-2027.ics")
    etags = {path: plans_client.get(path).headers["etag"] for path in paths}
    for path in paths:
        assert plans_client.get(path, headers={"if-none-match": etags[path]}).status_code == 304
    uid = "nantong-2027-04-1@kjzs-scheduler"
    with session_scope(engine, write=True) as session:
        occ = get_occurrence(session=session, uid=uid)
        cancel_occurrence(session=session, occurrence=occ, reason="合作方取消", now=DEC_1_2026 + timedelta(hours=1))
    for path in ("/feeds/all.ics", "/feeds/plan/nantong-2027.ics"):
        r = plans_client.get(path, headers={"if-none-match": etags[path]})
        assert r.status_code == 200 and r.headers["etag"] != etags[path], path
        event = next(e for e in parse_four_ways(r.content)["icalendar"] if e.uid == uid)
        assert event.summary == "【已取消】如皋—江南大学校企对接活动"
    untouched = plans_client.get("/feeds/plan/nantong-2026.ics", headers={"if-none-match": etags[paths[1]]})
    assert untouched.status_code == 304 and untouched.headers["etag"] == etags[paths[1]]


def test_a_plan_not_running_leaves_all_ics_but_keeps_its_own_feed(
    plans_app: FastAPI, plans_client: httpx.Client
) -> None:
    december = plans_client.get("/feeds/all.ics")
    plans_app.state.runtime.clock.set(datetime(2027, 4, 1, 9, 0, tzinfo=SHANGHAI))  # 2026 ran until 31 March
    april = plans_client.get("/feeds/all.ics", headers={"if-modified-since": december.headers["last-modified"]})
    assert april.status_code == 200 and april.headers["etag"] != december.headers["etag"]
    assert april.headers["last-modified"] == "Wed, 31 Mar 2027 16:00:00 GMT"  # 1 April 00:00 in Shanghai
    for library, years in years_seen(april.content).items():
        assert years == {2027: 60}, library
    for library, years in years_seen(plans_client.get("/feeds/plan/nantong-2026.ics").content).items():
        assert years == {2026: 60}, library


@pytest.mark.parametrize(
    "path", ["/feeds/plan/nantong-2099.ics", "/feeds/all.ics?plan=nantong-2099", "/feeds/type/district.ics?plan=2027"]
)
def test_unknown_plans_are_clear_404s(plans_client: httpx.Client, path: str) -> None:
    r = plans_client.get(path)
    assert r.status_code == 404 and r.headers["content-type"] == "text/plain; charset=utf-8"
    assert "没有计划“" in r.text and "可用：nantong-2023、nantong-2026、nantong-2027" in r.text
    assert "可订阅的日历见 /subscribe" in r.text


def test_subscribe_lists_each_running_plan_and_event_pages_are_plan_aware(plans_client: httpx.Client) -> None:
    html = plans_client.get("/subscribe").text
    for year in (2026, 2027):
        assert f'href="{BASE}/feeds/plan/nantong-{year}.ics"' in html
        assert f"webcal://kjzs.example.org/feeds/plan/nantong-{year}.ics" in html
        assert f'<a href="/events/nantong-{year}/47">金融惠企“下午茶”</a>' in html
    assert "feeds/plan/nantong-2023.ics" not in html  # stored, not running: not offered
    assert "正在进行的年度计划" in html and "2026年科技招商活动安排表" in html and "2027年科技招商活动安排表" in html
    assert "webcal://kjzs.example.org/feeds/all.ics" in html
    qr = plans_client.get("/subscribe/qr.svg", params={"feed": "plan/nantong-2027.ics"})
    assert qr.status_code == 200 and qr.headers["content-type"].startswith("image/svg+xml")
    for year in (2023, 2026, 2027):
        page = plans_client.get(f"/events/nantong-{year}/14")
        assert page.status_code == 200 and f"{year}年科技招商活动安排表 · 第14项" in page.text
        assert f"【时间待定·{year}年4月】" in page.text
    current = plans_client.get("/events/14")  # old links: the current plan (this year's, 2026)
    assert current.status_code == 200 and "【时间待定·2026年4月】" in current.text
    assert "没有计划“nantong-2099”" in plans_client.get("/events/nantong-2099/14").text
    assert plans_client.get("/events/nantong-2099/14").status_code == 404
    assert plans_client.get("/events/nantong-2027/999").status_code == 404


def test_with_no_plan_running_the_page_says_so_and_offers_the_current_plans_feed(
    app: FastAPI, client: httpx.Client
) -> None:
    app.state.runtime.clock.set(DEC_1_2026)  # only the 2023 plan is stored; it ran until March 2024
    html = client.get("/subscribe").text
    assert "目前没有正在进行的年度计划" in html and f'href="{BASE}/feeds/plan/nantong-2023.ics"' in html
    assert "订阅地址（0 项）" in html
    assert len(parse_four_ways(client.get("/feeds/all.ics").content)["icalendar"]) == 0
    assert len(parse_four_ways(client.get("/feeds/plan/nantong-2023.ics").content)["icalendar"]) == 60
    assert "【时间待定·2023年4月】" in client.get("/events/14").text  # the newest plan is the current one
