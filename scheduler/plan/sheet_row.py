"""One row of the office's plan table → one event: unit names as written, 活动类型 text, dated parts → sessions.

Session splitting follows what the table shows: one session per dated part of 日期 (one per line, or per year
written: 「2023 年 2 月 2023 年 3 月」); with one date, one per line of 名称, else one per line of 地点.
地点: each line is one trip. Several places on ONE line — 「日韩、欧美」, or as the notice prints them, 「日韩 欧美」 —
are one session visiting all of them; places on separate lines are one session each.
A session's name is, in order: the label of its dated part (「上海·复旦大学微电子学院：2023年7-9月」 names the
session 「名称（上海·复旦大学微电子学院）」), the matching line of 名称, the matching line of 内容 (the 高校院所
rows list one university per date), else the row's name with its place or date. The row's 日期 is its dated parts
without labels, each written once.
Chains: the 产业链 column when the table has one (the exporter always writes it); else the plan's chains named in
名称/内容 by name or alias (「生命健康」 → 生物医药, see `vocabulary.DEFAULT_CHAIN_ALIASES`).
Series (每两月, 3、6、9月) are expanded by the table reader, which sees every row of the series.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from scheduler.plan.models import EventType
from scheduler.plan.seed import OrganizationIn
from scheduler.plan.vocabulary import DEFAULT_CHAINS, DEFAULT_TYPES, chains_in
from scheduler.plan.windows import DateTextError, Series, parse_series, parse_window

NOTHING = {"", "—", "——", "-", "－", "–", "/", "无", "暂无", "—-"}
_LIST_SEPARATORS = re.compile(r"[、，,；;/]")
_YEAR_START = re.compile(r"(?<=\s)(?=\d{4}\s*年)")
_LABELLED = re.compile(r"^(?P<label>[^：:]+?)\s*[：:]\s*(?P<date>.+)$")
_PLACE_SEPARATORS = re.compile(r"[\s、，,；;/]+")


def norm(text: str) -> str:
    """Compare names as an office writes them: full-width brackets and digits unified, white space dropped."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def lines(text: str) -> list[str]:
    """Return the non-empty lines of a cell."""
    return [line.strip() for line in text.split("\n") if line.strip()]


def split_outside_brackets(text: str) -> list[str]:
    """Split a list written with 、，; but not inside brackets: 「各县（市、区）、沿江科创带园区」 → two names."""
    parts, depth, current = [], 0, ""
    for ch in text:
        depth += ch in "(（[【"
        depth -= ch in ")）]】"
        if depth <= 0 and _LIST_SEPARATORS.fullmatch(ch):
            parts.append(current)
            current, depth = "", 0
        else:
            current += ch
    parts.append(current)
    return [p.strip() for p in parts if p.strip()]


class Units:
    """The organization directory by every name a table may use (name, short name, aliases)."""

    def __init__(self, organizations: Iterable[OrganizationIn]) -> None:
        self.by_name: dict[str, str] = {}
        self.label: dict[str, str] = {}
        for org in organizations:
            self.label[org.id] = org.short_name
            for name in (org.name, org.short_name, *org.aliases):
                self.by_name.setdefault(norm(name), org.id)

    def find(self, name: str) -> str | None:
        """Return the id of the unit written `name`, or None."""
        return self.by_name.get(norm(name))

    def unknown(self, name: str) -> str:
        """Say that a unit is unknown, with the nearest known name when there is one."""
        close = difflib.get_close_matches(norm(name), list(self.by_name), n=1, cutoff=0.6)
        if close:
            return f"未知单位“{name}”（是否指 {self.label[self.by_name[close[0]]]}？）"
        return f"未知单位“{name}”（请检查名称，或在「单位」表中补充该单位）"

    def match(self, text: str) -> tuple[list[str], list[str]]:
        """Read a cell of unit names (one per line or space, or a 、-list) into ids; return ids and problems."""
        if norm(text) in NOTHING:
            return [], []
        whole = self.find(text)
        if whole:
            return [whole], []
        ids: list[str] = []
        problems: list[str] = []
        for token in text.split():
            found = self.find(token)
            if found:
                ids.append(found)
                continue
            for part in split_outside_brackets(token):
                found = self.find(part)
                if found:
                    ids.append(found)
                else:
                    problems.append(self.unknown(part))
        return list(dict.fromkeys(ids)), problems


