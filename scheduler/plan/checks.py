"""Whole-file checks of a plan file: what the schema cannot say — references, uniqueness, windows, themes, series.

Every problem is a LocatedError with its JSON path (`events[3].sessions[1].date_text`); table readers turn the
paths back into cells.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from scheduler.clock import local_date
from scheduler.plan.models import EventType, OrgKind, Precision
from scheduler.plan.schema import EventIn, PlanFile, SessionIn
from scheduler.plan.vocabulary import check_vocabulary, unknown_chain, unknown_type
from scheduler.plan.windows import (
    DateTextError,
    Series,
    normalize_date_text,
    parse_series,
    parse_window,
    plan_year_spill,
    quarter_of,
)
from scheduler.validation import LocatedError


def check_plan(doc: PlanFile) -> list[LocatedError]:
    """Check what the schema cannot: references, uniqueness, windows, themes and series."""
    errors: list[LocatedError] = []
    errors += _check_header(doc)
    errors += _check_organizations(doc)
    errors += _check_events(doc)
    return errors


def _check_header(doc: PlanFile) -> list[LocatedError]:
    errors = []
    try:
        ZoneInfo(doc.plan.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        errors.append(LocatedError(where="plan.timezone", message=f"未知时区 {doc.plan.timezone!r}"))
    for key in doc.plan.themes:
        if key not in {"1", "2", "3", "4"}:
            errors.append(LocatedError(where=f"plan.themes.{key}", message=f"季度应为 1-4，收到 {key!r}"))
    kinds = {o.id: str(o.kind) for o in doc.organizations}
    return errors + check_vocabulary(office=doc.plan.office, chains=doc.plan.chains, bankuai=doc.plan.bankuai,
                                     kinds=kinds)


def _duplicates(values: list[str]) -> set[str]:
    return {v for v, n in Counter(values).items() if n > 1}


def _check_organizations(doc: PlanFile) -> list[LocatedError]:
    errors = []
    ids = [o.id for o in doc.organizations]
    known = set(ids)
    dup_ids = _duplicates(ids)
    names: dict[str, str] = {}
    for i, org in enumerate(doc.organizations):
        path = f"organizations[{i}]"
        if org.id in dup_ids:
            errors.append(LocatedError(where=f"{path}.id", message=f"机构 id {org.id!r} 重复"))
        for j, member in enumerate(org.members):
            if member not in known:
                errors.append(LocatedError(where=f"{path}.members[{j}]", message=f"未知机构 id {member!r}"))
        if org.members and org.kind is not OrgKind.GROUP:
            errors.append(
                LocatedError(
                    where=f"{path}.members", message=f"只有 group 类机构可以列出成员，{org.id!r} 是 {org.kind}"
                )
            )
        if org.parent is not None and org.parent not in known:
            errors.append(LocatedError(where=f"{path}.parent", message=f"未知机构 id {org.parent!r}"))
        for j, name in enumerate([org.name, org.short_name, *org.aliases]):
            owner = names.setdefault(name, org.id)
            if owner != org.id:
                field = ["name", "short_name"][j] if j < 2 else f"aliases[{j - 2}]"
                errors.append(LocatedError(where=f"{path}.{field}", message=f"名称 {name!r} 已属于机构 {owner!r}"))
    return errors


def _check_events(doc: PlanFile) -> list[LocatedError]:
    errors: list[LocatedError] = []
    known = {o.id for o in doc.organizations}
    year, published = doc.plan.year, doc.plan.published
    rows_per_series = Counter(e.series for e in doc.events if e.series)
    dup_seq = _duplicates([str(e.seq) for e in doc.events])
    dup_keys = _duplicates([s.key for e in doc.events for s in e.sessions])
    themed = Counter(e.quarter for e in doc.events if e.type == EventType.QUARTERLY_THEME)
    for i, ev in enumerate(doc.events):
        path = f"events[{i}]"
        if str(ev.seq) in dup_seq:
            errors.append(LocatedError(where=f"{path}.seq", message=f"序号 {ev.seq} 重复"))
        if ev.type not in doc.plan.types:
            errors.append(LocatedError(where=f"{path}.type", message=unknown_type(ev.type, doc.plan.types)))
        for role in ("hosts", "co_organizers"):
            for j, org_id in enumerate(getattr(ev, role)):
                if org_id not in known:
                    errors.append(LocatedError(where=f"{path}.{role}[{j}]", message=f"未知机构 id {org_id!r}"))
        if not ev.hosts:
            errors.append(LocatedError(where=f"{path}.hosts", message="至少需要一个主办单位"))
        if not ev.locations:
            errors.append(LocatedError(where=f"{path}.locations", message="至少需要一个地点"))
        for j, chain in enumerate(ev.chains):
            if chain not in doc.plan.chains:
                errors.append(LocatedError(where=f"{path}.chains[{j}]", message=unknown_chain(chain, doc.plan.chains)))
        errors += _check_theme(ev, path, doc.plan.themes, themed)
        if not ev.sessions:
            errors.append(LocatedError(where=f"{path}.sessions", message="至少需要一个场次"))
        series, series_errors = _event_series(ev, path, year)
        errors += series_errors
        several_rows = rows_per_series[ev.series or ""] > 1
        for k, sess in enumerate(ev.sessions):
            spath = f"{path}.sessions[{k}]"
            if sess.key in dup_keys:
                errors.append(LocatedError(where=f"{spath}.key", message=f"场次 key {sess.key!r} 重复"))
            errors += _check_window(sess, spath, year, published)
            if series:
                errors += _check_series_session(ev, sess, spath, series, several_rows=several_rows)
            elif normalize_date_text(sess.date_text) not in normalize_date_text(ev.date_text):
                errors.append(
                    LocatedError(
                        where=f"{spath}.date_text",
                        message=f"场次日期 {sess.date_text!r} 不在活动日期 {ev.date_text!r} 之中",
                    )
                )
    errors += _check_series(doc)
    return errors


def _check_theme(ev: EventIn, path: str, themes: dict[str, str], themed: Counter[int]) -> list[LocatedError]:
    if ev.type == EventType.QUARTERLY_THEME:
        expected = themes.get(str(ev.quarter))
        if ev.theme is None:
            return [LocatedError(where=f"{path}.theme", message="季度主题活动必须填写主题")]
        if expected is None:
            return [LocatedError(where=f"{path}.theme", message=f"plan.themes 中没有第 {ev.quarter} 季度的主题")]
        if ev.theme != expected:
            return [
                LocatedError(
                    where=f"{path}.theme", message=f"第 {ev.quarter} 季度的主题应为 {expected!r}，收到 {ev.theme!r}"
                )
            ]
        if themed[ev.quarter] > 1:
            return [
                LocatedError(
                    where=f"{path}.type",
                    message=f"第 {ev.quarter} 季度有 {themed[ev.quarter]} 个季度主题活动，只能有一个",
                )
            ]
        return []
    if ev.theme is not None:
        return [
            LocatedError(where=f"{path}.theme", message=f"只有季度主题活动有主题，{ev.type} 类活动收到 {ev.theme!r}")
        ]
    return []


def _event_series(ev: EventIn, path: str, year: int) -> tuple[Series | None, list[LocatedError]]:
    """Read the row's date text as a series (每季度, 3、6、9月 …), if it is one; a rule needs a series key."""
    try:
        series = parse_series(ev.date_text, year=year)
    except DateTextError as exc:
        return None, [LocatedError(where=f"{path}.date_text", message=str(exc))]
    if series and series.interval and not ev.series:
        return series, [
            LocatedError(where=f"{path}.series", message=f"日期为 {ev.date_text!r} 的周期活动必须填写 series")
        ]
    if ev.series and not series:
        return None, [
            LocatedError(
                where=f"{path}.date_text",
                message=f"系列活动的日期应为周期（每月、每两月、每季度、每半年）或月份列表（如 3、6、9月），"
                f"收到 {ev.date_text!r}",
            )
        ]
    return series, []


