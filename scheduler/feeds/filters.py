"""Feed names and filters: /feeds/{kind}/{value}.ics plus query parameters → a canonical FeedSpec, or a clear 404.

A spec without a plan filter means "the plans running on the day the feed is rendered" (/feeds/all.ics); `plan`
(path /feeds/plan/nantong-2027.ics or ?plan=nantong-2027) picks stored plans by key, running or not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

from scheduler.feeds.snapshot import EventRec, OrgRec, PlanRec, PlanSnapshot
from scheduler.plan.models import BANKUAI_KINDS, EVENT_TYPE_LABELS, OrgKind, type_label
from scheduler.plan.windows import QUARTER_NUMERALS, QUARTER_WORDS

PATH_KINDS = ("plan", "org", "bankuai", "type", "quarter", "chain")
QUERY_KEYS = (*PATH_KINDS, "windows")
MAX_NAME_CHARS = 200
_UNSAFE = re.compile(r"[\x00-\x1f\x7f\\]|\.\.|//|^/|^\.|/\.")
SUBSCRIBE_HINT = "可订阅的日历见 /subscribe"


class FeedNotFound(LookupError):
    """No feed answers this name or filter; the message says which part is wrong (Chinese)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class FeedSpec:
    """What one feed holds: filters OR-ed within a dimension, AND-ed across; canonical and hashable."""

    orgs: tuple[str, ...] = ()
    bankuai: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    quarters: tuple[int, ...] = ()
    chains: tuple[str, ...] = ()
    windows: bool = True
    private: bool = False
    plans: tuple[str, ...] = ()  # plan keys; () = the plans running on the day of rendering

    @property
    def query(self) -> str:
        """Return the canonical query string ('' for every running plan, unfiltered)."""
        pairs = [("plan", ",".join(self.plans)), ("org", ",".join(self.orgs)), ("bankuai", ",".join(self.bankuai))]
        pairs.append(("type", ",".join(self.types)))
        pairs += [("quarter", ",".join(map(str, self.quarters))), ("chain", ",".join(self.chains))]
        pairs = [(k, v) for k, v in pairs if v]
        if not self.windows:
            pairs.append(("windows", "0"))
        return urlencode(pairs, safe=",")


def split_feed_path(path: str, *, require_suffix: bool = True) -> tuple[str, str | None]:
    """Split 'org/kjj.ics' into ('org', 'kjj'); refuse anything that is not exactly a feed name."""
    shown = path[:MAX_NAME_CHARS]
    if len(path) > MAX_NAME_CHARS or _UNSAFE.search(path):
        raise FeedNotFound(f"订阅地址无效：/feeds/{shown}。{SUBSCRIBE_HINT}")
    if path.endswith(".ics"):
        path = path[:-4]
    elif require_suffix:
        raise FeedNotFound(f"订阅地址必须以 .ics 结尾：/feeds/{shown}。{SUBSCRIBE_HINT}")
    parts = path.split("/")
    if parts == ["all"]:
        return "all", None
    if len(parts) == 2 and parts[0] in (*PATH_KINDS, "private") and parts[1]:
        return parts[0], parts[1]
    raise FeedNotFound(f"没有这个日历订阅：/feeds/{shown}。{SUBSCRIBE_HINT}")


def find_org(orgs: dict[str, OrgRec], value: str) -> OrgRec | None:
    """Find an organization by key, full name, short name or alias."""
    if value in orgs:
        return orgs[value]
    for org in orgs.values():
        if value in (org.name, org.short_name) or value in org.aliases:
            return org
    return None


def _resolve_org(snap: PlanSnapshot, value: str, *, bankuai: bool) -> str:
    org = find_org(snap.orgs, value)
    if org is None:
        raise FeedNotFound(
            f"没有单位“{value}”。请使用单位代码（如 kjj、haian）或简称（如 市科技局、海安市）。{SUBSCRIBE_HINT}"
        )
    if bankuai and org.kind not in BANKUAI_KINDS:
        raise FeedNotFound(f"“{org.short_name}”不是板块（板块指县（市、区）和园区）。{SUBSCRIBE_HINT}")
    return org.key


def _resolve_type(snap: PlanSnapshot, value: str) -> str:
    types = snap.types() or {str(t): label for t, label in EVENT_TYPE_LABELS.items()}
    for key, label in types.items():
        if value in (key, label):
            return key
    names = "、".join(f"{key}（{label}）" for key, label in types.items())
    raise FeedNotFound(f"没有活动类型“{value}”。可用：{names}")


def _resolve_plan(snap: PlanSnapshot, value: str) -> str:
    plan = snap.plan_by_key(value)
    if plan is not None:
        return plan.key
    keys = "、".join(p.key for p in snap.plans.values())
    raise FeedNotFound(f"没有计划“{value}”。可用：{keys}。{SUBSCRIBE_HINT}")


def common_themes(plans: Iterable[PlanRec]) -> dict[str, str]:
    """Return the quarter themes the plans agree on (a quarter whose theme differs between plans has none)."""
    merged: dict[str, str] = {}
    differing: set[str] = set()
    for plan in plans:
        for number, theme in plan.themes.items():
            if merged.setdefault(number, theme) != theme:
                differing.add(number)
    return {n: t for n, t in merged.items() if n not in differing}


