"""Property tests (hypothesis, bounded) over every link-form field and every admin form, through real HTTP: any
value gives a page, never a 5xx; a refusal leaves the database unchanged; no control character is ever stored."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import select

from scheduler.clock import FixedClock
from scheduler.db import session_scope
from scheduler.followups.models import Task, TaskKind
from scheduler.outcomes.models import Lead
from scheduler.web.app import create_app
from tests.factories.followups import T_MARCH, form_fields, issue, outcome_form, plan, post_form
from tests.factories.followups import settings as app_settings
from tests.support.admin import add_admin, csrf_of, sign_in
from tests.support.dbstate import dump_database
from tests.support.servers import run_uvicorn

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
NASTY = ["²", "①", "١٢", "９", "9" * 5000, "1e999999", "NaN", "-Infinity", "sNaN", "-0", "9" * 19, "0x1f", "1_000",
         "\x00", "a\x00b", "\x1b[31m", "\u0085", "\r\n", "\u2028", " ", "", "２０２３-03-09", "2023-02-30", "99:99",
         "10000-01-01", "2023Q5", "2023-13/14", "100000000000000000000", "<script>", "'; DROP TABLE task; --"]
VALUES = st.one_of(st.sampled_from(NASTY), st.text(max_size=40), st.integers().map(str),
                   st.decimals(allow_nan=True, allow_infinity=True).map(str))
BOUNDED = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                   suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def stored_controls(dump: dict[str, list[tuple[Any, ...]]]) -> list[tuple[str, str]]:
    """Return (table, value) for every stored text holding a control character (JSON columns included)."""
    return [(table, repr(value)[:80]) for table, rows in dump.items() for row in rows for value in row
            if CONTROL.search(str(value))]


def check(answer: httpx.Response, engine: Engine, before: dict[str, list[tuple[Any, ...]]]) -> None:
    """Assert the shared property: no 5xx, a refusal changed nothing, nothing with a control character stored."""
    assert answer.status_code < 500, answer.text[:500]
    after = dump_database(engine)
    if answer.status_code not in (200, 303):
        assert after == before, answer.status_code
    assert stored_controls(after) == []


@pytest.fixture
def served(mail_engine: Engine, tmp_path: Path) -> Iterator[tuple[httpx.Client, FixedClock, Engine]]:
    plan(mail_engine, T_MARCH.replace(day=28))  # April's lead check-ins exist from late March
    with session_scope(mail_engine, write=True) as session:
        session.add(Lead(name="储能项目", category="科创项目", bankuai_key="rugao", last_update_at=T_MARCH,
                         created_at=T_MARCH, updated_at=T_MARCH))
    plan(mail_engine, T_MARCH.replace(day=28))
    add_admin(mail_engine)
    clock = FixedClock(T_MARCH)
    app = create_app(app_settings(tmp_path), clock=clock, engine=mail_engine)
    with run_uvicorn(app, lifespan="off") as url, httpx.Client(base_url=url, timeout=30) as client:
        # Fixing activity 12's date makes its 筹备事项 (checklist) tasks, so every kind of link form is covered.
        token = issue(mail_engine, "fix:occ:12", T_MARCH, recipient="cxq.lianluo@example.org")
        fixed = post_form(client, f"/o/{token}", {"date": "2023-03-20", "start_time": "14:00", "place": "南通大厦"})
        assert fixed.status_code == 200, fixed.text[:300]
        plan(mail_engine, T_MARCH)
        yield client, clock, mail_engine


def link_forms(engine: Engine) -> dict[str, tuple[str, dict[str, str]]]:
    """Return, per kind of link form, a token path and a valid submission to start from."""
    with session_scope(engine) as session:
        checklist = session.exec(select(Task.key).where(Task.kind == TaskKind.CHECKLIST)).first()
        lead_id = session.exec(select(Lead.id)).first()
    assert lead_id is not None
    bases = {
        "fix:occ:14": {"date": "2023-03-20", "start_time": "14:00", "end_time": "16:00", "place": "如皋"},
        "outcome:occ:5": {**outcome_form(), "p-0-lead": "", "new_start": "", "new_end": "", "status_reason": ""},
        "negotiation:rugao:2023-03-06": {"count": "1", "n-0-project": "储能", "n-0-partner": "某公司", "n-0-note": ""},
        "leads:rugao:2023-04": {f"l-{lead_id}-stage": "lead", f"l-{lead_id}-evidence": "",
                                f"l-{lead_id}-reason": ""},
    }
    assert checklist is not None
    bases[checklist] = {"done": "1", "note": ""}
    return {key: (f"/o/{issue(engine, key, T_MARCH)}", base) for key, base in bases.items()}


@pytest.mark.timeout(120)
def test_any_value_in_any_link_form_field_gives_a_page_and_a_refusal_changes_nothing(served) -> None:
    client, clock, engine = served
    forms = link_forms(engine)
    cases = [(key, name) for key, (_path, base) in forms.items() for name in base]

    @BOUNDED
    @given(case=st.sampled_from(cases), value=VALUES, extra=st.sampled_from(cases), other=VALUES)
    def prop(case: tuple[str, str], value: str, extra: tuple[str, str], other: str) -> None:
        clock.advance(timedelta(minutes=2))  # stay under the anonymous POST rate limit, which is per minute
        key, name = case
        path, base = forms[key]
        data = {**base, name: value}
        if extra[0] == key:
            data[extra[1]] = other
        page = client.get(path)
        assert page.status_code == 200
        before = dump_database(engine)
        check(client.post(path, data={**form_fields(page.text), **data}), engine, before)

    prop()


ADMIN_FORMS: dict[str, dict[str, str]] = {
    "/admin/targets/annual": {"year": "2023", "unit": "rugao", "metric": "signed_projects", "value": "12"},
    "/admin/targets/goal": {"goal": "hightech", "value": "12", "as_of": "2023-06-30", "source": "公报"},
    "/admin/reviews/note": {"period": "2023-03/04", "unit": "rugao", "text": "进度偏慢"},
    "/admin/reviews/items": {"period": "2023-03/04", "unit": "rugao", "text": "补报数据"},
    "/admin/reviews/items/1/close": {"period": "2023-03/04", "note": "已补"},
    "/admin/assessments/adjustments": {"period": "2023Q1", "unit": "rugao", "points": "1", "reason": "补"},
    "/admin/contacts": {"org": "kjj", "name": "王芳", "email": "w@example.org", "role": "联络员"},
    "/admin/contacts/1": {"org": "kjj", "name": "王芳", "email": "w2@example.org", "role": "联络员"},
    "/admin/workdays/overrides": {"day": "2023-05-06", "kind": "off", "note": "调休", "source": "通知", "year": "2023"},
    "/admin/workdays/confirm": {"year": "2023", "source": "国务院办公厅通知"},
    "/admin/users": {"username": "clerk", "display_name": "文员", "password": "a long passphrase 1",
                     "password2": "a long passphrase 1"},
    "/admin/users/1/password": {"password": "another passphrase 2", "password2": "another passphrase 2"},
}


@pytest.mark.timeout(120)
def test_any_value_in_any_admin_form_field_gives_a_page_and_a_refusal_changes_nothing(served) -> None:
    client, _clock, engine = served
    assert sign_in(client).status_code == 303
    token = csrf_of(client.get("/admin/targets").text)
    cases = [(path, name) for path, base in ADMIN_FORMS.items() for name in base]
    html = {"accept": "text/html"}

    @BOUNDED
    @given(case=st.sampled_from(cases), value=VALUES)
    def prop(case: tuple[str, str], value: str) -> None:
        path, name = case
        before = dump_database(engine)
        data = {**ADMIN_FORMS[path], name: value, "csrf_token": token}
        check(client.post(path, data=data, headers=html), engine, before)

    prop()
