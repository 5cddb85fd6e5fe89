"""SQLite under load (issue 15): sixty people signing in at once over real HTTP while the dispatcher sends about
2,000 mails to a local aiosmtpd all get in; none sees 500 "database is locked"."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import func, select

from scheduler.clock import FixedClock
from scheduler.config import Settings
from scheduler.db import session_scope
from scheduler.followups.action_links import mail_composer
from scheduler.mail.dispatcher import DispatchReport, dispatch_due
from scheduler.mail.kinds import MailKind, occurrence_subject
from scheduler.mail.mailer import SMTPMailer
from scheduler.mail.models import OutboxMessage, OutboxState
from scheduler.mail.outbox import Recipient, enqueue
from scheduler.plan.catalog import get_plan, list_event_views
from scheduler.reminders.planner import occurrence_context
from scheduler.web.app import create_app
from tests.factories.mail import Recorder, start_smtp
from tests.support.admin import add_admin, signed_in_client
from tests.support.instants import NOTICE_DATE
from tests.support.servers import run_uvicorn

MAILS = 2000
PEOPLE = 60


def fill_outbox(engine: Engine, n: int) -> None:
    """Queue `n` 定档 requests due at the notice instant, eight recipients per occurrence row."""
    with session_scope(engine, write=True) as session:
        plan = get_plan(session=session)
        assert plan is not None
        pairs = [(v, o) for v in list_event_views(session=session, plan=plan) for o in v.occurrences]
        i = 0
        while i < n:
            view, occ = pairs[(i // 8) % len(pairs)]
            batch = [Recipient(email=f"r{j}@example.org", name=f"联系人{j}", org_key=view.hosts[0].key,
                               org_name=view.hosts[0].short_name, role="host") for j in range(i, min(i + 8, n))]
            ctx = {**occurrence_context(view, occ), "window_close": occ.window_end.isoformat(), "days_before": 7}
            enqueue(session=session, origin="load", kind=MailKind.FIX_REQUEST, subject=occurrence_subject(occ.id),
                    rule=f"load{i}", recipients=batch, context=ctx, due_at=NOTICE_DATE, now=NOTICE_DATE,
                    occurrence_id=occ.id)
            i += len(batch)


@pytest.mark.timeout(300)
def test_sixty_sign_ins_while_two_thousand_mails_go_out(mail_engine: Engine, settings: Settings,
                                                        tmp_path: Path) -> None:
    fill_outbox(mail_engine, MAILS)
    for name in ["office", *(f"office{n:02d}" for n in range(PEOPLE))]:
        add_admin(mail_engine, username=name)
    recorder = Recorder()
    controller = start_smtp(recorder)
    mailing = settings.model_copy(update={"smtp_port": controller.port})
    report: list[DispatchReport] = []

    async def send_all() -> None:
        mailer = SMTPMailer(mailing)
        try:
            report.append(await dispatch_due(engine=mail_engine, mailer=mailer,
                                             composer=mail_composer(mailing, mail_engine),
                                             clock=FixedClock(NOTICE_DATE), worker="load", batch_size=100))
        finally:
            await mailer.close()

    dispatcher = threading.Thread(target=lambda: asyncio.run(send_all()), name="dispatcher")
    app = create_app(settings, clock=FixedClock(NOTICE_DATE), engine=mail_engine)
    statuses: list[int | str] = []
    try:
        with run_uvicorn(app, lifespan="off") as url:
            start = threading.Barrier(PEOPLE + 1)

            def person(n: int) -> None:
                with httpx.Client(base_url=url, timeout=60) as client:
                    token = client.get("/login").text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
                    start.wait()
                    try:
                        done = client.post("/login", data={"csrf_token": token, "username": f"office{n:02d}",
                                                           "password": "correct horse battery", "next": "/"})
                        statuses.append(done.status_code)
                    except httpx.HTTPError as exc:
                        statuses.append(type(exc).__name__)

            people = [threading.Thread(target=person, args=(n,)) for n in range(PEOPLE)]
            for p in people:
                p.start()
            dispatcher.start()
            deadline = time.monotonic() + 60
            while len(recorder.received) < 100 and time.monotonic() < deadline:  # the dispatcher is writing
                time.sleep(0.02)
            t0 = time.monotonic()
            start.wait()
            for p in people:
                p.join(120)
            took = time.monotonic() - t0
            dispatcher.join(240)
            signed_in_client(url).close()  # and one more, once the backlog is sent
    finally:
        controller.stop()
    assert statuses.count(303) == PEOPLE, sorted(map(str, statuses))
    assert took < 90, f"sign-ins took {took:.1f} s"
    assert report and report[0].sent == MAILS and report[0].failed == 0, report
    with session_scope(mail_engine) as session:
        sent = session.exec(select(func.count()).select_from(OutboxMessage)
                            .where(OutboxMessage.state == OutboxState.SENT)).one()
    assert sent == MAILS == len(recorder.received)
