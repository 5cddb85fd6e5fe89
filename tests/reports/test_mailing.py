"""The monthly report reaches the office's inbox on the 1st through the outbox and a real SMTP server."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime
from email import message_from_bytes, policy

from docx import Document
from openpyxl import load_workbook
from sqlalchemy.engine import Engine
from sqlmodel import select

from scheduler.clock import SHANGHAI, FixedClock
from scheduler.config import DEFAULT_SEED, Settings
from scheduler.contacts import Person, read_contacts_file, replace_contacts
from scheduler.db import session_scope
from scheduler.jobs import MailJobs
from scheduler.mail.mailer import MemoryMailer, SMTPMailer
from scheduler.mail.models import OutboxMessage
from scheduler.plan.catalog import get_organizations
from scheduler.plan.importer import import_plan
from scheduler.plan.seed import parse_plan_bytes
from scheduler.reports.mailing import wanted_report_mail
from scheduler.runtime import Runtime
from tests.factories.mail import EXAMPLE_CONTACTS, Recorder, start_smtp
from tests.factories.plans import import_year


async def dispatch_and_close(jobs: MailJobs) -> dict:
    try:
        return await jobs.dispatch()
    finally:
        await jobs.mailer.close()


def test_monthly_report_is_mailed_to_the_office_once(mail_engine: Engine, settings: Settings) -> None:
    recorder = Recorder()
    smtp = start_smtp(recorder)
    try:
        settings = settings.model_copy(update={"smtp_port": smtp.port})
        steps = [  # (instant, rows added, rows claimed)
            # 1 April 2023 is a Saturday (a rest day; no 调休 that weekend): the report waits for Monday 3 April 09:00.
            (datetime(2023, 3, 31, 16, 30, tzinfo=UTC), 2, 0),  # 00:30 on 1 April in Shanghai: queued
            (datetime(2023, 4, 1, 2, 0, tzinfo=UTC), 0, 0),  # Saturday 10:00: still queued
            (datetime(2023, 4, 3, 2, 0, tzinfo=UTC), 0, 2),  # Monday 10:00: sent
            (datetime(2023, 4, 3, 3, 0, tzinfo=UTC), 0, 0),  # asked again: nothing new, nothing resent
        ]
        for when, added, claimed in steps:
            runtime = Runtime(settings, clock=FixedClock(when), engine=mail_engine)
            jobs = MailJobs(runtime, mailer=SMTPMailer(settings))
            assert jobs.reports()["added"] == added
            assert asyncio.run(dispatch_and_close(jobs))["claimed"] == claimed
    finally:
        smtp.stop()
    assert sorted(rcpt for _f, rcpts, _d in recorder.received for rcpt in rcpts) == [
        "kjj.lianluo@example.org",
        "kjzs.office@example.org",
    ]
    msg = message_from_bytes(recorder.received[0][2], policy=policy.default)
    assert msg["Subject"] == "【月度跟踪】2023年3月科技招商月度跟踪"
    html = msg.get_body(("html",)).get_content()
    assert "如皋市" in html and "/admin/reports/monthly?period=2023-03" in html
    # the report travels with the mail: the print-ready XLSX and the Word 通报, under their Chinese names
    files = {part.get_filename(): part.get_content() for part in msg.iter_attachments()}
    assert set(files) == {"2023年3月科技招商月度跟踪.xlsx", "2023年3月科技招商月度跟踪.docx"}
    sheet = load_workbook(io.BytesIO(files["2023年3月科技招商月度跟踪.xlsx"]))["各板块月度跟踪"]
    assert [c.value for c in sheet[3]][:2] == ["板块", "本月计划活动"] and sheet.freeze_panes == "B4"
    assert sheet.max_row == 3 + 11 + 1 + 2  # title, units, header; the 11 板块; 合计; a blank row and the note
    assert sheet.cell(sheet.max_row, 1).value.startswith("说明：完成率 = 累计签约项目 ÷ 年度目标")
    tongbao = Document(io.BytesIO(files["2023年3月科技招商月度跟踪.docx"]))
    assert tongbao.paragraphs[0].text == "关于2023年3月科技招商月度跟踪情况的通报"
    assert [c.text for c in tongbao.tables[0].rows[0].cells][:2] == ["板块", "本月计划活动"]
    with session_scope(mail_engine) as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "monthly_report")).all()
    assert {r.state for r in rows} == {"sent"} and {r.origin for r in rows} == {"reports:2023-03"}


def test_an_office_contact_added_after_the_report_went_out_still_gets_it(mail_engine: Engine, settings: Settings
                                                                          ) -> None:
    # 1 April 2023 is a Saturday: the report goes out on Monday 3 April, 09:00 Shanghai.
    sent_at, later = datetime(2023, 4, 3, 2, 0, tzinfo=UTC), datetime(2023, 4, 4, 2, 0, tzinfo=UTC)
    clock = FixedClock(sent_at)
    jobs = MailJobs(Runtime(settings, clock=clock, engine=mail_engine), mailer=MemoryMailer())
    assert jobs.reports()["added"] == 2
    assert asyncio.run(jobs.dispatch())["sent"] == 2
    assert jobs.reports()["added"] == 0  # everyone has it: nothing to queue
    with session_scope(mail_engine, write=True) as session:
        people = read_contacts_file(EXAMPLE_CONTACTS, organizations=get_organizations(session=session))
        replace_contacts(session=session, people=[*people, Person("kjj", "新同事", "kjj.new@example.org", "联络员")],
                         now=later)
    clock.set(later)
    assert jobs.reports()["added"] == 1
    assert asyncio.run(jobs.dispatch())["sent"] == 1
    with session_scope(mail_engine) as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "monthly_report")).all()
    assert sorted(r.recipient for r in rows) == ["kjj.lianluo@example.org", "kjj.new@example.org",
                                                 "kjzs.office@example.org"]


def test_the_april_2024_report_waits_for_the_end_of_the_labour_day_holiday(engine: Engine) -> None:
    # 国办发明电〔2023〕7号: 劳动节 5月1日至5日放假调休，共5天；4月28日（星期日）、5月11日（星期六）上班.
    # Due Wed 1 May 2024 09:00 → the first working day after is Monday 6 May.
    # The 2023 seed moved to 2024, a leap year: windows ending on 28 February end on the 29th.
    text = DEFAULT_SEED.read_text(encoding="utf-8").replace("2023", "2024").replace("2024-02-28", "2024-02-29")
    with session_scope(engine, write=True) as session:
        import_plan(session=session, doc=parse_plan_bytes(text.encode(), source="events_2024.json"),
                    now=datetime(2024, 1, 22, 1, 0, tzinfo=UTC))
    with session_scope(engine, write=True) as session:
        people = read_contacts_file(EXAMPLE_CONTACTS, organizations=get_organizations(session=session))
        replace_contacts(session=session, people=people, now=datetime(2024, 1, 22, 1, 0, tzinfo=UTC))
    with session_scope(engine) as session:
        wanted = wanted_report_mail(session=session, now=datetime(2024, 4, 30, 16, 30, tzinfo=UTC),
                                    base_url="http://kjzs.test")
    assert {w.context["period"] for w in wanted} == {"2024-04"} and len(wanted) == 2
    assert {w.due_at.astimezone(SHANGHAI) for w in wanted} == {datetime(2024, 5, 6, 9, 0, tzinfo=SHANGHAI)}
    assert all("provisional" not in w.context for w in wanted)


def test_a_report_of_a_year_the_calendar_does_not_cover_says_so(engine: Engine) -> None:
    import_year(engine, 2027, datetime(2026, 11, 20, 1, 0, tzinfo=UTC))
    with session_scope(engine, write=True) as session:
        people = read_contacts_file(EXAMPLE_CONTACTS, organizations=get_organizations(session=session))
        replace_contacts(session=session, people=people, now=datetime(2026, 11, 20, 1, 0, tzinfo=UTC))
    with session_scope(engine) as session:
        wanted = wanted_report_mail(session=session, now=datetime(2027, 2, 1, 2, 0, tzinfo=UTC),
                                    base_url="http://kjzs.test")
    line = "2027年节假日安排尚未发布，日期按周末推算，待国务院办公厅通知后复核"
    assert wanted and all(w.context["provisional"] == [line] for w in wanted)
