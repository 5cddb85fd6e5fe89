"""Located errors for every input file and form (plan, contacts, targets, goals, checklists, scoring), in Chinese.

One record (`LocatedError`: where + message), one exception (`InputInvalid`: which kind of file, which file,
every problem found), the Chinese texts for pydantic's error types and the function that turns pydantic errors
into located errors. Bottom layer: imports nothing from `scheduler`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class FileKind(StrEnum):
    """The kinds of input file an administrator writes; each names itself in Chinese (`FILE_LABELS`)."""

    PLAN = "plan"
    CONTACTS = "contacts"
    TARGETS = "targets"
    CHECKLISTS = "checklists"
    SCORING = "scoring"
    GOALS = "goals"


FILE_LABELS = {
    FileKind.PLAN: "计划文件",
    FileKind.CONTACTS: "联系人文件",
    FileKind.TARGETS: "目标文件",
    FileKind.CHECKLISTS: "筹备事项模板文件",
    FileKind.SCORING: "计分设置文件",
    FileKind.GOALS: "发展目标文件",
}


@dataclass(frozen=True, kw_only=True)
class LocatedError:
    """One problem: where (a JSON path like `events[3].sessions[0]`, `第 7 行`, a form field) and what, in Chinese.

    An empty `where` means the whole file. The separator follows the script of the place: an ASCII path keeps the
    `: ` the plan tools have always printed (`events[3].seq: 序号 3 重复`), a Chinese place takes the full-width
    colon (`第 3 行：未知板块 '火星'`).
    """

    where: str
    message: str

    def __str__(self) -> str:
        if not self.where:
            return self.message
        return f"{self.where}{': ' if self.where.isascii() else '：'}{self.message}"

    def as_dict(self) -> dict[str, str]:
        """Return the JSON form programs read: `{"path": where, "message": message}`."""
        return {"path": self.where, "message": self.message}


class InputInvalid(ValueError):
    """A file that cannot be used; carries every problem found (a str: one about the whole file). Nothing written."""

    def __init__(self, source: str, errors: Sequence[LocatedError] | str, *, kind: FileKind) -> None:
        self.source = source
        self.errors = [LocatedError(where="", message=errors)] if isinstance(errors, str) else list(errors)
        self.kind = kind
        super().__init__("\n".join([self.heading, *(f"  {e}" for e in self.errors)]))

    @property
    def heading(self) -> str:
        """Say which file failed and how often: `计划文件 X 有 3 处错误，未写入任何数据：`."""
        return f"{FILE_LABELS[self.kind]} {self.source} 有 {len(self.errors)} 处错误，未写入任何数据："

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON form programs read (the same shape for every kind of file)."""
        return {
            "ok": False,
            "kind": str(self.kind),
            "source": self.source,
            "errors": [e.as_dict() for e in self.errors],
        }


PYDANTIC_MESSAGES = {
    "missing": "缺少必填字段",
    "extra_forbidden": "未知字段",
    "string_pattern_mismatch": "格式不符（只允许小写字母、数字和连字符）",
    "string_too_short": "不能为空",
    "string_too_long": "过长",
    "enum": "取值无效",
    "date_from_datetime_parsing": "不是 YYYY-MM-DD 日期",
    "date_parsing": "不是 YYYY-MM-DD 日期",
    "date_type": "不是日期",
    "timezone_aware": "时间必须带时区（如 +08:00）",
    "int_parsing": "不是整数",
    "int_type": "不是整数",
    "greater_than_equal": "过小",
    "greater_than": "应大于 {gt}",
    "literal_error": "取值无效",
    "less_than_equal": "过大",
    "list_type": "应为列表",
    "dict_type": "应为对象",
    "model_type": "应为对象",
    "string_type": "应为字符串",
}


def json_path(loc: Sequence[Any]) -> str:
    """Render a pydantic location as a JSON path: ('events', 3, 'sessions', 0) → events[3].sessions[0]."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def pydantic_message(err: Mapping[str, Any]) -> str:
    """Say in Chinese what one pydantic error means, with the choices and the value received."""
    template = PYDANTIC_MESSAGES.get(err.get("type", ""))
    message = template.format(**err.get("ctx", {})) if template else err.get("msg", "无效")
    if err.get("type") in ("enum", "literal_error"):
        message += f"（可选：{err.get('ctx', {}).get('expected', '')}）"
    if err.get("type") != "missing" and "input" in err:
        message += f"，收到 {json.dumps(err['input'], ensure_ascii=False, default=str)[:120]}"
    return message


def located_errors(
    errors: Iterable[Mapping[str, Any]], *, where: Callable[[Sequence[Any]], str] = json_path
) -> list[LocatedError]:
    """Turn pydantic errors (`ValidationError.errors()`, FastAPI's too) into located Chinese errors."""
    return [LocatedError(where=where(tuple(err.get("loc", ()))), message=pydantic_message(err)) for err in errors]
