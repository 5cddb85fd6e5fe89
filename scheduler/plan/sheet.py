"""Read the office's own plan table (附件4 layout, XLSX or DOCX) into the `PlanFile` the JSON seed gives.

The layout: a title row (「2027年科技招商活动安排表」), the header row 序号/地点/名称/内容/日期/主办单位/
承办（配合）单位/活动类型 (repeated after page breaks), quarter rows (第一季度 …) and one row per activity.
活动类型 and 主办单位 given once for a run of rows — a merged cell, or (活动类型 only, as text copied from the PDF)
blank cells below a value — apply to the rows they span within the quarter. Units come from the database and
from an optional 「单位」 sheet; plan metadata from an optional 「计划信息」 sheet, the caller's options and the
title row. Every problem is located by cell (`附件4!E14`, 「表格1 第14行 日期」) and 序号; the result then
passes the seed's whole-file validation.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from scheduler.plan.grids import MAX_TABLE_BYTES, Grid, read_docx, read_xlsx, table_format
from scheduler.plan.seed import OrganizationIn, PlanFile, check_plan
from scheduler.plan.sheet_info import PlanInfo, check_aliases, header_vocabulary, read_info, read_units
from scheduler.plan.sheet_row import Units, build_event, norm
from scheduler.plan.vocabulary import DEFAULT_CHAIN_ALIASES, DEFAULT_CHAINS, DEFAULT_TYPES
from scheduler.plan.windows import quarter_of
from scheduler.validation import FileKind, InputInvalid, LocatedError, located_errors, read_input_file

COLUMNS: dict[str, tuple[str, frozenset[str]]] = {
    "seq": ("序号", frozenset({"序号", "编号"})),
    "place": ("地点", frozenset({"地点", "活动地点"})),
    "name": ("名称", frozenset({"名称", "活动名称"})),
    "content": ("内容", frozenset({"内容", "活动内容"})),
    "date": ("日期", frozenset({"日期", "时间", "活动时间", "活动日期"})),
    "host": ("主办单位", frozenset({"主办单位", "主办"})),
    "co": ("承办（配合）单位", frozenset({"承办(配合)单位", "承办单位", "配合单位", "承办/配合单位"})),
    "type": ("活动类型", frozenset({"活动类型", "类型"})),
    "chains": ("产业链", frozenset({"产业链"})),
}
REQUIRED = ("seq", "place", "name", "date", "host", "type")
HEADER_TEXT = "、".join(label for key, (label, _) in COLUMNS.items() if key != "chains")
UNMERGEABLE = ("seq", "name", "date")  # each activity has its own 序号, 名称 and 日期
_QUARTER_ROW = re.compile(r"^第?([一二三四1-4])季度$")
_QUARTERS = {"一": 1, "二": 2, "三": 3, "四": 4, "1": 1, "2": 2, "3": 3, "4": 4}
_FIELD_COLUMN = {
    "seq": "seq", "quarter": "seq", "type": "type", "theme": "type", "title": "name", "content": "content",
    "locations": "place", "date_text": "date", "hosts": "host", "co_organizers": "co", "chains": "chains",
    "series": "date", "sessions": "date",
}


@dataclass(frozen=True)
class TableOptions:
    """Plan metadata given by the caller (CLI options); each wins over the 「计划信息」 sheet and the title row."""

    key: str | None = None
    year: int | None = None
    title: str | None = None
    published: date | None = None
    key_prefix: str = "plan"  # the city part of a default key: nantong → nantong-2027


@dataclass
class _Located:
    """Where each event (by index) and organization came from, to turn JSON paths back into cells."""

    events: list[tuple[int, Callable[[str], str]]] = field(default_factory=list)
    organizations: list[str] = field(default_factory=list)
    plan: str = "标题行"


def read_plan_table(
    data: bytes, *, source: str, organizations: Sequence[OrganizationIn] = (), options: TableOptions | None = None
) -> PlanFile:
    """Read an XLSX or DOCX plan table into a validated PlanFile; raise InputInvalid naming every bad cell."""
    if len(data) > MAX_TABLE_BYTES:
        raise _invalid(source, f"文件过大（{len(data)} 字节，上限 {MAX_TABLE_BYTES} 字节）")
    kind = table_format(data, name=source)
    if kind is None:
        raise _invalid(source, "不是 Excel（.xlsx）或 Word（.docx）文件")
    grids = read_xlsx(data, source=source) if kind == "xlsx" else read_docx(data, source=source)
    if not grids:
        raise _invalid(source, "文档中没有表格：请把活动安排表作为 Word 表格粘贴（不要用图片或文本框）")
    return _TableReader(grids, source, list(organizations), options or TableOptions()).read()


def read_plan_path(
    path: Path, *, organizations: Sequence[OrganizationIn] = (), options: TableOptions | None = None
) -> PlanFile:
    """Read a plan file of any accepted kind (.json, .xlsx, .docx; told by content) into a validated PlanFile."""
    from scheduler.plan.seed import parse_plan_bytes

    source = str(path)
    data = read_input_file(path, limit=MAX_TABLE_BYTES, kind=FileKind.PLAN)
    if table_format(data, name=source) is None:
        return parse_plan_bytes(data, source=source)
    return read_plan_table(data, source=source, organizations=organizations, options=options)


def _invalid(source: str, errors: list[LocatedError] | str) -> InputInvalid:
    return InputInvalid(source, errors, kind=FileKind.PLAN)


def header_columns(row: Sequence[Any]) -> dict[str, int] | None:
    """Map column keys to 0-based positions when a row is the plan's header row, else None."""
    found: dict[str, int] = {}
    for i, cell in enumerate(row):
        text = norm(cell.text)
        for key, (_, names) in COLUMNS.items():
            if text in names and key not in found:
                found[key] = i
    return found if "seq" in found and len(found) >= 5 else None


