"""The mail log's bulk retry button (CSRF, audit) and held-back mail on /admin/outbox, the dashboard and /healthz."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import select

from scheduler.audit import AuditEntry
from scheduler.clock import FixedClock
from scheduler.config import Settings
from scheduler.db import session_scope
from scheduler.web.app import create_app
from tests.mail.test_requeue import fail_some, states_of
from tests.support.admin import add_admin, csrf_of, signed_in_client
from tests.support.instants import NOTICE_DATE
from tests.support.servers import run_uvicorn


def test_held_back_mail_shows_and_the_button_requeues_failed_mail(mail_engine: Engine, settings: Settings) -> None:
    failed, deferred = fail_some(mail_engine)
    add_admin(mail_engine)
    app = create_app(settings, clock=FixedClock(NOTICE_DATE + timedelta(days=2)), engine=mail_engine)
    with run_uvicorn(app, lifespan="off") as url:
        health = httpx.get(f"{url}/healthz", timeout=10).json()
        assert health["status"] == "degraded"
        assert health["mail"] == {"held_back": True, "deferred": 2, "since": "2026-03-01T08:00:00+00:00",
                                  "reason": "Connection refused"}
        client = signed_in_client(url)
        try:
            home = client.get("/").text
            assert 'data-testid="card-mail-held"' in home and "03-01 16:00" in home  # 08:00 UTC, Beijing time
            page = client.get("/admin/outbox").text
            assert "2 封邮件暂缓重试，自 2026-03-01 16:00:00 起" in page
            refused = client.post("/admin/outbox/retry", data={"state": "failed", "csrf_token": "forged"})
            assert refused.status_code == 403 and states_of(mail_engine, failed) == ["failed"] * 3
            done = client.post("/admin/outbox/retry", data={"state": "failed", "csrf_token": csrf_of(page)})
            assert done.status_code == 303
            assert "已重新排队 3 封邮件" in client.get(done.headers["location"]).text
            bad = client.post("/admin/outbox/retry", data={"state": "sent", "csrf_token": csrf_of(page)})
            assert bad.status_code == 400 and "只能批量重发" in bad.text
        finally:
            client.close()
    assert states_of(mail_engine, failed + deferred) == ["pending"] * 3 + ["deferred"] * 2
    with session_scope(mail_engine) as session:
        [entry] = session.exec(select(AuditEntry).where(AuditEntry.action == "outbox.retry_all")).all()
    assert (entry.actor, entry.after) == ("admin:office", {"requeued": 3, "expired": 0})
