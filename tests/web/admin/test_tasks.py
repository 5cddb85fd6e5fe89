"""Administrators: task lists, filing on someone's behalf (audited as such), resending links; 洽谈 and lead
check-ins; tokens never reach the access log."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import select

from scheduler.audit import AuditEntry
from scheduler.clock import FixedClock
from scheduler.db import session_scope
from scheduler.followups.models import FormRevision, IssuedLink, NegotiationCheckin, Task
from scheduler.mail.models import OutboxMessage
from scheduler.outcomes.leads import stale_leads
from scheduler.outcomes.models import Lead, LeadStageChange
from scheduler.web.app import create_app
from scheduler.web.logredact import RedactTokens
from tests.factories.followups import T_MARCH, issue, outcome_form, plan, post_form, settings, task_by_key
from tests.support.admin import add_admin, csrf_of, sign_in
from tests.support.servers import run_uvicorn


def test_admin_lists_files_on_behalf_and_resends(mail_engine: Engine, tmp_path: Path) -> None:
    plan(mail_engine, T_MARCH)
    add_admin(mail_engine)
    task = task_by_key(mail_engine, "outcome:occ:2")
    old = issue(mail_engine, "outcome:occ:2", T_MARCH, recipient="kjj.lianluo@example.org")
    # Tasks are born with at least 3 working days to go (issue 14's policy): the office looks two weeks later.
    clock = FixedClock(T_MARCH + timedelta(days=14))
    app = create_app(settings(tmp_path), clock=clock, engine=mail_engine)
    with run_uvicorn(app, lifespan="off") as url, httpx.Client(base_url=url, timeout=20) as client:
        assert client.get("/admin/tasks").status_code == 303  # sign in first
        sign_in(client)
        overdue = client.get("/admin/tasks?filter=overdue&kind=outcome").text  # one page: outcome reports only
        assert f'href="/admin/tasks/{task.id}"' in overdue and "逾期" in overdue
        only_rugao = client.get("/admin/tasks?filter=open&org=rugao&kind=negotiation").text
        assert "如皋市" in only_rugao and "海安市" not in only_rugao.split("<tbody>")[1]
        form = client.get(f"/admin/tasks/{task.id}/form")
        assert form.status_code == 200 and "管理员代为填报" in form.text
        data = {**outcome_form(), "csrf_token": csrf_of(form.text)}
        assert client.post(f"/admin/tasks/{task.id}/form", data={**data, "csrf_token": "forged"}).status_code == 403
        done = client.post(f"/admin/tasks/{task.id}/form", data=data)
        assert done.status_code == 200 and "管理员代为填报" in done.text
        detail = client.get(f"/admin/tasks/{task.id}")
        resent = client.post(f"/admin/tasks/{task.id}/resend", data={"csrf_token": csrf_of(detail.text),
                                                                      "revoke": "1"})
        assert resent.status_code == 303
        assert client.get(f"/o/{old}").status_code == 403, "revoked with the resend"
        export = client.get("/admin/outcomes.csv")
        assert export.status_code == 200 and "高端纺织新材料项目" in export.content.decode("utf-8-sig")
        assert client.get("/admin/outcomes.xlsx").content[:2] == b"PK"
        leads = client.get("/admin/leads").text
        assert "高端纺织新材料项目" in leads and "签约 1" in leads and "线索 1" in leads and "data-stale" not in leads
        clock.set(T_MARCH + timedelta(days=14 + 31))  # the leads were filed on the office's day above
        assert client.get("/admin/leads").text.count('data-stale="1"') == 2, "a month without update: stalled"
    with session_scope(mail_engine) as session:
        [revision] = session.exec(select(FormRevision).where(FormRevision.task_id == task.id)).all()
        entries = session.exec(select(AuditEntry).where(AuditEntry.task_id == task.id)).all()
        resend = session.exec(select(OutboxMessage).where(OutboxMessage.origin == "links")).all()
        stored = session.get(Task, task.id)
    assert (revision.actor, revision.actor_kind, revision.on_behalf_of) == ("admin:office", "admin", "kjj")
    assert [e.action for e in entries] == ["outcome.submit", "link.resend"]
    assert entries[0].on_behalf_of == "kjj" and entries[1].after["revoked"] == 1
    assert {r.recipient for r in resend} == {"kjj.lianluo@example.org", "kjzs.office@example.org"}
    assert stored is not None and stored.status == "done" and stored.done_by == "admin:office"


def test_weekly_check_in_accepts_zero_and_leads_move_through_stages_and_go_stale(mail_engine: Engine,
                                                                                 tmp_path: Path) -> None:
    clock = FixedClock(T_MARCH)
    plan(mail_engine, T_MARCH)
    week = issue(mail_engine, "negotiation:rugao:2023-03-06", T_MARCH)
    outcome = issue(mail_engine, "outcome:occ:5", T_MARCH)
    app = create_app(settings(tmp_path), clock=clock, engine=mail_engine)
    with run_uvicorn(app, lifespan="off") as url, httpx.Client(base_url=url, timeout=20) as client:
        missing = post_form(client, f"/o/{week}", {"count": ""})
        assert missing.status_code == 422 and "没有请填 0" in missing.text
        assert post_form(client, f"/o/{week}", {"count": "0"}).status_code == 200
        two = post_form(client, f"/o/{week}", {"count": "2", "n-0-project": "储能电池", "n-0-partner": "某公司"})
        assert two.status_code == 200
        assert post_form(client, f"/o/{outcome}", outcome_form()).status_code == 200
        plan(mail_engine, T_MARCH + timedelta(days=25))  # April's lead check-in for 如皋 exists a week ahead
        leads_link = issue(mail_engine, "leads:rugao:2023-04", T_MARCH)
        with session_scope(mail_engine) as session:
            signed = session.exec(select(Lead).where(Lead.stage == "signed")).one()
            intent = session.exec(select(Lead).where(Lead.stage == "lead")).one()
        clock.set(T_MARCH + timedelta(days=26))
        page = client.get(f"/o/{leads_link}")
        assert "高端纺织新材料项目" in page.text and "智能装备研发中心" in page.text
        no_reason = post_form(client, f"/o/{leads_link}", {f"l-{signed.id}-stage": "registered",
                                                            f"l-{intent.id}-stage": "paused"})
        assert no_reason.status_code == 422 and "中止/暂缓原因" in no_reason.text
        ok = post_form(client, f"/o/{leads_link}", {
            f"l-{signed.id}-stage": "registered", f"l-{signed.id}-evidence": "3月30日完成工商注册",
            f"l-{intent.id}-stage": "paused", f"l-{intent.id}-reason": "企业调整投资计划"})
        assert ok.status_code == 200
    with session_scope(mail_engine) as session:
        checkin = session.exec(select(NegotiationCheckin)).one()
        changes = session.exec(select(LeadStageChange).where(LeadStageChange.lead_id == signed.id)).all()
        stale_then = stale_leads(session=session, now=T_MARCH + timedelta(days=57))
        stale_now = stale_leads(session=session, now=T_MARCH + timedelta(days=30))
    assert (checkin.count, checkin.revision, checkin.week_start.isoformat()) == (2, 2, "2023-03-06")
    assert [(c.from_stage, c.to_stage) for c in changes] == [(None, "signed"), ("signed", "registered")]
    assert changes[1].evidence == "3月30日完成工商注册" and changes[1].actor == "rugao.lianluo@example.org"
    assert [lead.id for lead in stale_then] == [signed.id] and stale_now == [], "paused leads are not flagged"


def test_a_project_is_credited_once_to_the_first_occurrence_where_it_was_signed(mail_engine: Engine,
                                                                                tmp_path: Path) -> None:
    plan(mail_engine, T_MARCH)
    first, second = issue(mail_engine, "outcome:occ:5", T_MARCH), issue(mail_engine, "outcome:occ:6", T_MARCH)
    app = create_app(settings(tmp_path), clock=FixedClock(T_MARCH), engine=mail_engine)
    with run_uvicorn(app, lifespan="off") as url, httpx.Client(base_url=url, timeout=20) as client:
        # Signed at 如皋's event for 如东: 如东's own event (occ 6) may then link that lead.
        assert post_form(client, f"/o/{first}", outcome_form(**{"p-0-bankuai": "rudong"})).status_code == 200
        with session_scope(mail_engine) as session:
            lead = session.exec(select(Lead).where(Lead.stage == "signed")).one()
        only_first = {k: v for k, v in outcome_form(**{"p-0-lead": str(lead.id), "p-0-bankuai": "rudong"}).items()
                      if not k.startswith("p-1")}
        half = post_form(client, f"/o/{second}", {**only_first, "p-1-name": "", "p-1-partner": "江南大学"})
        assert half.status_code == 422 and "项目第 2 行的项目名称" in half.text
        again = post_form(client, f"/o/{second}", only_first)
        assert again.status_code == 200
        assert "签约（计入本场活动）0 个" in again.text and "已在此前活动计入的签约 1 个" in again.text
    with session_scope(mail_engine) as session:
        stored = session.get(Lead, lead.id)
        assert stored is not None and stored.credited_occurrence_id == 5
        assert len(session.exec(select(Lead)).all()) == 2


def test_tokens_never_reach_the_access_log(mail_engine: Engine, tmp_path: Path) -> None:
    plan(mail_engine, T_MARCH)
    token = issue(mail_engine, "outcome:occ:5", T_MARCH)
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Keep()
    access = logging.getLogger("uvicorn.access")
    app = create_app(settings(tmp_path), clock=FixedClock(T_MARCH), engine=mail_engine)
    with run_uvicorn(app, lifespan="off", log_level="info", access_log=True) as url:
        access.addHandler(handler)
        try:
            with httpx.Client(base_url=url) as client:
                client.get(f"/o/{token}?utm=x")
                client.post(f"/o/{token}", data={"count": "1"})
                client.get("/plan")
        finally:
            access.removeHandler(handler)
    assert len(lines) == 3 and all(token not in line and token.split(".")[1][:10] not in line for line in lines)
    assert "/o/[redacted]" in lines[0] and "/plan" in lines[2]
    record = logging.LogRecord("x", logging.INFO, "", 0, "%s", (f"GET /o/{token} HTTP/1.1",), None)
    RedactTokens().filter(record)
    assert record.getMessage() == "GET /o/[redacted] HTTP/1.1"
    with session_scope(mail_engine) as session:
        assert len(session.exec(select(IssuedLink)).all()) == 1


def test_task_list_pages_by_25(mail_engine: Engine, tmp_path: Path) -> None:
    import re

    plan(mail_engine, T_MARCH)
    add_admin(mail_engine)
    with session_scope(mail_engine) as session:
        ids = [t.id for t in session.exec(select(Task).order_by(Task.due_on, Task.id))]
    assert len(ids) > 25, "the planner makes more tasks than one page holds"
    pages = -(-len(ids) // 25)
    app = create_app(settings(tmp_path), clock=FixedClock(T_MARCH), engine=mail_engine)
    with run_uvicorn(app, lifespan="off") as url, httpx.Client(base_url=url, timeout=20) as client:
        sign_in(client)

        def shown(page: int) -> list[int]:
            text = client.get("/admin/tasks", params={"filter": "all", "page": page}).text
            return [int(n) for n in re.findall(r'<td><a href="/admin/tasks/(\d+)">', text)]

        first = client.get("/admin/tasks", params={"filter": "all"}).text
        assert f"共 {len(ids)} 项，本页第 1–25 项" in first and f"第 1 / {pages} 页" in first
        assert 'rel="next"' in first and 'rel="prev"' not in first
        assert "filter=all&amp;org=&amp;kind=&amp;page=2" in first
        assert shown(1) == ids[:25] and shown(2) == ids[25:50]
        assert shown(pages) == ids[(pages - 1) * 25:] and shown(pages + 5) == shown(pages)  # past the end: the last
        refused = client.get("/admin/tasks", params={"page": "0"}, headers={"accept": "text/html"})
        assert refused.status_code == 422 and "网址参数字段 page" in refused.text