def _resolve_quarter(plans: list[PlanRec], value: str) -> int:
    text = value.upper().removeprefix("Q").removesuffix("季度")
    if text in QUARTER_NUMERALS:
        return QUARTER_NUMERALS[text]
    for plan in plans:
        for number, theme in plan.themes.items():
            if value == theme:
                return int(number)
    themes = "、".join(f"{n}（{t}）" for n, t in sorted(common_themes(plans).items()))
    raise FeedNotFound(f"没有季度“{value}”。请使用 1-4 或季度主题：{themes}")


def _resolve_chain(snap: PlanSnapshot, value: str) -> str:
    if value in snap.chains:
        return value
    raise FeedNotFound(f"计划中没有产业链“{value}”。可用：{'、'.join(snap.chains)}")


def resolve_spec(
    snap: PlanSnapshot,
    kind: str,
    value: str | None,
    params: Iterable[tuple[str, str]] = (),
    *,
    private: bool = False,
) -> FeedSpec:
    """Turn a path filter and query parameters into a canonical spec; unknown names raise FeedNotFound."""
    wanted: dict[str, list[str]] = {k: [] for k in QUERY_KEYS}
    if kind not in ("all", "private"):
        wanted[kind].append(value or "")
    for key, raw in params:
        if key not in wanted:
            raise FeedNotFound(f"未知的筛选参数“{key}”。可用：{'、'.join(QUERY_KEYS)}")
        items = [v.strip() for v in raw.split(",")]
        if not all(items):
            raise FeedNotFound(f"筛选参数 {key} 的值为空")
        wanted[key] += items
    plans = tuple(sorted({_resolve_plan(snap, v) for v in wanted["plan"]}))
    themed = [p for p in snap.plans.values() if p.key in plans] if plans else list(snap.plans.values())
    windows = True
    for flag in wanted.pop("windows"):
        if flag not in ("0", "1"):
            raise FeedNotFound(f"windows 只能是 0（不含时间待定的活动）或 1，收到“{flag}”")
        windows = flag == "1"
    return FeedSpec(
        orgs=tuple(sorted({_resolve_org(snap, v, bankuai=False) for v in wanted["org"]})),
        bankuai=tuple(sorted({_resolve_org(snap, v, bankuai=True) for v in wanted["bankuai"]})),
        types=tuple(sorted({_resolve_type(snap, v) for v in wanted["type"]})),
        quarters=tuple(sorted({_resolve_quarter(themed, v) for v in wanted["quarter"]})),
        chains=tuple(sorted({_resolve_chain(snap, v) for v in wanted["chain"]})),
        windows=windows,
        private=private,
        plans=plans,
    )


def selected_plans(spec: FeedSpec, snap: PlanSnapshot, today: date) -> list[PlanRec]:
    """Return the plans a feed covers on `today`: its plan filter, else every plan running that day."""
    if spec.plans:
        return [p for p in snap.plans.values() if p.key in spec.plans]
    return snap.running(today)


def involved_keys(selected: Iterable[str], orgs: dict[str, OrgRec]) -> frozenset[str]:
    """Return the keys whose events count for the selected organizations.

    A unit counts for itself, its sub-units (海门区科技局 for 海门区) and every group it belongs to (各县（市、区）
    for 海安市). A group counts only for itself: 各板块 does not pull in every 板块's own events.
    """
    keys: set[str] = set()
    for key in selected:
        keys.add(key)
        if orgs[key].kind == OrgKind.GROUP:
            continue
        keys |= {o.key for o in orgs.values() if o.parent == key}
        grew = True
        while grew:
            groups = {o.key for o in orgs.values() if o.kind == OrgKind.GROUP and keys.intersection(o.members)}
            grew = not groups <= keys
            keys |= groups
    return frozenset(keys)


def event_matcher(spec: FeedSpec, snap: PlanSnapshot, *, today: date) -> dict[int, bool]:
    """Return, for every event id, whether the spec's plans on `today` and its filters keep it."""
    plan_ids = {p.id for p in selected_plans(spec, snap, today)}
    org_keys = involved_keys(spec.orgs, snap.orgs) if spec.orgs else None
    bankuai_keys = involved_keys(spec.bankuai, snap.orgs) if spec.bankuai else None

    def keeps(ev: EventRec) -> bool:
        involved = set(ev.hosts) | set(ev.co_organizers)
        return (
            ev.plan_id in plan_ids
            and (org_keys is None or bool(org_keys & involved))
            and (bankuai_keys is None or bool(bankuai_keys & involved))
            and (not spec.types or ev.type in spec.types)
            and (not spec.quarters or ev.quarter in spec.quarters)
            and (not spec.chains or bool(set(spec.chains) & set(ev.chains)))
        )

    return {ev_id: keeps(ev) for ev_id, ev in snap.events.items()}


def spec_label(spec: FeedSpec, snap: PlanSnapshot, plans: list[PlanRec]) -> str:
    """Describe the filters (not the plans: the title names them) in Chinese for the calendar name ('' if none)."""
    themes = common_themes(plans)
    parts = [snap.orgs[k].short_name for k in (*spec.orgs, *spec.bankuai)]
    types = snap.types(plans)
    parts += [types.get(t) or type_label(t) for t in spec.types]
    parts += [f"{QUARTER_WORDS[q]}季度（{themes.get(str(q), '')}）".replace("（）", "") for q in spec.quarters]
    parts += [f"{c}产业链" for c in spec.chains]
    if not spec.windows:
        parts.append("仅已定档")
    return "·".join(parts)
