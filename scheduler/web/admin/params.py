"""Request parameters the admin pages share, checked where they come in: row ids, page numbers, form text.

A number beyond what any table holds is refused by validation (a Chinese 422 page naming the parameter) before
it reaches the database, where SQLite would overflow on it; form text holding NUL or control characters is
refused the same way (PostgreSQL cannot store NUL; mail and CSV exports break on the others).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import AfterValidator
from starlette.convertors import Convertor, register_url_convertor

from scheduler.validation import MAX_ID, MAX_PAGE, no_control_characters


class RowIdConvertor(Convertor[int]):
    """`{name:rowid}` in a route path: ASCII digits only, at most 30 of them. Starlette's own `:int` calls int() on
    any run of digits, and int() refuses more than 4,300 of them with a ValueError (a 500). Thirty digits convert
    safely, and the handlers' `RowId` bound then answers a number beyond any table with the Chinese 422 page
    ("过大") rather than a bare 404."""

    regex = "[0-9]{1,30}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


register_url_convertor("rowid", RowIdConvertor())  # before any route naming it is declared: its modules import us
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]
PageNumber = Annotated[int, Query(ge=1, le=MAX_PAGE)]
RowCount = Annotated[int, Query(ge=0, le=MAX_ID)]  # a number of rows echoed back after a redirect (…&requeued=3)
CleanText = AfterValidator(no_control_characters)  # Annotated[str, Form(max_length=…), CleanText]