class _TableReader:
    def __init__(self, grids: list[Grid], source: str, known: list[OrganizationIn], options: TableOptions) -> None:
        self.grids, self.source, self.known, self.options = grids, source, known, options
        self.errors: list[LocatedError] = []
        self.where = _Located()

    def read(self) -> PlanFile:
        tables = [(g, i, cols) for g in self.grids for i, row in enumerate(g.rows) if (cols := header_columns(row))]
        if not tables:
            names = "、".join(f"「{g.name}」" for g in self.grids)
            raise _invalid(self.source, f"没有找到活动安排表：{names} 中都没有表头行（{HEADER_TEXT}）")
        first_grid, first_header, columns = tables[0]
        missing = [COLUMNS[k][0] for k in REQUIRED if k not in columns]
        if missing:
            where = first_grid.where(first_header + 1)
            raise _invalid(self.source, [LocatedError(where=where, message=f"表头缺少列：{'、'.join(missing)}")])
        info, self.where.plan = read_info(self.grids, self.errors)
        meta = self._meta(info, first_grid, first_header)
        units, self.where.organizations = read_units(self.grids, self.known, self.errors)
        meta |= header_vocabulary(info, Units(units), self.errors)
        check_aliases(info, list(meta.get("chains", DEFAULT_CHAINS)), self.errors)
        grids = [g for g in self.grids if any(t[0] is g for t in tables)]
        rows = self._rows(grids)
        events = self._events(rows, Units(units), meta, info, "chains" in columns)
        raw = {"plan": meta, "organizations": [u.model_dump() for u in units], "events": events}
        if self.errors:
            raise _invalid(self.source, self.errors)
        try:
            doc = PlanFile.model_validate(raw)
        except ValidationError as exc:
            raise _invalid(self.source, located_errors(exc.errors(include_url=False), where=self._cell_of)) from None
        errors = check_plan(doc)
        if errors:
            raise _invalid(self.source, [LocatedError(where=self._cell_of(e.where), message=e.message) for e in errors])
        return doc

    def _meta(self, info: PlanInfo, grid: Grid, header: int) -> dict[str, Any]:
        texts = [c.text for row in grid.rows[:header] for c in row if c.text and not c.merged] + [grid.title]
        title_row = next((t for t in texts if re.search(r"\d{4}\s*年", t)), "")
        year = self.options.year or info.year
        if year is None and (m := re.search(r"(\d{4})\s*年", title_row)):
            year = int(m[1])
        if year is None:
            message = "无法确定计划年度：标题行（如「2027年科技招商活动安排表」）中没有年份，请用 --year 给出"
            raise _invalid(self.source, message)
        title = self.options.title or info.title or re.sub(r"\s+", "", title_row) or f"{year}年科技招商活动安排表"
        return {
            "id": self.options.key or info.key or f"{self.options.key_prefix}-{year}",
            "year": year,
            "title": title,
            "source": info.source or f"{title}（{Path(self.source).name}）",
            "published": self.options.published or info.published or date(year, 1, 1),
            "timezone": info.timezone or "Asia/Shanghai",
            "themes": dict(info.themes),
        }

    def _rows(self, grids: list[Grid]) -> list[tuple[Grid, int, int, dict[str, int]]]:
        """Walk the table rows: (grid, row index, quarter, columns) per activity row; check quarters and merges."""
        out: list[tuple[Grid, int, int, dict[str, int]]] = []
        quarter: int | None = None
        seen: dict[int, str] = {}
        last_seq: int | None = None
        for grid in grids:
            columns: dict[str, int] | None = None
            for i, row in enumerate(grid.rows):
                cols = header_columns(row)
                if cols:
                    columns = cols
                    continue
                if columns is None or not any(c.text for c in row):
                    continue
                seq_cell = row[columns["seq"]]
                if m := _QUARTER_ROW.match(norm(seq_cell.text)):
                    quarter = _QUARTERS[m[1]]
                    self._check_quarter_row(grid, row, seq_cell.text)
                    continue
                where = grid.where(i + 1, seq_cell.col, "序号")
                seq = self._seq(seq_cell, where, last_seq, columns, row)
                if seq is None:
                    continue
                last_seq = seq
                if seq in seen:
                    self._add(f"{where}（序号 {seq}）", f"序号 {seq} 重复（已在 {seen[seq]}）")
                    continue
                seen[seq] = where
                if quarter is None:
                    message = "活动行之前没有季度标题行（如「第一季度」）：无法确定所属季度"
                    self.errors.append(LocatedError(where=f"{where}（序号 {seq}）", message=message))
                    continue
                self._check_merges(grid, i + 1, seq, columns)
                out.append((grid, i, quarter, columns))
        if not out and not self.errors:
            self.errors.append(LocatedError(where=grids[0].name, message="表头之下没有任何活动行"))
        return out

    def _add(self, where: str, message: str) -> None:
        self.errors.append(LocatedError(where=where, message=message))

    def _seq(self, cell: Any, where: str, last: int | None, columns: dict[str, int], row: Any) -> int | None:
        after = f"（上一行为序号 {last}）" if last is not None else "（表中第一行活动）"
        if cell.merged:
            self._add(f"{where}{after}", "序号单元格与上一行合并了：每项活动一行、各有序号")
            return None
        text = cell.text.strip().rstrip(".、")
        if not text:
            name = row[columns["name"]].text.replace("\n", " ") if "name" in columns else ""
            message = f"序号为空（本行名称：“{name[:30]}”）" if name else "序号为空，但本行有内容"
            self.errors.append(LocatedError(where=f"{where}{after}", message=message))
            return None
        if not text.isdigit() or not 1 <= int(text) <= 9999:
            self.errors.append(LocatedError(where=f"{where}{after}", message=f"序号“{cell.text}”不是 1-9999 的整数"))
            return None
        return int(text)

    def _check_quarter_row(self, grid: Grid, row: Any, label: str) -> None:
        r = row[0].row
        for cell in row:
            if cell.merged and any(m[0] < r and m[1] <= cell.col <= m[3] for m in grid.merges if m[0] <= r <= m[2]):
                merge = next(m for m in grid.merges if m[0] < r <= m[2] and m[1] <= cell.col <= m[3])
                message = f"合并单元格 {grid.span(merge)} 跨过了季度标题行「{label}」：合并只能在一个季度之内"
                self.errors.append(LocatedError(where=grid.where(r, cell.col), message=message))
                return
            if cell.text and norm(cell.text) != norm(label):
                message = f"季度标题行「{label}」中还有其他内容“{cell.text[:20]}”：活动应写在单独一行，并有序号"
                self.errors.append(LocatedError(where=grid.where(r, cell.col), message=message))
                return

    def _check_merges(self, grid: Grid, r: int, seq: int, columns: dict[str, int]) -> None:
        labels = {i + 1: COLUMNS[k][0] for k, i in columns.items()}
        for merge in grid.merges:
            r1, c1, r2, c2 = merge
            if not r1 <= r <= r2:
                continue
            if c2 > c1 and r == r1:
                names = "、".join(labels.get(c, f"第{c}列") for c in range(c1, c2 + 1))
                message = f"合并单元格 {grid.span(merge)} 把 {names} 合成了一格：每列应各填一格"
                self.errors.append(LocatedError(where=f"{grid.where(r, c1)}（序号 {seq}）", message=message))
            elif r2 > r1 and r == r1:
                key = next((k for k, i in columns.items() if i + 1 == c1), None)
                if key in UNMERGEABLE and key != "seq":
                    label = COLUMNS[key][0]
                    message = f"{label} 的合并单元格 {grid.span(merge)} 跨了 {r2 - r1 + 1} 行：每项活动各填一格"
                    self._add(f"{grid.where(r, c1, label)}（序号 {seq}）", message)

    def _events(
        self, rows: list[tuple[Grid, int, int, dict[str, int]]], units: Units, meta: dict[str, Any], info: PlanInfo,
        has_chains: bool,
    ) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        inherited: tuple[int, str] | None = None  # (quarter, 活动类型) of the row above, for blank cells below it
        previous: tuple[Grid, int] | None = None
        series_rows: dict[tuple[str, str], list[tuple[int, Any]]] = {}
        aliases = {**DEFAULT_CHAIN_ALIASES, **(info.chain_aliases or {})}
        for grid, i, quarter, columns in rows:
            row = grid.rows[i]
            seq = int(row[columns["seq"]].text.strip().rstrip(".、"))
            at = _at(grid, i + 1, columns, seq)
            if previous is not None and (previous[0] is not grid or _header_between(grid, previous[1], i)):
                inherited = None  # a page break: the PDF repeats the type after every header
            previous = (grid, i)

            def cell(key: str, row: Any = row, columns: dict[str, int] = columns) -> str:
                return row[columns[key]].text if key in columns else ""

            type_text = cell("type")
            if not type_text and inherited and inherited[0] == quarter:
                type_text = inherited[1]
            elif not type_text:
                self._add(at("type"), "活动类型为空，本季度上方也没有可沿用的活动类型")
                continue
            inherited = (quarter, type_text)
            if not cell("host"):
                self._add(at("host"), "主办单位为空（几行同一主办单位时请合并单元格）")

            def typed(key: str, cell: Callable[[str], str] = cell, type_text: str = type_text) -> str:
                return type_text if key == "type" else cell(key)

            ev = build_event(
                seq, quarter, typed, units=units,
                year=meta["year"], published=meta["published"], themes=info.themes, has_chains=has_chains,
                chains=meta.get("chains", DEFAULT_CHAINS), chain_aliases=aliases,
                types=meta.get("types", DEFAULT_TYPES),
            )
            self.errors += [LocatedError(where=at(key), message=msg) for key, msg in ev.problems]
            if ev.series is not None:
                series_rows.setdefault((norm(ev.fields["title"]), norm(ev.fields["date_text"])), []).append(
                    (len(events), ev)
                )
            if ev.fields.get("theme"):
                meta["themes"].setdefault(str(quarter), ev.fields["theme"])
            events.append(ev.fields)
            self.where.events.append((seq, at))
        for (title, _), group in series_rows.items():
            self._expand_series(events, group, info.series.get(title))
        return events

    def _expand_series(self, events: list[dict[str, Any]], group: list[tuple[int, Any]], key: str | None) -> None:
        several = len(group) > 1
        first_seq = events[group[0][0]]["seq"]
        for index, ev in group:
            fields = events[index]
            if several or ev.series.interval:
                fields["series"] = key or f"series-{first_seq}"
            windows = [w for w in ev.series.windows if not several or quarter_of(w.start) == fields["quarter"]]
            fields["sessions"] = [
                {
                    "key": f"{fields['seq']:02d}-{k}",
                    "title": f"{fields['title']}（{w.text}）",
                    "location": "、".join(ev.places),
                    "date_text": w.text,
                    "start": w.start,
                    "end": w.end,
                    "precision": str(w.precision),
                }
                for k, w in enumerate(windows, start=1)
            ]

    def _cell_of(self, path: Any) -> str:
        """Turn a seed path (`events[3].sessions[1].date_text`) into the cell it came from."""
        text = path if isinstance(path, str) else ".".join(str(p) for p in path)
        text = re.sub(r"\.(\d+)(?=\.|$)", r"[\1]", text)
        if m := re.match(r"^events\[(\d+)\](?:\.(\w+))?(?:\[(\d+)\])?(.*)$", text):
            _, at = self.where.events[int(m[1])]
            column = _FIELD_COLUMN.get(m[2] or "seq", "seq")
            suffix = f" 第 {int(m[3]) + 1} 个场次" if m[2] == "sessions" and m[3] is not None else ""
            return at(column) + suffix
        if m := re.match(r"^organizations\[(\d+)\]", text):
            return self.where.organizations[int(m[1])]
        if text.startswith("plan"):
            return f"{self.where.plan}（{text}）"
        return text


def _at(grid: Grid, r: int, columns: dict[str, int], seq: int) -> Callable[[str], str]:
    def where(key: str) -> str:
        label = COLUMNS[key][0] if key in COLUMNS else key
        col = columns.get(key, columns.get("content", columns["seq"])) + 1
        return f"{grid.where(r, col, label)}（序号 {seq}）"

    return where


def _header_between(grid: Grid, before: int, after: int) -> bool:
    return any(header_columns(grid.rows[j]) for j in range(before + 1, after))
