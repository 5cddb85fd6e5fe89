"""Contacts file: TOML and CSV, located errors, nothing loaded on error, the shipped example, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from scheduler.cli import app
from scheduler.config import PROJECT_ROOT, Settings
from scheduler.contacts import contacts_by_org, parse_contacts, read_contacts_file, replace_contacts
from scheduler.db import session_scope
from scheduler.plan.catalog import get_organizations
from scheduler.runtime import Runtime
from scheduler.validation import InputInvalid

EXAMPLE = PROJECT_ROOT / "seeds" / "contacts.example.toml"
GOOD_TOML = """
[[kjj]]
name = "张三"
email = "zhang@example.org"
role = "科长"

[[rugao]]
name = "李四"
email = "li@example.org"
"""


def orgs(engine: Engine):
    with session_scope(engine) as session:
        return get_organizations(session=session)


def test_toml_and_csv_give_the_same_people(seeded_engine: Engine) -> None:
    known = orgs(seeded_engine)
    toml_people = parse_contacts(GOOD_TOML.encode(), source="c.toml", organizations=known)
    csv_text = "org,name,email,role\nkjj,张三,zhang@example.org,科长\nrugao,李四,li@example.org,\n"
    csv_people = parse_contacts(csv_text.encode(), source="c.csv", organizations=known)
    assert toml_people == csv_people
    assert [(p.org, p.email, p.role) for p in toml_people] == [("kjj", "zhang@example.org", "科长"),
                                                              ("rugao", "li@example.org", "联络人")]


def test_every_problem_is_located(seeded_engine: Engine) -> None:
    bad = """
[[kjj]]
name = "张三"
email = "zhang@example.org"

[[kjj]]
name = "张三又一次"
email = "ZHANG@example.org"

[[nowhere]]
name = "王五"
email = "w@example.org"

[[rugao]]
name = "赵六"
email = "not-an-address"

[[all-districts]]
name = "组合"
email = "g@example.org"

