"""An event's timeline in words: audit entries and form revisions as Chinese sentences ("崇川区联络员 1月28日 定档：
3月8日 14:00–16:30，地点 上海张江科学会堂"), never raw dicts or internal names."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from scheduler.audit import ActorKind
from scheduler.clock import SHANGHAI
from scheduler.followups.kinds import TASK_KIND_LABELS
from scheduler.followups.models import TaskKind
from scheduler.plan.models import STATUS_LABELS, OccurrenceStatus

ACTION_LABELS = {
    "fix_date.submit": "定档",
    "outcome.submit": "填报活动成效",
    "checklist.submit": "填报筹备事项",
    "negotiation.submit": "填报本周洽谈",
    "lead_checkin.submit": "更新项目线索",
    "plan.occurrence.create": "新增场次",
    "plan.occurrence.update": "修改场次",
    "plan.occurrence.withdraw": "撤下场次",
    "plan.occurrence.fix": "定档",
    "plan.occurrence.move": "改期",
    "plan.occurrence.cancel": "取消场次",
    "task.close": "关闭任务",
    "task.cancel": "取消任务",
}
TEXT_FIELDS = {"title": "名称", "location": "地点", "date_text": "计划时间", "status_reason": "原因"}


def day_text(value: date) -> str:
    """Write a day the way the office does: 3月8日."""
    return f"{value.month}月{value.day}日"


def _instant(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value.astimezone(SHANGHAI)
    if isinstance(value, str) and "T" in value:
        try:
            return datetime.fromisoformat(value).astimezone(SHANGHAI)
        except ValueError:
            return None
    return None


def _day(value: Any) -> date | None:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def actor_text(actor: str, actor_kind: str, on_behalf_of: str | None, unit: str | None,
               names: dict[str, str]) -> str:
    """Say who acted: 崇川区联络员（a@b.cn）, 管理员 zhang（代崇川区）, or 系统."""
    behalf = f"（代{names.get(on_behalf_of, on_behalf_of)}）" if on_behalf_of else ""
    if actor_kind == ActorKind.SYSTEM or actor == "system":
        return "系统" + behalf
    if actor_kind == ActorKind.ADMIN or actor.startswith("admin:"):
        return f"管理员 {actor.removeprefix('admin:')}{behalf}"
    who = f"{names.get(unit, unit)}联络员" if unit else "联络员"
    return f"{who}（{actor}）{behalf}"


def _when(start: Any, end: Any) -> str:
    begin = _instant(start)
    if begin is None:
        return ""
    finish = _instant(end)
    text = f"{day_text(begin.date())} {begin:%H:%M}"
    return text + (f"–{finish:%H:%M}" if finish is not None and finish.date() == begin.date() else "")


def occurrence_change(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    """Describe what changed on an occurrence in Chinese (fields nobody reads, like the version, are left out)."""
    old, new = (before or {}), (after or {})
    if isinstance(new.get("data"), dict) or isinstance(old.get("data"), dict):  # a form submission's snapshot
        old, new = old.get("data") or {}, new.get("data") or {}
    parts: list[str] = []
    if (old.get("start_at"), old.get("end_at")) != (new.get("start_at"), new.get("end_at")) and new.get("start_at"):
        parts.append(_when(new.get("start_at"), new.get("end_at")))
    if (old.get("window_start"), old.get("window_end")) != (new.get("window_start"), new.get("window_end")):
        first, last = _day(new.get("window_start")), _day(new.get("window_end"))
        if first and last:
            parts.append(f"时间窗口 {day_text(first)}–{day_text(last)}")
    for key, label in TEXT_FIELDS.items():
        if new.get(key) != old.get(key) and new.get(key):
            parts.append(f"{label} {new[key]}")
    if new.get("status") != old.get("status") and new.get("status") in set(OccurrenceStatus):
        parts.append(f"状态改为{STATUS_LABELS[OccurrenceStatus(new['status'])]}")
    if new.get("withdrawn") and not old.get("withdrawn"):
        parts.append("已撤下")
    return "，".join(parts)


def form_summary(kind: str, data: dict[str, Any]) -> str:
    """Summarise a submitted form: the day, times and place of a 定档, the figures of an outcome report."""
    parts: list[str] = []
    day = _day(data.get("date")) or _day(data.get("actual_date"))
    if day is not None:
        times = "–".join(t for t in (data.get("start_time"), data.get("end_time")) if t)
        parts.append(f"{day_text(day)}{' ' + times if times else ''}")
    place = data.get("place") or data.get("actual_place")
    if place:
        parts.append(f"地点 {place}")
    for key, unit, label in (("attendees", "人", "参会"), ("companies", "家", "企业")):
        if isinstance(data.get(key), int):
            parts.append(f"{label} {data[key]} {unit}")
    for key, unit, label in (("projects", "个", "项目"), ("talents", "名", "人才")):
        if isinstance(data.get(key), list) and data[key]:
            parts.append(f"{label} {len(data[key])} {unit}")
    return "，".join(parts)


def kind_label(kind: str) -> str:
    """Name a task kind in Chinese."""
    try:
        return TASK_KIND_LABELS.get(TaskKind(kind), "表单")
    except ValueError:
        return "表单"


def sentence(who: str, at: datetime, action: str, what: str) -> str:
    """Join the parts: 崇川区联络员 1月28日 定档：3月8日 14:00–16:30，地点 上海张江科学会堂."""
    return f"{who} {day_text(at.astimezone(SHANGHAI).date())} {action}" + (f"：{what}" if what else "")


def audit_sentence(*, action: str, actor: str, actor_kind: str, on_behalf_of: str | None, at: datetime,
                   before: dict[str, Any] | None, after: dict[str, Any] | None, unit: str | None,
                   names: dict[str, str]) -> tuple[str, str]:
    """Return (label, sentence) for one audit entry on an occurrence."""
    label = ACTION_LABELS.get(action, "变更")
    who = actor_text(actor, actor_kind, on_behalf_of, unit, names)
    return label, sentence(who, at, label, occurrence_change(before, after))


def revision_sentence(*, kind: str, number: int, data: dict[str, Any], actor: str, actor_kind: str,
                      on_behalf_of: str | None, at: datetime, unit: str | None,
                      names: dict[str, str]) -> tuple[str, str]:
    """Return (label, sentence) for one form revision: 第 2 次提交 定档表 …"""
    label = f"{kind_label(kind)}·第 {number} 次提交" + ("（修改）" if number > 1 else "")
    who = actor_text(actor, actor_kind, on_behalf_of, unit, names)
    return label, sentence(who, at, f"提交{kind_label(kind)}", form_summary(kind, data))
