"""`scheduler plan import` as a merge: conflicts in Chinese with who and when, --json, and --dry-run writing nothing."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import select
from typer.testing import CliRunner

from scheduler.audit import ActorKind
from scheduler.cli import app
from scheduler.config import DEFAULT_SEED
from scheduler.db import session_scope
from scheduler.followups.effects import Actor
from scheduler.followups.models import Task, TaskKind
from scheduler.followups.submissions import Accepted, record_submission
from scheduler.plan.models import Occurrence
from tests.factories.followups import plan
from tests.support.dbstate import dump_database

SEED = json.loads(DEFAULT_SEED.read_text(encoding="utf-8"))
FORM_DAY = datetime(2023, 4, 2, 2, 0, tzinfo=UTC)  # 10:00 Shanghai, 2 April: 13-1's 定档 request is open
CLOCK = "simulated:2023-04-03T09:00+08:00@1"
CONFLICT = ("冲突：序号 13 场次 13-1 地点：文件为“上海浦东”，现值为“上海国际会议中心”"
            "（主办单位市科技局 2023-04-02 定档时填写），保留现值")


def occurrence(engine: Engine, key: str) -> Occurrence:
    with session_scope(engine) as session:
        return session.exec(select(Occurrence).where(Occurrence.key == key)).one()


def fix_through_the_form(engine: Engine) -> None:
    """The host (市科技局) fixes 13-1 through its 定档 form, with a venue."""
    plan(engine, FORM_DAY)
    occ_id = occurrence(engine, "13-1").id
    with session_scope(engine) as session:
        task = session.exec(select(Task).where(Task.occurrence_id == occ_id, Task.kind == TaskKind.FIX_DATE)).one()
    form = {"date": "2023-05-18", "start_time": "09:30", "end_time": "11:30", "place": "上海国际会议中心"}
    result = record_submission(engine=engine, task_id=task.id or 0, form=form,
                               actor=Actor("kjj.lianluo@example.org", ActorKind.LINK), now=FORM_DAY)
    assert isinstance(result, Accepted)


def edited_file(tmp_path: Path) -> Path:
    """The seed with 13-1's venue changed (the host fixed it) and 07-1's title changed (nobody touched it)."""
    raw = copy.deepcopy(SEED)
    by_seq = {e["seq"]: e for e in raw["events"]}
    by_seq[13]["sessions"][0]["location"] = "上海浦东"
    by_seq[7]["sessions"][0]["title"] = "崇川（上海）战略性新兴产业发展大会（第二届）"
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    return path


def run(args: list[str], db_url: str) -> Any:
    return CliRunner().invoke(app, ["plan", "import", *args], env={"SCHEDULER_DATABASE_URL": db_url,
                                                                   "SCHEDULER_CLOCK": CLOCK})


def test_dry_run_prints_changes_and_conflicts_and_writes_nothing(db_url: str, seeded_engine: Engine,
                                                                 tmp_path: Path) -> None:
    fix_through_the_form(seeded_engine)
    path = edited_file(tmp_path)
    before = dump_database(seeded_engine)

    result = run([str(path), "--dry-run"], db_url)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["预览（未写入）：1 处变更。", "  occurrence.updated: 1", CONFLICT]
    as_json = run([str(path), "--dry-run", "--json"], db_url)
    assert as_json.exit_code == 0, as_json.output
    doc = json.loads(as_json.stdout)
    assert (doc["dry_run"], doc["changes"], doc["sequence_bumps"]) == (True, 1, ["07-1"])
    [conflict] = doc["conflicts"]
    assert {k: conflict[k] for k in ("entity", "key", "seq", "field", "file", "current", "changed_by")} == {
        "entity": "occurrence", "key": "13-1", "seq": 13, "field": "location", "file": "上海浦东",
        "current": "上海国际会议中心", "changed_by": "主办单位市科技局"}
    assert (conflict["changed_at"], conflict["changed_how"], conflict["text"]) == (
        "2023-04-02T02:00:00+00:00", "定档", CONFLICT)
    assert dump_database(seeded_engine) == before

    # the real import does what the preview said, and keeps the host's venue
    real = run([str(path)], db_url)
    assert real.exit_code == 0, real.output
    assert real.stdout.splitlines() == ["导入完成：1 处变更。", "  occurrence.updated: 1", CONFLICT]
    assert occurrence(seeded_engine, "13-1").location == "上海国际会议中心"
    assert occurrence(seeded_engine, "07-1").title.endswith("（第二届）")
    assert run([str(path)], db_url).stdout.strip() == "导入完成：0 处变更（数据库已是最新）。"


def test_reimporting_the_unchanged_file_after_a_form_reports_nothing(db_url: str, seeded_engine: Engine) -> None:
    fix_through_the_form(seeded_engine)
    before = dump_database(seeded_engine)
    result = run([str(DEFAULT_SEED), "--json"], db_url)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert (doc["changes"], doc["conflicts"], doc["sequence_bumps"], doc["dry_run"]) == (0, [], [], False)
    assert dump_database(seeded_engine) == before
