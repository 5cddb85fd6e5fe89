"""/admin/plan over real HTTP: add an activity with sessions, edit a session's place, 定档, withdraw — each seen in
the feed with its SEQUENCE and, for changes, a 【活动变更】 notice wanted; bad forms name their field and write
nothing; CSRF and sign-in; audit entries with before/after."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime

import httpx
import icalendar
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from scheduler.audit import AuditEntry
from scheduler.clock import FixedClock
from scheduler.config import Settings
from scheduler.db import session_scope
from scheduler.mail.kinds import MailKind
from scheduler.plan.models import Event, EventOrganization, Occurrence, Organization, PlanOrganization
from scheduler.reminders.planner import RuleBook
from scheduler.reminders.sync import wanted_mail
from scheduler.web.app import create_app
from tests.support.admin import add_admin, csrf_of, signed_in_client
from tests.support.dbstate import dump_database
from tests.support.feedparse import parse_four_ways
from tests.support.instants import NOTICE_DATE
from tests.support.servers import run_uvicorn

PLAN = "nantong-2023"
UID = "nantong-2023-{}@kjzs-scheduler"


@pytest.fixture
def office(mail_engine: Engine, settings: Settings) -> Iterator[tuple[httpx.Client, Engine]]:
    """A signed-in administrator's client on the 2023 plan with the example contacts, at the notice instant."""
    add_admin(mail_engine)
    settings = settings.model_copy(update={"feed_recheck_seconds": 0})  # the feed sees each edit at once
    app = create_app(settings, clock=FixedClock(NOTICE_DATE), engine=mail_engine)
    with run_uvicorn(app, lifespan="off") as url:
        client = signed_in_client(url)
        try:
            yield client, mail_engine
        finally:
            client.close()


def field_error(page: str, field: str) -> str | None:
    """Return the error shown under the form field `field`, if any."""
    found = re.search(rf'name="{field}"[^>]*>\s*(?:<div class="field-error" role="alert">([^<]*)</div>)?', page)
    return html.unescape(found.group(1)) if found and found.group(1) else None


def feed_events(client: httpx.Client) -> dict[str, icalendar.Event]:
    data = client.get("/feeds/all.ics").content
    assert all(len(seen) > 0 for seen in parse_four_ways(data).values())  # four parsers read it
    return {str(e["UID"]): e for e in icalendar.Calendar.from_ical(data).walk("VEVENT")}


def change_notices(engine: Engine, key: str) -> list[tuple[str, int, str]]:
    """The 【活动变更】 mail the reminders planner wants for session `key`: (rule, SEQUENCE, recipient)."""
    with session_scope(engine) as session:
        occ = session.exec(select(Occurrence).where(Occurrence.key == key)).one()
        wanted, _ = wanted_mail(session=session, rules=RuleBook(), now=NOTICE_DATE)
    return sorted((w.rule, w.sequence, w.recipient.email) for w in wanted
                  if w.kind == MailKind.CHANGE_NOTICE and w.occurrence_id == occ.id)


def audit_log(engine: Engine) -> list[AuditEntry]:
    with session_scope(engine) as session:
        return list(session.exec(select(AuditEntry).where(col(AuditEntry.action).startswith("plan."))
                                 .order_by(col(AuditEntry.id))))


NEW = {"seq": "49", "quarter": "2", "type": "district", "theme": "", "title": "如皋—南京大学产学研对接会",
       "content": "生物医药与新材料两场对接", "locations": "南通、南京", "date_text": "2023年5月 2023年6月",
       "hosts": "如皋市", "co_organizers": "市科技局、相关高校技术转移中心", "chains": "生物医药、新材料", "series": "",
       "s0-key": "", "s0-title": "生物医药专场", "s0-location": "南通", "s0-date_text": "2023年5月",
       "s1-key": "", "s1-title": "新材料专场", "s1-location": "南京", "s1-date_text": "2023年6月",
       "s2-key": "", "s2-title": "", "s2-location": "", "s2-date_text": ""}


def test_signed_out_visitors_are_sent_to_sign_in(seeded_engine: Engine, client: httpx.Client) -> None:
    assert client.get("/admin/plan").headers["location"] == "/login?next=/admin/plan"
    page = client.get(f"/admin/plan/{PLAN}/events/6")
    assert page.status_code == 303 and page.headers["location"] == f"/login?next=/admin/plan/{PLAN}/events/6"
    refused = client.post(f"/admin/plan/{PLAN}/events/6/withdraw", data={"csrf_token": "x"})
    assert refused.status_code in (303, 403)


