"""The nomination form as data: parse a unit's posted list of people into clean rows with Chinese errors at the field
(pure: everything it checks against — dates, capacities, other units' mobiles, the deadline — is passed in)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from scheduler.logistics.models import ROLE_LABELS, ROOM_CHOICES, TRANSPORT_CHOICES
from scheduler.validation import text_problem

MAX_PEOPLE = 140  # rows one unit can post (far above any real delegation; 15 fields each stay under the
# link forms' 2,200-field cap, web.taskforms.MAX_FORM_FIELDS)
TRAVEL_SLACK = timedelta(days=3)  # travel and lodging dates must fall within the event ± 3 days
PERSON_FIELDS = ("id", "name", "org", "title", "role", "mobile", "email", "depart_on", "return_on", "transport",
                 "train_no", "checkin_on", "checkout_on", "room", "diet")
FIELD_LABELS = {"name": "姓名", "org": "单位", "title": "职务", "role": "角色", "mobile": "手机", "email": "邮箱",
                "depart_on": "出发日期", "return_on": "返回日期", "transport": "交通方式", "train_no": "车次/航班",
                "checkin_on": "入住日期", "checkout_on": "退房日期", "room": "单住/合住", "diet": "饮食需求"}
FORMULA_STARTS = ("=", "+", "-", "@")
MOBILE = re.compile(r"1[3-9][0-9]{9}", re.ASCII)
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
TRAIN_NO = re.compile(r"[A-Za-z0-9]{2,10}", re.ASCII)
ROLE_BY_LABEL = {label: str(role) for role, label in ROLE_LABELS.items()}


@dataclass(frozen=True, kw_only=True)
class NominationRules:
    """What a unit's list is checked against."""

    unit_name: str
    event_start: date  # Shanghai dates of the occurrence
    event_end: date
    capacity: int | None  # this unit's cap
    total_capacity: int | None  # the whole occurrence's cap
    others_count: int  # people the other units have on the list (declined ones excluded)
    other_mobiles: Mapping[str, str]  # mobile → the other unit's name
    collect: frozenset[str]  # "travel", "lodging", "diet"
    deadline_at: datetime
    known_ids: frozenset[int] = frozenset()  # this unit's stored people (a posted id must be one of them)


@dataclass
class ParsedList:
    """Clean people rows plus errors by field name (`p3-mobile`, or `people` for the whole list)."""

    people: list[dict[str, Any]] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def row_count(form: Mapping[str, str]) -> int:
    """Return how many person rows the form carries (p0-…, p1-…, until the first index with no field)."""
    n = 0
    while n < MAX_PEOPLE + 1 and any(f"p{n}-{f}" in form for f in PERSON_FIELDS):
        n += 1
    return n


def mask_mobile(mobile: str | None) -> str:
    """Return a mobile number as shown to people who may not see it in full: 138****5678."""
    if not mobile:
        return ""
    return f"{mobile[:3]}****{mobile[-4:]}" if len(mobile) >= 8 else "****"


def _text(form: Mapping[str, str], name: str, label: str, errors: dict[str, str], *, limit: int,
          formula_check: bool = True) -> str:
    value = (form.get(name) or "").strip()
    if (problem := text_problem(value, limit=limit)) is not None:
        errors[name] = f"{label}{problem}"
    elif formula_check and value.startswith(FORMULA_STARTS):
        errors[name] = f"{label}不能以“{value[0]}”开头（表格软件会把它当作公式执行），请删去该符号"
    return value


def _date(form: Mapping[str, str], name: str, label: str, errors: dict[str, str], rules: NominationRules
          ) -> date | None:
    value = (form.get(name) or "").strip()
    if not value:
        return None
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value, re.ASCII):
            raise ValueError(value)
        day = date.fromisoformat(value)
    except ValueError:
        errors[name] = f"{label}“{value[:20]}”不是有效日期（格式 2023-05-18）"
        return None
    low, high = rules.event_start - TRAVEL_SLACK, rules.event_end + TRAVEL_SLACK
    if not low <= day <= high:
        errors[name] = (f"{label} {day.isoformat()} 不在活动日期前后 3 天内"
                        f"（应在 {low.isoformat()} 至 {high.isoformat()} 之间）")
        return None
    return day


def _choice(form: Mapping[str, str], name: str, label: str, errors: dict[str, str], choices: tuple[str, ...],
            *, required: bool = False) -> str | None:
    value = (form.get(name) or "").strip()
    if not value:
        if required:
            errors[name] = f"请选择{label}"
        return None
    if value not in choices:
        errors[name] = f"{label}“{value[:20]}”不是可选项（可选：{'、'.join(choices)}）"
        return None
    return value


def _blank(form: Mapping[str, str], i: int) -> bool:
    return not any((form.get(f"p{i}-{f}") or "").strip() for f in PERSON_FIELDS if f not in ("id", "org", "role"))


