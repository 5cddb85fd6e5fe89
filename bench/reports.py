"""Report building at a city-year's scale: every report and export with thousands of recorded outcomes.

Run: .venv/bin/python bench/reports.py [--projects N]
Baseline: the same reports on the bare plan (no outcomes). Target: a monthly report with 3 000 signed projects,
1 000 leads and a year of check-ins builds in under 1 s on SQLite, and within 10× the bare-plan time.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlmodel import SQLModel, select

import scheduler.metadata  # noqa: F401
from scheduler.config import DEFAULT_SEED
from scheduler.db import make_engine, session_scope
from scheduler.followups.models import NegotiationCheckin
from scheduler.outcomes.models import Lead, OutcomeReport, ProjectRow
from scheduler.plan.importer import import_plan
from scheduler.plan.models import Occurrence
from scheduler.plan.seed import read_plan_file
from scheduler.reports.build import build_report
from scheduler.reports.export import export

NOW = datetime(2023, 12, 31, 8, tzinfo=UTC)
UNITS = ["haian", "rugao", "rudong", "qidong", "chongchuan", "tongzhou", "haimen", "kfq", "sxt", "tzw", "cxq"]
KINDS = [("monthly", "2023-11"), ("bimonthly", "2023-11/12"), ("quarterly", "2023Q4"), ("cadence", "2023"),
         ("targets", "2023")]


def fill(engine, projects: int) -> None:  # type: ignore[no-untyped-def]
    rnd = random.Random(7)
    with session_scope(engine, write=True) as session:
        occs = list(session.exec(select(Occurrence)))
        per = max(projects // len(occs), 1)
        for occ in occs:
            day = min(occ.window_end, date(2023, 12, 20))
            report = OutcomeReport(occurrence_id=occ.id, status="held", actual_date=day, filed_by="b", attendees=1,
                                   companies=1, created_at=NOW, updated_at=NOW)
            session.add(report)
            session.flush()
            for i in range(per):
                session.add(ProjectRow(report_id=report.id, occurrence_id=occ.id, position=i, name=f"项目{i}",
                                       category="科创项目", sign_form="合同", amount_wan=Decimal(rnd.randint(10, 900)),
                                       bankuai_key=rnd.choice(UNITS), credited=True))
        for i in range(projects // 3):
            t = datetime(2023, 1, 23, tzinfo=UTC) + timedelta(days=rnd.randint(0, 330))
            session.add(Lead(name=f"线索{i}", category="科创项目", bankuai_key=rnd.choice(UNITS), last_update_at=t,
                             created_at=t, updated_at=t))
        monday = date(2023, 1, 23)
        while monday.year == 2023:
            for unit in UNITS:
                if rnd.random() < 0.8:
                    session.add(NegotiationCheckin(organization_key=unit, week_start=monday, count=2, filed_by="b",
                                                   created_at=NOW, updated_at=NOW))
            monday += timedelta(days=7)


def measure(engine) -> dict[str, float]:  # type: ignore[no-untyped-def]
    out = {}
    for kind, period in KINDS:
        start = time.perf_counter()
        with session_scope(engine) as session:
            report = build_report(session=session, kind=kind, period=period, now=NOW)
        built = time.perf_counter()
        export(report, "xlsx")
        out[kind] = built - start
        out[f"{kind}.xlsx"] = time.perf_counter() - built
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--projects", type=int, default=3000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engines = {}
        for name in ("bare", "full"):
            engine = make_engine(f"sqlite:///{Path(tmp) / name}.db")
            SQLModel.metadata.create_all(engine)
            with session_scope(engine, write=True) as session:
                import_plan(session=session, doc=read_plan_file(DEFAULT_SEED), now=NOW)
            engines[name] = engine
        fill(engines["full"], args.projects)
        base, full = measure(engines["bare"]), measure(engines["full"])
    print(f"{'report':<18}{'bare plan (ms)':>16}{f'{args.projects} projects (ms)':>22}{'ratio':>8}")
    for key in base:
        print(f"{key:<18}{base[key] * 1000:>16.1f}{full[key] * 1000:>22.1f}{full[key] / base[key]:>8.1f}")
    ok = full["monthly"] < 1.0 and full["monthly"] / base["monthly"] < 10
    print(f"monthly under 1 s and within 10× the bare plan: {'yes' if ok else 'NO'}")


if __name__ == "__main__":
    main()