def test_the_list_links_every_activity_to_its_editor(office: tuple[httpx.Client, Engine]) -> None:
    client, _ = office
    page = client.get(f"/admin/plan?plan={PLAN}")
    assert page.status_code == 200 and 'href="/admin/plan"' in page.text  # in the navigation
    assert len(re.findall(rf'href="/admin/plan/{PLAN}/events/\d+"', page.text)) == 48  # the notice's 48 rows
    assert client.get("/admin/plan?plan=mars-2023").status_code == 404


def test_add_an_activity_with_two_sessions(office: tuple[httpx.Client, Engine]) -> None:
    client, engine = office
    form = client.get(f"/admin/plan/{PLAN}/events/new")
    assert form.status_code == 200 and 'value="49"' in form.text  # the next free 序号 is offered
    done = client.post(f"/admin/plan/{PLAN}/events/new", data={"csrf_token": csrf_of(form.text), **NEW})
    assert done.status_code == 303 and done.headers["location"] == f"/admin/plan/{PLAN}/events/49?done=created#done"
    with session_scope(engine) as session:
        event = session.exec(select(Event).where(Event.seq == 49)).one()
        occs = session.exec(select(Occurrence).where(Occurrence.event_id == event.id)
                            .order_by(col(Occurrence.position))).all()
        orgs = {o.id: o.key for o in session.exec(select(Organization))}
        links = session.exec(select(EventOrganization).where(EventOrganization.event_id == event.id)
                             .order_by(col(EventOrganization.role), col(EventOrganization.position))).all()
        participants = {orgs[p.organization_id] for p in session.exec(select(PlanOrganization))}
    assert (event.quarter, event.locations, event.chains, event.imported) == (
        2, ["南通", "南京"], ["生物医药", "新材料"], {"withdrawn": True})
    assert [(orgs[x.organization_id], x.role) for x in links] == [
        ("kjj", "co_organizer"), ("univ-tt-centers", "co_organizer"), ("rugao", "host")]
    assert [(o.key, o.title, o.location, o.window_start, o.window_end, o.precision, o.sequence) for o in occs] == [
        ("49-1", "生物医药专场", "南通", date(2023, 5, 1), date(2023, 5, 31), "month", 0),
        ("49-2", "新材料专场", "南京", date(2023, 6, 1), date(2023, 6, 30), "month", 0)]
    assert {"rugao", "kjj", "univ-tt-centers"} <= participants
    feed = feed_events(client)
    one, two = feed[UID.format("49-1")], feed[UID.format("49-2")]
    assert (one.decoded("DTSTART"), str(one["LOCATION"]), one["SEQUENCE"]) == (date(2023, 5, 1), "南通", 0)
    assert (two.decoded("DTSTART"), str(two["LOCATION"]), two["SEQUENCE"]) == (date(2023, 6, 1), "南京", 0)
    assert [(e.action, e.entity, e.actor) for e in audit_log(engine)] == [
        ("plan.event.create", "event", "admin:office"), ("plan.occurrence.create", "occurrence", "admin:office"),
        ("plan.occurrence.create", "occurrence", "admin:office")]
    assert audit_log(engine)[0].after["hosts"] == ["rugao"]  # type: ignore[index]


def test_editing_a_place_bumps_sequence_and_wants_a_change_notice(office: tuple[httpx.Client, Engine]) -> None:
    client, engine = office
    assert feed_events(client)[UID.format("06-1")]["SEQUENCE"] == 0
    assert change_notices(engine, "06-1") == []
    page = client.get(f"/admin/plan/{PLAN}/events/6")
    assert 'name="s0-location" value="上海"' in page.text and 'name="hosts" value="启东市"' in page.text
    form = page.text.split('data-testid="event-form"')[1].split("</form>")[0]
    data = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form))  # every text field as the page shows it
    data |= {"type": "district", "quarter": "1", "content": "在上海推介启东科创环境", "s0-location": "上海张江"}
    saved = client.post(f"/admin/plan/{PLAN}/events/6", data=data)
    assert saved.status_code == 303, field_error(saved.text, "s0-location")
    event = feed_events(client)[UID.format("06-1")]
    assert (str(event["LOCATION"]), event["SEQUENCE"]) == ("上海张江", 1)
    notices = change_notices(engine, "06-1")
    assert notices and {(rule, seq) for rule, seq, _ in notices} == {("change:1", 1)}
    assert "qidong.lianluo@example.org" in {r for _, _, r in notices}  # the host hears of it
    entry = audit_log(engine)[-1]
    assert (entry.action, entry.before["location"], entry.after["location"]) == (  # type: ignore[index]
        "plan.occurrence.update", "上海", "上海张江")
    assert (entry.before["sequence"], entry.after["sequence"]) == (0, 1)  # type: ignore[index]


