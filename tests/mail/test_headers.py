"""Headers every client reads: subjects that GMime (through notmuch) decodes in full on a 2023 replay, and
Message-IDs that two fresh installations never share."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from scheduler.clock import FixedClock
from scheduler.config import DEFAULT_SEED, Settings
from scheduler.contacts import read_contacts_file, replace_contacts
from scheduler.db import make_engine, session_scope
from scheduler.followups.action_links import mail_composer
from scheduler.followups.checklists import read_checklists
from scheduler.mail.headers import encode_subject, installation_id
from scheduler.mail.mailer import MemoryMailer
from scheduler.plan.catalog import get_organizations
from scheduler.plan.importer import import_plan
from scheduler.plan.seed import read_plan_file
from scheduler.reminders.planner import RuleBook
from scheduler.replay import replay
from tests.factories.mail import EXAMPLE_CONTACTS, T0

WORD = re.compile(r"=\?utf-8\?([bq])\?([^?]*)\?=", re.IGNORECASE)


def decoded(value: str) -> str:
    return str(message_from_bytes(f"Subject: {value}\r\n\r\n".encode("ascii"), policy=policy.default)["Subject"])


@pytest.mark.parametrize("text", [
    "【待办】邀请嘉宾：江海创投行 科创基金园区行（2023年2月）（截止 2023-01-27）",
    "【催办】本周洽谈填报（1月30日当周）：如皋市 · 第2次",  # '·' is 2 bytes: the cuts cannot all be multiples of 3
    "é" * 60, "a中" * 40, "😀定档" * 20, "中",
])
def test_encoded_words_have_no_padding_but_in_the_last_and_decode_to_the_text(text: str) -> None:
    value = encode_subject(text)
    words = WORD.findall(value)
    assert words and WORD.sub("", value).replace("\r\n ", "") == ""  # only encoded-words, folded
    assert all(len(m.group(0)) <= 75 for m in WORD.finditer(value))
    assert not [payload for kind, payload in words[:-1] if kind.lower() == "b" and payload.endswith("=")]
    assert decoded(value) == text
    assert encode_subject("ASCII only") == "ASCII only"


def fresh(tmp_path: Path, name: str) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / name}")
    SQLModel.metadata.create_all(engine)
    with session_scope(engine, write=True) as session:
        import_plan(session=session, doc=read_plan_file(DEFAULT_SEED), now=T0)
        people = read_contacts_file(EXAMPLE_CONTACTS, organizations=get_organizations(session=session))
        replace_contacts(session=session, people=people, now=T0)
    return engine


def replayed(engine: Engine, tmp_path: Path, days: int) -> list[bytes]:
    settings = Settings(var_dir=tmp_path, secret_keys=["p" * 32])
    mailer = MemoryMailer()
    asyncio.run(replay(engine=engine, mailer=mailer, composer=mail_composer(settings, engine), rules=RuleBook(),
                       start=T0, end=T0 + timedelta(days=days), clock=FixedClock(T0),
                       followups=read_checklists(settings.checklist_file)))
    return [m.data for m in mailer.sent]


def test_two_fresh_installations_never_share_a_message_id_and_each_keeps_its_own(tmp_path: Path) -> None:
    a, b = fresh(tmp_path, "a.db"), fresh(tmp_path, "b.db")
    assert installation_id(a) == installation_id(a) != installation_id(b)
    ids = [[message_from_bytes(d, policy=policy.default)["Message-ID"] for d in replayed(e, tmp_path, 8)]
           for e in (a, b)]
    assert ids[0] and ids[1] and len(set(ids[0])) == len(ids[0])
    assert not set(ids[0]) & set(ids[1])
    # The same rows (same ids) in both: only the installation part differs.
    assert len(ids[0]) == len(ids[1])


@pytest.mark.timeout(240)
def test_notmuch_reads_every_subject_of_a_2023_replay_in_full(tmp_path: Path) -> None:
    engine = fresh(tmp_path, "replay.db")
    messages = replayed(engine, tmp_path, 40)
    maildir = tmp_path / "mail"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    expected: dict[str, str] = {}
    for n, data in enumerate(messages):
        (maildir / "new" / f"{n}.eml").write_bytes(data)
        msg = message_from_bytes(data, policy=policy.default)
        expected[msg["Message-ID"].strip("<>")] = str(msg["Subject"])
    config = tmp_path / "notmuch-config"
    config.write_text(f"[database]\npath={maildir}\n[user]\nname=t\nprimary_email=t@example.org\n"
                      "[new]\ntags=new\n[maildir]\nsynchronize_flags=false\n", encoding="utf-8")
    env = {"NOTMUCH_CONFIG": str(config), "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    subprocess.run(["notmuch", "new", "--quiet"], env=env, check=True, capture_output=True, timeout=120)
    shown = subprocess.run(["notmuch", "show", "--format=json", "--body=false", "*"], env=env, check=True,
                           capture_output=True, timeout=120).stdout

    def walk(node: object) -> list[dict]:
        if isinstance(node, dict):
            return [node] if "headers" in node else []
        return [m for child in node for m in walk(child)] if isinstance(node, list) else []

    got = {m["id"]: m["headers"]["Subject"] for m in walk(json.loads(shown))}
    assert len(expected) == len(messages) > 200, "every message has its own Message-ID"
    assert got == expected  # GMime's decoding equals Python's, for every subject
    assert any("·" in s or "（" in s for s in got.values())
