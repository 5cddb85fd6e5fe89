"""The test set-up itself: with CI set, an unreachable PostgreSQL fails the PostgreSQL run instead of skipping it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
