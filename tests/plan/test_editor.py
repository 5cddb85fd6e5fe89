"""The activity editor against the import merge: office edits are record changes a re-import keeps (conflicts, not
reverts), activities the office added survive a re-import of the file, withdrawal and renames bump SEQUENCE."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from scheduler.db import session_scope
from scheduler.plan.catalog import get_plan
from scheduler.plan.editor import (
    EditInvalid,
    EventForm,
    SessionForm,
    create_event,
    event_form,
    get_event,
    update_event,
    withdraw_event,
    withdraw_session,
)
from scheduler.plan.importer import ImportReport, import_plan
from scheduler.plan.models import Event, Occurrence
from scheduler.plan.seed import PlanFile
from tests.support.dbstate import dump_database

OFFICE_DAY = datetime(2023, 2, 10, 2, 0, tzinfo=UTC)  # 10:00 Shanghai: the office edits the plan
LATER = OFFICE_DAY + timedelta(days=5)


def edit(engine: Engine, seq: int, change: Any) -> None:
    """Open the row's form, let `change` alter it, save it."""
    with session_scope(engine, write=True) as session:
        plan = get_plan(session=session)
        assert plan is not None
        event = get_event(session=session, plan=plan, seq=seq)
        assert event is not None
        form = event_form(session=session, event=event)
        change(form)
        update_event(session=session, plan=plan, event=event, form=form, now=OFFICE_DAY)


def reimport(engine: Engine, doc: PlanFile) -> ImportReport:
    with session_scope(engine, write=True) as session:
        return import_plan(session=session, doc=doc, now=LATER)


def occ(engine: Engine, key: str) -> Occurrence:
    with session_scope(engine) as session:
        return session.exec(select(Occurrence).where(Occurrence.key == key)).one()


def with_file(seed_doc: PlanFile, change: Any) -> PlanFile:
    raw = copy.deepcopy(seed_doc.model_dump(mode="json"))
    change(raw)
    return PlanFile.model_validate(raw)


def test_an_office_edit_survives_the_same_file_and_conflicts_with_a_changed_one(
    seeded_engine: Engine, seed_doc: PlanFile
) -> None:
    imported_before = occ(seeded_engine, "06-1").imported

    def venue(form: EventForm) -> None:
        form.sessions[0].location = "上海国际会议中心"

    edit(seeded_engine, 6, venue)
    edited = occ(seeded_engine, "06-1")
    assert (edited.location, edited.sequence, edited.updated_at) == ("上海国际会议中心", 1, OFFICE_DAY)
    assert edited.imported == imported_before  # the memory is the import's, not the editor's
    before = dump_database(seeded_engine)
    same = reimport(seeded_engine, seed_doc)
    assert (same.changes, same.sequence_bumps, same.conflicts) == (0, [], [])
    assert dump_database(seeded_engine) == before

    def file_venue(raw: dict[str, Any]) -> None:
        six = next(e for e in raw["events"] if e["seq"] == 6)
        six["sessions"][0]["location"] = "上海张江"

    changed = reimport(seeded_engine, with_file(seed_doc, file_venue))
    assert [c.text() for c in changed.conflicts] == [
        "冲突：序号 6 场次 06-1 地点：文件为“上海张江”，现值为“上海国际会议中心”，保留现值"]
    assert (occ(seeded_engine, "06-1").location, occ(seeded_engine, "06-1").sequence) == ("上海国际会议中心", 1)


def test_an_edited_host_list_is_kept_and_a_file_change_to_it_is_a_conflict(
    seeded_engine: Engine, seed_doc: PlanFile
) -> None:
    def co_host(form: EventForm) -> None:
        form.co_organizers = "市科技局"

    edit(seeded_engine, 6, co_host)
    assert reimport(seeded_engine, seed_doc).changes == 0

    def file_co(raw: dict[str, Any]) -> None:
        next(e for e in raw["events"] if e["seq"] == 6)["co_organizers"] = ["swj"]

    report = reimport(seeded_engine, with_file(seed_doc, file_co))
    assert [(c.entity, c.key, c.field, c.file_value, c.current_value) for c in report.conflicts] == [
        ("event", "6", "co_organizers", ["swj"], ["kjj"])]


