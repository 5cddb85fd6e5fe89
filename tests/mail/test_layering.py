"""The mail package knows none of its clients: nothing under scheduler/mail imports them, not even lazily."""

from __future__ import annotations

import ast
from pathlib import Path

import scheduler.mail

CLIENTS = ("followups", "reports", "reminders", "web", "cli", "jobs", "replay")


def imported_modules(path: Path) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out |= {f"{node.module}.{alias.name}" for alias in node.names}
    return out


def test_mail_imports_none_of_its_clients() -> None:
    package = Path(scheduler.mail.__file__).parent
    sources = sorted(package.rglob("*.py"))
    assert sources
    offending = {
        f"{path.name}: {module}"
        for path in sources
        for module in imported_modules(path)
        if module.split(".")[:2] in (["scheduler", client] for client in CLIENTS)
    }
    assert offending == set()
