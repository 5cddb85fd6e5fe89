"""The clock spec refused with a located Chinese message; a clock that never runs back; a simulated clock resumed
from the instant kept in the database (issue 15)."""

from __future__ import annotations

import asyncio
import inspect
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from scheduler.clock import FixedClock, NonDecreasingClock, RealClock, SimulatedClock, parse_clock
from scheduler.clockstate import record_instant, resume_clock, stored_instant
from scheduler.config import Settings
from scheduler.jobs import JOBS, MailJobs
from scheduler.mail.mailer import MemoryMailer
from scheduler.runtime import Runtime

RULE = "应为大于 0、不超过 1000000 的有限数字，如 3600"
MARCH = datetime(2023, 3, 15, 2, tzinfo=UTC)
NOTICE = datetime(2023, 1, 22, 1, tzinfo=UTC)  # 09:00 in Shanghai


@pytest.mark.parametrize(("spec", "message"), [
    ("simulated:2023-01-22@inf", f"SCHEDULER_CLOCK 第 22 个字符起：倍速 'inf' 不是数字（{RULE}）"),
    ("simulated:2023-01-22@nan", f"SCHEDULER_CLOCK 第 22 个字符起：倍速 'nan' 不是数字（{RULE}）"),
    ("simulated:2023-01-22@1e999", f"SCHEDULER_CLOCK 第 22 个字符起：倍速 '1e999' 超出范围（{RULE}）"),
    ("simulated:2023-01-22@0", f"SCHEDULER_CLOCK 第 22 个字符起：倍速 '0' 超出范围（{RULE}）"),
    ("simulated:2023-01-22@2000000", f"SCHEDULER_CLOCK 第 22 个字符起：倍速 '2000000' 超出范围（{RULE}）"),
    ("simulated:2023-01-22@-5", f"SCHEDULER_CLOCK 第 22 个字符起：倍速 '-5' 不是数字（{RULE}）"),
    ("simulated:2023-01-22@", f"SCHEDULER_CLOCK 第 22 个字符起：倍速 '' 不是数字（{RULE}）"),
    ("simulated:2023-01-22@3@4", f"SCHEDULER_CLOCK 第 22 个字符起：倍速 '3@4' 不是数字（{RULE}）"),
    ("simulated:2023-01-22@٣", f"SCHEDULER_CLOCK 第 22 个字符起：倍速 '٣' 不是数字（{RULE}）"),  # Arabic-Indic 3
    ("simulated:", "SCHEDULER_CLOCK 第 11 个字符起：缺少开始时间（应为 real 或 simulated:START[@SPEED]，"
                   "如 simulated:2023-01-22@3600）"),
    ("  simulated:2023-13-01", "SCHEDULER_CLOCK 第 13 个字符起：无法解析开始时间 '2023-13-01'（应为 ISO 8601）"),
    ("simulated:２０２３-01-22", "SCHEDULER_CLOCK 第 11 个字符起：无法解析开始时间 '２０２３-01-22'（应为 ISO 8601）"),
    ("simulated:1900-01-01", "SCHEDULER_CLOCK 第 11 个字符起：开始时间 '1900-01-01' 超出范围"
                             "（年份应在 2000–2100 之间）"),
    ("simulated:9999-12-31T23:59", "SCHEDULER_CLOCK 第 11 个字符起：开始时间 '9999-12-31T23:59' 超出范围"
                                   "（年份应在 2000–2100 之间）"),
    ("realtime", "SCHEDULER_CLOCK: 未知的时钟 'realtime'（可用 real 或 simulated:START[@SPEED]）"),
])
def test_bad_clock_specs_are_refused_where_they_go_wrong(spec: str, message: str) -> None:
    with pytest.raises(ValueError) as refused:
        parse_clock(spec)
    assert str(refused.value) == message


def test_good_clock_specs() -> None:
    assert isinstance(parse_clock(" real "), RealClock)
    demo = parse_clock("simulated:2023-01-22@3600")
    assert isinstance(demo, SimulatedClock) and demo.speed == 3600 and demo.start == NOTICE
    assert parse_clock("simulated:2023-01-22T09:00+08:00@1e3").speed == 1000  # type: ignore[attr-defined]


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=40), st.builds(lambda a, b: f"simulated:{a}@{b}", st.text(max_size=25),
                                                   st.text(max_size=12))))
def test_any_clock_spec_gives_a_working_clock_or_a_located_refusal(spec: str) -> None:
    try:
        clock = parse_clock(spec)
    except ValueError as exc:
        assert str(exc).startswith("SCHEDULER_CLOCK")
        return
    assert clock.now().tzinfo is not None and clock.describe()


def test_a_clock_set_back_holds_at_the_latest_instant() -> None:
    inner = FixedClock(MARCH)
    clock = NonDecreasingClock(inner)
    assert clock.now() == MARCH
    inner.set(NOTICE)  # an NTP step, a restarted demo
    assert clock.now() == MARCH and clock.held_back() and "时钟回拨" in clock.describe()
    inner.set(MARCH + timedelta(hours=1))
    assert clock.now() == MARCH + timedelta(hours=1) and not clock.held_back()


@pytest.mark.db
def test_a_restarted_demo_clock_resumes_where_it_stopped(engine: Engine) -> None:
    assert stored_instant(engine=engine) is None
    fresh = resume_clock(parse_clock("simulated:2023-01-22@3600"), engine=engine)
    assert fresh.now() - NOTICE < timedelta(hours=2)  # nothing kept yet: the spec's start
    record_instant(engine=engine, instant=MARCH, wall=datetime.now(UTC))
    record_instant(engine=engine, instant=NOTICE, wall=datetime.now(UTC))  # never lowered
    assert stored_instant(engine=engine) == MARCH
    again = resume_clock(parse_clock("simulated:2023-01-22@3600"), engine=engine)
    assert MARCH <= again.now() < MARCH + timedelta(hours=2)
    assert isinstance(again.inner, SimulatedClock) and again.inner.speed == 3600
    later = resume_clock(parse_clock("simulated:2023-06-01@3600"), engine=engine)  # a START after it wins
    assert later.now() >= datetime(2023, 6, 1, 1, tzinfo=UTC)


async def _tick_all(jobs: MailJobs) -> None:
    for job in JOBS:
        if job.replayed:
            result = jobs.guarded(job)()
            if inspect.isawaitable(result):
                await result


@pytest.mark.db
def test_a_backward_jump_of_the_clock_sends_nothing_twice(mail_engine: Engine, tmp_path: Path) -> None:
    settings_ = Settings(var_dir=tmp_path, secret_keys=["c" * 32])
    mailer = MemoryMailer()

    def run(*instants: datetime, clock: FixedClock | None = None) -> MailJobs:
        clock = clock or FixedClock(instants[0])
        jobs = MailJobs(Runtime(settings_, engine=mail_engine, clock=clock), mailer=mailer)
        for instant in instants:
            clock.set(instant)
            asyncio.run(_tick_all(jobs))
        return jobs

    days = [NOTICE + timedelta(days=d) for d in range(0, 60, 3)]
    run(*days)
    sent = len(mailer.sent)
    assert sent > 100 and stored_instant(engine=mail_engine) == days[-1]
    # The same process with its clock set back two months, then a new process starting in January.
    same = FixedClock(days[-1])
    held = run(days[-1], NOTICE, NOTICE + timedelta(days=3), clock=same)
    assert held.clock.now() == days[-1]
    restarted = run(NOTICE, NOTICE + timedelta(days=1))
    assert restarted.clock.now() == days[-1]
    assert len(mailer.sent) == sent
