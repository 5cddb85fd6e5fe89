"""Per-field three-way merge of a plan file into stored rows, and the conflicts it reports.

For each field there are three values: what the file says now, what the file said at the last import (kept in the
row's `imported` column) and what the row holds. The file only changes what it changed since the last import; where
a host or the office changed the same field differently since, the row's value stays and a conflict is reported.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from scheduler.clock import SHANGHAI
from scheduler.plan.models import STATUS_LABELS, OccurrenceStatus

FIELD_LABELS = {
    "title": "名称",
    "location": "地点",
    "date_text": "日期",
    "window_start": "窗口开始",
    "window_end": "窗口结束",
    "window": "计划窗口",
    "precision": "日期精度",
    "start_at": "开始时间",
    "end_at": "结束时间",
    "status": "状态",
    "status_reason": "状态说明",
    "withdrawn": "撤下",
    "quarter": "季度",
    "type": "活动类型",
    "theme": "主题",
    "content": "内容",
    "locations": "地点",
    "chains": "产业链",
    "series": "系列",
    "hosts": "主办单位",
    "co_organizers": "承办（配合）单位",
    "name": "名称",
    "short_name": "简称",
    "aliases": "别名",
    "kind": "类别",
    "duties": "职责",
    "members": "成员",
    "parent": "上级单位",
    "year": "年度",
    "source": "来源",
    "published": "发布日期",
    "timezone": "时区",
    "themes": "季度主题",
    "types": "计划的活动类型",
}


def encode(value: Any) -> Any:
    """Return `value` in the JSON form kept in `imported` (instants in UTC, so equal instants compare equal)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    return value


@dataclass
class Conflict:
    """A field the file changed while the record was changed differently since the last import; the record wins."""

    entity: str  # "occurrence", "event", "organization" or "plan"
    key: str  # session key, 序号, unit key or plan key
    field: str
    file_value: Any  # encoded as in `imported`
    current_value: Any
    seq: int | None = None
    entity_id: int | None = None
    changed_by: str | None = None  # from the audit log, when it knows
    changed_at: datetime | None = None
    changed_how: str | None = None  # e.g. 定档, 成效填报

    def as_dict(self) -> dict[str, Any]:
        return {
            "entity": self.entity,
            "key": self.key,
            "seq": self.seq,
            "field": self.field,
            "field_label": FIELD_LABELS.get(self.field, self.field),
            "file": self.file_value,
            "current": self.current_value,
            "changed_by": self.changed_by,
            "changed_at": self.changed_at.isoformat() if self.changed_at else None,
            "changed_how": self.changed_how,
            "text": self.text(),
        }

    def where(self) -> str:
        """Say which row, as the office knows it (序号, 场次, unit)."""
        if self.entity == "occurrence":
            return f"序号 {self.seq} 场次 {self.key}" if self.seq is not None else f"场次 {self.key}"
        if self.entity == "event":
            return f"序号 {self.key}"
        if self.entity == "organization":
            return f"单位 {self.key}"
        return f"计划 {self.key}"

    def text(self) -> str:
        """Describe the conflict in one Chinese line."""
        who = ""
        if self.changed_by or self.changed_at:
            day = f"{self.changed_at.astimezone(SHANGHAI):%Y-%m-%d}" if self.changed_at else None
            parts = [p for p in (self.changed_by, day) if p]
            who = f"（{' '.join(parts)} {self.changed_how or '修改'}时填写）"
        if self.field == "withdrawn" and self.file_value is True:
            return (f"冲突：{self.where()} 已从文件中删除，但已有办理记录（{display('status', self.current_value)}）"
                    f"{who}，保留不撤下")
        label = FIELD_LABELS.get(self.field, self.field)
        return (f"冲突：{self.where()} {label}：文件为“{display(self.field, self.file_value)}”，"
                f"现值为“{display(self.field, self.current_value)}”{who}，保留现值")


def display(name: str, value: Any) -> str:
    """Render an encoded field value for people."""
    if value is None or value == "" or value == []:
        return "（空）"
    if name == "status" and value in {s.value for s in OccurrenceStatus}:
        return STATUS_LABELS[OccurrenceStatus(value)]
    if name == "withdrawn":
        return "撤下" if value is True else "保留"
    if name in ("start_at", "end_at") and isinstance(value, str):
        return f"{datetime.fromisoformat(value).astimezone(SHANGHAI):%Y-%m-%d %H:%M}"
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    if isinstance(value, dict):
        return "；".join(f"{k}：{v}" for k, v in value.items())
    return str(value)


@dataclass
class Merge:
    """What to do with one row: values to set, fields in conflict (file value, current value), new memory."""

    apply: dict[str, Any] = field(default_factory=dict)
    conflicts: list[tuple[str, Any, Any]] = field(default_factory=list)
    imported: dict[str, Any] = field(default_factory=dict)


def merge_fields(wanted: Mapping[str, Any], current: Mapping[str, Any], imported: Mapping[str, Any]) -> Merge:
    """Decide per field between the file (`wanted`), the record (`current`) and the last import (`imported`).

    A field missing from `imported` (rows imported before the memory existed) counts as unchanged by the file.
    A conflict remembers the file's value, so the same file does not report it again.
    """
    out = Merge()
    for name, value in wanted.items():
        file_value, now_value = encode(value), encode(current[name])
        last = imported.get(name, file_value)
        out.imported[name] = file_value
        if file_value == last or file_value == now_value:
            continue
        if now_value == last:
            out.apply[name] = value
        else:
            out.conflicts.append((name, file_value, now_value))
    return out


def untouched(current: Mapping[str, Any], imported: Mapping[str, Any]) -> bool:
    """Tell whether every remembered field still holds the value last imported (nothing happened since)."""
    return bool(imported) and all(encode(current[name]) == value for name, value in imported.items() if name in current)
