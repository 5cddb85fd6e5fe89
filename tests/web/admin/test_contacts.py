"""/admin/contacts over real HTTP: add, edit, remove and the file upload, each refused form naming its field and
writing nothing, CSRF, sign-in, opt-out status, audit entries."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from scheduler.audit import AuditEntry
from scheduler.clock import FixedClock
from scheduler.config import PROJECT_ROOT, Settings
from scheduler.contacts import Contact, opt_out
from scheduler.db import session_scope
from scheduler.web.app import create_app
from tests.support.admin import add_admin, csrf_of, signed_in_client
from tests.support.dbstate import dump_database
from tests.support.instants import NOTICE_DATE
from tests.support.servers import run_uvicorn

EXAMPLE = PROJECT_ROOT / "seeds" / "contacts.example.toml"


@pytest.fixture
def office(seeded_engine: Engine, settings: Settings) -> Iterator[tuple[httpx.Client, Engine]]:
    """A signed-in administrator's client on the 2023 plan, with the example contacts loaded."""
    add_admin(seeded_engine)
    with session_scope(seeded_engine, write=True) as session:
        from scheduler.contacts import read_contacts_file, replace_contacts
        from scheduler.plan.catalog import get_organizations

        people = read_contacts_file(EXAMPLE, organizations=get_organizations(session=session))
        replace_contacts(session=session, people=people, now=NOTICE_DATE)
    app = create_app(settings, clock=FixedClock(NOTICE_DATE), engine=seeded_engine)
    with run_uvicorn(app, lifespan="off") as url:
        client = signed_in_client(url)
        try:
            yield client, seeded_engine
        finally:
            client.close()


def field_error(page: str, field: str) -> str | None:
    """Return the error shown under the form field `field`, if any."""
    found = re.search(rf'name="{field}".*?(?:<div class="field-error" role="alert">([^<]*)</div>|</div>)', page, re.S)
    return html.unescape(found.group(1)) if found and found.group(1) else None


def contacts_of(engine: Engine, org: str) -> list[tuple[str, str, str]]:
    with session_scope(engine) as session:
        rows = session.exec(select(Contact).where(Contact.organization_key == org).order_by(col(Contact.position)))
        return [(c.name, c.email, c.role) for c in rows]


def audit_actions(engine: Engine) -> list[tuple[str, dict | None, dict | None]]:
    with session_scope(engine) as session:
        entries = session.exec(select(AuditEntry).where(AuditEntry.entity == "contact").order_by(col(AuditEntry.id)))
        return [(e.action, e.before, e.after) for e in entries]


def test_signed_out_visitors_are_sent_to_sign_in(seeded_engine: Engine, client: httpx.Client) -> None:
    page = client.get("/admin/contacts")
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/admin/contacts"
    assert client.get("/admin/contacts/1").headers["location"] == "/login?next=/admin/contacts/1"


def test_add_stores_the_contact_and_audits_it(office: tuple[httpx.Client, Engine]) -> None:
    client, engine = office
    page = client.get("/admin/contacts")
    assert page.status_code == 200 and 'href="/admin/contacts"' in page.text  # in the navigation
    data = {"csrf_token": csrf_of(page.text), "org": "rugao", "name": " 王芳 ", "email": "Wang.Fang@EXAMPLE.org",
            "role": ""}
    done = client.post("/admin/contacts", data=data)
    assert done.status_code == 303 and done.headers["location"] == "/admin/contacts?done=added#done"
    assert contacts_of(engine, "rugao")[-1] == ("王芳", "Wang.Fang@example.org", "联络人")  # domain lowered
    assert audit_actions(engine) == [("contact.add", None, {"org": "rugao", "name": "王芳",
                                                            "email": "Wang.Fang@example.org", "role": "联络人"})]
    listed = client.get("/admin/contacts?done=added").text
    assert "已添加联系人。" in listed and "Wang.Fang@example.org" in listed.split('data-org="rugao"')[1]


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"org": "mars"}, "org", "未知单位 id 'mars'（先导入计划，再导入联系人）"),
        ({"org": "all-districts"}, "org", "是由成员单位组成的组合，请为成员单位填写联系人"),
        ({"name": "  "}, "name", "姓名不能为空"),
        ({"name": "名" * 101}, "name", "姓名过长（最多 100 字）"),
        ({"role": "长" * 51}, "role", "职务过长（最多 50 字）"),
        ({"email": ""}, "email", "邮箱不能为空"),
        ({"email": "not-an-address"}, "email", "邮箱地址 'not-an-address' 无效"),
        ({"email": "KJJ.lianluo@example.org", "org": "kjj"}, "email", "KJJ.lianluo@example.org 在 市科技局 下重复"),
    ],
)
def test_a_bad_contact_is_refused_at_its_field_and_nothing_is_written(
    office: tuple[httpx.Client, Engine], form: dict[str, str], field: str, message: str
) -> None:
    client, engine = office
    before = dump_database(engine)
    page = client.get("/admin/contacts")
    data = {"csrf_token": csrf_of(page.text), "org": "rugao", "name": "王芳", "email": "wf@example.org",
            "role": "科长", **form}
    refused = client.post("/admin/contacts", data=data)
    assert refused.status_code == 422
    shown = field_error(refused.text, field)
    assert shown is not None and message in shown, shown
    others = [f for f in ("org", "name", "email", "role") if f != field]
    assert [field_error(refused.text, f) for f in others] == [None] * 3
    assert "未保存" in refused.text
    assert dump_database(engine) == before


