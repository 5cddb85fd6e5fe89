"""/admin/plan/upload and the plan downloads over real HTTP: the shipped XLSX of 附件4 previewed (nothing written) and
confirmed into an empty database; a broken copy, legacy and renamed files refused with every error located; a
conflicting re-upload after a host fixed a venue; CSRF, sign-in, the kept file's id and hash; audit entries."""

from __future__ import annotations

import html
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy.engine import Engine
from sqlmodel import col, func, select

from scheduler.audit import ActorKind, AuditEntry
from scheduler.clock import FixedClock
from scheduler.config import DEFAULT_SEED, PROJECT_ROOT, Settings
from scheduler.db import session_scope
from scheduler.followups.effects import Actor
from scheduler.followups.models import Task, TaskKind
from scheduler.followups.submissions import Accepted, record_submission
from scheduler.plan.models import Event, Occurrence
from scheduler.web.app import create_app
from tests.factories.followups import plan as plan_followups
from tests.support.admin import add_admin, csrf_of, sign_in, signed_in_client
from tests.support.dbstate import dump_database
from tests.support.instants import NOTICE_DATE
from tests.support.servers import run_uvicorn

SHIPPED = PROJECT_ROOT / "seeds" / "plan_2023.xlsx"
SEED = json.loads(DEFAULT_SEED.read_text(encoding="utf-8"))
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
FORM_DAY = datetime(2023, 4, 2, 2, 0, tzinfo=UTC)  # 10:00 Shanghai, 2 April: 13-1's 定档 request is open
# The host's 定档 of 13-1 (市科技局 hosts 序号 13 in 附件4) against a file that moves the session to 上海浦东.
CONFLICT = ("冲突：序号 13 场次 13-1 地点：文件为“上海浦东”，现值为“上海国际会议中心”"
            "（主办单位市科技局 2023-04-02 定档时填写），保留现值")


@dataclass
class Office:
    client: httpx.Client
    engine: Engine
    clock: FixedClock
    uploads: Path
    url: str


@pytest.fixture
def office(engine: Engine, settings: Settings) -> Iterator[Office]:
    """The office signed in on an empty database (the plan comes in through the page)."""
    add_admin(engine)
    clock = FixedClock(NOTICE_DATE)
    app = create_app(settings, clock=clock, engine=engine)
    with run_uvicorn(app, lifespan="off") as url:
        client = signed_in_client(url)
        try:
            yield Office(client, engine, clock, settings.var_dir / "uploads", url)
        finally:
            client.close()


def text_of(page: str) -> str:
    """Return a page's visible text, one space between elements."""
    body = re.sub(r"<style>.*?</style>", "", page.split("<main>", 1)[-1], flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body)))


def upload(office: Office, data: bytes, filename: str, **fields: str) -> httpx.Response:
    """Post a file through the upload form, with its CSRF token, as the browser does."""
    token = csrf_of(office.client.get("/admin/plan/upload").text)
    return office.client.post("/admin/plan/upload", data={"csrf_token": token, **fields},
                              files={"file": (filename, data, "application/octet-stream")})


def staged(page: str) -> dict[str, str]:
    """Return the confirm form's hidden fields (CSRF token, upload id, hash)."""
    form = page.split('data-testid="confirm"', 1)[1].split("</form>", 1)[0]
    return dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form))


def confirm(office: Office, page: str) -> httpx.Response:
    """Press 确认导入 on a preview and follow the redirect to the report."""
    answer = office.client.post("/admin/plan/upload/confirm", data=staged(page))
    assert answer.status_code == 303, answer.text[:500]
    return office.client.get(answer.headers["location"])


def kept_files(office: Office) -> list[str]:
    return sorted(p.name for p in office.uploads.iterdir()) if office.uploads.exists() else []


def counted(engine: Engine) -> tuple[int, int]:
    with session_scope(engine) as session:
        return (session.exec(select(func.count()).select_from(Event)).one(),
                session.exec(select(func.count()).select_from(Occurrence)).one())


