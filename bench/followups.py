"""Follow-up planning cost: one `followups` tick at year end, and a 2023 replay with follow-ups against the
reminders-only replay (the baseline) on an in-memory mailer.

Run: .venv/bin/python bench/followups.py
Targets: a tick under 0.5 s; the replay of 2023 with follow-ups ≤ 2× the baseline and under 15 s. CPU seconds are
printed beside wall seconds: on a shared machine they say more.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import SQLModel

import scheduler.metadata  # noqa: F401
from scheduler.clock import FixedClock
from scheduler.config import DEFAULT_SEED, PROJECT_ROOT, Settings
from scheduler.contacts import read_contacts_file, replace_contacts
from scheduler.db import make_engine, session_scope
from scheduler.followups.action_links import mail_composer
from scheduler.followups.checklists import read_checklists
from scheduler.followups.sync import plan_followups
from scheduler.mail.mailer import MemoryMailer
from scheduler.plan.catalog import get_organizations
from scheduler.plan.importer import import_plan
from scheduler.plan.seed import read_plan_file
from scheduler.reminders.planner import RuleBook
from scheduler.replay import replay

START = datetime(2023, 1, 22, 1, tzinfo=UTC)
END = datetime(2023, 12, 31, 15, tzinfo=UTC)


def fresh(workdir: Path, name: str):
    engine = make_engine(f"sqlite:///{workdir / name}")
    SQLModel.metadata.create_all(engine)
    with session_scope(engine, write=True) as session:
        import_plan(session=session, doc=read_plan_file(DEFAULT_SEED), now=START)
        people = read_contacts_file(PROJECT_ROOT / "seeds" / "contacts.example.toml",
                                    organizations=get_organizations(session=session))
        replace_contacts(session=session, people=people, now=START)
    return engine


def run_replay(workdir: Path, name: str, followups: bool) -> tuple[float, dict]:
    engine = fresh(workdir, name)
    settings = Settings(var_dir=workdir, secret_keys=["b" * 32])
    clock = FixedClock(START)
    composer = mail_composer(settings, engine)
    t0, c0 = time.perf_counter(), time.process_time()
    result = asyncio.run(replay(engine=engine, mailer=MemoryMailer(), composer=composer, rules=RuleBook(),
                                start=START, end=END, clock=clock,
                                followups=read_checklists(settings.checklist_file) if followups else None))
    result["cpu"] = time.process_time() - c0
    return time.perf_counter() - t0, result


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        base_s, base = run_replay(workdir, "base.db", followups=False)
        with_s, with_f = run_replay(workdir, "followups.db", followups=True)
        engine = make_engine(f"sqlite:///{workdir / 'followups.db'}")
        templates = read_checklists(Settings().checklist_file)
        ticks = []
        for _ in range(5):
            t0 = time.perf_counter()
            with session_scope(engine, write=True) as session:
                plan_followups(session=session, templates=templates, now=END)
            ticks.append(time.perf_counter() - t0)
    tick = sorted(ticks)[len(ticks) // 2]
    ratio = with_s / base_s
    print(f"reminders-only replay of 2023: {base['sent']} messages in {base_s:.2f} s, {base['cpu']:.2f} s CPU "
          f"(baseline)")
    print(f"replay with follow-ups: {with_f['sent']} messages in {with_s:.2f} s, {with_f['cpu']:.2f} s CPU — "
          f"{ratio:.2f}× baseline ({with_f['cpu'] / base['cpu']:.2f}× in CPU), "
          f"{with_s / with_f['sent'] * 1000:.1f} ms per message vs {base_s / base['sent'] * 1000:.1f} "
          f"(target ≤ 2× and < 15 s) {'OK' if ratio <= 2 and with_s < 15 else 'BELOW TARGET'}")
    print(f"followups tick at year end (median of 5): {tick * 1000:.0f} ms (target < 500 ms) "
          f"{'OK' if tick < 0.5 else 'BELOW TARGET'}")


if __name__ == "__main__":
    main()