def test_the_same_address_may_serve_two_units(office: tuple[httpx.Client, Engine]) -> None:
    client, engine = office
    token = csrf_of(client.get("/admin/contacts").text)
    data = {"csrf_token": token, "org": "rugao", "name": "办公室", "email": "kjzs.office@example.org", "role": ""}
    assert client.post("/admin/contacts", data=data).status_code == 303
    assert contacts_of(engine, "rugao")[-1][1] == "kjzs.office@example.org"


def test_edit_and_remove_are_stored_and_audited(office: tuple[httpx.Client, Engine]) -> None:
    client, engine = office
    with session_scope(engine) as session:
        target = session.exec(select(Contact).where(Contact.email == "kjj.lianluo@example.org")).one()
    form = client.get(f"/admin/contacts/{target.id}")
    assert form.status_code == 200 and 'value="kjj.lianluo@example.org"' in form.text
    token = csrf_of(form.text)
    clash = {"csrf_token": token, "org": "kjj", "name": "改名", "email": "kjzs.office@example.org", "role": "科长"}
    before = dump_database(engine)
    refused = client.post(f"/admin/contacts/{target.id}", data=clash)
    assert refused.status_code == 422
    assert "kjzs.office@example.org 在 市科技局 下重复" in (field_error(refused.text, "email") or "")
    assert 'value="改名"' in refused.text  # what was typed comes back
    assert dump_database(engine) == before
    good = {**clash, "email": "kjj.new@example.org"}
    assert client.post(f"/admin/contacts/{target.id}", data=good).status_code == 303
    assert contacts_of(engine, "kjj")[0] == ("改名", "kjj.new@example.org", "科长")  # keeps its place
    removed = client.post(f"/admin/contacts/{target.id}/remove", data={"csrf_token": token})
    assert removed.status_code == 303
    assert [c[1] for c in contacts_of(engine, "kjj")] == ["kjzs.office@example.org"]
    assert audit_actions(engine) == [
        ("contact.update", {"name": "市科技局联络员（示例）", "email": "kjj.lianluo@example.org", "role": "联络员"},
         {"name": "改名", "email": "kjj.new@example.org", "role": "科长"}),
        ("contact.remove", {"org": "kjj", "name": "改名", "email": "kjj.new@example.org", "role": "科长"}, None),
    ]
    assert client.get(f"/admin/contacts/{target.id}").status_code == 404
    assert client.post(f"/admin/contacts/{target.id}/remove", data={"csrf_token": token}).status_code == 404


