"""Logistics at scale: 2,000 participants on one occurrence (序号 15, sixteen units). Times, through real uvicorn over
HTTP, a unit's nomination POST (an edit of a 5-person list, checked against the other 1,995) and a check-in tap,
as p50/p95 against GET /healthz in the same run (the baseline); then builds every manifest (XLSX and CSV).

Run: PYTHONPATH=. .venv/bin/python bench/logistics.py [N]   (N requests per measure, default 40; nomination
POSTs at most 28: anonymous link POSTs are throttled at 30 a minute)
Targets: nomination POST p95 under 1 s and check-in p95 under 0.3 s at 2,000 people; each XLSX manifest under 3 s
(measured on the shared 2-core box: POST p50 0.25 s, p95 0.29 s; check-in p95 37 ms; XLSX 1.4–2.5 s, CSV <0.1 s).
"""

from __future__ import annotations

import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import httpx
from sqlmodel import SQLModel, select

import scheduler.metadata  # noqa: F401
from scheduler.auth import create_user
from scheduler.clock import SHANGHAI, FixedClock
from scheduler.config import DEFAULT_SEED, PROJECT_ROOT, Settings
from scheduler.contacts import read_contacts_file, replace_contacts
from scheduler.db import make_engine, session_scope
from scheduler.logistics.manifests import MANIFESTS, build_manifest, manifest_csv, manifest_xlsx
from scheduler.logistics.models import DelegationUnit
from scheduler.logistics.participation import (
    NominationSigner,
    OpenForm,
    get_participation,
    open_participation,
    record_nomination,
)
from scheduler.logistics.roster import build_roster
from scheduler.plan.catalog import get_organizations
from scheduler.plan.importer import import_plan
from scheduler.plan.models import Event, Occurrence
from scheduler.plan.seed import read_plan_file
from scheduler.web.app import create_app
from tests.support.servers import run_uvicorn

NOW = datetime(2023, 4, 21, 10, 0, tzinfo=SHANGHAI)
# The seven 县（市、区）, four parks and five more units, at most 140 people each (nomform.MAX_PEOPLE); the last
# one edits its list.
UNITS = ("haian", "rugao", "rudong", "qidong", "chongchuan", "tongzhou", "haimen", "kfq", "sxt", "tzw", "cxq",
         "haimen-kjj", "kctz", "tct", "dbzx", "univ-tt-centers")
TOTAL = 2000
PASSWORD = "bench horse battery"


def people_form(start: int, count: int) -> dict[str, str]:
    return {f"p{i}-{k}": v for i in range(count) for k, v in {
        "name": f"人员{start + i}", "role": "工作人员", "mobile": f"13{start + i:09d}", "depart_on": "2023-05-17",
        "return_on": "2023-05-19", "transport": "高铁/火车", "checkin_on": "2023-05-17", "checkout_on": "2023-05-19",
        "room": "合住"}.items()}


def setup(workdir: Path) -> tuple[object, Settings, int, str]:
    engine = make_engine(f"sqlite:///{workdir / 'bench.db'}")
    SQLModel.metadata.create_all(engine)
    settings = Settings(var_dir=workdir, secret_keys=["b" * 32])
    with session_scope(engine, write=True) as session:
        import_plan(session=session, doc=read_plan_file(DEFAULT_SEED), now=NOW)
        replace_contacts(session=session, now=NOW, people=read_contacts_file(
            PROJECT_ROOT / "seeds" / "contacts.example.toml", organizations=get_organizations(session=session)))
        create_user(session=session, username="office", password=PASSWORD, display_name="办公室", now=NOW)
        event = session.exec(select(Event).where(Event.seq == 15)).one()
        occ = session.exec(select(Occurrence).where(Occurrence.event_id == event.id)).one()
        open_participation(session=session, occurrence=occ, actor="bench", now=NOW, form=OpenForm(
            units=list(UNITS), capacities={}, total_capacity="", deadline="2023-05-10", deadline_time="17:00",
            collect=["travel", "lodging"], note=""))
        occ_id = occ.id or 0
    per_unit, extra = divmod(TOTAL - 5, len(UNITS) - 1)
    start = 0
    for position, key in enumerate(UNITS[:-1]):
        count = per_unit + (1 if position < extra else 0)
        with session_scope(engine, write=True) as session:
            unit = session.exec(select(DelegationUnit).where(DelegationUnit.organization_key == key)).one()
            result = record_nomination(session=session, unit=unit, form=people_form(start, count), now=NOW, actor=key)
            assert not result.errors, result.errors
        start += count
    with session_scope(engine) as session:
        last = session.exec(select(DelegationUnit).where(DelegationUnit.organization_key == UNITS[-1])).one()
        token = NominationSigner(settings.signing_keys()).token_for(last)
    return engine, settings, occ_id, token


