"""`scheduler feed NAME --out FILE` writes the bytes HTTP serves; `feed token create|list|revoke`."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from scheduler.cli import app
from scheduler.clock import FixedClock
from scheduler.config import Settings
from scheduler.web.app import create_app
from tests.support.instants import NOTICE_DATE
from tests.support.servers import run_uvicorn

BASE = "https://kjzs.example.org"


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, db_url: str, seeded_engine: Engine) -> Engine:
    monkeypatch.setenv("SCHEDULER_DATABASE_URL", db_url)
    monkeypatch.setenv("SCHEDULER_BASE_URL", BASE)
    monkeypatch.setenv("SCHEDULER_CLOCK", "simulated:2023-01-22T09:00:00+08:00")
    return seeded_engine


def run(*args: str) -> object:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def test_cli_writes_exactly_the_bytes_http_serves(cli_env: Engine, tmp_path: Path) -> None:
    http_app = create_app(Settings(base_url=BASE), clock=FixedClock(NOTICE_DATE), engine=cli_env)
    with run_uvicorn(http_app, lifespan="off") as url:
        headers = {"accept-encoding": "identity"}
        served_all = httpx.get(f"{url}/feeds/all.ics", headers=headers).content
        served_combo = httpx.get(f"{url}/feeds/bankuai/haian.ics?type=district,city_coordinated", headers=headers)
    result = run("feed", "all", "--out", str(tmp_path / "all.ics"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "all.ics").read_bytes() == served_all
    result = run("feed", "bankuai/haian", "--type", "district", "--type", "city_coordinated",
                 "--out", str(tmp_path / "haian.ics"))  # fmt: skip
    assert result.exit_code == 0 and (tmp_path / "haian.ics").read_bytes() == served_combo.content


def test_cli_refuses_unknown_feeds_with_a_clear_message(cli_env: Engine, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["feed", "org/nobody", "--out", str(tmp_path / "x.ics")])
    assert result.exit_code == 2 and "没有单位“nobody”" in result.output
    assert not (tmp_path / "x.ics").exists()
    result = CliRunner().invoke(app, ["feed", "../../etc/passwd"])
    assert result.exit_code == 2 and "订阅地址无效" in result.output


def test_token_create_list_revoke(cli_env: Engine, tmp_path: Path) -> None:
    created = run("feed", "token", "create", "--label", "如皋内部", "--filter", "bankuai=如皋市", "--json")
    item = json.loads(created.output)
    assert item["filters"] == "bankuai=rugao" and item["url"].startswith(f"{BASE}/feeds/private/")
    token = item["url"].rsplit("/", 1)[1].removesuffix(".ics")
    listed = json.loads(run("feed", "token", "list", "--json").output)
    assert [t["label"] for t in listed] == ["如皋内部"] and token not in json.dumps(listed)
    out = tmp_path / "private.ics"
    assert run("feed", f"private/{token}", "--out", str(out)).exit_code == 0
    assert "（内部）" in out.read_bytes().replace(b"\r\n ", b"").decode()
    assert run("feed", "token", "revoke", str(item["id"])).exit_code == 0
    assert json.loads(run("feed", "token", "list", "--json").output)[0]["revoked_at"]
    refused = CliRunner().invoke(app, ["feed", f"private/{token}"])
    assert refused.exit_code == 2 and "令牌无效或已撤销" in refused.output
    bad = CliRunner().invoke(app, ["feed", "token", "create", "--label", "x", "--filter", "org=nobody"])
    assert bad.exit_code == 2 and "没有单位“nobody”" in bad.output
    assert CliRunner().invoke(app, ["feed", "token", "revoke", "999"]).exit_code == 2


def test_cli_plan_option_and_plan_feed_name_give_the_per_plan_feed(cli_env: Engine, tmp_path: Path) -> None:
    http_app = create_app(Settings(base_url=BASE), clock=FixedClock(NOTICE_DATE), engine=cli_env)
    with run_uvicorn(http_app, lifespan="off") as url:
        served = httpx.get(f"{url}/feeds/plan/nantong-2023.ics", headers={"accept-encoding": "identity"}).content
    assert run("feed", "all", "--plan", "nantong-2023", "--out", str(tmp_path / "a.ics")).exit_code == 0
    assert run("feed", "plan/nantong-2023", "--out", str(tmp_path / "b.ics")).exit_code == 0
    assert (tmp_path / "a.ics").read_bytes() == (tmp_path / "b.ics").read_bytes() == served
    refused = CliRunner().invoke(app, ["feed", "all", "--plan", "nantong-2099"])
    assert refused.exit_code == 2 and "没有计划“nantong-2099”" in refused.output
