"""Opaque link tokens (issue 15): the token is a signed nonce; task, recipient, expiry and revocation come from the
stored issued_link row. Tokens of the earlier format keep working until their stored expiry, then get the renew
page."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from itsdangerous import URLSafeSerializer
from sqlalchemy.engine import Engine
from sqlmodel import select

from scheduler.clock import FixedClock
from scheduler.db import session_scope
from scheduler.followups.links import LinkExpired, LinkRefused, LinkSigner
from scheduler.followups.models import IssuedLink
from scheduler.web.app import create_app
from tests.factories.followups import KEYS, RECIPIENT, T_MARCH, issue, plan, settings
from tests.support.servers import run_uvicorn

pytestmark = pytest.mark.db
FAR = T_MARCH + timedelta(days=365)


def _payload(token: str) -> object:
    signed = token.partition(".")[2]
    body = signed.rsplit(".", 1)[0]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def _row(engine: Engine, token: str) -> IssuedLink:
    nonce = _payload(token)
    with session_scope(engine) as session:
        return session.exec(select(IssuedLink).where(IssuedLink.nonce == nonce)).one()


def _old_format(link: IssuedLink, *, recipient: str | None = None, expires: int | None = None) -> str:
    """A token as the signer issued them before issue 15: everything in a readable payload."""
    payload = {"t": link.task_id, "r": recipient or link.recipient, "n": link.nonce,
               "e": expires if expires is not None else int(FAR.timestamp())}
    return f"{link.action}.{URLSafeSerializer(list(reversed(KEYS)), salt=f'kjzs-link-{link.action}').dumps(payload)}"


def _expire(engine: Engine, nonce: str) -> None:
    with session_scope(engine, write=True) as session:
        row = session.exec(select(IssuedLink).where(IssuedLink.nonce == nonce)).one()
        row.expires_at = T_MARCH - timedelta(days=1)


def test_a_token_carries_no_personal_data(mail_engine: Engine) -> None:
    plan(mail_engine, T_MARCH)
    token = issue(mail_engine, "outcome:occ:5", T_MARCH)
    payload = _payload(token)
    assert isinstance(payload, str) and payload == _row(mail_engine, token).nonce
    decoded = base64.urlsafe_b64decode(token.split(".")[1] + "==").decode(errors="replace")
    assert "@" not in token and "@" not in decoded and RECIPIENT.split("@")[0] not in decoded


def test_the_stored_expiry_and_revocation_decide(mail_engine: Engine) -> None:
    plan(mail_engine, T_MARCH)
    token = issue(mail_engine, "outcome:occ:5", T_MARCH, expires_at=FAR)
    signer = LinkSigner(KEYS)
    with session_scope(mail_engine) as session:
        grant = signer.verify(session=session, token=token, now=T_MARCH)
    assert grant.expires_at == FAR and grant.recipient == RECIPIENT
    _expire(mail_engine, grant.nonce)  # the office shortens a link: the row, not the token, says so
    with session_scope(mail_engine) as session, pytest.raises(LinkExpired):
        signer.verify(session=session, token=token, now=T_MARCH)
    with session_scope(mail_engine, write=True) as session:
        LinkSigner.revoke(session=session, task_id=grant.task_id, now=T_MARCH)
    with session_scope(mail_engine) as session, pytest.raises(LinkRefused):
        signer.verify(session=session, token=token, now=T_MARCH)


def test_old_format_tokens_work_until_their_stored_expiry(mail_engine: Engine) -> None:
    plan(mail_engine, T_MARCH)
    link = _row(mail_engine, issue(mail_engine, "outcome:occ:5", T_MARCH, expires_at=FAR))
    signer = LinkSigner(KEYS)
    old = _old_format(link)
    with session_scope(mail_engine) as session:
        assert signer.verify(session=session, token=old, now=T_MARCH).nonce == link.nonce
        with pytest.raises(LinkRefused):  # an old token must agree with its row
            signer.verify(session=session, token=_old_format(link, recipient="someone@example.org"), now=T_MARCH)
    _expire(mail_engine, link.nonce)  # the payload still claims a year: the row wins
    with session_scope(mail_engine) as session, pytest.raises(LinkExpired):
        signer.verify(session=session, token=old, now=T_MARCH)


def test_an_expired_old_token_gets_the_renew_page(mail_engine: Engine, tmp_path: Path) -> None:
    plan(mail_engine, T_MARCH)
    link = _row(mail_engine, issue(mail_engine, "outcome:occ:5", T_MARCH, expires_at=FAR))
    _expire(mail_engine, link.nonce)
    app = create_app(settings(tmp_path), clock=FixedClock(T_MARCH), engine=mail_engine)
    with run_uvicorn(app, lifespan="off") as url:
        page = httpx.get(f"{url}/o/{_old_format(link)}", timeout=10)
    assert page.status_code == 410 and "链接已过期" in page.text and "/renew" in page.text
