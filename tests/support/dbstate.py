"""Test helper: a full, comparable dump of every table, to prove that a failed command wrote nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import scheduler.metadata  # noqa: F401  (every table on the metadata)


def dump_database(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Return every row of every table, ordered by primary key, including timestamps."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            query = select(table).order_by(*table.primary_key.columns)
            out[table.name] = [tuple(row) for row in conn.execute(query)]
    return out


def row_count(dump: dict[str, list[tuple[Any, ...]]]) -> int:
    """Count the rows of a dump."""
    return sum(len(rows) for rows in dump.values())
