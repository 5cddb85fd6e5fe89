"""A plan's own vocabulary: its office unit, industry chains and 板块 — defaults, header checks and lookups.

The office unit receives escalations, the weekly overdue digest and the monthly report mail of its plan. A file
that names none gets `kjj` (the 2023 notice's 推进领导小组办公室, 市科技局) only when it lists such a unit; chains
default to the six of the 2023 notice; the 板块 default to every district and park unit the plan lists.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from sqlmodel import Session, col, select

from scheduler.plan.models import BANKUAI_KINDS, EVENT_TYPE_LABELS, Organization, OrgKind, Plan, PlanOrganization
from scheduler.validation import LocatedError

DEFAULT_OFFICE = "kjj"
DEFAULT_TYPES: dict[str, str] = {str(key): label for key, label in EVENT_TYPE_LABELS.items()}
DEFAULT_CHAINS = ("船舶海工", "新一代信息技术", "高端装备", "新材料", "新能源", "生物医药")
# Other words an office writes for each default chain (a table without a 产业链 column names a row's chains
# by these too): 「生命健康产业链」 is 生物医药, 「海上风电」 新能源, 「船舶与海洋工程」 船舶海工,
# 「微电子学院」 新一代信息技术.
# A plan with other chains gives its own in the 「计划信息」 sheet (产业链别名); only the plan's chains are matched.
DEFAULT_CHAIN_ALIASES: dict[str, tuple[str, ...]] = {
    "船舶海工": ("船舶", "海工", "海洋工程"),
    "新一代信息技术": ("微电子", "集成电路", "电子信息"),
    "高端装备": ("装备制造", "智能装备"),
    "新材料": ("先进材料",),
    "新能源": ("风电", "光伏", "储能", "氢能"),
    "生物医药": ("生命健康", "医药", "医疗器械"),
}
OFFICE_ROLE = "牵头办公室单位（接收定档升级提醒、逾期任务周报和月度报表邮件）"


def check_vocabulary(
    *, office: str | None, chains: Sequence[str], bankuai: Sequence[str] | None, kinds: Mapping[str, str]
) -> list[LocatedError]:
    """Check a plan header's office, chains and 板块 against the units it lists (`kinds`: unit id → kind)."""
    errors = []
    if office is None:
        errors.append(LocatedError(
            where="plan.office",
            message=f"未填写{OFFICE_ROLE}；单位表中也没有默认的 {DEFAULT_OFFICE}，请填写 plan.office（单位 id）"))
    elif office not in kinds:
        errors.append(LocatedError(where="plan.office", message=f"未知机构 id {office!r}（{OFFICE_ROLE}）"))
    elif kinds[office] == OrgKind.GROUP:
        errors.append(LocatedError(where="plan.office", message=f"{office!r} 是群组，{OFFICE_ROLE}应为一个单位"))
    for chain, n in Counter(chains).items():
        if n > 1:
            errors.append(LocatedError(where="plan.chains", message=f"产业链 {chain!r} 重复"))
    for i, key in enumerate(bankuai or ()):
        if key not in kinds:
            errors.append(LocatedError(where=f"plan.bankuai[{i}]", message=f"未知机构 id {key!r}"))
        elif kinds[key] == OrgKind.GROUP:
            errors.append(LocatedError(where=f"plan.bankuai[{i}]", message=f"{key!r} 是群组，板块应为单个单位"))
    return errors


def unknown_type(kind: str, types: Mapping[str, str]) -> str:
    """Say that an event has a type its plan does not list, with the plan's types."""
    allowed = "、".join(f"{label}（{key}）" if key != label else label for key, label in types.items())
    return f"未知活动类型 {kind!r}（本计划的活动类型：{allowed or '无'}；可在 plan.types 中增加）"


def unknown_chain(chain: str, chains: Sequence[str]) -> str:
    """Say that an event names a chain its plan does not list."""
    return f"未知产业链 {chain!r}（计划的产业链：{'、'.join(chains) or '无'}；可在 plan.chains 中增加）"


def chains_in(
    texts: Iterable[str], chains: Sequence[str], aliases: Mapping[str, Sequence[str]] | None = None
) -> list[str]:
    """Return the plan's industry chains a row's text names (by name or alias), in order of first mention.

    `aliases` maps a chain to its other names; None gives DEFAULT_CHAIN_ALIASES (for the chains the plan lists).
    """
    joined = " ".join(texts)
    words = DEFAULT_CHAIN_ALIASES if aliases is None else aliases
    found = []
    for chain in chains:
        positions = [joined.find(word) for word in (chain, *words.get(chain, ())) if word in joined]
        if positions:
            found.append((min(positions), chain))
    return [chain for _, chain in sorted(found)]


def city_of(key: str) -> str:
    """Return the city part of a plan or goal set key: `nantong-2023` → `nantong`, `xx-2030` → `xx`."""
    head, sep, tail = key.rpartition("-")
    return head if sep and tail.isdigit() else key


def plan_types(plan: Plan) -> dict[str, str]:
    """Return a stored plan's activity types (key → label); a plan stored before it listed any has the defaults."""
    return dict(plan.types) or dict(DEFAULT_TYPES)


def offices_by_plan(plans: Iterable[Plan]) -> dict[int, str]:
    """Return each plan's office unit key by plan id (plans stored without one are left out)."""
    return {p.id: p.office for p in plans if p.id is not None and p.office}


def plan_bankuai(*, session: Session, plan: Plan) -> list[str]:
    """Return the unit keys taking part in a plan's cadence and assessment: its list, else its district/park units."""
    if plan.bankuai:
        return list(plan.bankuai)
    rows = session.exec(select(Organization).join(
        PlanOrganization, col(PlanOrganization.organization_id) == col(Organization.id))
        .where(PlanOrganization.plan_id == plan.id)).all()
    return sorted(o.key for o in rows if o.kind in BANKUAI_KINDS and not o.members and not o.withdrawn)


def participant_offices(*, session: Session, plans: Sequence[Plan]) -> dict[str, list[str]]:
    """Return, per unit key, the office keys of the given plans the unit takes part in (plan order, no repeats)."""
    by_id = {p.id: p for p in plans}
    out: dict[str, list[str]] = {}
    rows = session.exec(select(PlanOrganization.plan_id, Organization.key).join(
        Organization, col(Organization.id) == col(PlanOrganization.organization_id))
        .where(col(PlanOrganization.plan_id).in_(list(by_id)))).all()
    order = {pid: i for i, pid in enumerate(by_id)}
    for plan_id, key in sorted(rows, key=lambda r: order[r[0]]):
        office = by_id[plan_id].office
        if office and office not in out.setdefault(key, []):
            out[key].append(office)
    return out
