"""CLI start-up stays light: `scheduler --help` imports no database, job or web code; `run-job --help` lists the
jobs from a static text that must equal the JOBS table."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from scheduler.cli.service import JOB_HELP
from scheduler.jobs import describe_jobs

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("sqlalchemy", "sqlmodel", "scheduler.jobs", "scheduler.db", "scheduler.auth", "scheduler.web.app", "jinja2",
         "openpyxl", "apscheduler")


def test_run_job_help_lists_exactly_the_jobs_of_the_table() -> None:
    assert JOB_HELP == describe_jobs()


def test_help_imports_no_heavy_module_and_still_lists_every_command() -> None:
    probe = ("import sys, runpy\nsys.argv = ['scheduler', '--help']\n"
             "try:\n    runpy.run_module('scheduler', run_name='__main__')\nexcept SystemExit:\n    pass\n"
             f"print('LOADED', sorted(m for m in {HEAVY!r} if m in sys.modules))\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=ROOT,
                         check=True, timeout=60).stdout
    assert "LOADED []" in out, out[-400:]
    for command in ("serve", "worker", "run-job", "replay", "plan", "outbox", "user", "report", "workdays"):
        assert command in out