def event_type(
    text: str, *, quarter: int, themes: dict[str, str], types: Mapping[str, str] = DEFAULT_TYPES
) -> tuple[str, str | None]:
    """Read 活动类型 by the plan's types (key → label): 「季度主题活动（科技成果）」 → quarterly_theme with its theme.

    Raise ValueError in Chinese naming the plan's types when the text is none of them."""
    flat = norm(text)
    by_label = {norm(label): key for key, label in types.items()}
    m = re.fullmatch(r"(?P<kind>[^()]+?)(?:\((?P<theme>[^()]*)\))?", flat)
    kind = (by_label.get(m["kind"]) or by_label.get(m["kind"] + "活动")) if m else None
    if m is None or kind is None:
        close = difflib.get_close_matches(flat, list(by_label), n=1, cutoff=0.5)
        labels = "、".join(types.values())
        guess = f"是否指 {types[by_label[close[0]]]}？" if close else ""
        hint = f"{guess}本计划的活动类型：{labels}"
        themed = "；季度主题活动写作 季度主题活动（科技成果）" if EventType.QUARTERLY_THEME in types else ""
        raise ValueError(f"无法识别的活动类型“{text}”（{hint}{themed}）")
    theme = (m["theme"] or "").strip() or None
    label = types[kind]
    if kind == EventType.QUARTERLY_THEME and theme is None:
        theme = themes.get(str(quarter))
        if theme is None:
            raise ValueError(f"{label}需写明主题，如 {label}（科技成果）")
    if kind != EventType.QUARTERLY_THEME and theme is not None:
        raise ValueError(f"只有季度主题活动带主题，“{text}”不应带括号")
    return kind, theme


def place_lines(text: str) -> list[list[str]]:
    """Read 地点 as trips: one per line, each line's places split on white space and 、 (「日韩 欧美」 → one trip)."""
    return [[p for p in _PLACE_SEPARATORS.split(line) if p] for line in lines(text)]


def labelled_part(part: str, *, year: int, published: date) -> tuple[str | None, str]:
    """Split a dated part written with a session label (「上海·复旦大学：2023年7-9月」) into label and date."""
    m = _LABELLED.match(part)
    if m and not _readable(part, year, published) and _readable(m["date"], year, published):
        return m["label"], m["date"]
    return None, part


def date_parts(text: str, *, year: int, published: date) -> list[str]:
    """Split 日期 into dated parts: one per line, and in a line one per year written (「2023 年 2 月 2023 年 3 月」)."""
    parts = []
    for line in lines(text):
        if _readable(line, year, published) or labelled_part(line, year=year, published=published)[0]:
            parts.append(line)
            continue
        pieces = [p.strip() for p in _YEAR_START.split(line) if p.strip()]
        if len(pieces) == 1:
            tokens = line.split()
            pieces = tokens if len(tokens) > 1 and all(_readable(t, year, published) for t in tokens) else [line]
        parts += pieces
    return parts


def _readable(text: str, year: int, published: date) -> bool:
    try:
        parse_window(text, year=year, published=published)
    except DateTextError:
        try:
            return parse_series(text, year=year) is not None
        except DateTextError:
            return False
    return True


@dataclass
class RowEvent:
    """An event read from one row: the seed fields, its series (expanded later) and what went wrong, by column."""

    fields: dict[str, Any]
    series: Series | None = None
    places: list[str] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (column key, message)


