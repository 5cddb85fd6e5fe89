"""Checklist templates (筹备事项 per activity type), read from a TOML file an administrator edits."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from scheduler.plan.models import EventType
from scheduler.validation import FileKind, InputInvalid, LocatedError, decode_utf8, load_toml, read_input_file

KEY_RE = re.compile(r"^[a-z0-9_-]{1,32}$")
MAX_CHECKLIST_BYTES = 256 * 1024  # a real template file is a few KiB
ASSIGNEES = ("host", "co_organizer")


@dataclass(frozen=True)
class ChecklistItem:
    """One item: due `offset_days` from the event day, owed by the host or by each co-organizer."""

    key: str
    title: str
    offset_days: int
    assignee: str


_invalid = partial(InputInvalid, kind=FileKind.CHECKLISTS)


def parse_checklists(text: str, *, source: str = "checklists.toml") -> dict[str, tuple[ChecklistItem, ...]]:
    """Validate a checklist file; return items by section ("default" or an activity type)."""
    doc = load_toml(text, source=source, kind=FileKind.CHECKLISTS)
    known = {"default"} | {str(t) for t in EventType}
    errors: list[LocatedError] = []
    out: dict[str, tuple[ChecklistItem, ...]] = {}
    for section, items in doc.items():
        if section not in known:
            message = f"未知分组 {section!r}（可选：{'、'.join(sorted(known))}）"
            errors.append(LocatedError(where=section, message=message))
            continue
        if not isinstance(items, list) or not all(isinstance(raw, dict) for raw in items):
            errors.append(LocatedError(where=section, message=f"应为 [[{section}]] 表格数组"))
            continue
        parsed: list[ChecklistItem] = []
        for i, raw in enumerate(items):
            where = f"{section}[{i}]"
            key, title = str(raw.get("key", "")), str(raw.get("title", "")).strip()
            offset, assignee = raw.get("offset_days"), raw.get("assignee", "host")
            if not KEY_RE.match(key):
                errors.append(
                    LocatedError(where=f"{where}.key", message=f"{key!r} 无效（1-32 位小写字母、数字、_ 或 -）")
                )
            if not title or len(title) > 60:
                errors.append(LocatedError(where=f"{where}.title", message="标题不能为空且不超过 60 字"))
            if not isinstance(offset, int) or isinstance(offset, bool) or not -180 <= offset <= 180:
                errors.append(LocatedError(where=f"{where}.offset_days", message="应为 -180 到 180 之间的整数天数"))
            if assignee not in ASSIGNEES:
                errors.append(
                    LocatedError(where=f"{where}.assignee", message=f"{assignee!r} 无效（host 或 co_organizer）")
                )
            unknown = set(raw) - {"key", "title", "offset_days", "assignee"}
            if unknown:
                errors.append(LocatedError(where=where, message=f"未知字段 {'、'.join(sorted(unknown))}"))
            if any(p.key == key for p in parsed):
                errors.append(LocatedError(where=f"{where}.key", message=f"{key} 重复"))
            if not errors:
                parsed.append(ChecklistItem(key, title, int(offset), str(assignee)))
        out[section] = tuple(parsed)
    if errors:
        raise _invalid(source, errors)
    return out


def read_checklists(path: Path | None) -> dict[str, tuple[ChecklistItem, ...]]:
    """Read the checklist file (none configured or absent → no checklist items); anything but a bounded regular
    UTF-8 file is refused by `read_input_file` / `decode_utf8` with a located error."""
    if path is None or not os.path.lexists(path):
        return {}
    source = str(path)
    data = read_input_file(path, limit=MAX_CHECKLIST_BYTES, kind=FileKind.CHECKLISTS)
    return parse_checklists(decode_utf8(data, source=source, kind=FileKind.CHECKLISTS), source=source)


def items_for(templates: Mapping[str, tuple[ChecklistItem, ...]], event_type: str) -> tuple[ChecklistItem, ...]:
    """Return the items for an activity type (its own list, else the default list)."""
    return templates.get(event_type, templates.get("default", ()))
