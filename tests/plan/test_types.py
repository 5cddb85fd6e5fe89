"""A plan's activity types and quarter themes are its own vocabulary: a plan that lists 科技沙龙 and other themes
gets them on its pages, feeds and reports, and a row whose type the plan does not list is refused where it is."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import icalendar
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from scheduler.clock import FixedClock
from scheduler.config import Settings
from scheduler.db import session_scope
from scheduler.plan.export import stored_plan, write_xlsx
from scheduler.plan.importer import import_plan
from scheduler.plan.seed import PlanFile, parse_plan_bytes
from scheduler.plan.sheet import read_plan_table
from scheduler.reports.build import build_report
from scheduler.validation import InputInvalid
from scheduler.web.app import create_app
from tests.factories.cities import second_city_raw
from tests.support.planbooks import rows_with, workbook

SALON = "科技沙龙"
THEMES = {"1": "科技金融", "2": "数字经济", "3": "海洋科技", "4": "青年人才"}
TYPES = {"quarterly_theme": "季度主题活动", "district": "板块招商活动", SALON: SALON}
NOW = datetime(2027, 2, 1, 2, 0, tzinfo=UTC)


def salon_raw() -> dict[str, Any]:
    """The second city's 2027 plan with its own types: the city-level rows are 科技沙龙, and its own themes."""
    raw = second_city_raw(2027)
    raw["plan"] |= {"themes": THEMES, "types": TYPES}
    for ev in raw["events"]:
        if ev["type"] in ("city_coordinated", "city_service"):
            ev["type"] = SALON
        if ev["type"] == "quarterly_theme":
            ev["theme"] = THEMES[str(ev["quarter"])]
    return raw


def salon_plan() -> PlanFile:
    return parse_plan_bytes(json.dumps(salon_raw(), ensure_ascii=False).encode(), source="xx_2027.json")


def test_a_type_the_plan_does_not_list_is_refused_with_the_plans_types() -> None:
    raw = salon_raw()
    raw["events"][1]["type"] = "city_coordinated"  # the 2023 notice's type, not this plan's
    with pytest.raises(InputInvalid) as caught:
        parse_plan_bytes(json.dumps(raw, ensure_ascii=False).encode(), source="xx_2027.json")
    assert [str(e) for e in caught.value.errors] == [
        "events[1].type: 未知活动类型 'city_coordinated'（本计划的活动类型：季度主题活动（quarterly_theme）、"
        "板块招商活动（district）、科技沙龙；可在 plan.types 中增加）"]


def test_the_plans_types_and_themes_reach_its_pages_feed_and_reports(engine: Engine, settings: Settings) -> None:
    doc = salon_plan()
    with session_scope(engine, write=True) as session:
        import_plan(session=session, doc=doc, now=NOW)
    client = TestClient(create_app(settings, clock=FixedClock(NOW), engine=engine))
    page = client.get("/plan?plan=xx-2027")
    assert page.status_code == 200
    assert SALON in page.text and "市级统筹活动" not in page.text
    assert all(f"主题：{theme}</span>" in page.text for theme in THEMES.values())
    assert f'<td data-label="活动类型">{SALON}</td>' in page.text
    feed = client.get("/feeds/plan/xx-2027.ics")
    assert feed.status_code == 200
    events = icalendar.Calendar.from_ical(feed.content).walk("VEVENT")
    row_2 = next(e for e in events if str(e["UID"]).startswith("xx-2027-02-1@"))  # 序号 2: a 市级统筹活动 in 2023
    assert SALON in row_2.get("CATEGORIES").cats and f"活动类型：{SALON}" in str(row_2["DESCRIPTION"])
    with session_scope(engine) as session:
        cadence = build_report(session=session, kind="cadence", period="2027", now=NOW, plan_key="xx-2027")
        exported = stored_plan(session=session, key="xx-2027")
    assert [r["theme"] for r in cadence.table("themes").rows] == list(THEMES.values())
    assert exported is not None and exported.plan.types == TYPES
    back = read_plan_table(write_xlsx(exported)[0], source="back.xlsx")  # the table carries the plan's types
    assert back.plan.types == TYPES and back.events == exported.events


