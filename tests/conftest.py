"""Shared fixtures: a fresh database per test (SQLite file, or a fresh PostgreSQL schema), settings with a real
secret key, the application at the notice instant and a client talking to it over real HTTP."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import settings as hypothesis_settings
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import scheduler.metadata  # noqa: F401
from scheduler.clock import FixedClock
from scheduler.config import DEFAULT_SEED, Settings
from scheduler.db import make_engine, session_scope
from scheduler.plan.importer import import_plan
from scheduler.plan.seed import PlanFile, read_plan_file
from scheduler.reports.goalsets import import_goal_set, read_goals_file
from scheduler.web.app import create_app
from tests.support.instants import NOTICE_DATE
from tests.support.servers import run_uvicorn

GOALS_2025 = Path(DEFAULT_SEED).parent / "goals_2025.toml"
PG_URL = os.environ.get("SCHEDULER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DB_FIXTURES = {"engine", "db_url", "seeded_engine"}
pytest_plugins = ("tests.factories.mail",)  # mail test factories and the `mail_engine` fixture

# `make mutate` runs the mirror tests once per mutant: property tests there draw fewer examples (tests/mutate.py).
if os.environ.get("SCHEDULER_TEST_HYPOTHESIS_EXAMPLES"):
    hypothesis_settings.register_profile(
        "mutate", max_examples=int(os.environ["SCHEDULER_TEST_HYPOTHESIS_EXAMPLES"]), deadline=None
    )
    hypothesis_settings.load_profile("mutate")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        choices=["sqlite", "postgresql"],
        default="sqlite",
        help="database backend for tests that touch the database",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--db") != "postgresql":
        return
    try:
        engine = make_engine(PG_URL)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        message = f"PostgreSQL at {PG_URL} is unreachable: {exc}"
        if os.environ.get("CI"):
            raise pytest.UsageError(message + " (CI is set: failing instead of skipping)") from exc
        config._pg_unreachable = message  # type: ignore[attr-defined]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With --db postgresql run only the tests that touch the database; mark them everywhere."""
    keep, drop = [], []
    for item in items:
        uses_db = bool(DB_FIXTURES & set(getattr(item, "fixturenames", ())))
        if uses_db:
            item.add_marker(pytest.mark.db)
        (keep if uses_db or config.getoption("--db") == "sqlite" else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    unreachable = getattr(config, "_pg_unreachable", None)
    if unreachable:
        for item in items:
            item.add_marker(pytest.mark.skip(reason=unreachable))


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    return request.config.getoption("--db")


@pytest.fixture
def db_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty database of the selected backend (PostgreSQL: a fresh schema, dropped after)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on a fresh database with every table created."""
    eng = make_engine(db_url)
    SQLModel.metadata.create_all(eng)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def seed_doc() -> PlanFile:
    """The real seed file, parsed and validated."""
    return read_plan_file(DEFAULT_SEED)


@pytest.fixture
def seeded_engine(engine: Engine, seed_doc: PlanFile) -> Engine:
    """A fresh database holding the imported 2023 plan and the notice's 2025 goal set."""
    with session_scope(engine, write=True) as session:
        import_plan(session=session, doc=seed_doc, now=NOTICE_DATE)
        import_goal_set(session=session, doc=read_goals_file(GOALS_2025), now=NOTICE_DATE)
    return engine


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings on a scratch var dir with a secret key generated the way a fresh install generates one."""
    fresh = Settings(var_dir=tmp_path)
    fresh.signing_keys()  # writes var/secret_key and uses it, as the service does when none is configured
    return fresh


@pytest.fixture
def clock() -> FixedClock:
    """A clock standing at the notice instant; tests may move it."""
    return FixedClock(NOTICE_DATE)


@pytest.fixture
def app(settings: Settings, clock: FixedClock, engine: Engine) -> FastAPI:
    """The web application on the test database, at the notice instant, without the mail ticker."""
    return create_app(settings, clock=clock, engine=engine)


@pytest.fixture
def client(app: FastAPI) -> Iterator[httpx.Client]:
    """A client of `app` served by a real uvicorn on 127.0.0.1."""
    with run_uvicorn(app, lifespan="off") as url, httpx.Client(base_url=url, timeout=30) as http:
        yield http
