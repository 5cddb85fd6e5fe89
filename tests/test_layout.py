"""The package layout as a test: imports point down the layer table, no cycles, web/CLI libraries stay in their
layer, no grab-bag modules. Read from the source with `ast`, lazy imports inside functions included."""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from scheduler.config import PROJECT_ROOT

# Bottom to top. A module may import its own layer and the layers below it. Keys are the first name under
# `scheduler.` (a module or a domain folder); `scheduler` itself is the package's own __init__.
LAYERS: tuple[frozenset[str], ...] = tuple(
    frozenset(names.split())
    for names in (
        # faults names environmental failures; clockstate keeps the clock's last instant (issue 15)
        "scheduler config clock db validation workdays faults clockstate",
        # runtime only builds the engine and the clock from settings; domain jobs, jobs, web and cli receive it
        "runtime",
        "plan",
        # scheduling reads only plan and workdays; its checker runs inside the 定档 form, so it sits below followups
        "feeds outcomes contacts auth audit scheduling",
        "mail",
        "reminders",
        "followups",
        "reports logistics",
        # metadata imports every domain's models for Alembic: above all models, below everything that needs the
        # full metadata (replay's create_all); migrate drives Alembic, whose env.py loads that metadata
        "metadata migrate",
        "jobs",
        "web replay",
        "cli __main__",
    )
)
# Imports forbidden even where the layer table would allow them (LAYOUT: mail/ knows none of its clients).
NEVER: dict[str, frozenset[str]] = {"mail": frozenset({"followups", "reports", "web", "cli"})}
# Third-party libraries only one layer may import.
ONLY_IN: dict[str, str] = {"fastapi": "web", "starlette": "web", "typer": "cli"}
GRAB_BAG_NAMES = frozenset({"utils", "helpers", "common"})


@dataclass(frozen=True)
class Arrow:
    """One import statement: where it is and which module it names."""

    path: Path
    line: int
    source: str
    target: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line} {self.source} -> {self.target}"


def module_names(root: Path, package: str) -> dict[str, Path]:
    """Return every module of `package` under `root` by dotted name (packages by their own name)."""
    names: dict[str, Path] = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def imports_of(path: Path, name: str, modules: dict[str, Path]) -> Iterator[tuple[int, str]]:
    """Yield (line, imported name) for every import in the file, nested ones included."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                yield node.lineno, sub if sub in modules else base


def arrows(root: Path, package: str = "scheduler") -> tuple[list[Arrow], dict[str, Path]]:
    """Return every import arrow found in the package, and its modules."""
    modules = module_names(root, package)
    found = []
    for name, path in modules.items():
        for line, target in imports_of(path, name, modules):
            found.append(Arrow(path.relative_to(root), line, name, target))
    return found, modules


def area(module: str, package: str = "scheduler") -> str:
    """Return the layer key of a module: the first name under the package."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def layer_of(key: str, layers: tuple[frozenset[str], ...] = LAYERS) -> int | None:
    """Return the index of the layer holding `key`, None when the table does not place it."""
    return next((i for i, names in enumerate(layers) if key in names), None)


def direction_problems(
    found: list[Arrow],
    package: str = "scheduler",
    layers: tuple[frozenset[str], ...] = LAYERS,
    never: dict[str, frozenset[str]] = NEVER,
) -> list[str]:
    """Describe imports that point up, cross a forbidden line, are unplaced, or use another layer's library."""
    problems = []
    for arrow in found:
        top = arrow.target.split(".")[0]
        source = area(arrow.source, package)
        if top in ONLY_IN and source != ONLY_IN[top]:
            problems.append(f"{arrow}  ({top} outside {package}/{ONLY_IN[top]}/)")
        if top != package:
            continue
        target = area(arrow.target, package)
        low, high = layer_of(target, layers), layer_of(source, layers)
        if low is None or high is None:
            problems.append(f"{arrow}  (not in the layer table: {target if low is None else source})")
        elif low > high:
            problems.append(f"{arrow}  (points up: {source} is layer {high}, {target} is layer {low})")
        elif target in never.get(source, ()):
            problems.append(f"{arrow}  ({source} must not import {target})")
    return problems