def _check_series_session(
    ev: EventIn, sess: SessionIn, path: str, series: Series, *, several_rows: bool
) -> list[LocatedError]:
    """A series session is one of the series' windows; a series over several rows keeps to each row's quarter."""
    label = normalize_date_text(ev.date_text)
    if (sess.start, sess.end, sess.precision) not in {(w.start, w.end, w.precision) for w in series.windows}:
        return [
            LocatedError(
                where=path,
                message=f"场次 {sess.start}–{sess.end}（{sess.precision}）不是“{label}”的一场"
                f"（可为：{'、'.join(w.text for w in series.windows)}）",
            )
        ]
    if several_rows and quarter_of(sess.start) != ev.quarter:
        unit = "某一个月" if sess.precision is Precision.MONTH else "一场"
        return [
            LocatedError(
                where=path, message=f"{label}系列的场次应为第 {ev.quarter} 季度内的{unit}，收到 {sess.start}–{sess.end}"
            )
        ]
    return []


def _check_window(sess: SessionIn, path: str, year: int, published: date | None = None) -> list[LocatedError]:
    errors = []
    if sess.end < sess.start:
        return [LocatedError(where=path, message=f"结束 {sess.end} 早于开始 {sess.start}")]
    try:
        plan_year_spill(sess.start, sess.end, year)  # a December kickoff or a run into January is allowed
    except DateTextError as exc:
        errors.append(LocatedError(where=path, message=str(exc)))
    try:
        window = parse_window(sess.date_text, year=year, published=published)
    except DateTextError as exc:
        errors.append(LocatedError(where=f"{path}.date_text", message=str(exc)))
    else:
        if (window.start, window.end, window.precision) != (sess.start, sess.end, sess.precision):
            errors.append(
                LocatedError(
                    where=path,
                    message=f"日期 {sess.date_text!r} 对应 {window.start}–{window.end}（{window.precision}），"
                    f"但填写的是 {sess.start}–{sess.end}（{sess.precision}）",
                )
            )
    if sess.end_at is not None and sess.start_at is None:
        errors.append(LocatedError(where=f"{path}.end_at", message="有结束时间却没有开始时间"))
    if sess.start_at is not None:
        if sess.end_at is not None and sess.end_at < sess.start_at:
            errors.append(
                LocatedError(where=f"{path}.end_at", message=f"结束时间 {sess.end_at} 早于开始时间 {sess.start_at}")
            )
        local_day = local_date(sess.start_at)
        if not sess.start <= local_day <= sess.end:
            errors.append(
                LocatedError(
                    where=f"{path}.start_at", message=f"开始时间 {sess.start_at} 不在窗口 {sess.start}–{sess.end} 之内"
                )
            )
    return errors


