"""序号 15 end to end through real uvicorn and aiosmtpd: the office opens participation for the seven 县（市、区）, the
units nominate by the links they were mailed (on time, over capacity, late, edited twice, refused inputs), the roster,
the manifests (read back with openpyxl and csv) and the sign-in sheet match, and the retention purge keeps counts."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from datetime import datetime
from typing import Any

import httpx
import openpyxl
from sqlalchemy.engine import Engine
from sqlmodel import select

from scheduler.audit import AuditEntry
from scheduler.clock import SHANGHAI, FixedClock
from scheduler.config import Settings
from scheduler.db import session_scope
from scheduler.jobs import MailJobs
from scheduler.logistics.models import DelegationUnit, NominationRevision, Nominee
from scheduler.mail.mailer import SMTPMailer
from scheduler.plan.models import Event, Occurrence, Plan
from scheduler.runtime import Runtime
from tests.factories.mail import Recorder, start_smtp
from tests.support.admin import add_admin, csrf_of, sign_in

COUNTIES = ("haian", "rugao", "rudong", "qidong", "chongchuan", "tongzhou", "haimen")


def at(text: str) -> datetime:
    """Return a Shanghai wall-clock instant written 'YYYY-MM-DD HH:MM'."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=SHANGHAI)


def person(i: int, name: str, mobile: str, role: str = "工作人员", **over: str) -> dict[str, str]:
    """Return the fields of one row of the nomination form."""
    fields = {"name": name, "title": "科员", "role": role, "mobile": mobile, "email": f"p{mobile}@example.org",
              "depart_on": "2023-05-17", "return_on": "2023-05-19", "transport": "高铁/火车", "train_no": "G7081",
              "checkin_on": "2023-05-17", "checkout_on": "2023-05-19", "room": "合住", "diet": "", **over}
    return {f"p{i}-{k}": v for k, v in fields.items()}


