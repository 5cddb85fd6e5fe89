"""The 定档 form runs the conflict checker over real HTTP: a Sunday is refused with the reason, a day 市科技局 is
already busy is warned about and stored only once the host confirms that very date; nothing is stored before."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import select

from scheduler.clock import FixedClock
from scheduler.db import session_scope
from scheduler.followups.models import FormRevision, Task
from scheduler.plan.occurrences import fix_occurrence, get_occurrence
from scheduler.web.app import create_app
from tests.factories.followups import T_MARCH, issue, plan, post_form, settings
from tests.support.servers import run_uvicorn

FORM = {"start_time": "14:00", "end_time": "16:00", "place": "南通国际会议中心"}


def test_sunday_refused_busy_day_confirmed(mail_engine: Engine, tmp_path: Path) -> None:
    plan(mail_engine, T_MARCH)
    with session_scope(mail_engine, write=True) as session:  # 市科技局's 3月 高校院所 session: Tuesday 3-14
        other = get_occurrence(session=session, key="02-2")
        assert other is not None
        fix_occurrence(session=session, occurrence=other, start_at=datetime(2023, 3, 14, 1, 30, tzinfo=UTC),
                       end_at=None, now=T_MARCH)
    with session_scope(mail_engine) as session:
        occ = get_occurrence(session=session, key="01-1")  # 序号 1, hosted by 市科技局, window 2–3月
        assert occ is not None and occ.id is not None
        task_key = f"fix:occ:{occ.id}"
    token = issue(mail_engine, task_key, T_MARCH)
    app = create_app(settings(tmp_path), clock=FixedClock(T_MARCH), engine=mail_engine)
    with run_uvicorn(app, lifespan="off") as url, httpx.Client(base_url=url) as client:
        sunday = post_form(client, f"/o/{token}", {"date": "2023-03-12", **FORM})
        assert sunday.status_code == 422
        assert "该日期不能选：3月12日（星期日）是周末，不是工作日" in sunday.text
        assert 'name="confirm"' not in sunday.text  # a refusal cannot be confirmed away

        busy = post_form(client, f"/o/{token}", {"date": "2023-03-14", **FORM})
        assert busy.status_code == 422
        assert "市科技局3月14日（星期二）已有活动：序号 2" in busy.text
        assert 'name="date" value="2023-03-14"' in busy.text  # what was typed is kept
        assert f'name="place" value="{FORM["place"]}"' in busy.text
        assert 'name="confirm" value="2023-03-14"' in busy.text

        # The host picks Monday 3-13 instead (no warning): stored, the stale tick for 3-14 does not matter.
        moved = post_form(client, f"/o/{token}", {"date": "2023-03-13", "confirm": "2023-03-14", **FORM})
        assert moved.status_code == 200, moved.text[:500]
    with session_scope(mail_engine) as session:
        revisions = session.exec(select(FormRevision).join(Task).where(Task.key == task_key)).all()
    assert [r.data["date"] for r in revisions] == ["2023-03-13"]


def test_confirmed_warning_is_stored_with_the_revision(mail_engine: Engine, tmp_path: Path) -> None:
    plan(mail_engine, T_MARCH)
    with session_scope(mail_engine, write=True) as session:
        other = get_occurrence(session=session, key="02-2")
        assert other is not None
        fix_occurrence(session=session, occurrence=other, start_at=datetime(2023, 3, 14, 1, 30, tzinfo=UTC),
                       end_at=None, now=T_MARCH)
        occ = get_occurrence(session=session, key="01-1")
        assert occ is not None
        task_key = f"fix:occ:{occ.id}"
    token = issue(mail_engine, task_key, T_MARCH)
    app = create_app(settings(tmp_path), clock=FixedClock(T_MARCH), engine=mail_engine)
    with run_uvicorn(app, lifespan="off") as url, httpx.Client(base_url=url) as client:
        stale = post_form(client, f"/o/{token}", {"date": "2023-03-14", "confirm": "2023-03-15", **FORM})
        assert stale.status_code == 422 and "需要确认" in stale.text
        done = post_form(client, f"/o/{token}", {"date": "2023-03-14", "confirm": "2023-03-14", **FORM})
        assert done.status_code == 200, done.text[:500]
    with session_scope(mail_engine) as session:
        occ = get_occurrence(session=session, key="01-1")
        revision = session.exec(select(FormRevision).join(Task).where(Task.key == task_key)).one()
    assert occ is not None and occ.start_at == datetime(2023, 3, 14, 6, 0, tzinfo=UTC)  # 14:00 Shanghai
    assert [f["rule"] for f in revision.data["findings"]] == ["busy"]
