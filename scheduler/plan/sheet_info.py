"""The two optional sheets beside the plan table: 「计划信息」 (key, year, title, themes, series keys) and 「单位」.

「计划信息」 is two or three columns, 项目 | 值 | 适用活动: 计划编号, 年度, 标题, 来源, 发布日期, 时区, 第一季度主题 …
第四季度主题, 牵头办公室 (a unit as written), 产业链 and 板块 (、-lists),
产业链别名 (「生物医药：生命健康、医疗器械；…」, replacing the default aliases of the chains it names), one
活动类型 row per activity type when the plan has its own (值: the label, 适用活动: its key, else the label), and one
系列 row per series (值: the series key, 适用活动: the activity's 名称). 「单位」 lists units
the database lacks: 编号 (optional), 名称, 简称, 别名, 类别, 成员, 上级, 职责. In a Word file they are tables whose
header rows read 项目/值 and 名称/简称.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError

from scheduler.plan.grids import Grid
from scheduler.plan.models import OrgKind
from scheduler.plan.seed import OrganizationIn
from scheduler.plan.sheet_row import NOTHING, Units, norm, split_outside_brackets
from scheduler.validation import LocatedError, pydantic_message

INFO_NAME = "计划信息"
UNITS_NAME = "单位"
INFO_LABELS = {
    "计划编号": "key", "编号": "key", "年度": "year", "计划年度": "year", "标题": "title", "来源": "source",
    "发布日期": "published", "时区": "timezone", "系列": "series", "牵头办公室": "office", "办公室": "office",
    "办公室单位": "office", "产业链": "chains", "板块": "bankuai", "产业链别名": "chain_aliases", "活动类型": "types",
}
QUARTER_THEME = re.compile(r"^第?([一二三四1-4])季度主题$")
KIND_LABELS = {
    "市级部门": OrgKind.CITY_DEPARTMENT, "平台": OrgKind.PLATFORM, "国有平台": OrgKind.PLATFORM,
    "县(市、区)": OrgKind.DISTRICT, "县市区": OrgKind.DISTRICT, "园区": OrgKind.PARK, "群组": OrgKind.GROUP,
    "其他": OrgKind.EXTERNAL, "外部单位": OrgKind.EXTERNAL,
}
KIND_NAMES = {
    OrgKind.CITY_DEPARTMENT: "市级部门", OrgKind.PLATFORM: "平台", OrgKind.DISTRICT: "县（市、区）",
    OrgKind.PARK: "园区", OrgKind.GROUP: "群组", OrgKind.EXTERNAL: "其他",
}
UNIT_COLUMNS = {"编号": "id", "名称": "name", "简称": "short_name", "别名": "aliases", "类别": "kind",
                "成员": "members", "上级": "parent", "职责": "duties"}


@dataclass
class PlanInfo:
    """What the 「计划信息」 sheet says (None: not given)."""

    key: str | None = None
    year: int | None = None
    title: str | None = None
    source: str | None = None
    published: date | None = None
    timezone: str | None = None
    themes: dict[str, str] = field(default_factory=dict)
    series: dict[str, str] = field(default_factory=dict)  # normalized activity name → series key
    office: str | None = None  # a unit as written (name, short name, alias or id)
    chains: list[str] | None = None
    chain_aliases: dict[str, list[str]] | None = None  # chain → other names (「生物医药：生命健康、医疗器械」)
    types: dict[str, str] | None = None  # the plan's activity types, key → label (rows 活动类型 | label | key)
    bankuai: list[str] | None = None  # units as written
    places: dict[str, str] = field(default_factory=dict)  # field → the 值 cell it came from


def _find(grids: list[Grid], name: str, header: tuple[str, ...]) -> tuple[Grid, int] | None:
    for grid in grids:
        for i, row in enumerate(grid.rows[:5]):
            texts = {norm(c.text) for c in row}
            if set(header) <= texts and (norm(grid.name) == name or grid.word):
                return grid, i
    return None


def read_info(grids: list[Grid], errors: list[LocatedError]) -> tuple[PlanInfo, str]:
    """Read the 「计划信息」 sheet, if any; append located problems to `errors`."""
    info = PlanInfo()
    found = _find(grids, INFO_NAME, ("项目", "值"))
    if found is None:
        return info, "标题行"
    grid, header = found
    for row in grid.rows[header + 1 :]:
        label = norm(row[0].text) if row else ""
        value = row[1].text.strip() if len(row) > 1 else ""
        where = grid.where(row[0].row, 2, "值") if row else grid.name
        if not label or not value:
            continue
        if m := QUARTER_THEME.match(label):
            info.themes[str("一二三四".find(m[1]) + 1 if m[1] in "一二三四" else int(m[1]))] = value
            continue
        name = INFO_LABELS.get(label)
        if name is None:
            errors.append(LocatedError(where=grid.where(row[0].row, 1, "项目"), message=f"未知项目“{row[0].text}”"))
        elif name == "series":
            activity = row[2].text if len(row) > 2 else ""
            if not activity:
                errors.append(LocatedError(where=where, message="系列行需在第三列写明适用活动的名称"))
            info.series[norm(activity)] = value
        elif name == "year":
            if not value.isdigit():
                errors.append(LocatedError(where=where, message=f"年度“{value}”不是年份"))
            else:
                info.year = int(value)
        elif name in ("chains", "bankuai"):
            setattr(info, name, _list(value))
            info.places[name] = where
        elif name == "office":
            info.office, info.places[name] = value, where
        elif name == "types":
            key = (row[2].text.strip() if len(row) > 2 else "") or value  # a type the plan adds: its label
            info.types = (info.types or {}) | {key: value}
            info.places.setdefault(name, where)
        elif name == "chain_aliases":
            info.chain_aliases, info.places[name] = _aliases(value, where, errors), where
        elif name == "published":
            info.published = _date(row[1].value, value)
            if info.published is None:
                errors.append(LocatedError(where=where, message=f"发布日期“{value}”应写作 2027-01-22 或 2027年1月22日"))
        else:
            setattr(info, name, value)
    return info, grid.name


def header_vocabulary(info: PlanInfo, units: Units, errors: list[LocatedError]) -> dict[str, Any]:
    """Return the header's office, chains and 板块 as seed fields (unit names → ids); only those the sheet gives."""
    out: dict[str, Any] = {}
    if info.chains is not None:
        out["chains"] = info.chains
    if info.types is not None:
        out["types"] = info.types
    for name, written in (("office", [info.office] if info.office else None), ("bankuai", info.bankuai)):
        if written is None:
            continue
        ids = []
        for text in written:
            found = units.find(text) or (text if text in units.label else None)
            if found is None:
                errors.append(LocatedError(where=info.places[name], message=units.unknown(text)))
            else:
                ids.append(found)
        out[name] = ids[0] if name == "office" and ids else ids
    return out