def nonce_of(page: str) -> str:
    return re.search(r'name="form_nonce" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def hidden_ids(page: str) -> dict[str, str]:
    return dict(re.findall(r'name="(p\d+-id)" value="(\d*)"', page))


def nominate(client: httpx.Client, path: str, rows: list[dict[str, str]], *, keep_ids: bool = True,
             extra: dict[str, str] | None = None) -> httpx.Response:
    """Open the unit's form, fill it the way a browser posts it, submit."""
    page = client.get(path).text
    data: dict[str, str] = {"form_nonce": nonce_of(page), "submit": "1"}
    if keep_ids:
        data.update({k: v for k, v in hidden_ids(page).items()})
    for row in rows:
        data.update(row)
    data.update(extra or {})
    return client.post(path, data=data)


def mails(recorder: Recorder) -> list[dict[str, Any]]:
    out = []
    for m in recorder.messages():
        text = m.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        link = re.search(r"/o/n/(\S+)", text)
        out.append({"to": str(m["To"]), "subject": str(m["Subject"]), "kind": m["X-Scheduler-Kind"],
                    "path": f"/o/n/{link.group(1)}" if link else None, "text": text})
    return out


def test_seq15_delegation_by_link_roster_manifests_and_purge(mail_engine: Engine, client: httpx.Client,
                                                             clock: FixedClock, settings: Settings) -> None:
    engine = mail_engine
    add_admin(engine)
    recorder = Recorder()
    controller = start_smtp(recorder)
    try:
        smtp = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": controller.port})
        jobs = MailJobs(Runtime(smtp, engine=engine, clock=clock), mailer=SMTPMailer(smtp))
        with session_scope(engine) as session:
            plan = session.exec(select(Plan)).one()
            event = session.exec(select(Event).where(Event.plan_id == plan.id, Event.seq == 15)).one()
            occ = session.exec(select(Occurrence).where(Occurrence.event_id == event.id)).one()
        clock.set(at("2023-04-20 09:00"))
        assert sign_in(client).status_code == 303
        # The host fixes the date first (定档, the existing service): the ±3-day rule needs real days.
        page = client.get(f"/admin/plan/{plan.key}/events/15").text
        assert f'href="/admin/logistics/{occ.id}"' in page  # the hook on the admin event page
        fixed = client.post(f"/admin/plan/{plan.key}/events/15/sessions/{occ.key}/fix",
                            data={"csrf_token": csrf_of(page), "date": "2023-05-18", "start": "09:30", "end": "17:00",
                                  "place": "武汉"})
        assert fixed.status_code == 303

        # 1. Open participation: the seven 县（市、区） are pre-ticked (各县（市、区） is the co-organizer).
        page = client.get(f"/admin/logistics/{occ.id}").text
        assert all(f'value="{k}" checked' in page for k in COUNTIES)
        form = {"csrf_token": csrf_of(page), "units": list(COUNTIES), "total_capacity": "30",
                "deadline": "2023-05-10", "deadline_time": "17:00", "collect": ["travel", "lodging", "diet"],
                "note": "请优先安排分管领导带队。", **{f"cap-{k}": "5" for k in COUNTIES}}
        bad = client.post(f"/admin/logistics/{occ.id}/open", data={**form, "deadline": "2023-04-01", "cap-rugao": "0"})
        assert bad.status_code == 422
        assert "报名截止时间 2023-04-01 17:00 已过" in bad.text and "名额“0”应为 1 至 10000 的整数" in bad.text
        opened = client.post(f"/admin/logistics/{occ.id}/open", data=form)
        assert opened.status_code == 303
        asyncio.run(jobs.run_once("dispatch"))
        requests = mails(recorder)
        assert sorted(m["to"].rsplit("<", 1)[-1].rstrip(">") for m in requests) == sorted(
            f"{k}.lianluo@example.org" for k in COUNTIES)
        assert all(m["kind"] == "nomination_request" and m["path"] for m in requests)
        assert "请于 2023年05月10日 17:00 前报送" in requests[0]["subject"]
        link = {m["to"].rsplit("<", 1)[-1].split(".")[0]: m["path"] for m in requests}

        # 2. Nominations.
        clock.set(at("2023-04-21 10:00"))
        first = nominate(client, link["haian"], [person(0, "张海", "13800000001", "带队领导"),
                                                 person(1, "李安", "13800000002"),
                                                 person(2, "王企", "13800000003", "企业代表", org="海安某科技公司")])
        assert first.status_code == 200 and "名单已保存（第 1 版）" in first.text
        # Edit 1: 再加一行 re-renders with one more empty row (no JavaScript), then the fourth person is submitted.
        page = client.get(link["haian"]).text
        assert 'data-row="3"' in page and 'data-row="4"' not in page  # three stored + one blank
        more = client.post(link["haian"], data={"form_nonce": nonce_of(page), "add_row": "1", **hidden_ids(page),
                                                **person(3, "赵新", "13800000004")})
        assert more.status_code == 200 and 'data-row="4"' in more.text and "名单已保存" not in more.text
        second = nominate(client, link["haian"], [person(0, "张海", "13800000001", "带队领导"),
                                                  person(1, "李安", "13800000002"),
                                                  person(2, "王企", "13800000003", "企业代表", org="海安某科技公司"),
                                                  person(3, "赵新", "13800000004")])
        assert "名单已保存（第 2 版）" in second.text
        # Edit 2: 李安 is dropped (row cleared), 张海 changes train.
        cleared = {f"p1-{k}": "" for k in ("name", "title", "role", "mobile", "email", "depart_on", "return_on",
                                           "transport", "train_no", "checkin_on", "checkout_on", "room", "diet")}
        third = nominate(client, link["haian"], [person(0, "张海", "13800000001", "带队领导", train_no="G1736"),
                                                 cleared, person(2, "王企", "13800000003", "企业代表",
                                                                 org="海安某科技公司"),
                                                 person(3, "赵新", "13800000004")])
        assert "名单已保存（第 3 版）" in third.text
        # The saved list comes back as stored: 张海, 王企, 赵新 (李安 removed), plus one blank row.
        assert re.findall(r'name="p\d+-name" value="([^"]*)"', third.text) == ["张海", "王企", "赵新", ""]
        assert 'value="G1736"' in third.text and "已提交 3 次" in third.text

        over = nominate(client, link["rugao"], [person(i, f"如皋{i}", f"1390000000{i}") for i in range(6)])
        assert over.status_code == 422
        assert "超出名额：本单位名额 5 人，本次填写 6 人，请删减 1 人后再提交" in over.text
        assert 'value="如皋5"' in over.text  # what was typed comes back
        ok = nominate(client, link["rugao"], [person(i, f"如皋{i}", f"1390000000{i}") for i in range(5)])
        assert "名单已保存（第 1 版）" in ok.text

        dup = nominate(client, link["rudong"], [person(0, "张海", "13800000001")])
        assert dup.status_code == 422 and "手机号 138****0001 已在海安市的名单中" in dup.text
        bad_dates = nominate(client, link["qidong"], [person(0, "启一", "13700000001", depart_on="2023-05-12",
                                                             return_on="2023-05-11")])
        assert bad_dates.status_code == 422
        assert "出发日期 2023-05-12 不在活动日期前后 3 天内（应在 2023-05-15 至 2023-05-21 之间）" in bad_dates.text
        bad_order = nominate(client, link["qidong"], [person(0, "启一", "13700000001", depart_on="2023-05-19",
                                                             return_on="2023-05-17")])
        assert "返回日期 2023-05-17 早于出发日期 2023-05-19" in bad_order.text
        formula = nominate(client, link["chongchuan"], [person(0, '=HYPERLINK("http://x","点我")', "13600000001")])
        assert formula.status_code == 422 and "姓名不能以“=”开头" in formula.text
        assert nominate(client, link["tongzhou"], [person(0, "通一", "13500000001", "带队领导"),
                                                   person(1, "通二", "13500000002")]).status_code == 200
        assert "名单已保存" in nominate(client, link["rudong"], [person(0, "东一", "13400000001")]).text

        # Tampered and forged links are refused.
        assert client.get(link["haian"][:-3] + "abc").status_code == 403

        # 3. Nudges: only the units that still owe a list, two days before the deadline (a working day).
        asyncio.run(jobs.run_once("logistics"))
        clock.set(at("2023-05-08 09:00"))
        asyncio.run(jobs.run_once("dispatch"))
        nudges = [m for m in mails(recorder) if m["kind"] == "nomination_nudge"]
        assert sorted(m["to"].rsplit("<", 1)[-1].split(".")[0] for m in nudges) == ["chongchuan", "haimen", "qidong"]

        # Late: after the deadline the form is read-only and a POST is refused with the reason, nothing stored.
        clock.set(at("2023-05-11 09:00"))
        late = nominate(client, link["haimen"], [person(0, "海一", "13300000001")])
        assert late.status_code == 409 and "报名已截止，本次提交未保存" in late.text
        assert "报名已于 2023-05-10 17:00 截止" in client.get(link["haian"]).text

        # 4. Roster: counts per unit, who owes, confirm a unit, trim one person with a reason.
        page = client.get(f"/admin/logistics/{occ.id}").text
        assert "尚未报送名单：启东市、崇川区、海门区" in page
        with session_scope(engine) as session:
            units = {u.organization_key: u for u in session.exec(select(DelegationUnit))}
            rugao_people = session.exec(select(Nominee).where(Nominee.unit_id == units["rugao"].id)).all()
        assert units["haian"].revisions == 3
        confirm = client.post(f"/admin/logistics/{occ.id}/roster",
                              data={"csrf_token": csrf_of(page), "action": "unit", "unit_id": str(units["haian"].id)})
        assert confirm.status_code == 303
        no_reason = client.post(f"/admin/logistics/{occ.id}/roster", data={
            "csrf_token": csrf_of(page), "action": "declined", "person_id": str(rugao_people[4].id), "reason": ""})
        assert no_reason.status_code == 422 and "未采纳须填写原因" in no_reason.text
        trim = client.post(f"/admin/logistics/{occ.id}/roster", data={
            "csrf_token": csrf_of(page), "action": "declined", "person_id": str(rugao_people[4].id),
            "reason": "超出名额"})
        assert trim.status_code == 303
        page = client.get(f"/admin/logistics/{occ.id}").text
        # haian 3 confirmed; rugao 4 + tongzhou 2 + rudong 1 nominated; 1 declined.
        assert re.search(r'data-testid="total-nominated">7<', page)
        assert re.search(r'data-testid="total-confirmed">3<', page)
        assert re.search(r'data-testid="total-declined">1<', page)
        assert "13800000001" in page  # the signed-in admin sees full mobiles

        # 5. Manifests, read back by independent parsers.
        got = client.get(f"/admin/logistics/{occ.id}/manifests/rooming.xlsx")
        assert got.status_code == 200
        ws = openpyxl.load_workbook(io.BytesIO(got.content)).active
        assert ws["A1"].value == "序号15 南通-武汉地区高校科技成果对接洽谈会 住宿名单"
        assert [c.value for c in ws[2]] == ["序号", "单位", "姓名", "职务", "手机", "入住", "退房", "晚数", "单住/合住",
                                           "饮食需求"]
        assert ws.freeze_panes == "A3" and ws[2][0].font.b and ws.page_setup.orientation == "landscape"
        rows = [[c.value for c in r] for r in ws.iter_rows(min_row=3)]
        assert [r[2] for r in rows] == ["张海", "王企", "赵新", "如皋0", "如皋1", "如皋2", "如皋3", "东一", "通一",
                                        "通二"]
        assert rows[0][5:9] == ["2023-05-17", "2023-05-19", 2, "合住"]
        assert rows[1][1] == "海安某科技公司"
        transport = client.get(f"/admin/logistics/{occ.id}/manifests/transport.csv")
        lines = list(csv.reader(io.StringIO(transport.content.decode("utf-8-sig"))))
        assert lines[0] == ["序号", "单位", "姓名", "职务", "手机", "出发日期", "交通方式", "车次/航班", "返回日期"]
        assert lines[1] == ["1", "海安市", "张海", "科员", "13800000001", "2023-05-17", "高铁/火车", "G1736",
                            "2023-05-19"]
        assert len(lines) == 11
        book = openpyxl.load_workbook(io.BytesIO(
            client.get(f"/admin/logistics/{occ.id}/manifests/participants.xlsx").content))
        assert book.sheetnames == ["海安市", "如皋市", "如东县", "通州区"]
        assert [r[2].value for r in book["如皋市"].iter_rows(min_row=3)] == ["如皋0", "如皋1", "如皋2", "如皋3"]
        sheet = client.get(f"/admin/logistics/{occ.id}/signin").text
        assert "138****0001" in sheet and "13800000001" not in sheet
        assert "/static/print-signin.css" in sheet  # the A4 print rules, served under the CSP
        assert "@page { size:A4 portrait" in client.get("/static/print-signin.css").text
        assert sheet.count("<section") == 4

        # 6. Retention: 90 days after the event personal fields go, the counts stay.
        # The event ends 05-18; 90 days later is 08-16 (13 + 30 + 31 + 16); purged from the next day on.
        clock.set(at("2023-08-16 23:00"))
        assert asyncio.run(jobs.run_once("logistics"))["purged"] == []
        clock.set(at("2023-08-17 00:30"))
        assert asyncio.run(jobs.run_once("logistics"))["purged"] != []
        page = client.get(f"/admin/logistics/{occ.id}").text
        assert "13800000001" not in page and "张海" not in page and "个人信息已于 2023-08-17" in page
        assert re.search(r'data-testid="total-nominated">7<', page)
        assert re.search(r'data-testid="total-confirmed">3<', page)
        with session_scope(engine) as session:
            assert all(n.mobile is None and n.email is None for n in session.exec(select(Nominee)))
            assert all("张海" not in str(r.data) for r in session.exec(select(NominationRevision)))
            submits = session.exec(select(AuditEntry).where(AuditEntry.action == "nomination.submit")).all()
            assert len(submits) == 6 and all("1380000" not in str(a.after) for a in submits)
    finally:
        controller.stop()
