"""Security headers, the public/private /healthz split and read-only pages (issue 15), over real uvicorn."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from scheduler.clock import FixedClock
from scheduler.config import PROJECT_ROOT, Settings
from scheduler.db import make_engine, session_scope
from scheduler.plan.importer import import_plan
from scheduler.plan.seed import PlanFile
from scheduler.web.app import create_app
from tests.support.admin import add_admin, csrf_of, sign_in, signed_in_client
from tests.support.instants import NOTICE_DATE
from tests.support.servers import run_uvicorn

pytestmark = pytest.mark.db
TOKEN = "a-health-token-of-some-length"


@pytest.fixture
def served(seeded_engine: Engine, settings: Settings) -> Iterator[str]:
    add_admin(seeded_engine)
    app = create_app(settings.model_copy(update={"health_token": TOKEN}), clock=FixedClock(NOTICE_DATE),
                     engine=seeded_engine)
    with run_uvicorn(app, lifespan="off") as url:
        yield url


def _csp(response: httpx.Response) -> dict[str, str]:
    policy = response.headers["content-security-policy"]
    return {part.split()[0]: part.partition(" ")[2] for part in (p.strip() for p in policy.split(";")) if part}


@pytest.mark.parametrize("path", ["/", "/plan", "/login", "/subscribe", "/no-such-page"])
def test_html_pages_forbid_scripts_and_framing(served: str, path: str) -> None:
    response = httpx.get(f"{served}{path}", headers={"Accept": "text/html"}, timeout=10)
    assert response.headers["content-type"].startswith("text/html")
    csp = _csp(response)
    assert csp["frame-ancestors"] == "'none'" and csp["script-src"] == "'none'" and csp["default-src"] == "'none'"
    assert csp["object-src"] == "'none'" and csp["base-uri"] == "'none'" and csp["form-action"] == "'self'"
    assert response.headers["x-content-type-options"] == "nosniff" and response.headers["x-frame-options"] == "DENY"
    private = path == "/login"  # the sign-in page carries a CSRF token tied to this session
    assert ("no-store" in response.headers.get("cache-control", "")) is private  # public pages stay cacheable


def test_every_answer_says_nosniff(served: str) -> None:
    for path in ("/healthz", "/api/openapi.json"):
        assert httpx.get(f"{served}{path}", timeout=10).headers["x-content-type-options"] == "nosniff"


def test_admin_pages_and_exports_are_never_stored(served: str) -> None:
    client = signed_in_client(served)
    try:
        for path in ("/admin/tasks", "/admin/outbox", "/admin/outcomes.csv", "/admin/outcomes.xlsx", "/"):
            response = client.get(path)
            assert response.status_code == 200, path
            assert response.headers["cache-control"] == "no-store", path
        assert client.get("/admin/outcomes.csv").headers["content-type"].startswith("text/csv")
    finally:
        client.close()


def test_no_template_needs_a_script() -> None:
    """script-src 'none' holds only if no page carries a script or an inline event handler."""
    found = []
    for template in (PROJECT_ROOT / "templates" / "web").rglob("*.html"):
        text = template.read_text()
        if re.search(r"<script|\son[a-z]+\s*=|javascript:", text, re.IGNORECASE):
            found.append(template.name)
    assert found == []


def test_healthz_tells_the_public_only_ok(served: str) -> None:
    public = httpx.get(f"{served}/healthz", timeout=10)
    assert public.status_code == 200 and public.json() == {"status": "ok"}
    assert public.headers["cache-control"] == "no-store"
    wrong = httpx.get(f"{served}/healthz", headers={"Authorization": "Bearer nope"}, timeout=10)
    assert wrong.json() == {"status": "ok"}
    detailed = httpx.get(f"{served}/healthz", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10).json()
    assert detailed["counts"]["events"] == 48 and "outbox" in detailed and detailed["database"]
    client = signed_in_client(served)
    try:
        assert client.get("/healthz").json()["counts"]["occurrences"] == 61
    finally:
        client.close()


def test_healthz_says_degraded_without_details_when_the_database_is_gone(settings: Settings, tmp_path: Path) -> None:
    home = tmp_path / "gone"
    engine = make_engine(f"sqlite:///{home / 'db.sqlite'}")
    home.rmdir()
    app = create_app(settings, clock=FixedClock(NOTICE_DATE), engine=engine)
    with run_uvicorn(app, lifespan="off") as url:
        response = httpx.get(f"{url}/healthz", timeout=10)
    assert response.status_code == 503 and response.json() == {"status": "degraded"}


def _read_only(engine: Engine) -> Engine:
    """The same database, but every connection refuses writes the way a read-only disk does."""
    ro = make_engine(str(engine.url))

    @event.listens_for(ro, "connect")
    def _query_only(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute("PRAGMA query_only=ON")

    return ro


def test_a_read_only_database_gives_pages_and_a_banner_not_500(tmp_path: Path, seed_doc: PlanFile,
                                                              settings: Settings) -> None:
    # SQLite's query_only mode stands in for a read-only disk (the embedded default); not a PostgreSQL test.
    seeded_engine = make_engine(f"sqlite:///{tmp_path / 'ro.db'}")
    SQLModel.metadata.create_all(seeded_engine)
    with session_scope(seeded_engine, write=True) as session:
        import_plan(session=session, doc=seed_doc, now=NOTICE_DATE)
    add_admin(seeded_engine)
    app = create_app(settings, clock=FixedClock(NOTICE_DATE), engine=_read_only(seeded_engine))
    with run_uvicorn(app, lifespan="off") as url, httpx.Client(base_url=url, timeout=10) as client:
        assert sign_in(client).status_code == 303  # signing in still works; only its stamp is not written
        assert client.get("/plan").status_code == 200 and client.get("/admin/tasks").status_code == 200
        page = client.get("/admin/contacts", headers={"Accept": "text/html"})
        data = {"csrf_token": csrf_of(page.text), "org": "kjj", "name": "新人", "email": "new@example.org",
                "role": "科员"}
        refused = client.post("/admin/contacts", data=data, headers={"Accept": "text/html"})
        api = client.post("/admin/contacts", data=data)
    assert refused.status_code == 503 and "只读模式" in refused.text
    assert "可以浏览已保存的内容，暂时不能保存任何修改" in refused.text
    assert refused.headers["retry-after"] == "30"
    assert api.status_code == 503 and api.json()["fault"] == "read_only"