def test_fix_from_the_editor_is_a_hosts_fix(office: tuple[httpx.Client, Engine]) -> None:
    client, engine = office
    token = csrf_of(client.get(f"/admin/plan/{PLAN}/events/6").text)
    url = f"/admin/plan/{PLAN}/events/6/sessions/06-1/fix"
    outside = client.post(url, data={"csrf_token": token, "date": "2023-04-02", "start": "09:30", "end": "",
                                     "place": ""})
    assert outside.status_code == 422 and "不在计划窗口 2023-03-01–2023-03-31 之内" in outside.text
    fixed = client.post(url, data={"csrf_token": token, "date": "2023-03-16", "start": "09:30", "end": "12:30",
                                   "place": "上海国际会议中心"})
    assert fixed.status_code == 303
    with session_scope(engine) as session:
        occ = session.exec(select(Occurrence).where(Occurrence.key == "06-1")).one()
    assert (occ.status, occ.start_at, occ.location, occ.sequence) == (
        "fixed", datetime(2023, 3, 16, 1, 30, tzinfo=UTC), "上海国际会议中心", 1)
    assert change_notices(engine, "06-1")[0][:2] == ("change:1", 1)
    assert feed_events(client)[UID.format("06-1")].decoded("DTSTART") == datetime(2023, 3, 16, 1, 30, tzinfo=UTC)


def test_withdrawing_an_activity_shows_it_cancelled(office: tuple[httpx.Client, Engine]) -> None:
    client, engine = office
    token = csrf_of(client.get(f"/admin/plan/{PLAN}/events/2").text)
    done = client.post(f"/admin/plan/{PLAN}/events/2/withdraw", data={"csrf_token": token})
    assert done.status_code == 303
    feed = feed_events(client)
    for key in ("02-1", "02-2"):
        assert (str(feed[UID.format(key)]["STATUS"]), feed[UID.format(key)]["SEQUENCE"]) == ("CANCELLED", 1)
    with session_scope(engine) as session:
        assert session.exec(select(Event).where(Event.seq == 2)).one().withdrawn  # kept, not deleted
    assert [e.action for e in audit_log(engine)] == [
        "plan.event.withdraw", "plan.occurrence.withdraw", "plan.occurrence.withdraw"]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"hosts": "如皋区"}, "hosts", "未知单位“如皋区”（是否指 如皋市？）"),
        ({"s1-date_text": "六月份"}, "s1-date_text", "无法识别的日期 '六月份'（可用：2023年2月"),
        ({"seq": "6"}, "seq", "序号 6 重复"),
        ({"title": "  "}, "title", "不能为空"),
        ({"date_text": "2025年5月 2025年6月", "s0-date_text": "2025年5月"}, "s0-date_text", "超出计划年度 2023"),
        ({"s1-date_text": "2023年7月"}, "s1-date_text", "场次日期 '2023年7月' 不在活动日期 '2023年5月 2023年6月' 之中"),
        ({"chains": "航空航天"}, "chains", "未知产业链 '航空航天'"),
    ],
)
def test_a_bad_activity_is_refused_at_its_field_and_nothing_is_written(
    office: tuple[httpx.Client, Engine], change: dict[str, str], field: str, message: str
) -> None:
    client, engine = office
    before = dump_database(engine)
    token = csrf_of(client.get(f"/admin/plan/{PLAN}/events/new").text)
    refused = client.post(f"/admin/plan/{PLAN}/events/new", data={"csrf_token": token, **NEW, **change})
    assert refused.status_code == 422
    shown = field_error(refused.text, field)
    assert shown is not None and message in shown, (shown, refused.text[-3000:])
    assert "未保存" in refused.text and f'value="{change.get(field, NEW.get(field))}"' in refused.text  # kept
    assert dump_database(engine) == before


