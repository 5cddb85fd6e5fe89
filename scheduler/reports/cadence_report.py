"""Cadence for people: heatmaps as inline SVG (titles and labels, legend; no JavaScript) and report tables."""

from __future__ import annotations

from html import escape

from scheduler.reports.cadence import MONTH_STATES, WEEK_STATES, Cadence
from scheduler.reports.tables import Column, Report, Table

MONTH_COLORS = {
    "kept": "#2f7d32",
    "missed": "#c0392b",
    "fixed": "#3d7cc9",
    "planned": "#a9cbef",
    "possible": "#e4edf7",
    "gap": "#f2b36b",
}
WEEK_COLORS = {"logged": "#2f7d32", "missed": "#c0392b", "pending": "#f2d16b", "future": "#eef2f7"}
LABEL_W, CELL, GAP = 92, 34, 3


def _legend(colors: dict[str, str], labels: dict[str, str], y: int, width: int) -> str:
    parts, x = [], LABEL_W
    for state, color in colors.items():
        if x + 20 + 13 * len(labels[state]) > width and x > LABEL_W:  # wrap onto a second line
            x, y = LABEL_W, y + 18
        parts.append(
            f'<rect x="{x}" y="{y}" width="12" height="12" fill="{color}" stroke="#9aa5b1"/>'
            f'<text x="{x + 16}" y="{y + 11}" font-size="12">{escape(labels[state])}</text>'
        )
        x += 20 + 13 * len(labels[state])
    return f'<g class="legend">{"".join(parts)}</g>'


def month_heatmap(cad: Cadence) -> str:
    """Draw 板块 × month (月度有活动) with one titled cell per month."""
    rows = len(cad.units)
    width, height = LABEL_W + 12 * (CELL + GAP), 22 + rows * (CELL + GAP) + 48
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" width="{width * 1.4:.0f}" '
        f'aria-labelledby="hm-month-title" class="heatmap" data-testid="heatmap-month">',
        f'<title id="hm-month-title">{cad.year} 年月度有活动：各板块逐月情况（截至 {cad.today}）</title>',
    ]
    for m in range(1, 13):
        out.append(
            f'<text x="{LABEL_W + (m - 1) * (CELL + GAP) + CELL / 2}" y="14" font-size="12" '
            f'text-anchor="middle">{m}月</text>'
        )
    for i, (key, name) in enumerate(cad.units):
        y = 20 + i * (CELL + GAP)
        out.append(
            f'<text x="{LABEL_W - 6}" y="{y + CELL / 2 + 4}" font-size="12" text-anchor="end">{escape(name)}</text>'
        )
        for c in cad.months[key]:
            x = LABEL_W + (c.month - 1) * (CELL + GAP)
            detail = f"：{'、'.join(c.titles)}" if c.titles else ""
            out.append(
                f'<rect x="{x}" y="{y}" width="{CELL}" height="{CELL}" fill="{MONTH_COLORS[c.state]}" '
                f'data-state="{c.state}" data-unit="{escape(key)}" data-month="{c.month}">'
                f"<title>{escape(name)} {c.month}月：{escape(c.label)}{escape(detail)}</title></rect>"
            )
    out.append(_legend(MONTH_COLORS, MONTH_STATES, 26 + rows * (CELL + GAP), width))
    out.append("</svg>")
    return "".join(out)


