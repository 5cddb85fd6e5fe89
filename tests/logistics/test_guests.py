"""序号 41 「邀请两院系统专家教授到海安」 through real uvicorn and aiosmtpd: guests are added, invited by mail, answer
by their personal link (accept with companions, decline, a second answer refused), the unanswered are reminded, and
the accepted get a confirmation whose calendar invitation parses as METHOD:REQUEST with ORGANIZER and ATTENDEE."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from typing import Any

import httpx
import icalendar
from sqlalchemy.engine import Engine
from sqlmodel import select

from scheduler.clock import SHANGHAI, FixedClock
from scheduler.config import Settings
from scheduler.db import session_scope
from scheduler.jobs import MailJobs
from scheduler.logistics.guests import CODE_ALPHABET, invitation_ics
from scheduler.logistics.models import Guest
from scheduler.logistics.roster import purge_due
from scheduler.mail.mailer import SMTPMailer
from scheduler.plan.models import Event, Occurrence
from scheduler.runtime import Runtime
from tests.factories.mail import Recorder, start_smtp
from tests.support.admin import add_admin, csrf_of, sign_in

GUESTS = ("张院士，中国科学院某研究所，zhang@example.ac.cn\n李教授，某大学，li@example.edu.cn\n"
          "王研究员，某研究院，wang@example.org\n")


def at(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=SHANGHAI)


def by_recipient(recorder: Recorder, kind: str) -> dict[str, Any]:
    out = {}
    for m in recorder.messages():
        if m["X-Scheduler-Kind"] == kind:
            out[str(m["To"]).rsplit("<", 1)[-1].rstrip(">")] = m
    return out


def link_in(message: Any) -> str:
    text = message.get_body(("plain",)).get_content()
    return re.search(r"/o/g/\S+", text).group(0)  # type: ignore[union-attr]


def answer(client: httpx.Client, path: str, **fields: str) -> httpx.Response:
    page = client.get(path).text
    nonce = re.search(r'name="form_nonce" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    return client.post(path, data={"form_nonce": nonce, **fields})


def test_seq41_guests_rsvp_reminders_and_calendar_invitation(mail_engine: Engine, client: httpx.Client,
                                                             clock: FixedClock, settings: Settings) -> None:
    engine = mail_engine
    add_admin(engine)
    recorder = Recorder()
    controller = start_smtp(recorder)
    try:
        smtp = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": controller.port})
        jobs = MailJobs(Runtime(smtp, engine=engine, clock=clock), mailer=SMTPMailer(smtp))
        with session_scope(engine) as session:
            event = session.exec(select(Event).where(Event.seq == 41)).one()
            occ = session.exec(select(Occurrence).where(Occurrence.event_id == event.id)).one()
        clock.set(at("2023-09-01 09:00"))
        assert sign_in(client).status_code == 303
        page = client.get(f"/admin/logistics/{occ.id}").text
        # 请进来: no delegation is asked, only guests.
        opened = client.post(f"/admin/logistics/{occ.id}/open", data={
            "csrf_token": csrf_of(page), "deadline": "2023-09-20", "deadline_time": "17:00"})
        assert opened.status_code == 303
        page = client.get(f"/admin/logistics/{occ.id}").text
        bad = client.post(f"/admin/logistics/{occ.id}/guests", data={
            "csrf_token": csrf_of(page), "guests": "赵博士，某所\n=cmd|' /C calc'!A0，某所，x@example.org"})
        assert bad.status_code == 422
        assert "第 1 行应为“姓名，单位，邮箱”三项，现有 2 项" in bad.text
        assert "第 2 行的姓名或单位不能以 = + - @ 开头" in bad.text
        added = client.post(f"/admin/logistics/{occ.id}/guests", data={"csrf_token": csrf_of(page), "guests": GUESTS})
        assert added.status_code == 303
        asyncio.run(jobs.run_once("dispatch"))
        invitations = by_recipient(recorder, "guest_invitation")
        assert sorted(invitations) == ["li@example.edu.cn", "wang@example.org", "zhang@example.ac.cn"]
        links = {to: link_in(m) for to, m in invitations.items()}

        clock.set(at("2023-09-05 10:00"))
        first_page = client.get(links["zhang@example.ac.cn"]).text
        old_nonce = re.search(r'name="form_nonce" value="([^"]+)"', first_page).group(1)  # type: ignore[union-attr]
        accepted = client.post(links["zhang@example.ac.cn"], data={
            "form_nonce": old_nonce, "answer": "accepted", "companions": "1", "arrival": "9月25日 G7081 15:20 到站"})
        assert accepted.status_code == 200 and "您已回复：<strong>接受</strong>" in accepted.text
        code = re.search(r'data-testid="checkin-code"[^>]*>([A-Z0-9]+)<', accepted.text).group(1)  # type: ignore[union-attr]
        assert len(code) == 6 and set(code) <= set(CODE_ALPHABET)
        too_many = answer(client, links["li@example.edu.cn"], answer="accepted", companions="9")
        assert too_many.status_code == 422 and "随行人数“9”应为 0 至 5 的整数" in too_many.text
        declined = answer(client, links["li@example.edu.cn"], answer="declined")
        assert "您已回复：<strong>谢绝</strong>" in declined.text
        # A second answer (the form still open in another tab) is refused with the first answer, nothing changed.
        twice = client.post(links["zhang@example.ac.cn"], data={"form_nonce": old_nonce, "answer": "declined"})
        assert twice.status_code == 409
        assert "您已于 2023-09-05 10:00 回复“接受”，无需重复提交；如需更改请联系主办单位" in twice.text
        with session_scope(engine) as session:
            stored = {g.email: g for g in session.exec(select(Guest))}
        assert stored["zhang@example.ac.cn"].status == "accepted" and stored["zhang@example.ac.cn"].companions == 1
        assert stored["zhang@example.ac.cn"].checkin_code == code

        asyncio.run(jobs.run_once("dispatch"))
        confirmations = by_recipient(recorder, "guest_confirmation")
        assert list(confirmations) == ["zhang@example.ac.cn"]
        mail = confirmations["zhang@example.ac.cn"]
        assert code in str(mail["Subject"]) and code in mail.get_body(("plain",)).get_content()
        parts = [p for p in mail.walk() if p.get_content_type() == "text/calendar"]
        assert len(parts) == 1 and parts[0].get_param("method") == "REQUEST"
        cal = icalendar.Calendar.from_ical(parts[0].get_payload(decode=True))
        assert str(cal["METHOD"]) == "REQUEST"
        vevent: Any = next(iter(cal.walk("VEVENT")))
        assert str(vevent["ORGANIZER"]) == "mailto:noreply@kjzs.example.org"
        assert str(vevent["ATTENDEE"]) == "mailto:zhang@example.ac.cn"
        assert vevent["ATTENDEE"].params["PARTSTAT"] == "ACCEPTED" and int(vevent["SEQUENCE"]) == 0
        assert str(vevent["UID"]).startswith(f"guest-{stored['zhang@example.ac.cn'].id}-")

        # Reminders: only 王研究员 has not answered; two days before the deadline (09-18, a Monday), 09:00.
        asyncio.run(jobs.run_once("logistics"))
        clock.set(at("2023-09-18 09:00"))
        asyncio.run(jobs.run_once("dispatch"))
        assert list(by_recipient(recorder, "guest_reminder")) == ["wang@example.org"]
        roster = client.get(f"/admin/logistics/{occ.id}").text
        assert "共 3 位：未回复 1 · 接受 1 · 谢绝 1" in roster
        open_page = client.get(links["wang@example.org"]).text  # the page left open past the deadline
        nonce = re.search(r'name="form_nonce" value="([^"]+)"', open_page).group(1)  # type: ignore[union-attr]
        clock.set(at("2023-09-21 09:00"))
        assert "回复已截止" in client.get(links["wang@example.org"]).text
        late = client.post(links["wang@example.org"], data={"form_nonce": nonce, "answer": "accepted"})
        assert late.status_code == 409 and "回复已截止，本次提交未保存" in late.text
        # Retention: 序号 41 is planned for 2023年12月 (to 12-31); 90 days on is 2024-03-30, purged the next day.
        with session_scope(engine, write=True) as session:
            assert purge_due(session=session, now=at("2024-03-30 23:00"), retention_days=90) == []
            assert purge_due(session=session, now=at("2024-03-31 00:30"), retention_days=90) != []
        with session_scope(engine) as session:
            purged = session.exec(select(Guest)).all()
        assert [(g.email, g.arrival, g.status) for g in purged] == [
            (None, None, "accepted"), (None, None, "declined"), (None, None, "invited")]
        assert client.get(links["zhang@example.ac.cn"]).status_code == 403  # links die with the data
    finally:
        controller.stop()


def test_invitation_ics_cancel_and_folding_are_well_formed() -> None:
    ctx = {"uid": "guest-1-x@kjzs", "sequence": 2, "stamp": "20230905T020000Z", "start_at": None, "end_at": None,
           "start_day": "20230925", "end_day": "20230926", "summary": "长" * 60, "location": "海安，江苏",
           "organizer": "noreply@kjzs.example.org", "attendee": "zhang@example.ac.cn", "attendee_name": "张院士",
           "checkin_code": "ABC234"}
    data = invitation_ics(ctx, method="CANCEL")
    assert all(len(line) <= 75 for line in data.split(b"\r\n"))
    cal = icalendar.Calendar.from_ical(data)
    vevent: Any = next(iter(cal.walk("VEVENT")))
    assert str(cal["METHOD"]) == "CANCEL" and str(vevent["STATUS"]) == "CANCELLED" and int(vevent["SEQUENCE"]) == 2
    assert str(vevent["SUMMARY"]) == "长" * 60 and str(vevent["LOCATION"]) == "海安，江苏"
    assert vevent["DTSTART"].dt.isoformat() == "2023-09-25"
    assert invitation_ics(ctx, method="CANCEL") == data  # same input, same bytes
