"""The ticker when its database goes away and comes back (issue 15): one log line when it goes, one when it returns,
backing off in between; never a traceback per tick."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlmodel import SQLModel

import scheduler.metadata  # noqa: F401
from scheduler.clock import FixedClock
from scheduler.config import Settings
from scheduler.db import make_engine
from scheduler.jobs import DatabaseWatch, Job, MailJobs, job_by_id
from scheduler.mail.mailer import MemoryMailer
from scheduler.runtime import Runtime
from tests.support.instants import NOTICE_DATE


def test_an_outage_is_two_log_lines_and_a_back_off(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    home = tmp_path / "data"
    engine = make_engine(f"sqlite:///{home / 'db.sqlite'}")
    SQLModel.metadata.create_all(engine)
    jobs = MailJobs(Runtime(Settings(var_dir=tmp_path, secret_keys=["o" * 32]), engine=engine,
                            clock=FixedClock(NOTICE_DATE)), mailer=MemoryMailer())
    wall = [0.0]
    jobs.watch = DatabaseWatch(wall=lambda: wall[0])
    plan = jobs.guarded(job_by_id("plan"))
    assert plan().get("skipped") in (None, True)  # the database answers: the tick runs
    home.rename(tmp_path / "moved")  # the database disappears (unmounted volume, deleted directory)
    engine.dispose()
    caplog.set_level(logging.INFO, logger="scheduler.jobs")
    results = []
    for _ in range(20):  # twenty ticks, a second apart
        results.append(plan())
        wall[0] += 1
    assert all(r["skipped"] == "database" for r in results)
    tried = [r for r in results if "reason" in r]
    assert 2 <= len(tried) <= 4, results  # retried after 5 s, then 10 s, …: not every tick
    assert "无法连接数据库" in tried[0]["reason"]
    lines = [r for r in caplog.records if r.name == "scheduler.jobs"]
    assert len(lines) == 1 and lines[0].levelno == logging.WARNING and lines[0].exc_info is None
    assert lines[0].getMessage().startswith("数据库不可用，定时任务暂停并自动重试：无法连接数据库")
    (tmp_path / "moved").rename(home)
    wall[0] += 300
    assert plan().get("skipped") != "database"
    lines = [r for r in caplog.records if r.name == "scheduler.jobs"]
    assert len(lines) == 2 and lines[1].getMessage().startswith("数据库已恢复（中断约 ")


def test_a_bug_in_a_tick_still_raises(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    SQLModel.metadata.create_all(engine)
    jobs = MailJobs(Runtime(Settings(var_dir=tmp_path, secret_keys=["o" * 32]), engine=engine,
                            clock=FixedClock(NOTICE_DATE)), mailer=MemoryMailer())

    def broken(self: MailJobs) -> dict[str, object]:
        raise KeyError("a bug")

    job = Job(id="broken", name="出错的任务", interval="plan_interval", at_start=False, tick=broken)
    with pytest.raises(KeyError):
        jobs.guarded(job)()
