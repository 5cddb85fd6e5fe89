"""Write a stored plan back as the office's table (XLSX or DOCX) in the 附件4 layout, so that it reads back equal.

Rows are written the way `sheet_row` reads them: one line per session in 日期/名称/地点 where sessions differ,
merged 活动类型 and 主办单位 runs within a quarter, quarter rows, a title row, a bold frozen header repeated on
every printed page (A4 landscape). An extra 产业链 column and the 「单位」 and 「计划信息」 sheets carry what the
eight printed columns cannot, so that export → import gives the same plan. Sessions whose names the layout cannot
express otherwise are written as labelled dated parts (「上海·复旦大学微电子学院：2023年7-9月」); those it cannot
express at all are written with the row's name and reported as warnings.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from scheduler.plan.catalog import get_organizations, get_plan, list_event_views
from scheduler.plan.models import OrgKind, Precision, type_label
from scheduler.plan.seed import EventIn, PlanFile, PlanHeader, SessionIn
from scheduler.plan.sheet_info import KIND_NAMES, stored_unit
from scheduler.plan.sheet_row import norm
from scheduler.plan.vocabulary import DEFAULT_TYPES
from scheduler.plan.windows import QUARTER_WORDS, parse_series

HEADER = ("序号", "地点", "名称", "内容", "日期", "主办单位", "承办（配合）单位", "活动类型", "产业链")
WIDTHS = (6, 12, 30, 42, 16, 16, 22, 18, 16)
MERGED = (5, 7)  # 主办单位 and 活动类型 (0-based): a run of equal values in a quarter is one merged cell


@dataclass
class TableRows:
    """The plan as table rows: the title, per quarter its event rows (cell texts), and what could not be kept."""

    title: str
    quarters: list[tuple[int, list[list[str]]]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def stored_plan(*, session: Session, key: str | None = None) -> PlanFile | None:
    """Return the stored plan (`key`, or the newest) as a PlanFile; fixed times are not part of the table."""
    plan = get_plan(session=session, key=key)
    if plan is None:
        return None
    orgs = get_organizations(session=session)
    views = list_event_views(session=session, plan=plan)
    used = {o.key for v in views for o in v.hosts + v.co_organizers}
    events = [
        EventIn(
            seq=v.event.seq, quarter=v.event.quarter, type=v.event.type, theme=v.event.theme,
            title=v.event.title, content=v.event.content, locations=list(v.event.locations),
            date_text=v.event.date_text, hosts=[o.key for o in v.hosts], co_organizers=[o.key for o in v.co_organizers],
            chains=list(v.event.chains), series=v.event.series,
            sessions=[
                SessionIn(key=o.key, title=o.title, location=o.location, date_text=o.date_text, start=o.window_start,
                          end=o.window_end, precision=Precision(o.precision))
                for o in v.occurrences
            ],
        )
        for v in views
    ]
    header = PlanHeader(id=plan.key, year=plan.year, title=plan.title, source=plan.source, published=plan.published,
                        timezone=plan.timezone, themes=dict(plan.themes), office=plan.office,
                        chains=list(plan.chains), bankuai=list(plan.bankuai) or None,
                        types=dict(plan.types) or dict(DEFAULT_TYPES))
    units = [stored_unit(o) for o in orgs.values() if not o.withdrawn or o.key in used]
    return PlanFile(plan=header, organizations=units, events=events)


def table_rows(doc: PlanFile) -> TableRows:
    """Lay the plan out as the office's table rows (cell texts), quarter by quarter in 序号 order."""
    label = {o.id: o.short_name for o in doc.organizations}
    out = TableRows(doc.plan.title)
    for quarter in sorted({e.quarter for e in doc.events}):
        rows = []
        for ev in sorted((e for e in doc.events if e.quarter == quarter), key=lambda e: e.seq):
            place, name, content, date_text, warning = _session_cells(ev)
            if warning:
                out.warnings.append(warning)
            kind = type_label(ev.type, doc.plan.types) + (f"（{ev.theme}）" if ev.theme else "")
            hosts = "\n".join(label[h] for h in ev.hosts)
            co = "、".join(label[c] for c in ev.co_organizers) or "—"
            rows.append([str(ev.seq), place, name, content, date_text, hosts, co, kind, "、".join(ev.chains) or "—"])
        out.quarters.append((quarter, rows))
    return out


