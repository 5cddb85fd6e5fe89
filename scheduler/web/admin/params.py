"""Request parameters the admin pages share, checked where they come in: row ids, page numbers, form text.

A number beyond what any table holds is refused by validation (a Chinese 422 page naming the parameter) before
it reaches the database, where SQLite would overflow on it; form text holding NUL or control characters is
refused the same way (PostgreSQL cannot store NUL; mail and CSV exports break on the others).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import AfterValidator

from scheduler.validation import MAX_ID, MAX_PAGE, no_control_characters

RowId = Annotated[int, Path(ge=1, le=MAX_ID)]
PageNumber = Annotated[int, Query(ge=1, le=MAX_PAGE)]
RowCount = Annotated[int, Query(ge=0, le=MAX_ID)]  # a number of rows echoed back after a redirect (…&requeued=3)
CleanText = AfterValidator(no_control_characters)  # Annotated[str, Form(max_length=…), CleanText]
