"""Sign-in throttles that hold (issue 15): X-Forwarded-For honoured only from configured proxies, and lockouts on
the wall clock, through real uvicorn started with the options `scheduler serve` passes."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy.engine import Engine

from scheduler.cli.service import uvicorn_options
from scheduler.clock import SimulatedClock
from scheduler.config import Settings, SettingsError, load_settings
from scheduler.web.app import create_app
from tests.support.admin import add_admin, sign_in
from tests.support.instants import NOTICE_DATE
from tests.support.servers import run_uvicorn

pytestmark = pytest.mark.db
WRONG = "not the password"


def _serve(settings: Settings, engine: Engine, clock=None):  # type: ignore[no-untyped-def]
    app = create_app(settings, clock=clock or SimulatedClock(NOTICE_DATE, 1), engine=engine)
    return run_uvicorn(app, lifespan="off", **uvicorn_options(settings))


def test_by_default_no_proxy_is_trusted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCHEDULER_FORWARDED_ALLOW_IPS", raising=False)
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")  # uvicorn's own variable must not open it either
    assert uvicorn_options(load_settings()) == {"proxy_headers": False, "forwarded_allow_ips": ""}


def test_proxy_setting_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCHEDULER_FORWARDED_ALLOW_IPS", "10.0.0.1, 192.168.0.0/24")
    assert uvicorn_options(load_settings())["forwarded_allow_ips"] == "10.0.0.1,192.168.0.0/24"
    monkeypatch.setenv("SCHEDULER_FORWARDED_ALLOW_IPS", "10.0.0.1,proxy.example")
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert str(refused.value).startswith("SCHEDULER_FORWARDED_ALLOW_IPS：'proxy.example' 不是 IP 地址或网段")


def test_rotated_forwarded_for_does_not_dodge_the_account_lockout(engine: Engine, settings: Settings) -> None:
    add_admin(engine)
    with _serve(settings, engine) as url, httpx.Client(base_url=url, timeout=10) as client:
        statuses = [sign_in(client, password=WRONG, headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code
                    for i in range(1, 8)]
        # Five wrong passwords, then the sixth is refused whatever address the header claims.
        assert statuses == [401] * 5 + [429] * 2
        assert sign_in(client, headers={"X-Forwarded-For": "198.51.100.9"}).status_code == 429


def test_rotated_forwarded_for_does_not_dodge_the_address_limit(engine: Engine, settings: Settings) -> None:
    with _serve(settings, engine) as url, httpx.Client(base_url=url, timeout=10) as client:
        statuses = [sign_in(client, username=f"user{i}", password=WRONG,
                            headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code for i in range(21)]
    assert statuses == [401] * 20 + [429]


def test_a_configured_proxy_is_believed(engine: Engine, settings: Settings) -> None:
    trusted = settings.model_copy(update={"forwarded_allow_ips": "127.0.0.1"})
    with _serve(trusted, engine) as url, httpx.Client(base_url=url, timeout=10) as client:
        # Behind a real proxy each client has its own address: 21 spraying addresses are 21 different clients.
        statuses = [sign_in(client, username=f"user{i}", password=WRONG,
                            headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code for i in range(21)]
    assert statuses == [401] * 21


def test_lockout_runs_on_the_wall_clock_not_the_demo_clock(engine: Engine, settings: Settings) -> None:
    add_admin(engine)
    demo = SimulatedClock(datetime(2023, 1, 22, 1, tzinfo=UTC), 3600)  # `make run`: an hour per real second
    with _serve(settings, engine, clock=demo) as url, httpx.Client(base_url=url, timeout=10) as client:
        assert [sign_in(client, password=WRONG).status_code for _ in range(5)] == [401] * 5
        time.sleep(1.0)  # more than 15 minutes on the demo clock
        assert sign_in(client).status_code == 429