[[haian]]
name = ""
email = "h@example.org"
phone = "123"
"""
    with pytest.raises(InputInvalid) as exc:
        parse_contacts(bad.encode(), source="bad.toml", organizations=orgs(seeded_engine))
    got = {(e.where, e.message.split("（")[0].split("：")[0]) for e in exc.value.errors}
    paths = {p for p, _ in got}
    assert paths == {"kjj[1].email", "nowhere[0].org", "rugao[0].email", "all-districts[0].org", "haian[0]",
                     "haian[0].name"}
    messages = " ".join(e.message for e in exc.value.errors)
    assert "重复" in messages and "未知单位" in messages and "无效" in messages and "成员单位" in messages


def test_csv_errors_name_the_line(seeded_engine: Engine) -> None:
    with pytest.raises(InputInvalid) as exc:
        parse_contacts(b"org,name,email\nkjj,A,a@example.org\nkjj,B,broken@\n", source="c.csv",
                       organizations=orgs(seeded_engine))
    assert [e.where for e in exc.value.errors] == ["第 3 行.email"]
    with pytest.raises(InputInvalid) as exc:
        parse_contacts(b"org,name\nkjj,A\n", source="c.csv", organizations=orgs(seeded_engine))
    assert "email" in exc.value.errors[0].message


def test_the_example_covers_every_host_and_co_organizer(seeded_engine: Engine, seed_doc) -> None:
    known = orgs(seeded_engine)
    people = read_contacts_file(EXAMPLE, organizations=known)
    with_contacts = {p.org for p in people}
    from scheduler.plan.catalog import expand_members

    involved = {k for e in seed_doc.events for k in expand_members(e.hosts + e.co_organizers, known)}
    assert involved <= with_contacts
    assert all(p.email.endswith("@example.org") for p in people)


def test_cli_import_refuses_a_bad_file_and_keeps_the_stored_contacts(seeded_engine: Engine, tmp_path: Path) -> None:
    runner = CliRunner()
    rt = Runtime(Settings(var_dir=tmp_path), engine=seeded_engine)
    result = runner.invoke(app, ["contacts", "import", str(EXAMPLE)], obj=rt)
    assert result.exit_code == 0, result.output
    assert "联系人已导入" in result.output
    with session_scope(seeded_engine) as session:
        before = {k: [c.email for c in v] for k, v in contacts_by_org(session=session).items()}
    bad = tmp_path / "bad.toml"
    bad.write_text('[[kjj]]\nname = "X"\nemail = "x@example.org"\n[[nope]]\nname = "Y"\nemail = "y@example.org"\n')
    result = runner.invoke(app, ["contacts", "import", str(bad), "--json"], obj=rt)
    assert result.exit_code == 2
    assert json.loads(result.output)["errors"][0]["path"] == "nope[0].org"
    with session_scope(seeded_engine) as session:
        assert {k: [c.email for c in v] for k, v in contacts_by_org(session=session).items()} == before
    shown = runner.invoke(app, ["contacts", "show", "--json"], obj=rt)
    assert json.loads(shown.output)["kjj"][1]["email"] == "kjzs.office@example.org"


def test_reimport_replaces_contacts(seeded_engine: Engine) -> None:
    from tests.support.instants import NOTICE_DATE

    known = orgs(seeded_engine)
    first = parse_contacts(GOOD_TOML.encode(), source="c.toml", organizations=known)
    second = parse_contacts(b'[[haian]]\nname = "X"\nemail = "x@example.org"\n', source="c.toml",
                            organizations=known)
    with session_scope(seeded_engine, write=True) as session:
        replace_contacts(session=session, people=first, now=NOTICE_DATE)
    with session_scope(seeded_engine, write=True) as session:
        replace_contacts(session=session, people=second, now=NOTICE_DATE)
    with session_scope(seeded_engine) as session:
        assert {k: [c.email for c in v] for k, v in contacts_by_org(session=session).items()} == {
            "haian": ["x@example.org"]}


def test_the_form_and_the_file_share_one_check_with_the_same_messages(seeded_engine: Engine) -> None:
    from scheduler.contacts import check_person

    known = orgs(seeded_engine)
    row = {"org": "haian", "name": "名" * 101, "email": "h@example", "role": "长" * 51}
    person, form_errors = check_person(row, organizations=known)
    assert person is None
    assert [(e.where, e.message.split("：")[0]) for e in form_errors] == [
        ("name", "姓名过长（最多 100 字）"), ("role", "职务过长（最多 50 字）"), ("email", "邮箱地址 'h@example' 无效")]
    csv_text = f"org,name,email,role\nhaian,{row['name']},{row['email']},{row['role']}\n"
    with pytest.raises(InputInvalid) as exc:
        parse_contacts(csv_text.encode(), source="c.csv", organizations=known)
    assert [(e.where, e.message) for e in exc.value.errors] == [
        (f"第 2 行.{e.where}", e.message) for e in form_errors]
    good, none = check_person({"org": "haian", "name": " 王芳 ", "email": "W@Example.ORG"}, organizations=known)
    assert none == [] and good is not None and (good.name, good.email, good.role) == ("王芳", "W@example.org", "联络人")


def _errors(data: str, known, source: str = "c.toml", **kw) -> list[tuple[str, str]]:
    with pytest.raises(InputInvalid) as refused:
        parse_contacts(data.encode(), source=source, organizations=known, **kw)
    return [(e.where, e.message) for e in refused.value.errors]


def test_control_characters_are_refused_where_they_are(seeded_engine: Engine) -> None:
    known = orgs(seeded_engine)
    toml = '[[kjj]]\nname = "Evil\\r\\nBcc: attacker@evil.example"\nemail = "zhang@example.org"\n\n' \
           '[[rugao]]\nname = "李四"\nemail = "li@example.org"\nrole = "科长\\u0000"\n'
    assert _errors(toml, known) == [
        ("kjj[0].name", "姓名含控制字符 U+000D（第 5 个字符；换行、制表符等不能出现在联系人信息中）"),
        ("rugao[0].role", "职务含控制字符 U+0000（第 3 个字符；换行、制表符等不能出现在联系人信息中）"),
    ]
    csv_text = 'org,name,email,role\nkjj,"张三\nBcc: x@evil.example",zhang@example.org,\n'
    assert [w for w, _ in _errors(csv_text, known, "c.csv")] == ["第 2 行.name"]


def test_non_ascii_addresses_idna_domains_and_smtputf8_user_names(seeded_engine: Engine) -> None:
    known = orgs(seeded_engine)
    toml = ('[[kjj]]\nname = "用户"\nemail = "用户@example.org"\n\n'
            '[[rugao]]\nname = "办公室"\nemail = "office@例子.中国"\n')
    [(where, message)] = _errors(toml, known)
    assert where == "kjj[0].email" and "SMTPUTF8" in message and "用户@example.org" in message
    people = parse_contacts(toml.encode(), source="c.toml", organizations=known, smtputf8=True)
    assert [p.email for p in people] == ["用户@example.org", "office@xn--fsqu00a.xn--fiqs8s"]