def build_event(
    seq: int,
    quarter: int,
    cell: Callable[[str], str],
    *,
    units: Units,
    year: int,
    published: date,
    themes: dict[str, str],
    has_chains: bool,
    chains: Sequence[str] = DEFAULT_CHAINS,
    chain_aliases: Mapping[str, Sequence[str]] | None = None,
    types: Mapping[str, str] = DEFAULT_TYPES,
) -> RowEvent:
    """Read one table row (cell(key) gives the text of a column) into an event and its sessions."""
    names, contents, trips = lines(cell("name")), lines(cell("content")), place_lines(cell("place"))
    places = ["、".join(trip) for trip in trips]
    title = " ".join(names)
    unlabelled = [labelled_part(p, year=year, published=published)[1] for p in lines(cell("date"))]
    date_text = " ".join(dict.fromkeys(unlabelled))
    out = RowEvent(
        {
            "seq": seq,
            "quarter": quarter,
            "title": title,
            "content": " ".join(contents),
            "locations": list(dict.fromkeys(p for trip in trips for p in trip)),
            "date_text": date_text,
            "series": None,
            "sessions": [],
        },
        places=places,
    )
    try:
        kind, theme = event_type(cell("type"), quarter=quarter, themes=themes, types=types)
        out.fields |= {"type": str(kind), "theme": theme}
    except ValueError as exc:
        out.problems.append(("type", str(exc)))
    for key, role in (("host", "hosts"), ("co", "co_organizers")):
        ids, problems = units.match(cell(key))
        out.fields[role] = ids
        out.problems += [(key, p) for p in problems]
    if has_chains:
        listed = [c for line in lines(cell("chains")) for c in split_outside_brackets(line)]
        out.fields["chains"] = [] if norm(cell("chains")) in NOTHING else listed
    else:
        out.fields["chains"] = chains_in([title, *contents], chains, chain_aliases)
    if not date_text:
        out.problems.append(("date", "日期为空"))
        return out
    try:
        out.series = parse_series(date_text, year=year)
    except DateTextError as exc:
        out.problems.append(("date", str(exc)))
        return out
    if out.series is not None and date_text != " ".join(lines(cell("date"))):
        out.problems.append(("date", "周期或月份列表的日期不能带场次名称（“名称：日期”只用于单个日期）"))
    elif out.series is None:
        _sessions(out, seq, title, names, contents, places, cell("date"), year=year, published=published)
    return out


def _sessions(
    out: RowEvent,
    seq: int,
    title: str,
    names: list[str],
    contents: list[str],
    places: list[str],
    date_cell: str,
    *,
    year: int,
    published: date,
) -> None:
    dates = date_parts(date_cell, year=year, published=published)
    k = len(dates) if len(dates) > 1 else len(names) if len(names) > 1 else max(len(places), 1)
    for key, label, count in (("name", "名称", len(names)), ("place", "地点", len(places))):
        if count > 1 and count != k:
            message = f"{label}有 {count} 行，而本行有 {k} 个场次（日期 {len(dates)} 个）：无法一一对应"
            out.problems.append((key, message))
    if out.problems:
        return
    for i in range(k):
        tag, part = labelled_part(dates[i] if len(dates) == k else dates[0], year=year, published=published)
        if tag is not None and len(dates) == k:
            name = f"{title}（{tag}）"
        elif k == 1:
            name = title
        elif len(names) == k:
            name = names[i]
        elif len(contents) == k:
            name = contents[i]
        else:
            name = f"{title}（{places[i] if len(places) == k else part}）"
        try:
            window = parse_window(part, year=year, published=published)
        except DateTextError as exc:
            out.problems.append(("date", str(exc)))
            continue
        out.fields["sessions"].append(
            {
                "key": f"{seq:02d}-{i + 1}",
                "title": name,
                "location": places[i] if len(places) == k else "、".join(places),
                "date_text": part,
                "start": window.start,
                "end": window.end,
                "precision": str(window.precision),
            }
        )