def edited(changes: dict[tuple[int, str], Any], source: bytes | None = None) -> bytes:
    """Return the shipped workbook with cells replaced: {(序号, column letter): value}."""
    book = load_workbook(io.BytesIO(source) if source else SHIPPED)
    sheet = book["附件4"]
    rows = {row[0].value: row[0].row for row in sheet.iter_rows() if isinstance(row[0].value, int)}
    for (seq, column), value in changes.items():
        sheet[f"{column}{rows[seq]}"] = value
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def import_shipped(office: Office) -> None:
    page = upload(office, SHIPPED.read_bytes(), "plan_2023.xlsx")
    assert page.status_code == 200
    assert "导入完成" in text_of(confirm(office, page.text).text)


def test_signed_out_visitors_are_sent_to_sign_in(client: httpx.Client) -> None:
    export = "/admin/plan/export.xlsx?plan=nantong-2023"
    for path, next_path in (("/admin/plan/upload", "/admin/plan/upload"), (export, quote(export, safe="/"))):
        answer = client.get(path)
        assert (answer.status_code, answer.headers["location"]) == (303, f"/login?next={next_path}")


def test_the_shipped_table_is_previewed_then_imported_into_an_empty_database(office: Office) -> None:
    page = office.client.get("/admin/plan/upload").text
    assert "还没有计划" in text_of(page) and 'href="/admin/plan/upload"' in page  # the nav link
    before = dump_database(office.engine)

    preview = upload(office, SHIPPED.read_bytes(), "plan_2023.xlsx")
    assert preview.status_code == 200
    shown = text_of(preview.text)
    units = len(SEED["organizations"])
    # 附件4: 序号 1-48 with 61 sessions (16 and 27: one trip to two places each); units from 「单位」
    assert f"预览：{48 + 61 + units + 1} 处变更。" in shown and "新计划" in shown
    for line in ("计划：新增 1", f"单位：新增 {units}", "活动：新增 48", "场次：新增 61"):
        assert line in shown
    rows = re.findall(r'<li data-action="新增"><span[^>]*>新增</span> <strong>(序号 \d+)</strong>', preview.text)
    assert rows == [f"序号 {n}" for n in range(1, 49)]
    assert "新增 序号 16 境外科技招商活动 二季度 · 日韩、欧美" in shown
    assert dump_database(office.engine) == before  # the dry run was rolled back
    assert len(kept_files(office)) == 2  # the bytes and what came with them, until confirmed

    report = confirm(office, preview.text)
    assert report.status_code == 200
    assert f"导入完成：{48 + 61 + units + 1} 处变更。" in text_of(report.text)
    assert counted(office.engine) == (48, 61)
    assert kept_files(office) == []
    with session_scope(office.engine) as session:
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "plan.import")).one()
    assert (entry.actor, entry.actor_kind, entry.entity) == ("admin:office", ActorKind.ADMIN, "plan")
    assert entry.after is not None and (entry.after["plan"], entry.after["file"]) == ("nantong-2023", "plan_2023.xlsx")
    assert entry.after["report"]["counts"]["event.created"] == 48

    again = upload(office, SHIPPED.read_bytes(), "plan_2023.xlsx")
    assert "预览：0 处变更（数据库已是最新）" in text_of(again.text) and 'data-testid="nothing-to-do"' in again.text
    assert kept_files(office) == []  # nothing to confirm, nothing kept


def test_a_broken_copy_names_each_cell_and_writes_nothing(office: Office) -> None:
    broken = edited({(4, "F"): "如皋县", (13, "E"): "五月份左右"})  # 序号 4 is on row 7, 序号 13 on row 18
    before = dump_database(office.engine)
    answer = upload(office, broken, "plan_2023.xlsx")
    assert answer.status_code == 422
    errors = [text_of(li).strip() for li in re.findall(r"<ul class=\"file-errors\">(.*?)</ul>", answer.text, re.S)[0]
              .split("</li>") if li.strip()]
    assert errors[0] == "附件4!F7（序号 4） ：未知单位“如皋县”（是否指 如皋市？）"
    assert errors[1].startswith("附件4!E18（序号 13） ：无法识别的日期 '五月份左右'（可用：2023年2月；")
    assert len(errors) == 2 and "计划文件 plan_2023.xlsx 有 2 处错误，未写入任何数据" in text_of(answer.text)
    assert 'data-testid="confirm"' not in answer.text and kept_files(office) == []
    assert dump_database(office.engine) == before

    fixed = upload(office, edited({(4, "F"): "如皋市", (13, "E"): "2023年5月"}), "plan_2023.xlsx")
    assert fixed.status_code == 200 and "活动：新增 48" in text_of(fixed.text)


OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)  # the header of every Excel 97-2003 workbook


@pytest.mark.parametrize(("filename", "data", "fields", "message"), [
    ("plan_2023.xls", OLE2, {}, "这是旧版 Excel 97-2003（.xls）文件，无法读取：请在 Excel 或 WPS 中“另存为” .xlsx"),
    ("plan_2023.xlsx", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", {}, "这是 PDF 文件，不是表格"),
    ("plan_2023.xlsx", "序号,地点\n1,南通\n".encode(), {},
     "文件扩展名是 .xlsx，但内容不是 Excel/Word 文件（可能是改了扩展名的其他文件）"),
    ("notes.txt", b"hello", {}, "只接受 Excel（.xlsx）、Word（.docx）活动安排表或 JSON 计划文件（.json）"),
    ("events_2023.json", DEFAULT_SEED.read_bytes(), {"year": "2023"}, "年度 只用于 Excel/Word 表格"),
    ("", b"", {}, "文件为空或未选择文件"),
])
def test_files_that_are_not_plan_tables_are_refused_with_the_reason(
    office: Office, filename: str, data: bytes, fields: dict[str, str], message: str
) -> None:
    before = dump_database(office.engine)
    answer = upload(office, data, filename, **fields)
    assert answer.status_code == 422
    assert message in text_of(answer.text)
    assert dump_database(office.engine) == before and kept_files(office) == []


def test_form_options_are_checked_before_the_file(office: Office) -> None:
    answer = upload(office, SHIPPED.read_bytes(), "plan_2023.xlsx", key="Nantong 2027", published="2027-13-01")
    assert answer.status_code == 422
    shown = text_of(answer.text)
    assert "计划编号只能用小写字母、数字和连字符" in shown and "发布日期 '2027-13-01' 无效" in shown


def test_form_options_name_the_plan(office: Office) -> None:
    import_shipped(office)
    answer = upload(office, SHIPPED.read_bytes(), "plan_2024.xlsx", key="nantong-2024-draft", year="2023",
                    title="2024年计划（草案）")
    shown = text_of(answer.text)
    assert "计划 2024年计划（草案） （nantong-2024-draft，2023 年度， 新计划 ）" in shown


def fix_through_the_form(engine: Engine) -> None:
    """The host (市科技局) fixes 13-1 through its 定档 form, with a venue."""
    plan_followups(engine, FORM_DAY)
    with session_scope(engine) as session:
        occ = session.exec(select(Occurrence).where(Occurrence.key == "13-1")).one()
        task = session.exec(select(Task).where(Task.occurrence_id == occ.id, Task.kind == TaskKind.FIX_DATE)).one()
    form = {"date": "2023-05-18", "start_time": "09:30", "end_time": "11:30", "place": "上海国际会议中心"}
    result = record_submission(engine=engine, task_id=task.id or 0, form=form,
                               actor=Actor("kjj.lianluo@example.org", ActorKind.LINK), now=FORM_DAY)
    assert isinstance(result, Accepted)


def location(engine: Engine, key: str) -> str:
    with session_scope(engine) as session:
        return session.exec(select(Occurrence.location).where(Occurrence.key == key)).one()


def test_a_conflicting_upload_shows_the_conflict_and_keeps_the_hosts_venue(office: Office) -> None:
    import_shipped(office)
    fix_through_the_form(office.engine)
    office.clock.set(datetime(2023, 4, 3, 1, 0, tzinfo=UTC))
    changed = edited({(13, "B"): "上海浦东", (7, "C"): "崇川（上海）战略性新兴产业发展大会（第二届）"})
    before = dump_database(office.engine)

    preview = upload(office, changed, "plan_2023_v2.xlsx")
    shown = text_of(preview.text)
    assert re.findall(r'<ul class="conflicts"><li data-key="13-1">(.*?)</li></ul>', preview.text) == [CONFLICT]
    assert "修改 序号 7 场次 07-1" in shown and "日历订阅将更新" in shown  # nobody touched 07-1: the file wins
    assert "名称：崇川（上海）战略性新兴产业发展大会 → 崇川（上海）战略性新兴产业发展大会（第二届）" in shown
    assert dump_database(office.engine) == before

    report = text_of(confirm(office, preview.text).text)
    assert CONFLICT in report and "导入完成" in report
    assert location(office.engine, "13-1") == "上海国际会议中心"
    with session_scope(office.engine) as session:
        renamed = session.exec(select(Occurrence).where(Occurrence.key == "07-1")).one()
    assert (renamed.title, renamed.sequence) == ("崇川（上海）战略性新兴产业发展大会（第二届）", 1)


def test_csrf_is_refused_and_nothing_is_kept_or_written(office: Office) -> None:
    before = dump_database(office.engine)
    for token in ("", "forged"):
        answer = office.client.post("/admin/plan/upload", data={"csrf_token": token},
                                    files={"file": ("plan_2023.xlsx", SHIPPED.read_bytes())})
        assert answer.status_code == 403
    preview = upload(office, SHIPPED.read_bytes(), "plan_2023.xlsx")
    forged = {**staged(preview.text), "csrf_token": "forged"}
    assert office.client.post("/admin/plan/upload/confirm", data=forged).status_code == 403
    assert dump_database(office.engine) == before and len(kept_files(office)) == 2


def test_a_confirmation_needs_the_kept_files_id_and_hash(office: Office, settings: Settings) -> None:
    before = dump_database(office.engine)
    preview = upload(office, SHIPPED.read_bytes(), "plan_2023.xlsx")
    fields = staged(preview.text)
    tampered = [{**fields, "digest": "0" * 64}, {**fields, "upload": "../secret_key"},
                {**fields, "upload": fields["upload"][:-1] + ("A" if fields["upload"][-1] != "A" else "B")}]
    for data in tampered:
        answer = office.client.post("/admin/plan/upload/confirm", data=data)
        assert answer.status_code == 410 and "请重新上传文件" in text_of(answer.text)
    assert dump_database(office.engine) == before
    assert (settings.var_dir / "secret_key").exists()

    add_admin(office.engine, "deputy")  # another administrator cannot confirm the office's upload
    with httpx.Client(base_url=office.url, timeout=30) as other:
        assert sign_in(other, "deputy").status_code == 303
        theirs = {**fields, "csrf_token": csrf_of(other.get("/admin/plan/upload").text)}
        assert other.post("/admin/plan/upload/confirm", data=theirs).status_code == 410

    assert office.client.post("/admin/plan/upload/cancel", data=fields).status_code == 303
    assert kept_files(office) == []
    assert office.client.post("/admin/plan/upload/confirm", data=fields).status_code == 410
    after = dump_database(office.engine)
    assert {t: rows for t, rows in after.items() if t != "admin_user"} == {
        t: rows for t, rows in before.items() if t != "admin_user"}  # only the deputy's account was added


def test_downloads_carry_chinese_file_names_and_read_back_unchanged(office: Office) -> None:
    import_shipped(office)
    title = SEED["plan"]["title"]
    xlsx = office.client.get("/admin/plan/export.xlsx?plan=nantong-2023")
    assert (xlsx.status_code, xlsx.headers["content-type"]) == (200, XLSX)
    assert xlsx.headers["content-disposition"] == (
        f"attachment; filename=\"nantong-2023.xlsx\"; filename*=UTF-8''{quote(f'{title}（nantong-2023）.xlsx')}")
    assert xlsx.headers["cache-control"] == "no-store"
    assert load_workbook(io.BytesIO(xlsx.content)).sheetnames[0] == "附件4"
    again = upload(office, xlsx.content, f"{title}（nantong-2023）.xlsx")
    assert "预览：0 处变更（数据库已是最新）" in text_of(again.text)  # the office's round trip

    docx = office.client.get("/admin/plan/export.docx")  # no plan named: the current one (2023 on the clock)
    assert (docx.status_code, docx.headers["content-type"]) == (200, DOCX)
    assert "filename*=UTF-8''" + quote(f"{title}（nantong-2023）.docx") in docx.headers["content-disposition"]
    assert "预览：0 处变更" in text_of(upload(office, docx.content, "plan.docx").text)

    missing = office.client.get("/admin/plan/export.xlsx?plan=nantong-2031")
    assert missing.status_code == 404 and "没有计划 'nantong-2031'（已有：nantong-2023）" in text_of(missing.text)
    with session_scope(office.engine) as session:
        imports = session.exec(select(func.count()).select_from(AuditEntry)
                               .where(col(AuditEntry.action) == "plan.import")).one()
    assert imports == 1  # previews and downloads are not imports
