"""Mutation testing of the pure modules, each against its own mirror tests only (`make mutate`).

For every module a scratch copy of the working tree is made under var/mutate/<name>/, mutmut (pinned in
requirements.lock) mutates just that module there and runs just its mirror tests, bounded by MUTATE_TIMEOUT
seconds per module; then the score is printed per module. Killed = a test failed or timed out; survived = all
tests passed (or no test reached the mutant); not run = cut off by the time bound.

Usage: python tests/mutate.py [module-substring ...]   (env: MUTATE_TIMEOUT=900, MUTATE_CHILDREN=2,
MUTATE_MIN=90 — the exit status is 1 when a module scores below it; MUTATE_LIST=1 prints the survivors;
MUTATE_HYPOTHESIS_EXAMPLES=10 — examples per property test while mutants run)
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "mutate"

# module → its mirror tests
MODULES: dict[str, list[str]] = {
    "scheduler/plan/windows.py": ["tests/plan/test_windows.py"],
    "scheduler/workdays.py": ["tests/test_workdays.py"],
    "scheduler/reports/periods.py": ["tests/reports/test_periods.py"],
    "scheduler/reports/metrics.py": ["tests/reports/test_metrics.py"],
    "scheduler/reports/cadence.py": ["tests/reports/test_cadence.py"],
    "scheduler/reminders/planner.py": ["tests/reminders/test_planner.py"],
}
# Only these functions count towards a module's score (mutmut names mutants x_<function> / xǁ<Class>ǁ<method>):
# workdays.py also holds the office's database and form helpers, exercised through the admin pages' tests.
SCOPE: dict[str, tuple[str, ...]] = {
    "scheduler/workdays.py": ("xǁWorkCalendarǁ",),
}
KILLED = {1, 3, 24, -24, 152, 255, 36, 37, -11, -9}  # test failure, pytest error, timeouts, type check, crash
NOT_RUN = {None, 2, 34}


@dataclass
class Score:
    module: str
    mutants: int
    killed: int
    survived: int
    not_run: int
    score: float
    seconds: float
    survivors: list[str]


def copy_tree(dest: Path) -> None:
    if dest.exists():
        shutil.rmtree(dest)
    if (ROOT / ".git").exists():
        listed = subprocess.run(
            ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True, check=True
        ).stdout.decode().split("\0")
    else:  # an exported tree (e.g. `git archive` of an older commit, to measure before a change)
        listed = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*") if ".venv" not in p.parts]
    for rel in filter(None, listed):
        src = ROOT / rel
        if rel.startswith("var/") or not src.is_file():
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)


def configure(dest: Path, module: str, tests: list[str]) -> None:
    lines = [
        "",
        "[tool.mutmut]",
        'source_paths = ["scheduler"]',
        f"only_mutate = {json.dumps([module])}",
        f"pytest_add_cli_args_test_selection = {json.dumps(tests)}",
        'pytest_add_cli_args = ["-p", "no:randomly", "-p", "no:cacheprovider", "-q"]',
        'also_copy = ["seeds", "templates", "migrations", "docs"]',
        "use_git_change_detection = false",
    ]
    with (dest / "pyproject.toml").open("a", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")


def run_module(module: str, tests: list[str], timeout: float, children: int) -> Score:
    name = Path(module).stem if Path(module).stem != "planner" else "reminders_planner"
    dest = WORK / name
    copy_tree(dest)
    configure(dest, module, tests)
    mutmut = Path(sys.executable).with_name("mutmut")
    env = {**os.environ, "PYTHONPATH": str(dest),
           "SCHEDULER_TEST_HYPOTHESIS_EXAMPLES": os.environ.get("MUTATE_HYPOTHESIS_EXAMPLES", "10")}
    started = time.monotonic()
    proc = subprocess.Popen(
        [str(mutmut), "run", "--max-children", str(children)], cwd=dest, env=env,
        stdout=(dest / "mutmut.log").open("w"), stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:  # interrupt as Ctrl-C would, so mutmut saves what it has; kill if it hangs
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    elapsed = time.monotonic() - started
    meta = dest / "mutants" / (module + ".meta")
    try:
        codes: dict[str, int | None] = json.loads(meta.read_text())["exit_code_by_key"] if meta.exists() else {}
    except (ValueError, KeyError):  # cut off while writing its results: nothing can be counted
        print(f"{module}: mutmut's results are unreadable (cut off while saving); see {dest / 'mutmut.log'}")
        codes = {}
    scope = SCOPE.get(module)
    if scope:
        codes = {k: c for k, c in codes.items() if any(f".{prefix}" in k for prefix in scope)}
    killed = sum(1 for c in codes.values() if c in KILLED)
    not_run = sum(1 for c in codes.values() if c in NOT_RUN)
    survivors = sorted(k for k, c in codes.items() if c not in KILLED and c not in NOT_RUN)
    ran = killed + len(survivors)
    return Score(module, len(codes), killed, len(survivors), not_run, 100.0 * killed / ran if ran else 0.0,
                 elapsed, survivors)


def main(argv: list[str]) -> int:
    timeout = float(os.environ.get("MUTATE_TIMEOUT", "900"))
    children = int(os.environ.get("MUTATE_CHILDREN", "2"))
    minimum = float(os.environ.get("MUTATE_MIN", "90"))
    chosen = {m: t for m, t in MODULES.items() if not argv or any(a in m for a in argv)}
    results: list[Score] = []
    for module in chosen:
        if module in SCOPE:
            print(f"{module}: scored on {', '.join(p.strip('xǁ') for p in SCOPE[module])} only")
    print(f"{'module':34} {'mutants':>7} {'killed':>6} {'surv.':>5} {'not run':>7} {'score':>7} {'time':>6}")
    for module, tests in chosen.items():
        r = run_module(module, tests, timeout, children)
        results.append(r)
        print(f"{module:34} {r.mutants:>7} {r.killed:>6} {r.survived:>5} {r.not_run:>7} "
              f"{r.score:>6.1f}% {r.seconds:>5.0f}s", flush=True)
        if os.environ.get("MUTATE_LIST"):
            for key in r.survivors:
                print(f"    survived: {key}")
    (WORK / "scores.json").write_text(json.dumps([asdict(r) for r in results], indent=1))
    low = [r.module for r in results if r.score < minimum or r.not_run]
    if low:
        print(f"below {minimum:.0f} % or not finished: {', '.join(map(str, low))}")
    return 1 if low else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
