"""Read a plan seed file (JSON): decode, parse and validate it whole, every problem with its JSON path.

The schema lives in `plan/schema.py` and the whole-file checks in `plan/checks.py`; both are re-exported here,
where the rest of the service imports them from.
"""

from __future__ import annotations

import json
from collections import Counter
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from scheduler.plan.checks import check_plan
from scheduler.plan.schema import (
    MAX_SEED_BYTES,
    EventIn,
    LongText,
    OrganizationIn,
    PlanFile,
    PlanHeader,
    SessionIn,
    SessionKey,
    Slug,
    Text,
)
from scheduler.validation import FileKind, InputInvalid, LocatedError, json_path, located_errors, read_input_file

__all__ = [
    "MAX_SEED_BYTES", "EventIn", "LongText", "OrganizationIn", "PlanFile", "PlanHeader", "SessionIn", "SessionKey",
    "Slug", "Text", "check_plan", "parse_plan_bytes", "read_plan_file",
]

_invalid = partial(InputInvalid, kind=FileKind.PLAN)


class _KeyedObject(dict[str, Any]):
    """A decoded JSON object that remembers keys written more than once (json keeps only the last)."""

    repeated: tuple[str, ...] = ()


def _keep_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = _KeyedObject(pairs)
    if len(obj) != len(pairs):
        obj.repeated = tuple(k for k, n in Counter(k for k, _ in pairs).items() if n > 1)
    return obj


def _duplicate_key_errors(root: Any) -> list[LocatedError]:
    """Locate every object that repeats a key, as JSON paths (iteratively: nesting depth is the input's)."""
    errors = []
    stack: list[tuple[Any, tuple[Any, ...]]] = [(root, ())]
    while stack:
        value, loc = stack.pop()
        if isinstance(value, dict):
            for key in getattr(value, "repeated", ()):
                errors.append(LocatedError(where=json_path((*loc, key)), message=f"对象中重复的键 {key!r}"))
            stack.extend(reversed([(child, (*loc, key)) for key, child in value.items()]))
        elif isinstance(value, list):
            stack.extend(reversed([(child, (*loc, i)) for i, child in enumerate(value)]))
    return errors


def parse_plan_bytes(data: bytes, *, source: str = "<input>") -> PlanFile:
    """Decode, parse and validate a whole seed file; raise InputInvalid listing every problem."""
    if len(data) > MAX_SEED_BYTES:
        raise _invalid(source, f"文件过大（{len(data)} 字节，上限 {MAX_SEED_BYTES} 字节）")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise _invalid(
            source,
            f"不是 UTF-8 编码：第 {line} 行，字节偏移 {exc.start} 处的 {data[exc.start : exc.start + 1]!r}",
        ) from None
    try:
        raw = json.loads(text, object_pairs_hook=_keep_duplicate_keys)
    except json.JSONDecodeError as exc:
        raise _invalid(source, f"JSON 格式错误：第 {exc.lineno} 行第 {exc.colno} 列：{exc.msg}") from None
    except RecursionError:
        raise _invalid(source, "JSON 嵌套过深") from None
    except ValueError:  # int() refuses more than 4,300 digits
        raise _invalid(source, "JSON 中的数字过长（超过 4300 位）") from None
    if duplicates := _duplicate_key_errors(raw):
        raise _invalid(source, duplicates)
    if not isinstance(raw, dict):
        raise _invalid(source, f"顶层应为对象，收到 {type(raw).__name__}")
    try:
        doc = PlanFile.model_validate(raw)
    except ValidationError as exc:
        raise _invalid(source, located_errors(exc.errors(include_url=False))) from None
    errors = check_plan(doc)
    if errors:
        raise _invalid(source, errors)
    return doc


def read_plan_file(path: Path) -> PlanFile:
    """Read and validate a seed file; refuse oversized files and anything but a regular file before reading."""
    return parse_plan_bytes(read_input_file(path, limit=MAX_SEED_BYTES, kind=FileKind.PLAN), source=str(path))