def _aliases(text: str, where: str, errors: list[LocatedError]) -> dict[str, list[str]]:
    """Read 「生物医药：生命健康、医疗器械；新能源：风电」 (one chain per line or ；) into chain → aliases."""
    out: dict[str, list[str]] = {}
    for item in (i.strip() for i in re.split(r"[；;\n]", text)):
        chain, sep, names = item.partition("：") if "：" in item else item.partition(":")
        if item and (not sep or not chain.strip() or not _list(names)):
            message = f"产业链别名“{item}”应写作 产业链：别名、别名（多条用；分隔）"
            errors.append(LocatedError(where=where, message=message))
        elif item:
            out[chain.strip()] = _list(names)
    return out


def check_aliases(info: PlanInfo, chains: list[str], errors: list[LocatedError]) -> None:
    """An alias row may only name the plan's own chains."""
    for chain in info.chain_aliases or {}:
        if chain not in chains:
            message = f"产业链别名中的“{chain}”不是计划的产业链（{'、'.join(chains) or '无'}）"
            errors.append(LocatedError(where=info.places["chain_aliases"], message=message))


def _date(raw: Any, text: str) -> date | None:
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    m = re.fullmatch(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?", text.strip())
    try:
        return date(int(m[1]), int(m[2]), int(m[3])) if m else None
    except ValueError:
        return None


def unit_id(name: str) -> str:
    """Make a stable id for a unit listed without one (ids are ASCII; names are Chinese)."""
    return "u-" + hashlib.sha1(norm(name).encode()).hexdigest()[:8]  # noqa: S324  (a name, not a secret)


def stored_unit(org: Any) -> OrganizationIn:
    """Return a stored Organization row as the seed's OrganizationIn."""
    return OrganizationIn(
        id=org.key, name=org.name, short_name=org.short_name, aliases=list(org.aliases), kind=OrgKind(org.kind),
        duties=org.duties, members=list(org.members), parent=org.parent,
    )


def read_units(
    grids: list[Grid], known: list[OrganizationIn], errors: list[LocatedError]
) -> tuple[list[OrganizationIn], list[str]]:
    """Return the directory (the database's units, then the 「单位」 sheet's) and where each came from."""
    units: dict[str, dict[str, Any]] = {o.id: o.model_dump() for o in known}
    places = {o.id: f"数据库中的单位 {o.id}" for o in known}
    found = _find(grids, UNITS_NAME, ("名称", "简称"))
    rows: list[tuple[dict[str, Any], dict[str, str], Any]] = []
    if found is not None:
        grid, header = found
        cols = {UNIT_COLUMNS[norm(c.text)]: i for i, c in enumerate(grid.rows[header]) if norm(c.text) in UNIT_COLUMNS}
        stored = Units(known)
        for row in grid.rows[header + 1 :]:
            text = {key: row[i].text.strip() for key, i in cols.items()}
            if not any(text.values()):
                continue
            where = grid.where(row[0].row)
            name = text.get("name", "")
            org_id = text.get("id") or stored.find(name) or stored.find(text.get("short_name", "")) or unit_id(name)
            kind_text = text.get("kind", "")
            kind = KIND_LABELS.get(norm(kind_text)) or (OrgKind(kind_text) if kind_text in set(OrgKind) else None)
            if kind is None:
                errors.append(LocatedError(where=grid.where(row[0].row, cols.get("kind", 0) + 1, "类别"),
                                           message=f"未知单位类别“{kind_text}”（可选：{'、'.join(KIND_NAMES.values())}）"))
                continue
            units[org_id] = {
                "id": org_id, "name": name, "short_name": text.get("short_name") or name,
                "aliases": _list(text.get("aliases", "")), "kind": kind, "duties": text.get("duties") or None,
                "members": [], "parent": None,
            }
            places[org_id] = where
            rows.append((units[org_id], text, where))
    everyone = Units(OrganizationIn.model_construct(**u) for u in units.values())
    for unit, text, where in rows:
        for field_name in ("members", "parent"):
            ids = []
            for name in _list(text.get(field_name, "")):
                found_id = everyone.find(name) or (name if name in units else None)
                if found_id is None:
                    role = "成员" if field_name == "members" else "上级"
                    errors.append(LocatedError(where=where, message=f"{role}：{everyone.unknown(name)}"))
                else:
                    ids.append(found_id)
            unit[field_name] = ids if field_name == "members" else (ids[0] if ids else None)
    out = []
    for org_id, unit in units.items():
        try:
            out.append(OrganizationIn.model_validate(unit))
        except ValidationError as exc:
            for e in exc.errors(include_url=False):
                field_name = ".".join(map(str, e["loc"]))
                errors.append(LocatedError(where=places[org_id], message=f"{field_name}：{pydantic_message(e)}"))
    return out, [places[o.id] for o in out]


def _list(text: str) -> list[str]:
    if norm(text) in NOTHING:
        return []
    return [p for line in text.split("\n") for p in split_outside_brackets(line)]