def week_heatmap(cad: Cadence) -> str:
    """Draw 板块 × week (周周有洽谈), one titled cell per week."""
    keys = list(cad.weeks)
    if not keys:
        return ""
    n = len(cad.weeks[keys[0]])
    cell = 12
    width, height = LABEL_W + n * (cell + 2), 20 + len(keys) * (cell + 4) + 30
    names = dict(cad.units)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" width="{width * 1.4:.0f}" '
        f'aria-labelledby="hm-week-title" class="heatmap" data-testid="heatmap-week">',
        f'<title id="hm-week-title">{cad.year} 年周周有洽谈：各板块逐周填报情况（截至 {cad.today}）</title>',
    ]
    for j, w in enumerate(cad.weeks[keys[0]]):
        if w.week_start.day <= 7:
            out.append(f'<text x="{LABEL_W + j * (cell + 2)}" y="12" font-size="10">{w.week_start.month}月</text>')
    for i, key in enumerate(keys):
        y = 18 + i * (cell + 4)
        out.append(f'<text x="{LABEL_W - 6}" y="{y + 10}" font-size="11" text-anchor="end">{escape(names[key])}</text>')
        for j, w in enumerate(cad.weeks[key]):
            count = f"，{w.count} 场洽谈" if w.count is not None else ""
            out.append(
                f'<rect x="{LABEL_W + j * (cell + 2)}" y="{y}" width="{cell}" height="{cell}" '
                f'fill="{WEEK_COLORS[w.state]}" data-state="{w.state}">'
                f"<title>{escape(names[key])} {w.week_start} 当周：{WEEK_STATES[w.state]}{count}</title></rect>"
            )
    out.append(_legend(WEEK_COLORS, WEEK_STATES, 24 + len(keys) * (cell + 4), width))
    out.append("</svg>")
    return "".join(out)


def cadence_report(cad: Cadence, period_text: str) -> Report:
    """Return the cadence as tables (the text fallback of the heatmaps, and what exports carry)."""
    months = Table(
        "months",
        "月度有活动（板块 × 月）",
        [Column("unit", "板块")] + [Column(f"m{m}", f"{m}月") for m in range(1, 13)],
        note=(
            "已举办 / 未举办（已过去）/ 已定档（本月有确定日期）/ 计划内（待定档：窗口在本月内，尚无日期）/ "
            "窗口可能落在本月 / 预见空档（本月之后没有任何安排）。"
        ),
    )
    names = dict(cad.units)
    for key, cells in cad.months.items():
        months.rows.append({"unit": names[key], **{f"m{c.month}": c.label for c in cells}})
    themes = Table(
        "themes",
        "季度有主题",
        [
            Column("quarter", "季度", "int"),
            Column("theme", "主题"),
            Column("title", "主题活动"),
            Column("state", "情况"),
            Column("window_end", "窗口截止"),
        ],
    )
    for t in cad.themes:
        themes.rows.append(
            {
                "quarter": t.quarter,
                "theme": t.theme or "",
                "title": t.title or "",
                "state": t.label,
                "window_end": t.window_end.isoformat() if t.window_end else "",
            }
        )
    weeks = Table(
        "weeks",
        "周周有洽谈（截至今日）",
        [
            Column("unit", "板块"),
            Column("logged", "已填报周数", "int"),
            Column("missed", "漏报周数", "int"),
            Column("pending", "待填报", "int"),
            Column("missed_weeks", "漏报的周（周一）"),
        ],
    )
    for key, wcells in cad.weeks.items():
        weeks.rows.append(
            {
                "unit": names[key],
                "logged": sum(c.state == "logged" for c in wcells),
                "missed": sum(c.state == "missed" for c in wcells),
                "pending": sum(c.state == "pending" for c in wcells),
                "missed_weeks": "、".join(c.week_start.strftime("%m-%d") for c in wcells if c.state == "missed"),
            }
        )
    gaps = Table(
        "gaps", "预见空档与缺口", [Column("unit", "板块"), Column("month", "月份", "int"), Column("text", "说明")]
    )
    for g in cad.gaps:
        gaps.rows.append({"unit": names.get(g.unit, g.unit), "month": g.month, "text": g.text})
    report = Report(
        "cadence",
        period_text,
        f"{cad.year} 年活动节奏（季度有主题·月度有活动·周周有洽谈）",
        cad.today.isoformat(),
        [themes, months, weeks, gaps],
    )
    report.svg = month_heatmap(cad) + week_heatmap(cad)
    return report