def test_a_table_lists_its_types_in_the_info_sheet_and_is_refused_at_the_cell_of_another() -> None:
    info = [["项目", "值", "适用活动"], ["活动类型", "季度主题活动", "quarterly_theme"],
            ["活动类型", "板块招商活动", "district"], ["活动类型", SALON, ""]]
    rows = rows_with({(2, 7): SALON, (3, 7): "板块招商活动"})
    units = salon_plan().organizations
    doc = read_plan_table(workbook(rows, extra={"计划信息": info}), source="x.xlsx", organizations=units)
    assert doc.plan.types == TYPES and [e.type for e in doc.events] == ["quarterly_theme", SALON, "district",
                                                                       "quarterly_theme"]
    bad = rows_with({(2, 7): "科技晚会", (3, 7): "板块招商活动"})
    with pytest.raises(InputInvalid) as caught:
        read_plan_table(workbook(bad, extra={"计划信息": info}), source="x.xlsx", organizations=units)
    assert [str(e) for e in caught.value.errors] == [
        "附件4!H5（序号 2）：无法识别的活动类型“科技晚会”（是否指 科技沙龙？"
        "本计划的活动类型：季度主题活动、板块招商活动、科技沙龙；季度主题活动写作 季度主题活动（科技成果））"]
    with pytest.raises(InputInvalid) as default_types:  # without the rows the 2023 notice's four apply
        read_plan_table(workbook(rows), source="x.xlsx", organizations=units)
    default = "本计划的活动类型：季度主题活动、市级统筹活动、市级服务活动、板块招商活动"
    assert default in str(default_types.value.errors[0])


def test_a_plans_own_type_is_a_feed_filter_with_its_label(engine: Engine, settings: Settings) -> None:
    with session_scope(engine, write=True) as session:
        import_plan(session=session, doc=salon_plan(), now=NOW)
    client = TestClient(create_app(settings, clock=FixedClock(NOW), engine=engine))
    salon_rows = {ev["seq"] for ev in salon_raw()["events"] if ev["type"] == SALON}
    assert salon_rows  # the fixture has city-level rows turned into 科技沙龙
    feed = client.get("/feeds/type/%E7%A7%91%E6%8A%80%E6%B2%99%E9%BE%99.ics")  # /feeds/type/科技沙龙.ics
    assert feed.status_code == 200
    cal = icalendar.Calendar.from_ical(feed.content)
    seqs = {int(str(e["UID"]).split("-")[2]) for e in cal.walk("VEVENT")}
    assert seqs == salon_rows
    assert SALON in str(cal["X-WR-CALNAME"])
    refused = client.get("/feeds/type/salon.ics")
    assert refused.status_code == 404
    assert "可用：quarterly_theme（季度主题活动）、district（板块招商活动）、科技沙龙（科技沙龙）" in refused.text
    subscribe = client.get("/subscribe")
    assert subscribe.status_code == 200 and "/feeds/type/%E7%A7%91%E6%8A%80%E6%B2%99%E9%BE%99.ics" in subscribe.text
    assert "市级统筹活动" not in subscribe.text
    first = min(salon_rows)
    page = client.get(f"/events/xx-2027/{first}")
    assert page.status_code == 200 and SALON in page.text


def test_mail_shows_the_label_a_plan_gives_its_own_type_key(engine: Engine) -> None:
    from scheduler.plan.catalog import get_plan, list_event_views
    from scheduler.reminders.planner import occurrence_context

    raw = salon_raw()
    raw["plan"]["types"] = {**TYPES, "salon": SALON}
    del raw["plan"]["types"][SALON]
    for ev in raw["events"]:
        if ev["type"] == SALON:
            ev["type"] = "salon"  # a key the office chose, shown by its label
    doc = parse_plan_bytes(json.dumps(raw, ensure_ascii=False).encode(), source="xx_2027.json")
    with session_scope(engine, write=True) as session:
        import_plan(session=session, doc=doc, now=NOW)
    with session_scope(engine) as session:
        plan = get_plan(session=session, key="xx-2027")
        assert plan is not None
        views = [v for v in list_event_views(session=session, plan=plan) if v.event.type == "salon"]
        assert views and all(occurrence_context(v, v.occurrences[0])["type_label"] == SALON for v in views)