def test_an_activity_the_office_added_is_not_withdrawn_by_the_file(seeded_engine: Engine, seed_doc: PlanFile) -> None:
    form = EventForm(seq="49", quarter="4", type="district", title="海门—上海科技人才对接会", locations="上海",
                     date_text="2023年11月", hosts="海门区", sessions=[])
    with session_scope(seeded_engine, write=True) as session:
        plan = get_plan(session=session)
        assert plan is not None
        create_event(session=session, plan=plan, form=form, now=OFFICE_DAY)
    added = occ(seeded_engine, "49-1")  # one session derived from the row
    assert (added.title, added.location, added.window_start.isoformat(), added.window_end.isoformat()) == (
        "海门—上海科技人才对接会", "上海", "2023-11-01", "2023-11-30")
    before = dump_database(seeded_engine)
    report = reimport(seeded_engine, seed_doc)
    assert (report.changes, report.conflicts) == (0, [])
    assert dump_database(seeded_engine) == before


def test_a_rename_bumps_every_session_and_withdrawal_bumps_again(seeded_engine: Engine) -> None:
    def rename(form: EventForm) -> None:
        form.title = "高校院所 南通重点产业链产学研对接洽谈会"

    edit(seeded_engine, 2, rename)
    assert [occ(seeded_engine, k).sequence for k in ("02-1", "02-2")] == [1, 1]
    with session_scope(seeded_engine, write=True) as session:
        plan = get_plan(session=session)
        assert plan is not None
        event = get_event(session=session, plan=plan, seq=2)
        assert event is not None
        changes = withdraw_event(session=session, event=event, now=LATER)
    actions = [c.action for c in changes]
    assert actions == ["plan.event.withdraw", "plan.occurrence.withdraw", "plan.occurrence.withdraw"]
    assert [(occ(seeded_engine, k).withdrawn, occ(seeded_engine, k).sequence) for k in ("02-1", "02-2")] == [
        (True, 2), (True, 2)]
    with session_scope(seeded_engine) as session:
        assert session.exec(select(Event).where(Event.seq == 2)).one().withdrawn


def test_the_last_session_cannot_be_removed_and_a_fixed_time_pins_the_date(seeded_engine: Engine) -> None:
    with session_scope(seeded_engine, write=True) as session:
        plan = get_plan(session=session)
        assert plan is not None
        event = get_event(session=session, plan=plan, seq=6)
        assert event is not None
        only = session.exec(select(Occurrence).where(Occurrence.key == "06-1")).one()
        with pytest.raises(EditInvalid) as refused:
            withdraw_session(session=session, event=event, occurrence=only, now=OFFICE_DAY)
        assert refused.value.errors == {"06-1-withdraw": "至少需要一个场次：要取消整个活动，请撤下活动"}
        only.start_at = datetime(2023, 3, 16, 1, 30, tzinfo=UTC)  # fixed by its host
        form = event_form(session=session, event=event)
        form.date_text = form.sessions[0].date_text = "2023年4月"
        with pytest.raises(EditInvalid) as moved:
            update_event(session=session, plan=plan, event=event, form=form, now=OFFICE_DAY)
        assert moved.value.errors == {
            "s0-date_text": "场次 06-1 已定于 2023-03-16，不在新日期 '2023年4月' 之内：请用“延期”改时间"}
        session.rollback()


def test_a_new_session_row_gets_the_next_key(seeded_engine: Engine) -> None:
    def second(form: EventForm) -> None:
        form.date_text = "2023 年 3 月 2023 年 4 月"
        form.sessions.append(SessionForm("", "科技招商推介会（二）", "苏州", "2023 年 4 月"))

    edit(seeded_engine, 6, second)
    added = occ(seeded_engine, "06-2")
    assert (added.position, added.location, added.window_start.isoformat(), added.sequence) == (
        1, "苏州", "2023-04-01", 0)
    assert occ(seeded_engine, "06-1").sequence == 0  # the first session did not change
