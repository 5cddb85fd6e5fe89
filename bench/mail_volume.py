"""Mail volume and timing of the 2023 demo: mails per recipient per week (median, max) and policy breaches.

Two runs on an in-memory mailer, nobody answering: a straight replay of the first 8 weeks after the notice, and
the same plan after downtime (a day of running, then the clock jumps to 2023-04-03 and runs a week).
Run: .venv/bin/python bench/mail_volume.py   (works on any checkout: it reads only the outbox and task tables)
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
from collections import Counter
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from sqlmodel import SQLModel, select

import scheduler.metadata  # noqa: F401
from scheduler.clock import SHANGHAI, FixedClock
from scheduler.config import DEFAULT_SEED, PROJECT_ROOT, Settings
from scheduler.contacts import read_contacts_file, replace_contacts
from scheduler.db import make_engine, session_scope
from scheduler.followups.action_links import mail_composer
from scheduler.followups.checklists import read_checklists
from scheduler.followups.models import Task
from scheduler.mail.mailer import MemoryMailer
from scheduler.mail.models import OutboxMessage
from scheduler.plan.catalog import get_organizations
from scheduler.plan.importer import import_plan
from scheduler.plan.seed import read_plan_file
from scheduler.reminders.planner import RuleBook
from scheduler.replay import replay
from scheduler.workdays import WorkCalendar

START = datetime(2023, 1, 22, 1, tzinfo=UTC)
WEEKS8 = START + timedelta(weeks=8)
JUMP_TO = datetime(2023, 4, 3, 1, tzinfo=UTC)


def fresh(workdir: Path, name: str):  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{workdir / name}")
    SQLModel.metadata.create_all(engine)
    with session_scope(engine, write=True) as session:
        import_plan(session=session, doc=read_plan_file(DEFAULT_SEED), now=START)
        people = read_contacts_file(PROJECT_ROOT / "seeds" / "contacts.example.toml",
                                    organizations=get_organizations(session=session))
        replace_contacts(session=session, people=people, now=START)
    return engine


def run(engine, workdir: Path, spans: list[tuple[datetime, datetime]]) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(var_dir=workdir, secret_keys=["b" * 32])
    composer = mail_composer(settings, engine)
    clock = FixedClock(spans[0][0])
    for start, end in spans:
        asyncio.run(replay(engine=engine, mailer=MemoryMailer(), composer=composer, rules=RuleBook(), start=start,
                           end=end, clock=clock, followups=read_checklists(settings.checklist_file)))


def figures(engine) -> dict[str, object]:  # type: ignore[no-untyped-def]
    cal = WorkCalendar()
    with session_scope(engine) as session:
        rows = list(session.exec(select(OutboxMessage).where(OutboxMessage.state == "sent")))
        tasks = list(session.exec(select(Task)))
    weeks = Counter((r.recipient, r.sent_at.astimezone(SHANGHAI).isocalendar()[:2]) for r in rows if r.sent_at)
    per = sorted(weeks.values())
    off_hours = [r for r in rows if r.sent_at
                 and not time(9) <= r.sent_at.astimezone(SHANGHAI).time() <= time(17, 30)]
    nudges_weekend = [r for r in rows if r.kind in ("fix_nudge", "task_nudge") and r.sent_at
                      and not cal.is_workday(r.sent_at.astimezone(SHANGHAI).date())]
    born_late = [t for t in tasks if t.due_on < t.created_at.astimezone(SHANGHAI).date()]
    by_recipient = Counter(r.recipient for r in rows)
    return {"sent": len(rows), "recipient_weeks": len(per), "median": statistics.median(per) if per else 0,
            "max": max(per, default=0), "busiest": by_recipient.most_common(1),
            "outside_hours": len(off_hours), "nudges_on_days_off": len(nudges_weekend),
            "tasks_due_before_created": len(born_late),
            "by_kind": dict(sorted(Counter(r.kind for r in rows).items()))}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        straight = fresh(work, "a.db")
        run(straight, work, [(START, WEEKS8)])
        print("8 weeks:", figures(straight))
        jumped = fresh(work, "b.db")
        run(jumped, work, [(START, START + timedelta(hours=8)), (JUMP_TO, JUMP_TO + timedelta(days=7))])
        print("after downtime:", figures(jumped))


if __name__ == "__main__":
    main()
