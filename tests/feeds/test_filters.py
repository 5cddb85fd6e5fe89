"""Feed names and filters: group expansion, combinations, canonical specs, clear errors, path tricks."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from scheduler.clock import local_date
from scheduler.feeds.cache import FeedCache
from scheduler.feeds.filters import FeedNotFound, event_matcher, split_feed_path
from tests.support.instants import NOTICE_DATE

BASE = "https://kjzs.example.org"


@pytest.fixture
def cache(seeded_engine: Engine) -> FeedCache:
    return FeedCache(seeded_engine, base_url=BASE, recheck_seconds=0)


def seqs(cache: FeedCache, kind: str, value: str | None, query: list[tuple[str, str]] | None = None) -> list[int]:
    snap = cache.current()
    keeps = event_matcher(cache.resolve(kind, value, query or [], private=False), snap, today=local_date(NOTICE_DATE))
    return sorted(ev.seq for ev in snap.events.values() if keeps[ev.id])


def test_a_bankuai_counts_its_own_events_its_sub_units_and_the_groups_it_belongs_to(cache: FeedCache) -> None:
    assert seqs(cache, "bankuai", "haian") == [
        13,
        15,
        18,
        25,
        37,
        39,
        41,
    ]  # 13/15/25/39 via 各县（市、区）, 37 via 各板块
    assert 9 in seqs(cache, "bankuai", "haimen")  # hosted with 海门区科技局, a sub-unit of 海门区
    assert seqs(cache, "org", "kfq") == [10, 37]  # a park is not in 各县（市、区）
    assert seqs(cache, "org", "all-districts") == [13, 15, 25, 39]  # a group is only itself
    assert seqs(cache, "org", "海安市") == seqs(cache, "bankuai", "haian")  # short names work too


def test_type_quarter_theme_chain_and_combinations(cache: FeedCache) -> None:
    assert seqs(cache, "type", "quarterly_theme") == [1, 13, 25, 37]
    assert seqs(cache, "type", "季度主题活动") == [1, 13, 25, 37]
    assert seqs(cache, "quarter", "科创项目") == seqs(cache, "quarter", "2") == list(range(13, 25))
    assert seqs(cache, "chain", "新能源") == [5, 26]
    assert seqs(cache, "all", None, [("type", "district"), ("quarter", "4"), ("bankuai", "rudong,qidong")]) == [43, 44]
    assert seqs(cache, "chain", "生物医药", [("chain", "新能源")]) == [2, 4, 5, 14, 26, 39]


def test_equivalent_names_resolve_to_one_canonical_spec(cache: FeedCache) -> None:
    a = cache.resolve("org", "kjj", [("windows", "0")], private=False)
    b = cache.resolve("all", None, [("org", "市科技局"), ("windows", "0")], private=False)
    assert a == b and a.query == "org=kjj&windows=0"


@pytest.mark.parametrize(
    ("kind", "value", "query", "message"),
    [
        ("org", "nobody", [], "没有单位“nobody”"),
        ("bankuai", "kjj", [], "“市科技局”不是板块"),
        ("type", "party", [], "没有活动类型“party”"),
        ("quarter", "5", [], "没有季度“5”"),
        ("chain", "芯片", [], "计划中没有产业链“芯片”"),
        ("all", None, [("windows", "2")], "windows 只能是 0"),
        ("all", None, [("typ", "district")], "未知的筛选参数“typ”"),
        ("all", None, [("org", "")], "筛选参数 org 的值为空"),
    ],
)
def test_unknown_filter_values_are_not_an_empty_calendar(
    cache: FeedCache, kind: str, value: str | None, query: list[tuple[str, str]], message: str
) -> None:
    with pytest.raises(FeedNotFound, match=message):
        cache.resolve(kind, value, query, private=False)


@pytest.mark.parametrize(
    "path",
    [
        "../all.ics",
        "org/../all.ics",
        "org/kjj/x.ics",
        "org//kjj.ics",
        "/etc/passwd",
        "org/kjj",
        "all.ics\x00",
        "org\\kjj.ics",
        ".hidden.ics",
        "nope/kjj.ics",
        "all",
        "org/.ics",
        "x" * 300 + ".ics",
    ],
)
def test_path_tricks_are_refused(path: str) -> None:
    with pytest.raises(FeedNotFound):
        split_feed_path(path)


def test_plain_names_split() -> None:
    assert split_feed_path("all.ics") == ("all", None)
    assert split_feed_path("chain/新能源.ics") == ("chain", "新能源")
    assert split_feed_path("org/kjj", require_suffix=False) == ("org", "kjj")
