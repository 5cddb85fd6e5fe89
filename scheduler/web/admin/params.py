"""Request parameters the admin pages share, bounded where they come in: row ids in paths and page numbers.

A number beyond what any table holds is refused by validation (a Chinese 422 page naming the parameter) before
it reaches the database, where SQLite would overflow on it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from scheduler.validation import MAX_ID, MAX_PAGE

RowId = Annotated[int, Path(ge=1, le=MAX_ID)]
PageNumber = Annotated[int, Query(ge=1, le=MAX_PAGE)]
