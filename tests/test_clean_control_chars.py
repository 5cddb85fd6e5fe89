"""Migration 0014_clean_control_chars (issue 15): rows stored with NUL or control characters before the input checks
existed come out clean after `upgrade`; multi-line fields keep their tabs and line feeds. SQLite and PostgreSQL
(PostgreSQL cannot store NUL at all, so its dirty rows carry other C0 controls)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from scheduler.clock import SHANGHAI
from scheduler.config import DEFAULT_SEED
from scheduler.db import make_engine, session_scope
from scheduler.migrate import upgrade
from scheduler.plan.importer import import_plan
from scheduler.plan.seed import read_plan_file

NOW = datetime(2023, 1, 22, 9, tzinfo=SHANGHAI)


def _set(engine: Engine, sql: str, **values: Any) -> None:
    with engine.begin() as conn:
        conn.execute(text(sql), values)


def _one(engine: Engine, sql: str, **values: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(text(sql), values).one()


def test_dirty_rows_are_cleaned_by_the_upgrade(db_url: str, backend: str) -> None:
    upgrade(db_url, "0013_plan_city_vocabulary")
    engine = make_engine(db_url)
    with session_scope(engine, write=True) as session:
        import_plan(session=session, doc=read_plan_file(DEFAULT_SEED), now=NOW)
    nul = "\x00" if backend == "sqlite" else "\x01"  # PostgreSQL refuses NUL in text: another C0 control instead
    org_id, org_key = _one(engine, "SELECT id, key FROM organization ORDER BY id LIMIT 1")
    occ_id, event_id = _one(engine, "SELECT id, event_id FROM occurrence ORDER BY id LIMIT 1")
    _set(engine, "UPDATE organization SET name = :n, duties = :d WHERE id = :i",
         n=f"如皋{nul}市\x1b", d="招商\r\n\t对接\x07", i=org_id)
    _set(engine, "UPDATE event SET title = :t, content = :c WHERE id = :i",
         t="校企\t对接\n活动\x7f", c="第一行\n\t第二行\x0b", i=event_id)
    _set(engine, "UPDATE occurrence SET title = :t, location = :l, status_reason = :r WHERE id = :i",
         t=f"江南大学{nul}专场", l="无锡\x1f", r="延期\r原因", i=occ_id)
    contact = ("INSERT INTO contact (organization_key, name, email, role, position, created_at) "
               "VALUES (:o, :n, :e, '联络员', :p, :t)")
    _set(engine, contact, o=org_key, n="Evil\r\nBcc: attacker@example.org", e="evil@example.org", p=0, t=NOW)
    _set(engine, contact, o=org_key, n="张三", e="zhang@example.org", p=1, t=NOW)
    _set(engine, contact, o=org_key, n="张三（重复）", e=f"zhang@example.org{nul}", p=2, t=NOW)
    _set(engine, contact, o=org_key, n=f"李四{nul}", e=f"li{nul}si@example.org", p=3, t=NOW)
    _set(engine, "INSERT INTO outcome_report (occurrence_id, status, actual_place, filer_name, filer_contact, "
                 "narrative, next_steps, revision, filed_by, created_at, updated_at) "
                 "VALUES (:o, 'held', :p, :f, '', :n, :s, 1, 'x@example.org', :t, :t)",
         o=occ_id, p=f"无锡{nul}", f="王五\x08", n="签约\r\n两个项目\x0c", s="下一步\t跟进", t=NOW)

    upgrade(db_url, "0014_clean_control_chars")

    assert _one(engine, "SELECT name, duties FROM organization WHERE id = :i", i=org_id) == ("如皋市", "招商\n\t对接")
    assert _one(engine, "SELECT title, content FROM event WHERE id = :i", i=event_id) == (
        "校企 对接 活动", "第一行\n\t第二行")
    assert _one(engine, "SELECT title, location, status_reason FROM occurrence WHERE id = :i", i=occ_id) == (
        "江南大学专场", "无锡", "延期\n原因")
    with engine.connect() as conn:
        contacts = conn.execute(text("SELECT name, email FROM contact WHERE organization_key = :o ORDER BY position"),
                                {"o": org_key}).all()
    assert [tuple(c) for c in contacts] == [
        ("Evil  Bcc: attacker@example.org", "evil@example.org"),  # CR and LF each became a space: one header line
        ("张三", "zhang@example.org"),  # the dirty duplicate of this address is gone
        ("李四", "lisi@example.org"),
    ]
    assert _one(engine, "SELECT actual_place, filer_name, narrative, next_steps FROM outcome_report") == (
        "无锡", "王五", "签约\n两个项目", "下一步\t跟进")
    assert _one(engine, "SELECT version_num FROM alembic_version") == ("0014_clean_control_chars",)
    engine.dispose()
