"""The plan page and /healthz over real HTTP (uvicorn on 127.0.0.1), the HTML read by the stdlib parser."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from scheduler.clock import FixedClock
from scheduler.config import Settings
from scheduler.db import session_scope
from scheduler.plan.models import EVENT_TYPE_LABELS, Precision
from scheduler.plan.seed import PlanFile
from scheduler.plan.windows import Window, parse_window
from scheduler.web.app import create_app
from scheduler.workdays import confirm_year, set_override
from tests.factories.plans import import_year
from tests.support.servers import run_uvicorn

NOW = datetime(2023, 1, 22, 1, 0, tzinfo=UTC)
QUARTERS = ["第一季度", "第二季度", "第三季度", "第四季度"]
HEALTH_TOKEN = "health-token-for-tests-0123456789"
HEALTH_AUTH = {"Authorization": f"Bearer {HEALTH_TOKEN}"}


class PlanPage(HTMLParser):
    """Collect the quarter headings and, per table row, the cells' text and each session's text."""

    def __init__(self) -> None:
        super().__init__()
        self.headings: list[str] = []
        self.rows: list[dict[str, Any]] = []
        self._in: str | None = None
        self._row: dict[str, Any] | None = None
        self._cell: list[str] | None = None
        self._session: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "h2":
            self._in, self._text = "h2", []
        elif tag == "tr" and a.get("data-seq"):
            self._row = {"seq": int(a["data-seq"] or 0), "quarter": self.headings[-1], "cells": [], "sessions": []}
            self.rows.append(self._row)
        elif tag == "td" and self._row is not None:
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")
        elif tag == "li" and a.get("data-session") and self._row is not None:
            self._session = []
            self._row["sessions"].append((a["data-session"], self._session))

    def handle_endtag(self, tag: str) -> None:
        if tag == "h2" and self._in == "h2":
            self.headings.append("".join(self._text).strip())
            self._in = None
        elif tag == "td" and self._cell is not None and self._row is not None:
            self._row["cells"].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "li":
            self._session = None
        elif tag == "tr":
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._in == "h2":
            self._text.append(data)
        if self._cell is not None:
            self._cell.append(data)
        if self._session is not None:
            self._session.append(data)


@pytest.fixture
def base_url(seeded_engine: Engine, tmp_path: Path) -> Iterator[str]:
    settings = Settings(var_dir=tmp_path / "var", database_url="sqlite://unused", health_token=HEALTH_TOKEN)
    app = create_app(settings, clock=FixedClock(NOW), engine=seeded_engine)
    with run_uvicorn(app) as url:
        yield url


def test_healthz_reports_ok_with_counts(base_url: str, backend: str) -> None:
    response = httpx.get(f"{base_url}/healthz", timeout=10, headers=HEALTH_AUTH)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == backend
    assert body["counts"] == {"plans": 1, "organizations": 34, "events": 48, "occurrences": 61}
    assert body["now"] == NOW.isoformat()
    assert body["clock"].startswith("固定时钟")


def test_plan_page_lists_every_row_quarter_by_quarter(base_url: str, seed_doc: PlanFile) -> None:
    response = httpx.get(f"{base_url}/plan", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = PlanPage()
    page.feed(response.text)
    assert page.headings == QUARTERS
    assert [r["seq"] for r in page.rows] == list(range(1, 49))
    short = {o.id: o.short_name for o in seed_doc.organizations}
    for ev in seed_doc.events:
        row = page.rows[ev.seq - 1]
        seq_cell, title_cell, dates_cell, hosts_cell, co_cell, type_cell = row["cells"]
        assert row["quarter"] == QUARTERS[ev.quarter - 1], ev.seq
        assert seq_cell == str(ev.seq)
        assert " ".join(ev.title.split()) in title_cell
        assert f"原文：{' '.join(ev.date_text.split())}" in dates_cell
        assert hosts_cell == "、".join(short[h] for h in ev.hosts)
        assert co_cell == ("、".join(short[c] for c in ev.co_organizers) or "—")
        assert type_cell.startswith(EVENT_TYPE_LABELS[ev.type])
        if ev.theme:
            assert f"主题：{ev.theme}" in type_cell
        assert [key for key, _ in row["sessions"]] == [s.key for s in ev.sessions]
        for (_, parts), sess in zip(row["sessions"], ev.sessions, strict=True):
            text = " ".join("".join(parts).split())
            shown, _, rest = text.partition(" · ")
            # the page's date text reads back (through the parser, not the formatter) as exactly this session
            assert parse_window(shown) == Window(sess.start, sess.end, Precision(sess.precision)), (ev.seq, shown)
            assert shown.startswith(f"{sess.start.year}年") and rest.startswith(sess.location)
            assert text.endswith("（计划）")


def test_plan_page_tricky_rows(base_url: str) -> None:
    page = PlanPage()
    page.feed(httpx.get(f"{base_url}/plan", timeout=10).text)
    rows = {r["seq"]: r for r in page.rows}

    def sessions(seq: int) -> list[str]:
        return [" ".join("".join(parts).split()) for _, parts in rows[seq]["sessions"]]

    assert rows[9]["cells"][3:] == ["市科技局", "海门区科技局", "板块招商活动"]
    assert rows[36]["quarter"] == "第三季度" and sessions(36)[0].startswith("2023年6-7月 · 北京")
    assert [s.split(" · ")[:2] for s in sessions(32)] == [["2023年9月", "西安"], ["2023年7-9月", "深圳"]]
    assert [s.split(" · ")[:2] for s in sessions(25)] == [["2023年三季度", c] for c in ("北京", "深圳", "西安")]
    assert sessions(47)[0].startswith("2023年全年 · 苏锡通园区")
    assert rows[37]["cells"][3:] == ["市人才办", "各有关部门、各板块", "季度主题活动 主题：科技人才"]
    series = [s.split(" · ")[0] for seq in (3, 17, 28, 40) for s in sessions(seq)]
    assert series == ["2023年2月", "2023年4月", "2023年6月", "2023年8月", "2023年10月", "2023年12月"]


def test_root_shows_the_public_calendar(base_url: str) -> None:
    response = httpx.get(f"{base_url}/", timeout=10)
    assert response.status_code == 200 and 'href="/plan"' in response.text and 'data-testid="calendar"' in response.text
    assert 'data-testid="attention"' not in response.text  # what needs attention is for administrators only


def test_empty_database_page_says_how_to_import(engine: Engine, tmp_path: Path) -> None:
    app = create_app(Settings(var_dir=tmp_path / "var", health_token=HEALTH_TOKEN), clock=FixedClock(NOW),
                     engine=engine)
    with run_uvicorn(app) as url:
        page = httpx.get(f"{url}/plan", timeout=10)
        health = httpx.get(f"{url}/healthz", timeout=10, headers=HEALTH_AUTH).json()
    assert page.status_code == 200 and "尚未导入活动计划" in page.text
    assert health["status"] == "ok" and health["counts"]["events"] == 0


def test_a_plan_of_a_year_the_calendar_does_not_cover_shows_the_provisional_banner(engine: Engine,
                                                                                  settings: Settings) -> None:
    now = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    import_year(engine, 2026, now)
    import_year(engine, 2027, now, published=date(2026, 11, 20))
    client = TestClient(create_app(settings, clock=FixedClock(now), engine=engine))
    line = "2027年节假日安排尚未发布，日期按周末推算，待国务院办公厅通知后复核"
    for url in ("/plan?plan=nantong-2027", "/?plan=nantong-2027"):
        page = client.get(url)
        assert page.status_code == 200 and 'data-testid="provisional"' in page.text and line in page.text, url
        assert "暂定" in page.text
    for url in ("/plan?plan=nantong-2026", "/?plan=nantong-2026"):  # 2026 is in chinesecalendar
        assert 'data-testid="provisional"' not in client.get(url).text, url
    with session_scope(engine, write=True) as session:
        set_override(session=session, day=date(2027, 1, 1), is_workday=False, note="元旦", source="test", now=now)
        confirm_year(session=session, year=2027, source="test", now=now)
    assert 'data-testid="provisional"' not in client.get("/plan?plan=nantong-2027").text
