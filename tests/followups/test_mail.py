"""Follow-up mail through a real SMTP server: links in every task mail, last_reminded_at only on acceptance,
定档 by link fixes the occurrence and notifies co-organizers, payloads stay escaped in mail and exports."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import openpyxl
from sqlalchemy.engine import Engine
from sqlmodel import select

from scheduler.clock import FixedClock
from scheduler.db import session_scope
from scheduler.followups.action_links import LINKED_KINDS, mail_composer
from scheduler.followups.models import IssuedLink, Task
from scheduler.followups.tasks import note_mail_sent
from scheduler.mail.dispatcher import RetryPolicy, dispatch_due
from scheduler.mail.mailer import SMTPMailer
from scheduler.mail.models import OutboxMessage
from scheduler.outcomes.exports import outcomes_csv, outcomes_xlsx
from scheduler.plan.models import Occurrence
from scheduler.reminders.planner import RuleBook
from scheduler.reminders.sync import plan_and_sync
from scheduler.web.app import create_app
from tests.factories.followups import PAYLOADS, T_MARCH, issue, outcome_form, plan, post_form, settings
from tests.factories.mail import Recorder, start_smtp
from tests.support.servers import run_uvicorn


def dispatch(engine: Engine, tmp_path: Path, port: int, clock: FixedClock) -> dict:
    s = settings(tmp_path, smtp_port=port)
    composer = mail_composer(s, engine)

    async def run() -> dict:
        mailer = SMTPMailer(s)
        try:
            report = await dispatch_due(engine=engine, mailer=mailer, composer=composer, clock=clock, worker="t",
                                        policy=RetryPolicy(max_attempts=2, base=3600, cap=3600), wall=clock,
                                        on_sent=note_mail_sent)
            return report.as_dict()
        finally:
            await mailer.close()

    return asyncio.run(run())


def reminded(engine: Engine) -> dict[str, object]:
    with session_scope(engine) as session:
        return {t.key: t.last_reminded_at for t in session.exec(select(Task)) if t.last_reminded_at or t.reminders_sent}


def queue_all(engine: Engine) -> FixedClock:
    """Plan follow-ups and queue every mail due on 10 March 2023; return a clock set then."""
    plan(engine, T_MARCH)
    with session_scope(engine, write=True) as session:
        plan_and_sync(session=session, rules=RuleBook(), now=T_MARCH)
    return FixedClock(T_MARCH)


def dispatch_refused(engine: Engine, tmp_path: Path, clock: FixedClock, *, again_at: datetime | None = None) -> dict:
    """Dispatch against an SMTP server that refuses every message (once more at `again_at`); return the report."""
    controller = start_smtp(Recorder(data_replies=["451 4.3.0 try later"] * 10_000))
    try:
        report = dispatch(engine, tmp_path, controller.port, clock)
        if again_at is not None:
            clock.set(again_at)
            report = dispatch(engine, tmp_path, controller.port, clock)
    finally:
        controller.stop()
    return report


def test_last_reminded_at_is_set_only_when_the_smtp_server_accepted_the_mail(mail_engine: Engine,
                                                                           tmp_path: Path) -> None:
    clock = queue_all(mail_engine)
    assert reminded(mail_engine) == {}, "queueing is not reminding"
    report = dispatch_refused(mail_engine, tmp_path, clock)
    assert report["sent"] == 0 and report["retried"] > 0
    assert reminded(mail_engine) == {}, "a refused nudge reminded nobody"
    clock.set(T_MARCH.replace(hour=4))  # after the retry back-off
    accepting = Recorder()
    controller = start_smtp(accepting)
    try:
        report = dispatch(mail_engine, tmp_path, controller.port, clock)
    finally:
        controller.stop()
    stamped = reminded(mail_engine)
    assert report["sent"] == len(accepting.received) > 0
    assert stamped and set(stamped.values()) == {clock.now()}
    # (The week of 2-27 was over before these tasks were first planned on 3-10: the policy skips its mail.)
    assert "negotiation:rugao:2023-03-06" in stamped and "fix:occ:12" in stamped, "定档 mail stamps the 定档 task"
    assert "negotiation:rugao:2023-02-27" not in stamped
    # Every task mail carries a link to its own form.
    bodies = [m.get_body(("plain",)).get_content() for m in accepting.messages()]
    fix_mail = [b for b in bodies if "南通创新区—上海科技招商推介会" in b and "定档" in b]
    assert fix_mail and all("/o/fix_date." in b for b in fix_mail)
    assert all("/o/" in b for b in bodies if "本周洽谈" in b)


def test_fixing_the_date_by_link_fixes_the_occurrence_notifies_co_organizers_and_escapes_what_was_typed(
        mail_engine: Engine, tmp_path: Path) -> None:
    clock = FixedClock(T_MARCH)
    plan(mail_engine, T_MARCH)
    with session_scope(mail_engine, write=True) as session:
        plan_and_sync(session=session, rules=RuleBook(), now=T_MARCH)
    place = f"南通大厦{PAYLOADS[0]}"
    token = issue(mail_engine, "fix:occ:12", T_MARCH, recipient="cxq.lianluo@example.org")
    app = create_app(settings(tmp_path), clock=clock, engine=mail_engine)
    with run_uvicorn(app, lifespan="off") as url, httpx.Client(base_url=url) as client:
        bad = post_form(client, f"/o/{token}", {"date": "2023-05-02", "start_time": "14:00", "place": "x"})
        assert bad.status_code == 422 and "不在计划窗口" in bad.text
        done = post_form(client, f"/o/{token}", {"date": "2023-03-20", "start_time": "14:00", "end_time": "17:00",
                                                  "place": place})
        assert done.status_code == 200 and "已提交" in done.text
        again = client.get(f"/o/{token}")
        assert PAYLOADS[0] not in again.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in again.text
    with session_scope(mail_engine) as session:
        occ = session.get(Occurrence, 12)
        task = session.exec(select(Task).where(Task.key == "fix:occ:12")).one()
    assert occ is not None and occ.status == "fixed" and occ.sequence == 1 and occ.location == place
    assert task.status == "done"
    with session_scope(mail_engine, write=True) as session:
        plan_and_sync(session=session, rules=RuleBook(), now=T_MARCH)
    plan(mail_engine, T_MARCH)
    recorder = Recorder()
    controller = start_smtp(recorder)
    try:
        dispatch(mail_engine, tmp_path, controller.port, clock)
    finally:
        controller.stop()
    notices = [m for m in recorder.messages() if m["X-Scheduler-Kind"] == "change_notice"]
    assert {m["To"].split("<")[-1].rstrip(">") for m in notices} >= {"tct.lianluo@example.org"}, \
        "the co-organizer (通创投) is told"
    html = notices[0].get_body(("html",)).get_content()
    assert PAYLOADS[0] not in html and "&lt;script&gt;" in html
    with session_scope(mail_engine) as session:
        checklist = session.exec(select(Task).where(Task.key.startswith("checklist:occ:12:"))).all()  # type: ignore[attr-defined]
    assert {t.key for t in checklist} >= {"checklist:occ:12:venue", "checklist:occ:12:support:tct"}


def test_payloads_in_every_outcome_field_come_back_escaped_in_pages_and_neutralized_in_exports(
        mail_engine: Engine, tmp_path: Path) -> None:
    clock = FixedClock(T_MARCH)
    plan(mail_engine, T_MARCH)
    token = issue(mail_engine, "outcome:occ:5", T_MARCH)
    text_fields = ["actual_place", "filer_name", "filer_contact", "narrative", "next_steps", "p-0-name",
                   "p-0-partner", "p-0-chain", "p-0-origin", "p-0-contact", "t-0-name"]
    app = create_app(settings(tmp_path), clock=clock, engine=mail_engine)
    with run_uvicorn(app, lifespan="off") as url, httpx.Client(base_url=url) as client:
        for payload in PAYLOADS:
            data = outcome_form(**{f: payload for f in text_fields})
            assert post_form(client, f"/o/{token}", data).status_code == 200
            page = client.get(f"/o/{token}").text
            assert "<script>alert(1)</script>" not in page
            if payload == PAYLOADS[0]:
                assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= len(text_fields)
            else:
                assert page.count(f'value="{payload.replace(chr(39), "&#39;")}"') >= 8, payload
    with session_scope(mail_engine) as session:
        rows = list(csv.reader(io.StringIO(outcomes_csv(session=session).decode("utf-8-sig"))))
        book = openpyxl.load_workbook(io.BytesIO(outcomes_xlsx(session=session)))
    last = PAYLOADS[-1]
    cells = [c for row in rows[1:] for c in row]
    assert f"'{last}" in cells and last not in cells, "a leading - + = @ is prefixed with '"
    sheet = book.active
    values = [c.value for row in sheet.iter_rows(min_row=2) for c in row]
    risky = [c for row in sheet.iter_rows(min_row=2) for c in row
             if isinstance(c.value, str) and re.match(r"^[=+\-@]", c.value)]
    assert last in values and f"'{last}" not in values, "XLSX shows the text as typed, no literal apostrophe"
    assert risky and all(c.data_type == "s" and c.quotePrefix for c in risky), "formula-like text is quote-prefixed"
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)


def test_retries_of_one_outbox_message_reuse_its_link_instead_of_minting_new_ones(mail_engine: Engine,
                                                                                  tmp_path: Path) -> None:
    clock = queue_all(mail_engine)
    dispatch_refused(mail_engine, tmp_path, clock, again_at=T_MARCH + timedelta(hours=2))  # retries are due then
    with session_scope(mail_engine) as session:
        links = session.exec(select(IssuedLink)).all()
        tried = [r for r in session.exec(select(OutboxMessage)) if r.attempts and r.kind in LINKED_KINDS]
    assert any(r.attempts == 2 for r in tried), "some messages were tried twice"
    assert len(links) == len(tried), "one live link per message, however many attempts"
