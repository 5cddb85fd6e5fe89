"""Goal sets as data: a TOML file (one set: key, title, horizon, 口径, source, its goals) validated whole, stored, and
the set a report of a given day reads: a set belongs to a city (its `city`, else its key's prefix) and a plan's
reports read only their city's sets (plan nantong-2027 → city nantong), the one whose horizon covers the day.

    [set]
    key = "nantong-2025"          title = "2025 年科技招商发展目标"
    city = "nantong"              # optional: the key's prefix before its year (nantong-2025 → nantong)
    starts_on = 2023-01-01        ends_on = 2025-12-31
    basis = "…口径…"              source = "通政办发〔2023〕11号 一/（二）"
    [[goals]]
    key = "projects"  label = "新招引科创项目"  target = 3300  unit = "个"
    semantics = "cumulative"  source = "derived"  derive = "科创项目"
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from sqlmodel import Session, col, select

from scheduler.outcomes.models import PROJECT_CATEGORIES, TALENT_LEVELS
from scheduler.plan.vocabulary import city_of
from scheduler.reports.models import Goal, GoalSet
from scheduler.validation import (
    FileKind,
    InputInvalid,
    LocatedError,
    decode_utf8,
    load_toml,
    located_errors,
    no_control_characters,
    read_input_file,
)

MAX_GOALS_BYTES = 256 * 1024
Key = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]
SetKey = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
Clean = AfterValidator(no_control_characters)  # NUL and control characters: refused in every text
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), Clean]
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16), Clean]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), Clean]

_invalid = partial(InputInvalid, kind=FileKind.GOALS)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GoalIn(_Strict):
    key: Key
    label: Label
    target: Decimal = Field(gt=0, max_digits=16, decimal_places=2)
    unit: Short
    semantics: Literal["cumulative", "stock"]
    source: Literal["derived", "manual"]
    derive: Annotated[str, StringConstraints(max_length=64), Clean] = ""


class GoalSetIn(_Strict):
    key: SetKey
    city: SetKey | None = None  # None: the key's city prefix (plan.vocabulary.city_of)
    title: Label
    starts_on: date
    ends_on: date
    basis: Text
    source: Text


class GoalsFile(_Strict):
    set: GoalSetIn
    goals: list[GoalIn]


@dataclass(frozen=True)
class ChosenSet:
    """A stored goal set with its goals, in file order."""

    goal_set: GoalSet
    goals: list[Goal]


def _derive_ok(derive: str) -> bool:
    if derive.startswith("talent:"):
        return derive.split(":", 1)[1] in TALENT_LEVELS
    return derive in PROJECT_CATEGORIES


def check_goals(doc: GoalsFile) -> list[LocatedError]:
    """Check what the schema cannot: the horizon, unique keys, and what derived goals count."""
    errors = []
    if doc.set.ends_on < doc.set.starts_on:
        errors.append(LocatedError(where="set.ends_on", message=f"结束 {doc.set.ends_on} 早于开始 {doc.set.starts_on}"))
    if not doc.goals:
        errors.append(LocatedError(where="goals", message="至少需要一个目标"))
    repeated = {k for k, n in Counter(g.key for g in doc.goals).items() if n > 1}
    choices = "、".join([*PROJECT_CATEGORIES, *(f"talent:{level}" for level in TALENT_LEVELS)])
    for i, goal in enumerate(doc.goals):
        if goal.key in repeated:
            errors.append(LocatedError(where=f"goals[{i}].key", message=f"目标代码 {goal.key!r} 重复"))
        if goal.source == "derived" and not _derive_ok(goal.derive):
            message = f"由成效填报统计的目标需写明统计项（可选：{choices}），收到 {goal.derive!r}"
            errors.append(LocatedError(where=f"goals[{i}].derive", message=message))
        if goal.source == "manual" and goal.derive:
            errors.append(LocatedError(where=f"goals[{i}].derive", message="录入类目标（manual）不填 derive"))
    return errors


def parse_goals_bytes(data: bytes, *, source: str = "<input>") -> GoalsFile:
    """Decode, parse and validate a goal set file; raise InputInvalid listing every problem."""
    if len(data) > MAX_GOALS_BYTES:
        raise _invalid(source, f"文件过大（{len(data)} 字节，上限 {MAX_GOALS_BYTES} 字节）")
    raw = load_toml(decode_utf8(data, source=source, kind=FileKind.GOALS), source=source, kind=FileKind.GOALS)
    try:
        doc = GoalsFile.model_validate(raw)
    except ValidationError as exc:
        raise _invalid(source, located_errors(exc.errors(include_url=False))) from None
    if errors := check_goals(doc):
        raise _invalid(source, errors)
    return doc


def read_goals_file(path: Path) -> GoalsFile:
    """Read (a regular file, bounded) and validate a goal set file."""
    return parse_goals_bytes(read_input_file(path, limit=MAX_GOALS_BYTES, kind=FileKind.GOALS), source=str(path))


def import_goal_set(*, session: Session, doc: GoalsFile, now: datetime) -> GoalSet:
    """Store a goal set by key, replacing the goals of a set with the same key (entered values are kept)."""
    head = doc.set
    goal_set = session.exec(select(GoalSet).where(GoalSet.key == head.key)).first()
    if goal_set is None:
        goal_set = GoalSet(key=head.key, title=head.title, starts_on=head.starts_on, ends_on=head.ends_on,
                           basis=head.basis, source=head.source, updated_at=now)
    goal_set.city = head.city or city_of(head.key)
    if goal_set.id is not None:
        goal_set.title, goal_set.starts_on, goal_set.ends_on = head.title, head.starts_on, head.ends_on
        goal_set.basis, goal_set.source, goal_set.updated_at = head.basis, head.source, now
        for old in session.exec(select(Goal).where(Goal.goal_set_id == goal_set.id)):
            session.delete(old)
    session.add(goal_set)
    session.flush()
    set_id: int = goal_set.id  # type: ignore[assignment]  # flushed above
    for position, g in enumerate(doc.goals):
        session.add(Goal(goal_set_id=set_id, position=position, key=g.key, label=g.label, unit=g.unit,
                         target=g.target, semantics=g.semantics, source=g.source, derive=g.derive))
    session.flush()
    return goal_set


def list_goal_sets(*, session: Session) -> list[GoalSet]:
    """Return every stored goal set, latest horizon first."""
    return list(session.exec(select(GoalSet).order_by(col(GoalSet.starts_on).desc(), col(GoalSet.key))))


def goal_set_for(*, session: Session, day: date, city: str | None = None) -> ChosenSet | None:
    """Return the goal set (of `city`, when given) whose horizon covers `day` (the latest-starting one if several
    do), or None: another city's goals are never a plan's goals."""
    covering = [s for s in list_goal_sets(session=session)
                if s.starts_on <= day <= s.ends_on and (city is None or s.city == city)]
    if not covering:
        return None
    chosen = covering[0]
    goals = session.exec(select(Goal).where(Goal.goal_set_id == chosen.id).order_by(col(Goal.position))).all()
    return ChosenSet(chosen, list(goals))


def known_goal_keys(*, session: Session) -> dict[str, Goal]:
    """Return one goal per key over every set (the newest set's wording), for entering values."""
    out: dict[str, Goal] = {}
    for goal_set in list_goal_sets(session=session):
        for g in session.exec(select(Goal).where(Goal.goal_set_id == goal_set.id).order_by(col(Goal.position))):
            out.setdefault(g.key, g)
    return out