def cycle_problems(found: list[Arrow], modules: dict[str, Path]) -> list[str]:
    """Describe every import cycle between modules, each arrow of it with its place."""
    edges: dict[str, dict[str, Arrow]] = {name: {} for name in modules}
    for arrow in found:
        if arrow.target in modules and arrow.target != arrow.source:
            edges[arrow.source].setdefault(arrow.target, arrow)
    problems = []
    for group in strongly_connected(edges):
        if len(group) < 2:
            continue
        cycle = shortest_cycle(edges, min(group), group)
        steps = [str(edges[a][b]) for a, b in itertools.pairwise(cycle)]
        problems.append("cycle " + " -> ".join(cycle) + ":\n    " + "\n    ".join(steps))
    return problems


def strongly_connected(edges: dict[str, dict[str, Arrow]]) -> list[set[str]]:
    """Return the strongly connected groups of the graph (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.add(member)
                    if member == node:
                        break
                groups.append(group)
    return groups


def shortest_cycle(edges: dict[str, dict[str, Arrow]], start: str, group: set[str]) -> list[str]:
    """Return the shortest path from `start` back to itself inside `group`, both ends included."""
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for child in sorted(edges[node]):
            if child == start:
                return [*paths[node], start]
            if child in group and child not in paths:
                paths[child] = [*paths[node], child]
                queue.append(child)
    raise AssertionError(f"no cycle through {start}")  # unreachable for a strongly connected group


def name_problems(modules: dict[str, Path], root: Path) -> list[str]:
    """Describe modules or folders named like a grab bag."""
    return [
        f"{path.relative_to(root)} ({part} is not a domain)"
        for name, path in modules.items()
        for part in name.split(".")
        if part in GRAB_BAG_NAMES
    ]


def layout_problems(
    root: Path,
    package: str = "scheduler",
    layers: tuple[frozenset[str], ...] = LAYERS,
    never: dict[str, frozenset[str]] = NEVER,
) -> list[str]:
    """Return everything wrong with the layout of `package` under `root`."""
    found, modules = arrows(root, package)
    directions = direction_problems(found, package, layers, never)
    return directions + cycle_problems(found, modules) + name_problems(modules, root)


def test_the_package_follows_the_layer_table() -> None:
    problems = layout_problems(PROJECT_ROOT)
    assert not problems, "layout rules broken:\n" + "\n".join(problems)


def test_every_domain_is_in_the_layer_table() -> None:
    _, modules = arrows(PROJECT_ROOT)
    assert {area(name) for name in modules} <= set().union(*LAYERS)


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_the_checker_reports_upward_imports_cycles_libraries_and_grab_bags(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "scheduler/__init__.py": "",
            "scheduler/clock.py": "import datetime\n",
            "scheduler/plan/__init__.py": "",
            "scheduler/plan/models.py": "from scheduler import clock\n\n\ndef lazy():\n"
            "    from scheduler.mail import outbox\n",  # inside a function: still an arrow
            "scheduler/mail/__init__.py": "",
            "scheduler/mail/outbox.py": "from . import compose\nimport fastapi\n",
            "scheduler/mail/compose.py": "from scheduler.mail.outbox import x\n",
            "scheduler/followups/__init__.py": "",
            "scheduler/followups/helpers.py": "from scheduler.plan.models import f\n",
            "scheduler/web/__init__.py": "",
            "scheduler/web/deps.py": "import typer\nfrom scheduler.web import security\n",
            "scheduler/web/security.py": "from scheduler.web.deps import x\nfrom scheduler.mail import outbox\n",
        },
    )
    problems = layout_problems(tmp_path)
    assert problems == [
        "scheduler/mail/outbox.py:2 scheduler.mail.outbox -> fastapi  (fastapi outside scheduler/web/)",
        "scheduler/plan/models.py:5 scheduler.plan.models -> scheduler.mail.outbox  (points up: plan is layer 2,"
        " mail is layer 4)",
        "scheduler/web/deps.py:1 scheduler.web.deps -> typer  (typer outside scheduler/cli/)",
        "cycle scheduler.mail.compose -> scheduler.mail.outbox -> scheduler.mail.compose:\n"
        "    scheduler/mail/compose.py:1 scheduler.mail.compose -> scheduler.mail.outbox\n"
        "    scheduler/mail/outbox.py:1 scheduler.mail.outbox -> scheduler.mail.compose",
        "cycle scheduler.web.deps -> scheduler.web.security -> scheduler.web.deps:\n"
        "    scheduler/web/deps.py:2 scheduler.web.deps -> scheduler.web.security\n"
        "    scheduler/web/security.py:1 scheduler.web.security -> scheduler.web.deps",
        "scheduler/followups/helpers.py (helpers is not a domain)",
    ]


def test_the_checker_keeps_mail_away_from_its_clients_and_places_every_module(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "scheduler/__init__.py": "",
            "scheduler/mail/__init__.py": "",
            "scheduler/mail/kinds.py": "from scheduler.followups import tasks\n",
            "scheduler/followups/__init__.py": "",
            "scheduler/followups/tasks.py": "from scheduler.mail import kinds\n",
            "scheduler/clock.py": "",
            "scheduler/stray.py": "from scheduler import clock\n",
        },
    )
    one_layer = (frozenset({"scheduler", "clock"}), frozenset({"mail", "followups"}))  # same layer, still refused
    assert layout_problems(tmp_path, layers=one_layer) == [
        "scheduler/mail/kinds.py:1 scheduler.mail.kinds -> scheduler.followups.tasks  (mail must not import followups)",
        "scheduler/stray.py:1 scheduler.stray -> scheduler.clock  (not in the layer table: stray)",
        "cycle scheduler.followups.tasks -> scheduler.mail.kinds -> scheduler.followups.tasks:\n"
        "    scheduler/followups/tasks.py:1 scheduler.followups.tasks -> scheduler.mail.kinds\n"
        "    scheduler/mail/kinds.py:1 scheduler.mail.kinds -> scheduler.followups.tasks",
    ]


def figures(root: Path, package: str = "scheduler") -> dict[str, int]:
    """Count the import graph of a checkout: modules, module and area arrows, arrows pointing up, cycles."""
    found, modules = arrows(root, package)
    module_edges = {(a.source, a.target) for a in found if a.target in modules and a.target != a.source}
    area_edges = {(area(s, package), area(t, package)) for s, t in module_edges if area(s, package) != area(t, package)}
    graph: dict[str, dict[str, Arrow]] = {name: {} for name in modules}
    for a in found:
        if a.target in modules and a.target != a.source:
            graph[a.source].setdefault(a.target, a)
    placed = [(layer_of(area(a.source, package)), layer_of(area(a.target, package)))
              for a in found if a.target.split(".")[0] == package]
    up = [1 for high, low in placed if high is not None and low is not None and low > high]
    return {
        "modules": len(modules),
        "areas": len({area(name, package) for name in modules}),
        "module arrows": len(module_edges),
        "area arrows": len(area_edges),
        "arrows pointing up": len(up),
        "module cycles": sum(1 for g in strongly_connected(graph) if len(g) > 1),
    }


if __name__ == "__main__":  # figures for the closing note: python tests/test_layout.py [CHECKOUT]
    import sys

    for key, value in figures(Path(sys.argv[1]) if len(sys.argv) > 1 else PROJECT_ROOT).items():
        print(f"{key}: {value}")