def test_forged_or_missing_csrf_is_refused_and_writes_nothing(office: tuple[httpx.Client, Engine]) -> None:
    client, engine = office
    with session_scope(engine) as session:
        target = session.exec(select(Contact)).first()
    assert target is not None
    before = dump_database(engine)
    form = {"org": "rugao", "name": "王芳", "email": "wf@example.org", "role": ""}
    for path in ("/admin/contacts", f"/admin/contacts/{target.id}", f"/admin/contacts/{target.id}/remove"):
        assert client.post(path, data={**form, "csrf_token": "forged"}).status_code == 403
        assert client.post(path, data=form).status_code == 403
    upload = {"file": ("c.csv", b"org,name,email\nkjj,A,a@example.org\n", "text/csv")}
    assert client.post("/admin/contacts/import", data={"csrf_token": "forged"}, files=upload).status_code == 403
    assert dump_database(engine) == before


def test_opted_out_addresses_are_marked(office: tuple[httpx.Client, Engine]) -> None:
    client, engine = office
    with session_scope(engine, write=True) as session:
        opt_out(session=session, email="Rugao.Lianluo@example.org", now=NOTICE_DATE)
        target = session.exec(select(Contact).where(Contact.email == "rugao.lianluo@example.org")).one()
    page = client.get("/admin/contacts").text
    item = re.search(rf'<li data-contact="{target.id}">.*?</li>', page, re.S)
    assert item is not None and "已退订常规提醒" in item.group(0)
    assert page.count('data-testid="opted-out"') == 1
    assert "已退订常规提醒" in client.get(f"/admin/contacts/{target.id}").text


def test_upload_replaces_every_contact_after_checking_the_whole_file(office: tuple[httpx.Client, Engine]) -> None:
    client, engine = office
    token = csrf_of(client.get("/admin/contacts").text)
    before = dump_database(engine)
    bad = (b'[[kjj]]\nname = "X"\nemail = "x@example.org"\n[[nope]]\nname = "Y"\nemail = "y@example.org"\n'
           b'[[haian]]\nname = ""\nemail = "broken@"\n')
    refused = client.post("/admin/contacts/import", data={"csrf_token": token},
                          files={"file": ("new.toml", bad, "application/toml")})
    assert refused.status_code == 422
    box = re.search(r'data-testid="import-errors">(.*?)</div>', refused.text, re.S)
    assert box is not None
    assert "联系人文件 new.toml 有 3 处错误，未写入任何数据：" in box.group(1)
    items = re.findall(r"<li>([^<]*)</li>", box.group(1))
    assert [i.split(": ")[0] for i in items] == ["nope[0].org", "haian[0].name", "haian[0].email"]
    assert dump_database(engine) == before
    too_big = client.post("/admin/contacts/import", data={"csrf_token": token},
                          files={"file": ("big.csv", b"org,name,email\n" + b"x" * (1024 * 1024), "text/csv")})
    assert too_big.status_code == 422 and "文件过大" in too_big.text
    assert dump_database(engine) == before

    good = "org,name,email,role\nkjj,张三,zhang@example.org,科长\nrugao,李四,li@example.org,\n".encode()
    done = client.post("/admin/contacts/import", data={"csrf_token": token},
                       files={"file": ("c.csv", good, "text/csv")})
    assert done.status_code == 303 and done.headers["location"] == "/admin/contacts?done=imported#done"
    with session_scope(engine) as session:
        stored = [(c.organization_key, c.name, c.email, c.role) for c in session.exec(select(Contact))]
    assert sorted(stored) == [("kjj", "张三", "zhang@example.org", "科长"),
                              ("rugao", "李四", "li@example.org", "联络人")]
    [(action, was, now)] = audit_actions(engine)
    assert action == "contacts.import" and now == {"source": "c.csv", "contacts": 2, "organizations": 2}
    assert was is not None and was["contacts"] == len(before["contact"])


def test_the_example_file_uploads_as_the_cli_imports_it(office: tuple[httpx.Client, Engine], tmp_path: Path) -> None:
    client, engine = office
    with session_scope(engine) as session:
        cli = sorted((c.organization_key, c.email) for c in session.exec(select(Contact)))
    token = csrf_of(client.get("/admin/contacts").text)
    files = {"file": ("contacts.example.toml", EXAMPLE.read_bytes(), "application/toml")}
    assert client.post("/admin/contacts/import", data={"csrf_token": token}, files=files).status_code == 303
    with session_scope(engine) as session:
        assert sorted((c.organization_key, c.email) for c in session.exec(select(Contact))) == cli
