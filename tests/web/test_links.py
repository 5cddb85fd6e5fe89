"""Link forms through real uvicorn: GET/HEAD write nothing, POST records, revisions, refusals, limits, races."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from scheduler.audit import AuditEntry
from scheduler.clock import FixedClock
from scheduler.db import session_scope
from scheduler.followups.links import LinkSigner
from scheduler.followups.models import FormRevision, Task, TaskKind, TaskStatus
from scheduler.mail.models import OutboxMessage
from scheduler.outcomes.models import Lead, OutcomeReport, ProjectRow
from scheduler.plan.models import Occurrence
from scheduler.web.app import create_app
from scheduler.web.links import LinkForms
from tests.factories.followups import RECIPIENT, T_MARCH, issue, outcome_form, plan, post_form, settings, task_by_key
from tests.support.dbstate import dump_database
from tests.support.servers import run_uvicorn


@pytest.fixture
def served(mail_engine: Engine, tmp_path: Path) -> Iterator[tuple[httpx.Client, FixedClock, Engine]]:
    clock = FixedClock(T_MARCH)
    plan(mail_engine, T_MARCH)
    app = create_app(settings(tmp_path), clock=clock, engine=mail_engine)
    with run_uvicorn(app, lifespan="off") as url, httpx.Client(base_url=url, timeout=20) as client:
        yield client, clock, mail_engine


def test_get_and_head_write_nothing_post_records_and_a_second_post_is_a_revision(served) -> None:
    client, _clock, engine = served
    path = f"/o/{issue(engine, 'outcome:occ:5', T_MARCH)}"
    before = dump_database(engine)
    page = client.get(path)
    head = client.head(path)
    assert page.status_code == 200 and head.status_code == 200
    assert page.headers["referrer-policy"] == "no-referrer" and head.headers["referrer-policy"] == "no-referrer"
    assert "成效填报" in page.text and "如皋—江南大学校企对接活动" in page.text
    assert "<script src" not in page.text and "http" not in page.text.split("<body", 1)[1].replace(
        "http-equiv", "")  # no third-party (or any absolute) asset
    assert dump_database(engine) == before

    first = post_form(client, path, outcome_form(), headers={"user-agent": "pytest-agent"})
    assert first.status_code == 200, first.text[:800]
    assert "已提交" in first.text and "签约（计入本场活动）1 个" in first.text and "5000.00 万元" in first.text
    second = post_form(client, path, outcome_form(attendees="130"))
    assert second.status_code == 200 and "第 2 版" in second.text
    with session_scope(engine) as session:
        task = session.exec(select(Task).where(Task.key == "outcome:occ:5")).one()
        revisions = session.exec(select(FormRevision).where(FormRevision.task_id == task.id)).all()
        report = session.exec(select(OutcomeReport).where(OutcomeReport.occurrence_id == 5)).one()
        rows = session.exec(select(ProjectRow).where(ProjectRow.report_id == report.id)).all()
        leads = session.exec(select(Lead)).all()
        audits = session.exec(select(AuditEntry).where(AuditEntry.task_id == task.id)).all()
        occ = session.get(Occurrence, 5)
    assert task.status == TaskStatus.DONE and task.done_by == RECIPIENT
    assert [r.number for r in revisions] == [1, 2] and [r.data["attendees"] for r in revisions] == [120, 130]
    assert report.attendees == 130 and report.revision == 2 and len(rows) == 2
    assert len(leads) == 2, "a second revision re-uses the leads the first one created"
    assert {(lead.stage, lead.credited_occurrence_id) for lead in leads} == {("signed", 5), ("lead", None)}
    assert occ is not None and occ.status == "reported"
    assert [a.user_agent for a in audits] == ["pytest-agent", "python-httpx/" + httpx.__version__]
    assert audits[0].ip == "127.0.0.1" and audits[0].before is not None and audits[1].after is not None
    # A GET after submitting shows the stored answer pre-filled, and still writes nothing.
    snapshot = dump_database(engine)
    assert 'value="130"' in client.get(path).text
    assert dump_database(engine) == snapshot


def test_bad_tokens_are_refused_and_an_expired_one_can_ask_for_a_fresh_link(served) -> None:
    client, clock, engine = served
    token = issue(engine, "outcome:occ:5", T_MARCH)
    action, _, signed = token.partition(".")
    tampered = f"{action}.{signed[:-3]}{'A' if signed[-3] != 'A' else 'B'}{signed[-2:]}"
    wrong_action = f"fix_date.{signed}"
    revoked = issue(engine, "outcome:occ:5", T_MARCH, recipient="other@example.org")
    with session_scope(engine, write=True) as session:
        LinkSigner.revoke(session=session, task_id=task_by_key(engine, "outcome:occ:5").id or 0, now=T_MARCH,
                          recipient="other@example.org")
    before = dump_database(engine)
    for bad in (tampered, wrong_action, revoked, "nonsense", "outcome.x"):
        for method in ("GET", "POST"):
            r = client.request(method, f"/o/{bad}", data=outcome_form() if method == "POST" else None)
            assert r.status_code == 403 and r.headers["referrer-policy"] == "no-referrer", (bad, method)
            assert "链接无效" in r.text or "来源不明" in r.text or "表单已失效" in r.text
    assert dump_database(engine) == before

    expired = issue(engine, "outcome:occ:5", T_MARCH, expires_at=T_MARCH.replace(day=11))
    clock.set(T_MARCH.replace(day=12))
    page = client.get(f"/o/{expired}")
    assert page.status_code == 410 and "链接已过期" in page.text and "ru***@example.org" in page.text
    posted = client.post(f"/o/{expired}", data=outcome_form())
    assert posted.status_code == 410
    nonce = page.text.split('name="form_nonce" value="', 1)[1].split('"', 1)[0]
    renewed = client.post(f"/o/{expired}/renew", data={"form_nonce": nonce, "renew": "1"})
    assert renewed.status_code == 200 and "新链接已发送" in renewed.text
    again = client.post(f"/o/{expired}/renew", data={"form_nonce": nonce, "renew": "1"})
    assert again.status_code == 429
    with session_scope(engine) as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "link_renewal")).all()
        reports = session.exec(select(OutcomeReport)).all()
    assert [(r.recipient, r.origin) for r in rows] == [(RECIPIENT, "links")] and reports == []


def test_cross_site_posts_and_posts_without_the_form_nonce_record_nothing(served) -> None:
    client, _clock, engine = served
    path = f"/o/{issue(engine, 'outcome:occ:5', T_MARCH)}"
    before = dump_database(engine)
    assert post_form(client, path, outcome_form(), headers={"origin": "https://evil.example"}).status_code == 403
    cross = post_form(client, path, outcome_form(), headers={"origin": "null", "sec-fetch-site": "cross-site"})
    assert cross.status_code == 403 and "来源不明" in cross.text
    no_nonce = client.post(path, data=outcome_form())  # no nonce: shown again with what was typed, not stored
    assert no_nonce.status_code == 422 and 'value="张三"' in no_nonce.text and "未保存" in no_nonce.text
    assert post_form(client, path, {}).status_code == 422  # nothing filled in: errors, nothing stored
    assert dump_database(engine) == before


def test_oversized_input_is_refused_with_a_message_and_nothing_is_lost(served) -> None:
    client, _clock, engine = served
    path = f"/o/{issue(engine, 'outcome:occ:5', T_MARCH)}"
    assert post_form(client, path, outcome_form()).status_code == 200
    before = dump_database(engine)
    huge = post_form(client, path, outcome_form(narrative="字" * 200_000))
    assert huge.status_code == 413 and "提交内容超过 256 KB 上限，未保存" in huge.text
    long = post_form(client, path, outcome_form(narrative="字" * 501))
    assert long.status_code == 422 and "成效简述最多 500 字（现有 501 字）" in long.text
    assert "字" * 501 in long.text, "what was typed comes back to be shortened"
    rows = post_form(client, path, outcome_form(**{"p-150-name": "x"}))
    assert rows.status_code == 413 and "最多 100 行" in rows.text
    assert dump_database(engine) == before


def test_concurrent_posts_on_one_task_lose_nothing(served) -> None:
    client, _clock, engine = served
    path = f"/o/{issue(engine, 'outcome:occ:5', T_MARCH)}"
    results: list[int] = []
    base = client.base_url

    def one(i: int) -> None:
        with httpx.Client(base_url=base, timeout=30) as c:
            results.append(post_form(c, path, outcome_form(attendees=str(100 + i))).status_code)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200] * 6
    with session_scope(engine) as session:
        task = session.exec(select(Task).where(Task.key == "outcome:occ:5")).one()
        revisions = session.exec(select(FormRevision).where(FormRevision.task_id == task.id)).all()
        report = session.exec(select(OutcomeReport)).one()
    assert sorted(r.number for r in revisions) == [1, 2, 3, 4, 5, 6]
    assert sorted(r.data["attendees"] for r in revisions) == [100, 101, 102, 103, 104, 105]
    assert report.revision == 6 and report.attendees == next(r.data["attendees"] for r in revisions if r.number == 6)


def test_wrong_action_for_the_task_kind_is_refused(served) -> None:
    client, _clock, engine = served
    token = issue(engine, "outcome:occ:5", T_MARCH, action=TaskKind.NEGOTIATION)
    r = client.get(f"/o/{token}")
    assert r.status_code == 403


def test_anonymous_posts_are_rate_limited_per_address_on_the_wall_clock(mail_engine: Engine, tmp_path: Path) -> None:
    clock, wall = FixedClock(T_MARCH), [1000.0]
    app = create_app(settings(tmp_path), clock=clock, engine=mail_engine)
    app.state.link_forms = LinkForms(app.state.runtime, wall=lambda: wall[0])
    with run_uvicorn(app, lifespan="off") as url, httpx.Client(base_url=url, timeout=20) as client:
        statuses = [client.post("/o/outcome.bogus", data={"x": "1"}).status_code for _ in range(31)]
        assert statuses[:30] == [403] * 30 and statuses[30] == 429
        blocked = client.post("/o/outcome.bogus", data={"x": "1"})
        assert blocked.status_code == 429 and "提交过于频繁" in blocked.text
        clock.set(T_MARCH + timedelta(days=30))  # the application clock moving on frees nobody
        assert client.post("/o/outcome.bogus", data={"x": "1"}).status_code == 429
        wall[0] += 61  # a real minute later the window has slid
        assert client.post("/o/outcome.bogus", data={"x": "1"}).status_code == 403


def test_every_kind_of_form_opens_without_writing_anything(served) -> None:
    client, _clock, engine = served
    plan(engine, T_MARCH.replace(day=28))  # April's lead check-ins exist from late March
    with session_scope(engine, write=True) as session:
        session.add(Lead(name="储能项目", category="科创项目", bankuai_key="rugao", last_update_at=T_MARCH,
                         created_at=T_MARCH, updated_at=T_MARCH))
    plan(engine, T_MARCH.replace(day=28))
    tokens = {key: issue(engine, key, T_MARCH) for key in (
        "fix:occ:14", "negotiation:rugao:2023-03-06", "leads:rugao:2023-04", "outcome:occ:5")}
    before = dump_database(engine)
    for key, token in tokens.items():
        for method in ("GET", "HEAD"):
            r = client.request(method, f"/o/{token}", headers={"user-agent": "SafeLinks-Scanner/1.0"})
            assert r.status_code == 200 and r.headers["cache-control"] == "no-store", (key, method)
    assert dump_database(engine) == before