def measure(n: int, call: Callable[[int], httpx.Response]) -> tuple[float, float]:
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        response = call(i)
        times.append(time.perf_counter() - t0)
        assert response.status_code in (200, 303), response.text[:300]
    times.sort()
    return statistics.median(times), times[max(int(len(times) * 0.95) - 1, 0)]


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        engine, settings, occ_id, token = setup(workdir)
        app = create_app(settings, clock=FixedClock(NOW), engine=engine)  # type: ignore[arg-type]
        with run_uvicorn(app, lifespan="off") as url, httpx.Client(base_url=url, timeout=60) as client:
            login = client.get("/login").text
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', login).group(1)  # type: ignore[union-attr]
            assert client.post("/login", data={"csrf_token": csrf, "username": "office", "password": PASSWORD,
                                               "next": "/"}).status_code == 303
            base = measure(n, lambda i: client.get("/healthz"))
            path = f"/o/n/{token}"
            nonce = re.search(r'name="form_nonce" value="([^"]+)"', client.get(path).text).group(1)  # type: ignore[union-attr]
            # Anonymous link POSTs are throttled at 30 a minute per address (web.links.LinkForms): stay under it.
            nominate = measure(min(n, 28), lambda i: client.post(path, data={"form_nonce": nonce,
                                                                    **people_form(TOTAL - 5 + 10_000 * (i % 2), 5)}))
            page = client.get(f"/admin/logistics/{occ_id}/checkin", params={"q": "人员1"}).text
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
            ids = re.findall(r'<li data-kind="nominee" data-id="(\d+)">', page)
            checkin = measure(min(n, len(ids)), lambda i: client.post(
                f"/admin/logistics/{occ_id}/checkin",
                data={"csrf_token": csrf, "q": "", "kind": "nominee", "person_id": ids[i]},
                follow_redirects=False))
        print(f"participants on the occurrence: {TOTAL}; {n} requests per measure")
        print(f"baseline GET /healthz      p50 {base[0] * 1000:7.1f} ms  p95 {base[1] * 1000:7.1f} ms")
        for label, (p50, p95) in (("nomination POST (5 people)", nominate), ("check-in POST (one tap)", checkin)):
            print(f"{label:27s}p50 {p50 * 1000:7.1f} ms  p95 {p95 * 1000:7.1f} ms  "
                  f"({p50 / base[0]:.1f}× / {p95 / base[1]:.1f}× the baseline)")
        with session_scope(engine) as session:  # type: ignore[arg-type]
            participation = get_participation(session=session, occurrence_id=occ_id)
            assert participation is not None
            t0 = time.perf_counter()
            roster = build_roster(session=session, participation=participation)
            load = time.perf_counter() - t0
        print(f"roster load ({sum(len(r.people) for r in roster.rows)} people): {load * 1000:.0f} ms")
        for kind, label in MANIFESTS.items():
            t0 = time.perf_counter()
            sheets = build_manifest(roster, kind, title="序号15")
            xlsx = manifest_xlsx(sheets)
            t1 = time.perf_counter()
            data = manifest_csv(sheets)
            t2 = time.perf_counter()
            print(f"{label:8s} XLSX {(t1 - t0) * 1000:6.0f} ms ({len(xlsx) // 1024} KB)  "
                  f"CSV {(t2 - t1) * 1000:5.0f} ms ({len(data) // 1024} KB)")


if __name__ == "__main__":
    main()