def _session_cells(ev: EventIn) -> tuple[str, str, str, str, str | None]:
    """Return 地点, 名称, 内容, 日期 for one event so that reading them back gives its sessions."""
    sessions = ev.sessions
    if ev.series or parse_series(ev.date_text) is not None or len(sessions) <= 1:
        place = sessions[0].location if len(sessions) == 1 and not ev.series else "\n".join(ev.locations)
        return place.replace(" ", ""), ev.title, ev.content, ev.date_text, None
    k = len(sessions)
    titles = [s.title for s in sessions]
    places = [s.location for s in sessions]
    dates = [s.date_text for s in sessions]
    place_lines = places if len(set(places)) > 1 else places[:1]
    name, content, warning = ev.title, ev.content, None
    tags = [t[len(ev.title) + 1 : -1] for t in titles if t.startswith(f"{ev.title}（") and t.endswith("）")]
    if " ".join(titles) == ev.title:
        name = "\n".join(titles)
    elif norm(" ".join(titles)) == norm(ev.content):
        content = "\n".join(titles)
    elif len(tags) == k and tags != places and tags != dates and all("：" not in t and ":" not in t for t in tags):
        # each session named in its dated part: 「上海·复旦大学微电子学院：2023年7-9月」
        labelled = "\n".join(f"{t}：{d}" for t, d in zip(tags, dates, strict=True))
        return "\n".join(place_lines), name, content, labelled, None
    elif titles not in ([f"{ev.title}（{p}）" for p in places], [f"{ev.title}（{d}）" for d in dates]):
        warning = f"序号 {ev.seq} 的场次名称（{'、'.join(titles)}）无法在表格中表示，导出为“{ev.title}（地点或日期）”"
    spread = len(name.split("\n")) == k or len(place_lines) == k
    date_lines = dates[:1] if spread and len(set(dates)) == 1 else dates
    return "\n".join(place_lines), name, content, "\n".join(date_lines), warning


def _info_rows(doc: PlanFile) -> list[list[str]]:
    header = doc.plan
    rows = [["计划编号", header.id, ""], ["年度", str(header.year), ""], ["标题", header.title, ""],
            ["来源", header.source, ""], ["发布日期", header.published.isoformat(), ""], ["时区", header.timezone, ""]]
    rows += [[f"第{QUARTER_WORDS[int(q)]}季度主题", theme, ""] for q, theme in sorted(header.themes.items())]
    label = {o.id: o.short_name for o in doc.organizations}
    if header.office:
        rows.append(["牵头办公室", label.get(header.office, header.office), ""])
    rows.append(["产业链", "、".join(header.chains) or "—", ""])
    if header.types != DEFAULT_TYPES:  # one row per type: 值 its label, 适用活动 its key
        rows += [["活动类型", label, key] for key, label in header.types.items()]
    if header.bankuai is not None:
        rows.append(["板块", "、".join(label.get(k, k) for k in header.bankuai), ""])
    series = {e.series: e.title for e in sorted(doc.events, key=lambda e: e.seq) if e.series}
    return rows + [["系列", key, title] for key, title in series.items()]


def _unit_rows(doc: PlanFile) -> list[list[str]]:
    label = {o.id: o.short_name for o in doc.organizations}
    return [
        [o.id, o.name, o.short_name, "、".join(o.aliases), KIND_NAMES[OrgKind(o.kind)],
         "、".join(label.get(m, m) for m in o.members), label.get(o.parent, o.parent) if o.parent else "",
         o.duties or ""]
        for o in doc.organizations
    ]


UNIT_HEADER = ["编号", "名称", "简称", "别名", "类别", "成员", "上级", "职责"]
INFO_HEADER = ["项目", "值", "适用活动"]


def _runs(rows: list[list[str]], col: int) -> list[tuple[int, int]]:
    """Return (first, last) row indexes of runs of two or more equal values in a column."""
    runs, start = [], 0
    for i in range(1, len(rows) + 1):
        if i == len(rows) or rows[i][col] != rows[start][col]:
            if i - start > 1:
                runs.append((start, i - 1))
            start = i
    return runs


