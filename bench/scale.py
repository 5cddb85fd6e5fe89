"""Planner cost against plan size: 60 / 600 / 6,000 sessions (1 / 10 / 100 copies of the 2023 plan, one city each).

Run: .venv/bin/python bench/scale.py [--sizes 1,10,100] [--rounds 3]
Each size runs in a fresh process (so memory is that size's own): it builds the plans in a scratch SQLite file,
then times, at 1 March 2023, the ticks the ticker runs: the reminders planner (`plan` job) and the follow-up
planner (`followups` job), first (everything to plan) and steady (nothing changed: the job's fingerprint says so),
and one follow-up tick forced to re-plan with nothing changed (what a new day costs). Prints per operation the
median time, the process's peak RSS and its RSS now after it, and the growth exponent k of time ∝ sessions^k
between sizes (1 = linear in the plan; ≈ 0 = independent of it).
Targets: steady tick at 6,000 sessions ≤ 0.3 s and ≤ 150 MB RSS.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SESSIONS_PER_COPY = 61  # sessions in seeds/events_2023.json
NOW = datetime(2023, 3, 1, 2, tzinfo=UTC)
OPS = ("plan first", "plan steady", "followups first", "followups steady", "followups new day")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    """The process's resident memory now (Linux), which a steady tick should not grow."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * resource.getpagesize() / 2**20


def build(path: Path, copies: int) -> float:
    """Import `copies` copies of the 2023 plan (distinct plan ids, shared organizations) and the contacts."""
    from sqlmodel import SQLModel

    import scheduler.metadata  # noqa: F401
    from scheduler.config import DEFAULT_SEED, PROJECT_ROOT
    from scheduler.contacts import read_contacts_file, replace_contacts
    from scheduler.db import make_engine, session_scope
    from scheduler.plan.catalog import get_organizations
    from scheduler.plan.importer import import_plan
    from scheduler.plan.seed import PlanFile, read_plan_file

    t0 = time.perf_counter()
    engine = make_engine(f"sqlite:///{path}")
    SQLModel.metadata.create_all(engine)
    doc = read_plan_file(DEFAULT_SEED)
    start = datetime(2023, 1, 22, 1, tzinfo=UTC)
    for i in range(copies):
        data = doc.model_dump(mode="json")
        data["plan"]["id"] = f"city{i:03d}-2023"
        with session_scope(engine, write=True) as session:
            import_plan(session=session, doc=PlanFile.model_validate(data), now=start)
    with session_scope(engine, write=True) as session:
        people = read_contacts_file(PROJECT_ROOT / "seeds" / "contacts.example.toml",
                                    organizations=get_organizations(session=session))
        replace_contacts(session=session, people=people, now=start)
    engine.dispose()
    return time.perf_counter() - t0


def measure(path: Path, rounds: int) -> dict[str, Any]:
    """Run the ticks on the built file; return per operation (median seconds, peak RSS MB after it)."""
    from scheduler.clock import FixedClock
    from scheduler.config import Settings
    from scheduler.db import make_engine
    from scheduler.followups.checklists import read_checklists
    from scheduler.jobs import MailJobs
    from scheduler.mail.mailer import MemoryMailer
    from scheduler.runtime import Runtime

    engine = make_engine(f"sqlite:///{path}")
    settings = Settings(var_dir=path.parent, secret_keys=["b" * 32])
    clock = FixedClock(NOW)
    jobs = MailJobs(Runtime(settings, clock=clock, engine=engine), mailer=MemoryMailer(), wall=clock,
                    checklists=read_checklists(settings.checklist_file))
    out: dict[str, Any] = {"rss_start": peak_mb()}

    def timed(name: str, fn: Any, n: int = 1) -> Any:
        times, result = [], None
        for _ in range(n):
            t0 = time.perf_counter()
            result = fn()
            times.append(time.perf_counter() - t0)
        out[name] = (sorted(times)[len(times) // 2], peak_mb(), rss_mb())
        return result

    first = timed("plan first", jobs.plan)
    steady = timed("plan steady", jobs.plan, rounds)
    ffirst = timed("followups first", jobs.followups)
    fsteady = timed("followups steady", jobs.followups, rounds)

    def new_day() -> Any:
        jobs._followups_fingerprint = None  # what a new local day does: the job re-plans with nothing changed
        return jobs.followups()

    timed("followups new day", new_day, rounds)
    assert not first.get("skipped") and steady.get("skipped"), (first, steady)
    assert not ffirst.get("skipped") and fsteady.get("skipped"), (ffirst, fsteady)
    out["rows"] = first.get("added", 0) + ffirst.get("mail", {}).get("added", 0)
    return out


def child(copies: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scale.db"
        built = build(path, copies)
        result = measure(path, rounds)
    print(json.dumps({"copies": copies, "build": built, **result}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1,10,100", help="plan copies per size (61 sessions each)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, args.rounds)
        return
    results = []
    for copies in (int(c) for c in args.sizes.split(",")):
        proc = subprocess.run([sys.executable, __file__, "--child", str(copies), "--rounds", str(args.rounds)],
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            sys.exit(f"size {copies} failed:\n{proc.stderr[-3000:]}")
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    print(f"{'operation':<20}" + "".join(f"{r['copies'] * SESSIONS_PER_COPY:>9} sessions: time, peak/now RSS"
                                         for r in results) + "   growth k")
    for op in OPS:
        cells = "".join(f"{r[op][0] * 1000:>12.0f} ms {r[op][1]:>5.0f}/{r[op][2]:<5.0f} MB" for r in results)
        ks = [math.log(b[op][0] / a[op][0]) / math.log(b["copies"] / a["copies"])
              for a, b in itertools.pairwise(results) if a[op][0] > 0]
        print(f"{op:<20}{cells}   " + " ".join(f"{k:.2f}" for k in ks))
    print("build (import):     " + "".join(f"{r['build']:>12.1f} s {'':>15}" for r in results))
    print("RSS after imports:  " + "".join(f"{r['rss_start']:>12.0f} MB {'':>14}" for r in results))
    big = results[-1]
    n = big["copies"] * SESSIONS_PER_COPY
    for op in ("plan steady", "followups steady"):
        t, mb, now_mb = big[op]
        ok = t <= 0.3 and mb <= 150
        print(f"{op} at {n} sessions: {t * 1000:.0f} ms, peak RSS {mb:.0f} MB, {now_mb:.0f} MB after it "
              f"(target ≤ 300 ms, ≤ 150 MB) "
              f"{'OK' if ok else 'BELOW TARGET'}")


if __name__ == "__main__":
    main()
