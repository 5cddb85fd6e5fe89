"""The test set-up itself: with CI set, an unreachable PostgreSQL fails the PostgreSQL run instead of skipping it."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
CLOSED_PORT_URL = "postgresql+psycopg://postgres@127.0.0.1:1/test"


def run_pg_suite(**env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in {"CI", "SCHEDULER_TEST_PG_URL"}}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--db", "postgresql", "-p", "no:cacheprovider", "-q",
         "tests/plan/test_importer.py::test_second_import_changes_nothing"],
        env={**base, "SCHEDULER_TEST_PG_URL": CLOSED_PORT_URL, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_ci_fails_when_postgresql_is_unreachable() -> None:
    result = run_pg_suite(CI="1")
    assert result.returncode != 0
    assert "CI is set: failing instead of skipping" in result.stdout + result.stderr


def test_without_ci_the_postgresql_half_is_reported_skipped_not_passed() -> None:
    result = run_pg_suite()
    assert result.returncode == 0
    assert "1 skipped" in result.stdout and "passed" not in result.stdout


def locked_versions() -> dict[str, str]:
    """name → version from requirements.lock, read as plain text (not through any code of the project)."""
    pins: dict[str, str] = {}
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[canonicalize_name(name)] = version
    return pins


def test_every_dependency_in_pyproject_is_pinned_by_the_lock_within_its_range() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]]
    pins = locked_versions()
    unpinned = [str(r) for r in declared if canonicalize_name(r.name) not in pins]
    outside = [f"{r} (lock: {pins[canonicalize_name(r.name)]})" for r in declared
               if canonicalize_name(r.name) in pins and pins[canonicalize_name(r.name)] not in r.specifier]
    assert (unpinned, outside) == ([], []), "requirements.lock is stale: run `make lock`"


def test_the_lock_pins_exact_versions_of_the_dev_tools() -> None:
    pins = locked_versions()
    for tool in ("ruff", "mypy", "pytest", "mutmut", "starlette"):
        assert pins.get(tool, "").count(".") >= 1, tool
