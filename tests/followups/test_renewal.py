"""Link renewal decided in followups: live, bad and expired tokens; closed tasks; one fresh link per ten minutes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from scheduler.auth import LoginThrottle
from scheduler.db import session_scope
from scheduler.followups.links import LinkRefused, LinkSigner
from scheduler.followups.models import Task, TaskStatus
from scheduler.followups.renewal import LinkStillValid, Renewal, expired_grant, renew_link
from scheduler.mail.models import OutboxMessage
from tests.factories.followups import KEYS, RECIPIENT, T_MARCH, issue, plan

pytestmark = pytest.mark.db


def test_only_an_expired_link_of_an_open_task_gets_one_fresh_link(mail_engine: Engine) -> None:
    plan(mail_engine, T_MARCH)
    token = issue(mail_engine, "outcome:occ:5", T_MARCH, expires_at=T_MARCH + timedelta(days=1))
    wall = [0.0]  # the throttle runs on wall-clock seconds, not on the application clock
    signer, throttle = LinkSigner(KEYS), LoginThrottle(limit=1, window=timedelta(minutes=10), wall=lambda: wall[0])
    later = T_MARCH + timedelta(days=2)
    with session_scope(mail_engine, write=True) as session:
        with pytest.raises(LinkStillValid):
            expired_grant(session=session, signer=signer, token=token, now=T_MARCH)
        with pytest.raises(LinkRefused):
            expired_grant(session=session, signer=signer, token="outcome.bogus", now=later)
        grant = expired_grant(session=session, signer=signer, token=token, now=later)
        task = session.get(Task, grant.task_id)
        assert task is not None
        task.status = TaskStatus.CANCELLED
        args = {"session": session, "grant": grant, "throttle": throttle, "ip": "127.0.0.1", "user_agent": "t"}
        assert renew_link(now=later, **args) == Renewal.CANCELLED
        task.status = TaskStatus.DONE
        assert renew_link(now=later, **args) == Renewal.DONE
        task.status = TaskStatus.OPEN
        assert renew_link(now=later, **args) == Renewal.SENT
        wall[0] += 5 * 60
        assert renew_link(now=later + timedelta(days=5), **args) == Renewal.THROTTLED  # app clock far ahead: still
        wall[0] += 6 * 60
        assert renew_link(now=later + timedelta(minutes=11), **args) == Renewal.SENT
    with session_scope(mail_engine) as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "link_renewal")).all()
    assert [(r.recipient, r.origin) for r in rows] == [(RECIPIENT, "links")] * 2
