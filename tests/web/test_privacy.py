"""What must stay private: the mailbox unless the demo opens it, tokens in logs, unsubscribe links on rotation."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine

from scheduler.clock import FixedClock
from scheduler.config import PROJECT_ROOT, Settings
from scheduler.mail.compose import unsubscribe_serializer
from scheduler.web.app import create_app
from scheduler.web.logredact import RedactTokens, redact
from tests.support.servers import run_uvicorn

NEW, OLD = "n" * 32, "o" * 32


@pytest.mark.parametrize(
    ("base_url", "public", "status"),
    [
        ("http://127.0.0.1:8000", False, 303),  # a loopback BASE_URL no longer opens the mailbox by itself
        ("http://127.0.0.1:8000", True, 200),
        ("https://kjzs.example.org", False, 303),
        ("https://kjzs.example.org", True, 200),
    ],
)
def test_mailbox_needs_sign_in_unless_the_setting_makes_it_public(
    engine: Engine, settings: Settings, clock: FixedClock, base_url: str, public: bool, status: int
) -> None:
    changed = {"mail_sink": True, "base_url": base_url, "mailbox_public": public}
    app = create_app(settings.model_copy(update=changed), clock=clock, engine=engine)
    with run_uvicorn(app, lifespan="off") as url:
        response = httpx.get(f"{url}/mail", follow_redirects=False, timeout=10)
    assert response.status_code == status
    if status == 200:
        assert response.headers["referrer-policy"] == "no-referrer" and response.headers["cache-control"] == "no-store"
    else:
        assert response.headers["location"].startswith("/login?next=/mail")


def test_mailbox_is_private_by_default_and_public_in_the_demo_target(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCHEDULER_MAILBOX_PUBLIC", raising=False)
    assert Settings().mailbox_public is False
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    assert "run: export SCHEDULER_MAILBOX_PUBLIC ?= true" in makefile.splitlines()


def test_every_kind_of_token_is_redacted_from_log_lines() -> None:
    line = (
        '127.0.0.1 - "GET /o/outcome.eyJ0Ijo1fQ.sig?x=1 HTTP/1.1" 200 · "GET /feeds/private/gbP84V4n-U.ics HTTP/1.1"'
        ' · "POST /mail/unsubscribe/ImFAZXhhbXBsZS5vcmci.abc HTTP/1.1"'
    )
    out = redact(line)
    assert "eyJ0" not in out and "gbP84" not in out and "ImFAZ" not in out
    assert out.count("[redacted]") == 3 and "/feeds/private/[redacted]" in out
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s"',
        ("127.0.0.1", "GET", "/feeds/private/secret.ics"),
        None,
    )
    RedactTokens().filter(record)
    assert "secret" not in record.getMessage()


def test_unsubscribe_links_survive_retiring_the_old_key(tmp_path: Path) -> None:
    during = unsubscribe_serializer(Settings(var_dir=tmp_path, secret_keys=[NEW, OLD]))
    token = during.dumps("a@example.org")
    after = unsubscribe_serializer(Settings(var_dir=tmp_path, secret_keys=[NEW]))
    assert after.loads(token) == "a@example.org"  # signed with the newest key during the rotation


def test_no_swagger_page_with_third_party_assets(client: httpx.Client) -> None:
    assert client.get("/api/docs").status_code == 404
    assert client.get("/api/openapi.json").status_code == 200
