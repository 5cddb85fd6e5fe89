"""Importing the plan: counts, idempotency, edits in place, withdrawal, one transaction, migrations = models, and the
merge that keeps what hosts changed since (conflicts, dropped sessions, shared units, rows from before the memory)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, col, select
from typer.testing import CliRunner

import scheduler.plan.importer as plan_import_module
from scheduler.cli import app
from scheduler.config import DEFAULT_SEED
from scheduler.db import make_engine, session_scope
from scheduler.mail.kinds import MailKind
from scheduler.mail.models import OutboxMessage
from scheduler.plan.catalog import get_plan, list_event_views
from scheduler.plan.importer import ImportReport, import_plan, occurrence_uid
from scheduler.plan.models import (
    Event,
    EventOrganization,
    Occurrence,
    OccurrenceStatus,
    Organization,
    Plan,
    PlanOrganization,
)
from scheduler.plan.occurrences import cancel_occurrence, fix_occurrence, move_occurrence
from scheduler.plan.seed import PlanFile, parse_plan_bytes
from scheduler.reminders.planner import RuleBook
from scheduler.reminders.sync import plan_and_sync
from tests.support.dbstate import dump_database

SEED = json.loads(DEFAULT_SEED.read_text(encoding="utf-8"))
LATER = datetime(2023, 3, 1, 2, 0, tzinfo=UTC)
MUCH_LATER = LATER + timedelta(days=30)
LATER_SEEDED = datetime(2023, 1, 22, 1, 0, tzinfo=UTC)  # conftest.NOTICE_DATE: when seeded_engine imported


def seed_with(change: Callable[[dict[str, Any]], None] | None = None) -> PlanFile:
    """The real seed, optionally edited, through the same validation as a file."""
    raw = copy.deepcopy(SEED)
    if change:
        change(raw)
    return parse_plan_bytes(json.dumps(raw, ensure_ascii=False).encode(), source="edited")


def run_import(engine: Engine, doc: PlanFile, now: datetime) -> ImportReport:
    with session_scope(engine, write=True) as session:
        return import_plan(session=session, doc=doc, now=now)


def occurrences(engine: Engine) -> dict[str, Occurrence]:
    with session_scope(engine) as session:
        return {o.key: o for o in session.exec(select(Occurrence))}


def events(engine: Engine) -> dict[int, Event]:
    with session_scope(engine) as session:
        return {e.seq: e for e in session.exec(select(Event))}


def count(engine: Engine, model: Any) -> int:
    with session_scope(engine) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def participants(session: Session, plan_key: str) -> set[int]:
    """Return the organization ids that take part in a plan."""
    query = select(PlanOrganization.organization_id).join(Plan, col(Plan.id) == col(PlanOrganization.plan_id))
    return set(session.exec(query.where(Plan.key == plan_key)).all())


def event_index(seq: int) -> int:
    return next(i for i, e in enumerate(SEED["events"]) if e["seq"] == seq)


def test_real_seed_imports_every_row(engine: Engine, seed_doc: PlanFile) -> None:
    report = run_import(engine, seed_doc, LATER)
    assert report.as_dict()["counts"] == {
        "plan.created": 1, "organization.created": 34, "event.created": 48, "occurrence.created": 61,
    }
    assert report.changes == 144
    assert (count(engine, Plan), count(engine, Organization), count(engine, Event), count(engine, Occurrence)) == (
        1, 34, 48, 61
    )
    links = sum(len(e.hosts) + len(e.co_organizers) for e in seed_doc.events)
    assert count(engine, EventOrganization) == links
    occs = occurrences(engine)
    assert all(o.status == OccurrenceStatus.PLANNED and o.sequence == 0 and not o.withdrawn for o in occs.values())
    assert occs["32-1"].uid == occurrence_uid("nantong-2023", "32-1") == "nantong-2023-32-1@kjzs-scheduler"
    assert len({o.uid for o in occs.values()}) == 61
    assert all(o.created_at == LATER == o.updated_at for o in occs.values())


def test_stored_plan_reads_back_in_plan_order(seeded_engine: Engine) -> None:
    with session_scope(seeded_engine) as session:
        plan = get_plan(session=session)
        assert plan is not None and plan.themes == {"1": "科技成果", "2": "科创项目", "3": "平台载体", "4": "科技人才"}
        views = {v.event.seq: v for v in list_event_views(session=session, plan=plan)}
    assert list(views) == list(range(1, 49))
    assert [o.key for o in views[3].hosts] == ["jrj", "kctz"]
    assert [o.key for o in views[37].co_organizers] == ["all-departments", "all-bankuai"]
    assert [o.short_name for o in views[9].co_organizers] == ["海门区科技局"]
    assert [(o.location, o.window_start.month, o.window_end.month) for o in views[32].occurrences] == [
        ("西安", 9, 9), ("深圳", 7, 9)
    ]


def test_second_import_changes_nothing(seeded_engine: Engine, seed_doc: PlanFile) -> None:
    before = dump_database(seeded_engine)
    report = run_import(seeded_engine, seed_doc, MUCH_LATER)
    assert report.changes == 0
    assert report.sequence_bumps == []
    assert report.counts["occurrence.unchanged"] == 61 and report.counts["event.unchanged"] == 48
    assert dump_database(seeded_engine) == before  # updated_at included


def _edits(raw: dict[str, Any]) -> None:
    five = raw["events"][event_index(5)]  # move the window: 2023 年 3 月 → 2023年4月
    five["date_text"] = "2023年4月"
    five["sessions"][0].update(date_text="2023年4月", start="2023-04-01", end="2023-04-30")
    raw["events"][event_index(6)]["sessions"][0]["location"] = "上海张江"  # change the place
    raw["events"][event_index(7)]["sessions"][0]["title"] = "崇川（上海）战略性新兴产业发展大会（第二届）"
    raw["events"][event_index(8)]["content"] = "在上海推介通州科技招商环境"  # not material for the calendar
    raw["events"][event_index(14)]["title"] = "高校院所南通重点产业链产学研对接洽谈会"  # renames its 3 sessions


def test_edited_seed_updates_in_place_and_bumps_sequence_only_where_material(
    seeded_engine: Engine, seed_doc: PlanFile
) -> None:
    before_occ = occurrences(seeded_engine)
    before_ev = events(seeded_engine)
    report = run_import(seeded_engine, seed_with(_edits), MUCH_LATER)
    after_occ = occurrences(seeded_engine)
    after_ev = events(seeded_engine)

    bumped = {"05-1", "06-1", "07-1", "14-1", "14-2", "14-3"}
    assert set(report.sequence_bumps) == bumped
    assert report.counts["occurrence.updated"] == len(bumped)
    assert report.counts["event.updated"] == 3  # 5 (date_text), 8 (content), 14 (title)
    assert set(after_occ) == set(before_occ)
    for key, occ in after_occ.items():
        assert (occ.id, occ.uid, occ.event_id) == (before_occ[key].id, before_occ[key].uid, before_occ[key].event_id)
        assert occ.sequence == (1 if key in bumped else 0), key
        assert occ.updated_at == (MUCH_LATER if key in bumped else LATER_SEEDED), key
    assert {seq: e.id for seq, e in after_ev.items()} == {seq: e.id for seq, e in before_ev.items()}
    assert (after_occ["05-1"].window_start.isoformat(), after_occ["05-1"].window_end.isoformat()) == (
        "2023-04-01", "2023-04-30"
    )
    assert after_occ["06-1"].location == "上海张江"
    assert after_occ["07-1"].title.endswith("（第二届）")
    assert after_ev[8].content == "在上海推介通州科技招商环境" and after_ev[8].updated_at == MUCH_LATER
    assert after_ev[9].updated_at == LATER_SEEDED

    # the same edited file again: nothing more to do
    again = run_import(seeded_engine, seed_with(_edits), MUCH_LATER + timedelta(days=1))
    assert again.changes == 0 and again.sequence_bumps == []


def _remove_rows(raw: dict[str, Any]) -> None:
    raw["events"] = [e for e in raw["events"] if e["seq"] != 47]
    raw["events"][event_index(48) - 1]["sessions"].pop()  # 48-2 (深圳)
    raw["organizations"] = [o for o in raw["organizations"] if o["id"] != "rcfz"]


def test_removed_rows_are_withdrawn_never_deleted_and_come_back(seeded_engine: Engine, seed_doc: PlanFile) -> None:
    ids_before = {k: o.id for k, o in occurrences(seeded_engine).items()}
    report = run_import(seeded_engine, seed_with(_remove_rows), LATER)
    counts = report.counts
    assert (counts["event.withdrawn"], counts["occurrence.withdrawn"], counts["organization.withdrawn"]) == (1, 2, 0)
    assert report.conflicts == [] and report.participants == {"removed": 1}
    assert (count(seeded_engine, Event), count(seeded_engine, Occurrence), count(seeded_engine, Organization)) == (
        48, 61, 34
    )
    occs, evs = occurrences(seeded_engine), events(seeded_engine)
    assert evs[47].withdrawn and not evs[48].withdrawn
    assert occs["47-1"].withdrawn and occs["48-2"].withdrawn and not occs["48-1"].withdrawn
    assert occs["48-2"].sequence == 1 and occs["48-1"].sequence == 0
    with session_scope(seeded_engine) as session:
        plan = get_plan(session=session)
        assert plan is not None
        views = {v.event.seq: v for v in list_event_views(session=session, plan=plan)}
        org = session.exec(select(Organization).where(Organization.key == "rcfz")).one()
        assert not org.withdrawn  # the directory is shared: a file that omits a unit only ends its part in the plan
        assert org.id not in participants(session, "nantong-2023")
    assert 47 not in views and [o.key for o in views[48].occurrences] == ["48-1"]

    # put them back: the same rows, un-withdrawn, with a new sequence for the calendar
    back = run_import(seeded_engine, seed_doc, MUCH_LATER)
    assert back.counts["occurrence.updated"] == 2 and back.counts["event.updated"] == 1
    occs, evs = occurrences(seeded_engine), events(seeded_engine)
    assert not evs[47].withdrawn and not occs["47-1"].withdrawn and not occs["48-2"].withdrawn
    assert occs["48-2"].sequence == 2
    assert {k: o.id for k, o in occs.items()} == ids_before
    with session_scope(seeded_engine) as session:
        org = session.exec(select(Organization).where(Organization.key == "rcfz")).one()
        assert not org.withdrawn and org.id in participants(session, "nantong-2023")


def test_a_time_fixed_later_survives_reimport(seeded_engine: Engine, seed_doc: PlanFile) -> None:
    fixed = datetime(2023, 3, 16, 1, 30, tzinfo=UTC)
    with session_scope(seeded_engine, write=True) as session:
        occ = session.exec(select(Occurrence).where(Occurrence.key == "06-1")).one()
        occ.start_at, occ.status = fixed, OccurrenceStatus.FIXED
    before = dump_database(seeded_engine)
    assert run_import(seeded_engine, seed_doc, MUCH_LATER).changes == 0
    assert dump_database(seeded_engine) == before
    assert occurrences(seeded_engine)["06-1"].start_at == fixed


@pytest.mark.parametrize("fail_after", [0, 30])
def test_failure_mid_import_leaves_the_database_as_it_was(
    seeded_engine: Engine, monkeypatch: pytest.MonkeyPatch, fail_after: int
) -> None:
    real = plan_import_module._import_occurrence
    calls = {"n": 0}

    def flaky(*args: Any, **kwargs: Any) -> Any:
        if calls["n"] >= fail_after:
            raise RuntimeError("disk on fire")
        calls["n"] += 1
        return real(*args, **kwargs)

    edited = seed_with(_edits)
    before = dump_database(seeded_engine)
    monkeypatch.setattr(plan_import_module, "_import_occurrence", flaky)
    with pytest.raises(RuntimeError, match="disk on fire"):
        run_import(seeded_engine, edited, MUCH_LATER)
    assert calls["n"] == fail_after
    assert dump_database(seeded_engine) == before


def test_failure_on_an_empty_database_leaves_it_empty(
    engine: Engine, seed_doc: PlanFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(plan_import_module, "_import_occurrence", boom)
    with pytest.raises(RuntimeError):
        run_import(engine, seed_doc, LATER)
    assert all(rows == [] for rows in dump_database(engine).values())


def test_cli_import_failure_is_one_transaction(
    db_url: str, seeded_engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    path = tmp_path / "edited.json"
    raw = copy.deepcopy(SEED)
    _edits(raw)
    path.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    real = plan_import_module._import_occurrence
    calls = {"n": 0}

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] > 10:
            raise RuntimeError("disk on fire")
        return real(*args, **kwargs)

    monkeypatch.setattr(plan_import_module, "_import_occurrence", flaky)
    before = dump_database(seeded_engine)
    result = CliRunner().invoke(app, ["plan", "import", str(path)], env={"SCHEDULER_DATABASE_URL": db_url})
    assert result.exit_code != 0 and isinstance(result.exception, RuntimeError)
    assert dump_database(seeded_engine) == before


def test_db_upgrade_yields_the_models_schema(db_url: str) -> None:
    result = CliRunner().invoke(app, ["db", "upgrade"], env={"SCHEDULER_DATABASE_URL": db_url})
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "数据库已升级到最新版本。"
    eng = make_engine(db_url)
    try:
        with eng.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
            tables = set(eng.dialect.get_table_names(conn))
    finally:
        eng.dispose()
    assert diffs == []
    assert set(SQLModel.metadata.tables) | {"alembic_version"} == tables
    # upgrading again is a no-op
    assert CliRunner().invoke(app, ["db", "upgrade"], env={"SCHEDULER_DATABASE_URL": db_url}).exit_code == 0


def test_cli_import_into_a_migrated_database(db_url: str) -> None:
    env = {"SCHEDULER_DATABASE_URL": db_url, "SCHEDULER_CLOCK": "simulated:2023-01-22T09:00+08:00@1"}
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"], env=env).exit_code == 0
    first = runner.invoke(app, ["plan", "import", str(DEFAULT_SEED), "--json"], env=env)
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["changes"] == 144
    second = runner.invoke(app, ["plan", "import", str(DEFAULT_SEED)], env=env)
    assert second.exit_code == 0
    assert second.stdout.strip() == "导入完成：0 处变更（数据库已是最新）。"


# --- import as a merge: what hosts did after publication stays -------------------------------------------------

HOST_DAY = datetime(2023, 3, 1, 2, 0, tzinfo=UTC)  # 10:00 Shanghai, 1 March 2023: hosts fill their forms
FIXED_06 = datetime(2023, 3, 16, 1, 30, tzinfo=UTC)  # 09:30 Shanghai, 16 March, inside 06-1's window (2023 年 3 月)


def host_edits(engine: Engine) -> None:
    """What hosts do through their forms: 定档 with a venue (06-1), 延期 to April (04-1), 取消 (05-1)."""
    with session_scope(engine, write=True) as session:
        occ = {o.key: o for o in session.exec(select(Occurrence))}
        fix_occurrence(session=session, occurrence=occ["06-1"], start_at=FIXED_06,
                       end_at=FIXED_06 + timedelta(hours=3), location="上海国际会议中心", now=HOST_DAY)
        move_occurrence(session=session, occurrence=occ["04-1"], window_start=date(2023, 4, 1),
                        window_end=date(2023, 4, 30), reason="高校专家行程调整", now=HOST_DAY)
        cancel_occurrence(session=session, occurrence=occ["05-1"], reason="合作方取消", now=HOST_DAY)


def change_notices(engine: Engine) -> list[tuple[Any, ...]]:
    with session_scope(engine) as session:
        query = select(OutboxMessage.id, OutboxMessage.subject, OutboxMessage.recipient, OutboxMessage.rule)
        query = query.where(OutboxMessage.kind == MailKind.CHANGE_NOTICE)
        return sorted(session.exec(query).all())


def sync_mail(engine: Engine, now: datetime) -> None:
    with session_scope(engine, write=True) as session:
        plan_and_sync(session=session, rules=RuleBook(), now=now)


def test_reimport_after_host_edits_changes_nothing_and_mails_nothing(mail_engine: Engine, seed_doc: PlanFile) -> None:
    host_edits(mail_engine)
    sync_mail(mail_engine, HOST_DAY)
    notices = change_notices(mail_engine)
    assert notices  # the hosts' edits themselves are announced (SEQUENCE 1 each): the test can see a new notice
    before = dump_database(mail_engine)

    report = run_import(mail_engine, seed_doc, HOST_DAY + timedelta(hours=1))
    assert (report.changes, report.sequence_bumps, report.conflicts) == (0, [], [])
    assert dump_database(mail_engine) == before  # SEQUENCE, updated_at and the memory itself unchanged
    occs = occurrences(mail_engine)
    assert (occs["06-1"].location, occs["06-1"].start_at, occs["06-1"].status) == (
        "上海国际会议中心", FIXED_06, "fixed")
    assert (occs["04-1"].window_start, occs["04-1"].window_end, occs["04-1"].status) == (
        date(2023, 4, 1), date(2023, 4, 30), "postponed")
    assert (occs["05-1"].status, occs["05-1"].status_reason) == ("cancelled", "合作方取消")
    assert [occs[k].sequence for k in ("06-1", "04-1", "05-1")] == [1, 1, 1]

    sync_mail(mail_engine, HOST_DAY + timedelta(hours=2))
    assert change_notices(mail_engine) == notices


def _venue_and_title(raw: dict[str, Any]) -> None:
    raw["events"][event_index(6)]["sessions"][0]["location"] = "上海张江"  # a session the host has fixed
    raw["events"][event_index(7)]["sessions"][0]["title"] = "崇川（上海）战略性新兴产业发展大会（第二届）"  # untouched


def test_a_file_change_to_a_host_edited_field_is_a_conflict_and_the_host_value_stays(seeded_engine: Engine) -> None:
    host_edits(seeded_engine)
    report = run_import(seeded_engine, seed_with(_venue_and_title), MUCH_LATER)
    assert [(c.entity, c.key, c.seq, c.field, c.file_value, c.current_value) for c in report.conflicts] == [
        ("occurrence", "06-1", 6, "location", "上海张江", "上海国际会议中心")
    ]
    assert report.conflicts[0].text() == (
        "冲突：序号 6 场次 06-1 地点：文件为“上海张江”，现值为“上海国际会议中心”，保留现值")
    assert report.sequence_bumps == ["07-1"] and report.counts["occurrence.updated"] == 1
    occs = occurrences(seeded_engine)
    assert (occs["06-1"].location, occs["06-1"].sequence) == ("上海国际会议中心", 1)
    assert (occs["07-1"].title, occs["07-1"].sequence, occs["07-1"].updated_at) == (
        "崇川（上海）战略性新兴产业发展大会（第二届）", 1, MUCH_LATER)
    # the file's new venue is remembered: the same file again reports nothing and changes nothing
    before = dump_database(seeded_engine)
    again = run_import(seeded_engine, seed_with(_venue_and_title), MUCH_LATER + timedelta(days=1))
    assert (again.changes, again.conflicts) == (0, [])
    assert dump_database(seeded_engine) == before


def test_a_file_window_away_from_a_fixed_date_keeps_the_window(seeded_engine: Engine) -> None:
    host_edits(seeded_engine)

    def to_april(raw: dict[str, Any]) -> None:
        six = raw["events"][event_index(6)]
        six["date_text"] = "2023年4月"
        six["sessions"][0].update(date_text="2023年4月", start="2023-04-01", end="2023-04-30")

    report = run_import(seeded_engine, seed_with(to_april), MUCH_LATER)
    assert [(c.key, c.field) for c in report.conflicts] == [("06-1", "window")]
    assert "已定于 2023-03-16 09:30–12:30" in report.conflicts[0].text()
    occ = occurrences(seeded_engine)["06-1"]
    assert (occ.window_start, occ.window_end, occ.date_text, occ.sequence) == (
        date(2023, 3, 1), date(2023, 3, 31), "2023 年 3 月", 1)
    assert events(seeded_engine)[6].date_text == "2023年4月"  # the row follows the file; the session is the host's


def test_both_sides_agreeing_is_no_conflict(seeded_engine: Engine) -> None:
    host_edits(seeded_engine)

    def same_venue(raw: dict[str, Any]) -> None:
        raw["events"][event_index(6)]["sessions"][0]["location"] = "上海国际会议中心"

    report = run_import(seeded_engine, seed_with(same_venue), MUCH_LATER)
    assert (report.changes, report.conflicts) == (0, [])
    with session_scope(seeded_engine) as session:
        occ = session.exec(select(Occurrence).where(Occurrence.key == "06-1")).one()
        assert occ.imported["location"] == "上海国际会议中心"


def test_a_dropped_session_with_a_fixed_date_is_kept_and_reported(seeded_engine: Engine) -> None:
    host_edits(seeded_engine)

    def drop(raw: dict[str, Any]) -> None:
        raw["events"] = [e for e in raw["events"] if e["seq"] not in (6, 12)]

    report = run_import(seeded_engine, seed_with(drop), MUCH_LATER)
    assert [(c.key, c.field, c.current_value) for c in report.conflicts] == [("06-1", "withdrawn", "fixed")]
    assert report.conflicts[0].text() == "冲突：序号 6 场次 06-1 已从文件中删除，但已有办理记录（已定档），保留不撤下"
    assert (report.counts["occurrence.withdrawn"], report.counts["event.withdrawn"]) == (1, 1)  # 12-1 and row 12
    occs, evs = occurrences(seeded_engine), events(seeded_engine)
    assert not occs["06-1"].withdrawn and not evs[6].withdrawn
    assert occs["12-1"].withdrawn and evs[12].withdrawn
    again = run_import(seeded_engine, seed_with(drop), MUCH_LATER + timedelta(days=1))
    assert (again.changes, again.conflicts) == (0, [])


def test_rows_imported_before_the_memory_existed_are_never_reverted(seeded_engine: Engine, seed_doc: PlanFile) -> None:
    with session_scope(seeded_engine, write=True) as session:  # as 0009_plan_merge leaves an upgraded database
        for model in (Plan, Organization, Event, Occurrence):
            session.execute(update(model).values(imported={}))
    host_edits(seeded_engine)
    report = run_import(seeded_engine, seed_doc, MUCH_LATER)
    assert (report.changes, report.sequence_bumps, report.conflicts) == (0, [], [])
    occs = occurrences(seeded_engine)
    assert (occs["06-1"].location, occs["04-1"].status, occs["05-1"].status) == (
        "上海国际会议中心", "postponed", "cancelled")
    assert occs["06-1"].imported["location"] == "上海"  # from now on the file's word is remembered


def _second_plan(raw: dict[str, Any]) -> None:
    """Another city's plan of the same year: one unit only it uses, and its own short name for a shared unit."""
    raw["plan"]["id"] = "haian-2023"
    raw["organizations"].append({"id": "haian-kjj", "name": "海安市科学技术局（测试）", "short_name": "海安测试局",
                                 "kind": "city_department"})
    raw["events"][event_index(1)]["hosts"] = ["haian-kjj"]
    rugao = next(o for o in raw["organizations"] if o["id"] == "rugao")
    rugao["short_name"] = "如皋科技局"


