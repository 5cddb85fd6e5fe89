"""Schemathesis over the app's own OpenAPI schema, in-process against the ASGI app, signed in as an administrator
(CSRF token added to every form), a bounded number of examples per operation: no request gives a 5xx.

Operations are driven through hypothesis directly (`operation.as_strategy()`): schemathesis' pytest plugin does
not run under pytest 9 (it reads `Function._nodeid`)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from sqlmodel import SQLModel
from starlette.testclient import TestClient

from scheduler.clock import FixedClock
from scheduler.config import DEFAULT_SEED, Settings
from scheduler.db import make_engine, session_scope
from scheduler.plan.importer import import_plan
from scheduler.plan.seed import read_plan_file
from scheduler.web.app import create_app
from tests.support.admin import PASSWORD, add_admin
from tests.support.instants import NOTICE_DATE

BASE = "http://testserver"
EXAMPLES = 8  # per operation: the ~30 operations run in well under a minute


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[schemathesis.BaseSchema, TestClient, str]]:
    """The app on a seeded database, its schema, and a client signed in as an administrator with its CSRF token."""
    tmp: Path = tmp_path_factory.mktemp("openapi")
    engine = make_engine(f"sqlite:///{tmp / 'fuzz.db'}")
    SQLModel.metadata.create_all(engine)
    with session_scope(engine, write=True) as session:
        import_plan(session=session, doc=read_plan_file(DEFAULT_SEED), now=NOTICE_DATE)
    add_admin(engine)
    app = create_app(Settings(var_dir=tmp, secret_keys=["f" * 32]), clock=FixedClock(NOTICE_DATE), engine=engine)
    schema = schemathesis.openapi.from_dict(app.openapi())
    with TestClient(app, base_url=BASE, follow_redirects=False) as client:
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)  # type: ignore[union-attr]
        done = client.post("/login", data={"csrf_token": token, "username": "office", "password": PASSWORD,
                                           "next": "/"})
        assert done.status_code == 303
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/admin/targets").text).group(1)  # type: ignore[union-attr]
        yield schema, client, token
    engine.dispose()


def send(client: TestClient, case: schemathesis.Case) -> httpx.Response:
    """Send a generated case in-process (schemathesis' own requests transport trips over urllib3-future here)."""
    kwargs = case.as_transport_kwargs(base_url=BASE)
    if isinstance(kwargs.get("data"), str | bytes):
        kwargs["content"] = kwargs.pop("data")
    kwargs.pop("cookies", None)  # the signed-in client's session cookie stays the one sent
    known = {"method", "url", "params", "headers", "content", "data", "files", "json"}
    return client.request(**{k: v for k, v in kwargs.items() if k in known})


@pytest.mark.timeout(120)
def test_no_request_the_schema_allows_gives_a_5xx(fuzzed) -> None:
    schema, client, token = fuzzed
    failures: list[tuple[object, ...]] = []
    seen: list[tuple[str, int]] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20  # the whole public and admin API, not a stub

    for operation in operations:
        if operation.path == "/logout":
            continue  # signing out would end the session every later operation runs in

        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def run(case: schemathesis.Case) -> None:
            if isinstance(case.body, dict) and case.method.upper() == "POST":
                case.body = {**case.body, "csrf_token": token}  # reach the handler, not just the CSRF check
            response = send(client, case)
            seen.append((case.operation.path, response.status_code))
            if response.status_code >= 500:
                failures.append((case.method, case.formatted_path, case.query, case.body, response.text[:300]))

        run()
    assert failures == []
    reached = {path for path, status in seen if path.startswith("/admin/") and status not in (303, 401, 403)}
    assert len(reached) >= 10, reached  # signed in with a valid CSRF token: the handlers themselves answered
