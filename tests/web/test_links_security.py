"""Link forms' security review fixes over real uvicorn: leads, contacts, nonces, origins, dates, admin forms."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from scheduler.clock import FixedClock
from scheduler.contacts import Contact
from scheduler.db import session_scope
from scheduler.followups.models import FormRevision, IssuedLink, Task, TaskStatus
from scheduler.mail.models import OutboxMessage
from scheduler.outcomes.models import Lead, OutcomeReport
from scheduler.web.app import create_app
from tests.factories.followups import (
    KEYS,
    RECIPIENT,
    T_MARCH,
    form_fields,
    issue,
    outcome_form,
    plan,
    post_form,
    settings,
)
from tests.support.admin import add_admin, csrf_of, sign_in
from tests.support.dbstate import dump_database
from tests.support.servers import run_uvicorn

Served = tuple[httpx.Client, FixedClock, Engine]


@pytest.fixture
def served(mail_engine: Engine, tmp_path: Path) -> Iterator[Served]:
    clock = FixedClock(T_MARCH)
    plan(mail_engine, T_MARCH)
    app = create_app(settings(tmp_path), clock=clock, engine=mail_engine)
    with run_uvicorn(app, lifespan="off") as url, httpx.Client(base_url=url, timeout=20) as client:
        yield client, clock, mail_engine


def _lead(engine: Engine, name: str, bankuai: str, source: int | None = None) -> int:
    with session_scope(engine, write=True) as session:
        lead = Lead(name=name, category="科创项目", bankuai_key=bankuai, source_occurrence_id=source,
                    last_update_at=T_MARCH, created_at=T_MARCH, updated_at=T_MARCH)
        session.add(lead)
        session.flush()
        return lead.id or 0


def test_an_outcome_link_offers_and_accepts_only_leads_of_its_own_occurrence(served: Served) -> None:
    client, _clock, engine = served
    own = _lead(engine, "如皋储能项目", "rugao")
    born_here = _lead(engine, "本场产生的海安项目", "haian", source=5)
    foreign = _lead(engine, "海安机密项目", "haian", source=7)
    plan(engine, T_MARCH.replace(day=28))  # the monthly check-in of 板块 with leads
    path = f"/o/{issue(engine, 'outcome:occ:5', T_MARCH)}"
    page = client.get(path).text
    assert "如皋储能项目" in page and "本场产生的海安项目" in page and "海安机密项目" not in page
    before = dump_database(engine)
    refused = post_form(client, path, outcome_form(**{"p-0-lead": str(foreign)}))
    assert refused.status_code == 422 and f"线索编号 {foreign} 不存在，或不属于本场活动" in refused.text
    assert 'value="高端纺织新材料项目"' in refused.text, "what was typed is kept"
    assert dump_database(engine) == before
    ok = post_form(client, path, outcome_form(**{"p-0-lead": str(own), "p-1-lead": str(born_here)}))
    assert ok.status_code == 200, ok.text[:400]

    checkin = f"/o/{issue(engine, 'leads:rugao:2023-04', T_MARCH)}"
    page = client.get(checkin).text
    assert "如皋储能项目" in page and "海安机密项目" not in page
    before = dump_database(engine)
    sneaky = post_form(client, checkin, {f"l-{own}-stage": "negotiating", f"l-{foreign}-stage": "stopped",
                                         f"l-{foreign}-reason": "改写别人的线索"})
    assert sneaky.status_code == 422 and f"线索 {foreign} 不属于本板块" in sneaky.text
    assert dump_database(engine) == before
    # The second row re-described the lead born at this event as 如皋's: it is 如皋's to update now.
    honest = post_form(client, checkin, {f"l-{own}-stage": "negotiating", f"l-{born_here}-stage": "lead"})
    assert honest.status_code == 200, re.findall(r"role=\"alert\">([^<]*)", honest.text)


def _drop_contact(engine: Engine, email: str) -> None:
    with session_scope(engine, write=True) as session:
        session.execute(delete(Contact).where(col(Contact.email) == email))


def test_a_link_dies_with_its_recipients_contact_role_and_closed_tasks_get_no_fresh_link(served: Served) -> None:
    client, clock, engine = served
    live = issue(engine, "outcome:occ:5", T_MARCH)
    not_theirs = issue(engine, "outcome:occ:5", T_MARCH, recipient="haian.lianluo@example.org")
    expired = issue(engine, "outcome:occ:5", T_MARCH, expires_at=T_MARCH.replace(day=11))
    assert client.get(f"/o/{live}").status_code == 200
    assert client.get(f"/o/{not_theirs}").status_code == 403, "a link to someone who never got the task's mail"
    clock.set(T_MARCH.replace(day=12))
    page = client.get(f"/o/{expired}")
    assert page.status_code == 410
    nonce = form_fields(page.text)["form_nonce"]

    # The task is done: renewal says so in Chinese and sends nothing.
    assert post_form(client, f"/o/{live}", outcome_form()).status_code == 200
    closed = client.post(f"/o/{expired}/renew", data={"form_nonce": nonce, "renew": "1"})
    assert closed.status_code == 409 and "事项已关闭" in closed.text and "已完成" in closed.text
    with session_scope(engine, write=True) as session:
        task = session.exec(select(Task).where(Task.key == "outcome:occ:5")).one()
        task.status = TaskStatus.OPEN  # reopened by the office: renewal works again, for the recipient only
        session.add(task)

    # The person leaves 如皋's contacts: the live link, the expired one and its renewal are refused.
    _drop_contact(engine, RECIPIENT)
    before = dump_database(engine)
    assert client.get(f"/o/{live}").status_code == 403
    assert client.post(f"/o/{live}", data=outcome_form()).status_code == 403
    gone = client.get(f"/o/{expired}")
    assert gone.status_code == 403 and "链接无效" in gone.text
    renew = client.post(f"/o/{expired}/renew", data={"form_nonce": nonce, "renew": "1"})
    assert renew.status_code == 403 and "链接无效" in renew.text
    assert dump_database(engine) == before
    with session_scope(engine) as session:
        assert session.exec(select(OutboxMessage).where(OutboxMessage.kind == "link_renewal")).all() == []


def test_a_fix_date_link_works_only_for_contacts_of_the_events_hosts(served: Served) -> None:
    client, _clock, engine = served
    # 定档 mail goes to every host of the event; occ 14 is hosted by 市科技局 (kjj).
    path = f"/o/{issue(engine, 'fix:occ:14', T_MARCH, recipient='kjj.lianluo@example.org')}"
    assert client.get(path).status_code == 200
    stranger = f"/o/{issue(engine, 'fix:occ:14', T_MARCH, recipient='someone@example.org')}"
    assert client.get(stranger).status_code == 403


def _stale_nonce(engine: Engine, token: str) -> str:
    class Yesterday(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 2 * 24 * 3600

    with session_scope(engine) as session:
        link = session.exec(select(IssuedLink).order_by(col(IssuedLink.id).desc())).first()
        assert link is not None
        return URLSafeTimedSerializer(KEYS, salt="kjzs-form-nonce", signer=Yesterday).dumps(link.nonce)


def test_a_form_left_open_past_its_nonce_keeps_the_typed_answers_and_cross_site_posts_stay_refused(
        served: Served) -> None:
    client, _clock, engine = served
    path = f"/o/{issue(engine, 'outcome:occ:5', T_MARCH)}"
    before = dump_database(engine)
    typed = outcome_form(narrative="这是花了半小时写的成效简述。")
    late = client.post(path, data={**typed, "form_nonce": _stale_nonce(engine, path[3:])})
    assert late.status_code == 422 and "页面打开时间过长" in late.text
    assert "这是花了半小时写的成效简述。" in late.text and 'value="张三"' in late.text
    too_many = client.post(path, data={**typed, "p-100-name": "第101行"})  # no nonce and too many rows
    assert too_many.status_code == 413 and "行数过多" in too_many.text
    assert dump_database(engine) == before, "nothing stored on a stale nonce"
    fresh = form_fields(late.text)["form_nonce"]
    assert client.post(path, data={**typed, "form_nonce": fresh}).status_code == 200, "re-submitting works"

    again = {**typed, "form_nonce": fresh}
    spoofed = {"host": "evil.example", "origin": "http://evil.example"}  # the Host header is the client's word
    for headers in (spoofed, {"origin": "http://evil.example"}, {"sec-fetch-site": "same-site"},
                    {"sec-fetch-site": "cross-site"}, {"referer": "http://127.0.0.1:9/o/x"}):
        r = client.post(path, data=again, headers=headers)
        assert r.status_code == 403 and "来源不明" in r.text, headers
    ours = client.post(path, data=again, headers={"origin": "http://127.0.0.1:8000"})  # settings.base_url
    assert ours.status_code == 200
    with session_scope(engine) as session:
        assert len(session.exec(select(FormRevision)).all()) == 2


def _dates_refused(client: httpx.Client, path: str, **over: str) -> str:
    r = post_form(client, path, outcome_form(**over))
    assert r.status_code == 422, (over, r.text[:300])
    return r.text


def test_an_outcome_is_refused_for_future_dates_dates_long_before_the_window_or_before_the_event(
        served: Served) -> None:
    client, clock, engine = served
    path = f"/o/{issue(engine, 'outcome:occ:5', T_MARCH)}"  # window 2023-03-01 … 03-31; today 03-10
    before = dump_database(engine)
    assert "晚于今天（2023-03-10）" in _dates_refused(client, path, actual_date="2023-03-11")
    cancelled = {"status": "cancelled", "status_reason": "台风", "actual_date": "2023-04-01"}
    assert "晚于今天" in _dates_refused(client, path, **cancelled)
    assert "最早可填 2023-02-22" in _dates_refused(client, path, actual_date="2023-02-21")
    clock.set(T_MARCH.replace(month=2, day=25))
    early = _dates_refused(client, path, actual_date="2023-02-24")
    assert "尚未开始，不能登记为“已举办”" in early and 'value="2023-02-24"' in early
    assert dump_database(engine) == before
    clock.set(T_MARCH)
    assert post_form(client, path, outcome_form(actual_date="2023-02-22")).status_code == 200, "7 days early is ok"
    with session_scope(engine) as session:
        report = session.exec(select(OutcomeReport)).one()
    assert report.actual_date is not None and report.actual_date.isoformat() == "2023-02-22"


def _hundred_rows() -> dict[str, Any]:
    data = outcome_form()
    for i in range(2, 100):
        data |= {f"p-{i}-name": f"项目{i}", f"p-{i}-partner": "某公司", f"p-{i}-category": "科创项目",
                 f"p-{i}-sign_form": "意向", f"p-{i}-amount": "10", f"p-{i}-chain": "新材料",
                 f"p-{i}-origin": "上海", f"p-{i}-bankuai": "rugao", f"p-{i}-contact": "李四", f"p-{i}-on_site": "",
                 f"p-{i}-lead": ""}
    return data


def test_an_administrator_can_file_a_full_hundred_row_form_on_behalf(served: Served) -> None:
    client, _clock, engine = served
    add_admin(engine)
    sign_in(client)
    with session_scope(engine) as session:
        task_id = session.exec(select(Task).where(Task.key == "outcome:occ:5")).one().id
    form = client.get(f"/admin/tasks/{task_id}/form")
    data = {**_hundred_rows(), "csrf_token": csrf_of(form.text)}
    assert len(data) > 1000  # Starlette's default field limit
    assert client.post(f"/admin/tasks/{task_id}/form", data={**data, "csrf_token": "forged"}).status_code == 403
    done = client.post(f"/admin/tasks/{task_id}/form", data=data)
    assert done.status_code == 200 and "已提交" in done.text, done.text[:400]
    with session_scope(engine) as session:
        assert len(session.exec(select(Lead)).all()) == 100
    too_many = client.post(f"/admin/tasks/{task_id}/form", data={**data, "p-100-name": "第101行"})
    assert too_many.status_code == 413 and "行数过多" in too_many.text