def _check_series(doc: PlanFile) -> list[LocatedError]:
    """Each series (rows sharing a series key, or one row listing months) has each of its sessions exactly once."""
    errors = []
    groups: dict[str, list[tuple[int, EventIn]]] = {}
    for i, ev in enumerate(doc.events):
        if ev.series:
            groups.setdefault(f"系列 {ev.series!r}", []).append((i, ev))
        elif _quiet_series(ev, doc.plan.year):
            groups[f"events[{i}] 的“{normalize_date_text(ev.date_text)}”"] = [(i, ev)]
    for name, rows in groups.items():
        first_i, first = rows[0]
        series = _quiet_series(first, doc.plan.year)
        seen: dict[tuple[date, date], str] = {}
        for i, ev in rows:
            if ev.hosts != first.hosts or ev.type != first.type or ev.title != first.title:
                errors.append(
                    LocatedError(
                        where=f"events[{i}]", message=f"{name} 各行的名称、类型和主办单位应与 events[{first_i}] 一致"
                    )
                )
            if normalize_date_text(ev.date_text) != normalize_date_text(first.date_text):
                message = f"{name} 各行的日期应与 events[{first_i}] 一致：{first.date_text!r}"
                errors.append(LocatedError(where=f"events[{i}].date_text", message=message))
            for k, sess in enumerate(ev.sessions):
                where = f"events[{i}].sessions[{k}]"
                if (sess.start, sess.end) in seen:
                    earlier = seen[sess.start, sess.end]
                    errors.append(
                        LocatedError(where=where, message=f"{name} 在 {sess.start}–{sess.end} 已有场次（{earlier}）")
                    )
                seen.setdefault((sess.start, sess.end), where)
        missing = [w.text for w in series.windows if (w.start, w.end) not in seen] if series else []
        if missing:
            message = f"{name} 缺少场次：{'、'.join(missing)}（共应有 {len(series.windows) if series else 0} 场）"
            errors.append(LocatedError(where=f"events[{first_i}].sessions", message=message))
    return errors


def _quiet_series(ev: EventIn, year: int) -> Series | None:
    try:
        return parse_series(ev.date_text, year=year)
    except DateTextError:
        return None  # reported with the row