def _person(form: Mapping[str, str], i: int, rules: NominationRules, errors: dict[str, str]) -> dict[str, Any]:
    p = f"p{i}-"
    row: dict[str, Any] = {"index": i}
    raw_id = (form.get(p + "id") or "").strip()
    row["id"] = int(raw_id) if raw_id.isascii() and raw_id.isdigit() and int(raw_id) in rules.known_ids else None
    row["name"] = _text(form, p + "name", "姓名", errors, limit=50)
    if not row["name"] and p + "name" not in errors:
        errors[p + "name"] = "请填写姓名"
    row["org"] = _text(form, p + "org", "单位", errors, limit=100) or rules.unit_name
    row["title"] = _text(form, p + "title", "职务", errors, limit=50)
    role = (form.get(p + "role") or "").strip()
    row["role"] = ROLE_BY_LABEL.get(role, role if role in ROLE_LABELS else None)
    if row["role"] is None:
        errors[p + "role"] = ("请选择角色" if not role else f"角色“{role[:20]}”不是可选项") + \
            f"（{'、'.join(ROLE_LABELS.values())}）"
    mobile = (form.get(p + "mobile") or "").strip().replace(" ", "").replace("-", "")
    if not mobile:
        errors[p + "mobile"] = "请填写手机号（用于行程联络和签到）"
    elif not MOBILE.fullmatch(mobile):
        errors[p + "mobile"] = f"手机号“{mobile[:20]}”无效：应为 11 位数字、以 1 开头"
    elif mobile in rules.other_mobiles:
        errors[p + "mobile"] = (f"手机号 {mask_mobile(mobile)} 已在{rules.other_mobiles[mobile]}的名单中："
                                "同一人不能由两个单位报名，请与对方核实")
    row["mobile"] = mobile
    email = _text(form, p + "email", "邮箱", errors, limit=254)
    if email and p + "email" not in errors and not EMAIL.fullmatch(email):
        errors[p + "email"] = f"邮箱“{email[:40]}”格式不正确"
    row["email"] = email or None
    for key in ("depart_on", "return_on", "transport", "train_no", "checkin_on", "checkout_on", "room", "diet"):
        row[key] = None
    if "travel" in rules.collect:
        row["depart_on"] = _date(form, p + "depart_on", "出发日期", errors, rules)
        row["return_on"] = _date(form, p + "return_on", "返回日期", errors, rules)
        if row["depart_on"] and row["return_on"] and row["return_on"] < row["depart_on"]:
            errors[p + "return_on"] = (f"返回日期 {row['return_on'].isoformat()} 早于出发日期 "
                                       f"{row['depart_on'].isoformat()}")
        row["transport"] = _choice(form, p + "transport", "交通方式", errors, TRANSPORT_CHOICES)
        train = _text(form, p + "train_no", "车次/航班", errors, limit=32)
        if train and p + "train_no" not in errors and not TRAIN_NO.fullmatch(train):
            errors[p + "train_no"] = f"车次/航班“{train[:20]}”格式不正确（如 G7081、MU2513）"
        row["train_no"] = train.upper() or None
    if "lodging" in rules.collect:
        row["checkin_on"] = _date(form, p + "checkin_on", "入住日期", errors, rules)
        row["checkout_on"] = _date(form, p + "checkout_on", "退房日期", errors, rules)
        if row["checkin_on"] and row["checkout_on"] and row["checkout_on"] <= row["checkin_on"]:
            errors[p + "checkout_on"] = (f"退房日期 {row['checkout_on'].isoformat()} 应晚于入住日期 "
                                         f"{row['checkin_on'].isoformat()}")
        row["room"] = _choice(form, p + "room", "单住/合住", errors, ROOM_CHOICES)
    if "diet" in rules.collect:
        row["diet"] = _text(form, p + "diet", "饮食需求", errors, limit=100) or None
    return row


def parse_nomination(form: Mapping[str, str], rules: NominationRules, *, now: datetime) -> ParsedList:
    """Return the unit's list as clean rows, or errors at each field (blank rows are dropped, not refused)."""
    out = ParsedList()
    if now >= rules.deadline_at:
        out.errors["people"] = "报名已截止，本次提交未保存"
        return out
    n = row_count(form)
    if n > MAX_PEOPLE:
        out.errors["people"] = f"一次最多提交 {MAX_PEOPLE} 人"
        return out
    seen: dict[str, int] = {}
    for i in range(n):
        if _blank(form, i):
            continue
        row = _person(form, i, rules, out.errors)
        mobile = row["mobile"]
        if mobile and f"p{i}-mobile" not in out.errors:
            if mobile in seen:
                out.errors[f"p{i}-mobile"] = f"手机号 {mask_mobile(mobile)} 与第 {seen[mobile] + 1} 行重复"
            seen.setdefault(mobile, i)
        out.people.append(row)
    if not out.people and not out.errors:
        out.errors["people"] = "名单为空：请至少填写一人（如本单位不派员，请联系主办单位）"
    count = len(out.people)
    if rules.capacity is not None and count > rules.capacity:
        out.errors["people"] = (f"超出名额：本单位名额 {rules.capacity} 人，本次填写 {count} 人，"
                                f"请删减 {count - rules.capacity} 人后再提交")
    elif rules.total_capacity is not None and rules.others_count + count > rules.total_capacity:
        left = max(rules.total_capacity - rules.others_count, 0)
        out.errors["people"] = (f"超出总名额：本次活动共 {rules.total_capacity} 人，其他单位已报 "
                                f"{rules.others_count} 人，本单位最多还可报 {left} 人（本次填写 {count} 人）")
    if not out.ok:
        out.people = []
    return out