def test_a_plan_file_never_withdraws_a_unit_another_plan_uses(seeded_engine: Engine, seed_doc: PlanFile) -> None:
    run_import(seeded_engine, seed_with(_second_plan), MUCH_LATER)
    report = run_import(seeded_engine, seed_doc, MUCH_LATER + timedelta(days=1))
    assert report.counts["organization.withdrawn"] == 0 and report.changes == 0
    with session_scope(seeded_engine) as session:
        orgs = {o.key: o for o in session.exec(select(Organization))}
        assert not orgs["haian-kjj"].withdrawn
        assert orgs["haian-kjj"].id in participants(session, "haian-2023")
        assert orgs["haian-kjj"].id not in participants(session, "nantong-2023")
        assert len(participants(session, "nantong-2023")) == 34
        assert set(orgs["rugao"].imported) == {"nantong-2023", "haian-2023"}


def test_shared_units_remember_each_plan_file_apart(seeded_engine: Engine) -> None:
    first = run_import(seeded_engine, seed_with(_second_plan), MUCH_LATER)
    # the directory already knew 如皋 under another short name: the new plan's file does not overwrite it
    assert [(c.entity, c.key, c.field, c.file_value, c.current_value) for c in first.conflicts] == [
        ("organization", "rugao", "short_name", "如皋科技局", "如皋市")
    ]
    assert first.conflicts[0].text() == "冲突：单位 rugao 简称：文件为“如皋科技局”，现值为“如皋市”，保留现值"

    def duties(raw: dict[str, Any]) -> None:
        next(o for o in raw["organizations"] if o["id"] == "rugao")["duties"] = "负责如皋板块科技招商"

    assert run_import(seeded_engine, seed_with(duties), MUCH_LATER).counts["organization.updated"] == 1
    # the other plan's unchanged file does not put back its own (older) duties
    again = run_import(seeded_engine, seed_with(_second_plan), MUCH_LATER + timedelta(days=1))
    assert (again.changes, again.conflicts) == (0, [])
    with session_scope(seeded_engine) as session:
        rugao = session.exec(select(Organization).where(Organization.key == "rugao")).one()
        assert (rugao.short_name, rugao.duties) == ("如皋市", "负责如皋板块科技招商")
