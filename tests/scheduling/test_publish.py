"""Publishing a proposal records a version and changes no occurrence; the 定档 form then pre-fills the suggested
day with its reason; a fixed session or a suggestion outside the (moved) window is not offered."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import select

from scheduler.clock import FixedClock
from scheduler.db import session_scope
from scheduler.plan.catalog import get_plan
from scheduler.plan.models import Occurrence
from scheduler.plan.occurrences import fix_occurrence, get_occurrence
from scheduler.scheduling.proposer import Proposal, Proposed
from scheduler.scheduling.publish import latest_published, latest_version, publish, suggestion_for
from scheduler.web.app import create_app
from tests.factories.followups import T_MARCH, issue, plan, settings
from tests.support.servers import run_uvicorn

WHY = "建议 3月16日（星期四）：与启东市同周赴上海，可联合组团"


def proposal(**days: date) -> Proposal:
    return Proposal(days={k.replace("_", "-"): Proposed(k.replace("_", "-"), d, WHY) for k, d in days.items()},
                    status="OPTIMAL", first_feasible_s=0.1, final_s=0.2, empty_months=[], destination_weeks=1,
                    trips=1, objective=0)


def test_publish_records_versions_and_changes_no_occurrence(seeded_engine: Engine) -> None:
    with session_scope(seeded_engine, write=True) as session:
        stored = get_plan(session=session, key="nantong-2023")
        assert stored is not None and stored.id is not None
        before = [(o.key, o.start_at, o.sequence, o.updated_at) for o in session.exec(select(Occurrence))]
        assert publish(session=session, plan=stored, proposal=proposal(**{"08_1": date(2023, 3, 16)}), by="t",
                       now=T_MARCH) == 1
        assert publish(session=session, plan=stored, proposal=proposal(**{"08_1": date(2023, 3, 17)}), by="t",
                       now=T_MARCH) == 2
        after = [(o.key, o.start_at, o.sequence, o.updated_at) for o in session.exec(select(Occurrence))]
        assert before == after
        assert latest_version(session=session, plan_id=stored.id) == 2
        assert latest_published(session=session, plan_id=stored.id)["08-1"].day == date(2023, 3, 17)
        occ = get_occurrence(session=session, key="08-1")
        assert occ is not None
        assert suggestion_for(session=session, occurrence=occ) is not None
        fix_occurrence(session=session, occurrence=occ, start_at=datetime(2023, 3, 20, 1, tzinfo=UTC),
                       end_at=None, now=T_MARCH)
        assert suggestion_for(session=session, occurrence=occ) is None  # fixed: nothing to suggest


def test_fix_form_prefills_the_published_suggestion(mail_engine: Engine, tmp_path: Path) -> None:
    plan(mail_engine, T_MARCH)
    with session_scope(mail_engine, write=True) as session:
        stored = get_plan(session=session, key="nantong-2023")
        occ = session.get(Occurrence, 12)  # the session the 南通创新区 contact's task is about (11-1, 上海, 3月)
        assert stored is not None and occ is not None and occ.key == "11-1"
        publish(session=session, plan=stored, proposal=proposal(**{"11_1": date(2023, 3, 16)}), by="t", now=T_MARCH)
    token = issue(mail_engine, "fix:occ:12", T_MARCH, recipient="cxq.lianluo@example.org")
    app = create_app(settings(tmp_path), clock=FixedClock(T_MARCH), engine=mail_engine)
    with run_uvicorn(app, lifespan="off") as url, httpx.Client(base_url=url) as client:
        page = client.get(f"/o/{token}")
    assert page.status_code == 200
    assert f"领导小组办公室{WHY}（已预填，可另选日期）" in page.text
    assert 'name="date" value="2023-03-16"' in page.text