def write_xlsx(doc: PlanFile) -> tuple[bytes, list[str]]:
    """Write the plan as an XLSX workbook; return its bytes and warnings."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    layout = table_rows(doc)
    book = Workbook()
    sheet: Any = book.active
    sheet.title = "附件4"
    sheet.append([layout.title])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADER))
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A1"].alignment = Alignment(horizontal="center")
    sheet.append(list(HEADER))
    for cell in sheet[2]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for quarter, rows in layout.quarters:
        sheet.append([f"第{QUARTER_WORDS[quarter]}季度"])
        q_row = sheet.max_row
        sheet.merge_cells(start_row=q_row, start_column=1, end_row=q_row, end_column=len(HEADER))
        sheet.cell(q_row, 1).font = Font(bold=True)
        for row in rows:
            sheet.append([int(row[0]), *row[1:]])
            for cell in sheet[sheet.max_row]:
                cell.alignment = Alignment(vertical="center", wrap_text=True)
        for col in MERGED:
            for first, last in _runs(rows, col):
                sheet.merge_cells(start_row=q_row + 1 + first, start_column=col + 1, end_row=q_row + 1 + last,
                                  end_column=col + 1)
    for i, width in enumerate(WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width
    sheet.freeze_panes = "A3"
    sheet.print_title_rows = "2:2"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    for name, header, rows in (("单位", UNIT_HEADER, _unit_rows(doc)), ("计划信息", INFO_HEADER, _info_rows(doc))):
        extra = book.create_sheet(name)
        extra.append(header)
        for cell in extra[1]:
            cell.font = Font(bold=True)
        for row in rows:
            extra.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue(), layout.warnings


def write_docx(doc: PlanFile) -> tuple[bytes, list[str]]:
    """Write the plan as a DOCX document (A4 landscape, header row repeated on each page); return bytes, warnings."""
    import docx
    from docx.enum.section import WD_ORIENT
    from docx.oxml import OxmlElement
    from docx.shared import Cm

    layout = table_rows(doc)
    document = docx.Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Cm(29.7), Cm(21.0)
    section.left_margin = section.right_margin = Cm(1.5)
    document.add_paragraph().add_run(layout.title).bold = True
    total = 1 + sum(1 + len(rows) for _, rows in layout.quarters)
    table = document.add_table(rows=total, cols=len(HEADER))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, HEADER, strict=True):
        cell.paragraphs[0].add_run(text).bold = True
    table.rows[0]._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))
    r = 1
    for quarter, rows in layout.quarters:
        quarter_cell = table.cell(r, 0).merge(table.cell(r, len(HEADER) - 1))
        quarter_cell.paragraphs[0].add_run(f"第{QUARTER_WORDS[quarter]}季度").bold = True
        for i, row in enumerate(rows, start=r + 1):
            for j, text in enumerate(row):
                if j in MERGED and i > r + 1 and rows[i - r - 2][j] == text:
                    continue  # merged below
                _write_lines(table.cell(i, j), text)
        for col in MERGED:
            for first, last in _runs(rows, col):
                table.cell(r + 1 + first, col).merge(table.cell(r + 1 + last, col))
        r += 1 + len(rows)
    for width, column in zip(WIDTHS, table.columns, strict=True):
        for cell in column.cells:
            cell.width = Cm(width * 0.22)
    for name, header, rows in (("单位", UNIT_HEADER, _unit_rows(doc)), ("计划信息", INFO_HEADER, _info_rows(doc))):
        document.add_paragraph().add_run(name).bold = True
        extra = document.add_table(rows=1 + len(rows), cols=len(header))
        extra.style = "Table Grid"
        for i, row in enumerate([header, *rows]):
            for j, text in enumerate(row):
                _write_lines(extra.cell(i, j), text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue(), layout.warnings


def _write_lines(cell: Any, text: str) -> None:
    """Write a cell's lines as paragraphs (a line break in a Word cell is a new paragraph when read back)."""
    first, *rest = text.split("\n") if text else [""]
    cell.paragraphs[0].text = first
    for line in rest:
        cell.add_paragraph(line)