def test_forms_without_the_csrf_token_are_refused(office: tuple[httpx.Client, Engine]) -> None:
    client, engine = office
    before = dump_database(engine)
    for path, data in ((f"/admin/plan/{PLAN}/events/new", NEW), (f"/admin/plan/{PLAN}/events/6/withdraw", {}),
                       (f"/admin/plan/{PLAN}/events/6/sessions/06-1/cancel", {"reason": "x"})):
        assert client.post(path, data={"csrf_token": "forged", **data}).status_code == 403
    assert dump_database(engine) == before


def test_postpone_and_cancel_from_the_editor(office: tuple[httpx.Client, Engine]) -> None:
    client, engine = office
    token = csrf_of(client.get(f"/admin/plan/{PLAN}/events/4").text)
    base = f"/admin/plan/{PLAN}/events/4/sessions/04-1"
    unreadable = client.post(f"{base}/move", data={"csrf_token": token, "date_text": "下个月", "reason": ""})
    assert unreadable.status_code == 422
    move_form = html.unescape(unreadable.text.split('data-testid="move-04-1"')[1].split("</form>")[0])
    assert "无法识别的日期 '下个月'" in move_form  # under the 延期 form of that session, which comes back open
    assert '<details data-ops="04-1" open>' in unreadable.text
    moved = client.post(f"{base}/move", data={"csrf_token": token, "date_text": "4月", "reason": "专家行程调整"})
    assert moved.status_code == 303
    with session_scope(engine) as session:
        occ = session.exec(select(Occurrence).where(Occurrence.key == "04-1")).one()
    assert (occ.status, occ.window_start, occ.window_end, occ.status_reason, occ.sequence) == (
        "postponed", date(2023, 4, 1), date(2023, 4, 30), "专家行程调整", 1)
    assert client.post(f"{base}/cancel", data={"csrf_token": token, "reason": " "}).status_code == 422
    assert client.post(f"{base}/cancel", data={"csrf_token": token, "reason": "合作方取消"}).status_code == 303
    event = feed_events(client)[UID.format("04-1")]
    assert (str(event["STATUS"]), event["SEQUENCE"]) == ("CANCELLED", 2)
    assert change_notices(engine, "04-1")[0][:2] == ("change:2", 2)
    assert [e.action for e in audit_log(engine)] == ["plan.occurrence.move", "plan.occurrence.cancel"]


def test_the_editors_fix_runs_the_conflict_checker(office: tuple[httpx.Client, Engine]) -> None:
    client, engine = office
    token = csrf_of(client.get(f"/admin/plan/{PLAN}/events/13").text)
    with session_scope(engine, write=True) as session:  # 市科技局's 5月 高校院所 session on Tuesday 5-16
        other = session.exec(select(Occurrence).where(Occurrence.key == "14-2")).one()
        other.start_at, other.status = datetime(2023, 5, 16, 1, 30, tzinfo=UTC), "fixed"
        session.add(other)
    url = f"/admin/plan/{PLAN}/events/13/sessions/13-1/fix"
    form = {"csrf_token": token, "start": "09:30", "end": "", "place": "上海"}
    sunday = client.post(url, data={**form, "date": "2023-05-14"})
    assert sunday.status_code == 422 and "该日期不能选：5月14日（星期日）是周末" in html.unescape(sunday.text)
    busy = client.post(url, data={**form, "date": "2023-05-16"})
    page = html.unescape(busy.text)
    assert busy.status_code == 422 and "需要确认：市科技局5月16日（星期二）已有活动：序号 14" in page
    assert 'name="confirm" value="2023-05-16"' in busy.text and 'name="date" value="2023-05-16"' in busy.text
    with session_scope(engine) as session:
        assert session.exec(select(Occurrence).where(Occurrence.key == "13-1")).one().start_at is None
    confirmed = client.post(url, data={**form, "date": "2023-05-16", "confirm": "2023-05-16"})
    assert confirmed.status_code == 303
    with session_scope(engine) as session:
        occ = session.exec(select(Occurrence).where(Occurrence.key == "13-1")).one()
    assert occ.start_at == datetime(2023, 5, 16, 1, 30, tzinfo=UTC)
