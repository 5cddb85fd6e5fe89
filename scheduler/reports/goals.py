"""Goals progress: a goal set's values, progress against pace and a chart (the set is data: `reports.goalsets`).

Cumulative goals count what was added from the set's first day; year-end-stock goals are totals at a date.
Derived goals are counted from recorded outcomes (signed projects by category, talent rows) and need the office's
confirmation; the others come from official statistics, entered or imported with their source and date.
Pace is linear over the set's horizon: cumulative goals pace from 0; stock goals pace from their first recorded
value (the baseline) to the target. A day no set covers gets a table that says so, not a pace.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from html import escape

from sqlmodel import Session, col, select

from scheduler.reports.export import quantity
from scheduler.reports.facts import Facts
from scheduler.reports.goalsets import ChosenSet, known_goal_keys
from scheduler.reports.models import Goal, GoalEntry
from scheduler.reports.tables import Column, Report, Table, pct

SEMANTICS_LABELS = {"cumulative": "{start}–{end} 累计新增", "stock": "年末总量"}
SOURCE_LABELS = {"derived": "由成效填报统计（需人工确认）", "manual": "统计数据录入/导入"}


def pace_fraction(day: date, start: date, end: date) -> float:
    """Return the share of the horizon `start` … `end` elapsed on `day` (0–1)."""
    span = (end - start).days + 1
    return min(max(((day - start).days + 1) / span, 0.0), 1.0)


def derived_value(goal: Goal, facts: Facts, start: date, as_of: date) -> Decimal:
    """Count a derived goal's value from recorded outcomes from `start` up to `as_of`."""
    if goal.derive.startswith("talent:"):
        level = goal.derive.split(":", 1)[1]
        return Decimal(sum(1 for t in facts.talents if t.level == level and start <= t.on <= as_of))
    return Decimal(sum(1 for p in facts.projects if p.category == goal.derive and start <= p.signed_on <= as_of))


def list_entries(*, session: Session) -> dict[str, list[GoalEntry]]:
    """Return every manual entry by goal, oldest first."""
    out: dict[str, list[GoalEntry]] = {}
    for e in session.exec(select(GoalEntry).order_by(col(GoalEntry.as_of))):
        out.setdefault(e.goal_key, []).append(e)
    return out


def add_entry(
    *, session: Session, goal_key: str, as_of: date, value: Decimal, source: str, by: str, now: datetime
) -> GoalEntry:
    """Record a goal's value as of a date (replacing an entry of the same day); the key is any stored set's goal."""
    known = known_goal_keys(session=session)
    if goal_key not in known:
        choices = "、".join(known) or "尚未导入发展目标：scheduler goals import seeds/goals_2025.toml"
        raise ValueError(f"未知目标 {goal_key[:40]!r}（可选：{choices}）")
    if not source.strip():
        raise ValueError("请填写数据来源（如：市统计局 2023 年统计公报）")
    entry = session.exec(select(GoalEntry).where(GoalEntry.goal_key == goal_key, GoalEntry.as_of == as_of)).first()
    if entry is None:
        entry = GoalEntry(goal_key=goal_key, as_of=as_of, value=value, source=source, entered_by=by, created_at=now)
    else:
        entry.value, entry.source, entry.entered_by, entry.created_at = value, source, by, now
    session.add(entry)
    session.flush()
    return entry


def _columns() -> list[Column]:
    return [
        Column("goal", "目标"),
        Column("target", "目标值", "qty"),
        Column("unit", "单位"),
        Column("semantics", "口径"),
        Column("source", "来源"),
        Column("value", "当前值", "qty"),
        Column("as_of", "数据日期"),
        Column("progress", "完成进度（%）", "pct"),
        Column("pace", "序时进度（%）", "pct"),
        Column("ahead", "超/欠进度（百分点）", "pp"),
        Column("evidence", "数据来源说明"),
    ]


def goals_report(facts: Facts, entries: dict[str, list[GoalEntry]], today: date, chosen: ChosenSet | None) -> Report:
    """Build the goals table of the set covering `today`: value, progress, pace and gap for each goal."""
    if chosen is None:
        table = Table("goals", "发展目标进度", _columns(),
                      note=f"没有覆盖 {today.isoformat()} 的发展目标：不计算序时进度。"
                      "导入目标集：scheduler goals import seeds/goals_2025.toml")
        report = Report("targets", str(today.year), "科技招商发展目标进度", today.isoformat(), [table])
        report.notes.append(table.note or "")
        report.svg = ""
        return report
    gs = chosen.goal_set
    start, end = gs.starts_on, gs.ends_on
    frac = pace_fraction(today, start, end)
    table = Table(
        "goals",
        f"{end.year} 年发展目标进度",
        _columns(),
        note=f"序时进度按 {start.isoformat()} 至 {end.isoformat()} 线性计算，今日为 {frac * 100:.2f}%。",
    )
    for g in chosen.goals:
        target = Decimal(g.target)
        rows = [e for e in entries.get(g.key, []) if e.as_of <= today]
        if g.source == "derived":
            value: Decimal | None = derived_value(g, facts, start, today)
            as_of, evidence = today.isoformat(), "成效填报中已签约/已引进的记录"
        elif rows:
            value, as_of, evidence = Decimal(rows[-1].value), rows[-1].as_of.isoformat(), rows[-1].source
        else:
            value, as_of, evidence = None, "", "尚未录入"
        baseline = Decimal(rows[0].value) if g.semantics == "stock" and rows else Decimal(0)
        progress = pct(value, target) if value is not None else None
        pace = (
            round(frac * 100, 2)
            if g.semantics == "cumulative"
            else pct(baseline + (target - baseline) * Decimal(str(frac)), target)
        )
        table.rows.append(
            {
                "goal": g.label,
                "target": quantity(target, g.unit),
                "unit": g.unit,
                "semantics": SEMANTICS_LABELS[g.semantics].format(start=start.year, end=end.year),
                "source": SOURCE_LABELS[g.source],
                "value": None if value is None else quantity(value, g.unit),
                "as_of": as_of,
                "progress": progress,
                "pace": pace,
                "ahead": None if progress is None or pace is None else round(progress - pace, 2),
                "evidence": evidence,
            }
        )
    report = Report("targets", str(today.year), f"{gs.title}进度", today.isoformat(), [table])
    report.notes.append(f"{gs.title}（{start.isoformat()} 至 {end.isoformat()}，来源：{gs.source}）。口径：{gs.basis}")
    report.svg = progress_svg(table.rows, f"{end.year} 年目标")
    return report


def progress_svg(rows: list[dict], name: str) -> str:
    """Draw progress against pace for each goal as an accessible inline SVG bar chart."""
    bar_x, bar_w, row_h = 250, 420, 28
    height = row_h * len(rows) + 50
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="900" '
        f'viewBox="0 0 760 {height}" '
        f'aria-labelledby="goals-title goals-desc" class="goals-chart">',
        f'<title id="goals-title">{escape(name)}：完成进度与序时进度</title>',
        '<desc id="goals-desc">每行一个目标；蓝色条为完成进度，竖线为序时进度。</desc>',
    ]
    for i, r in enumerate(rows):
        y = 10 + i * row_h
        progress = min(float(r["progress"] or 0), 100.0)
        pace = min(float(r["pace"] or 0), 100.0)
        text = (
            f"{r['goal']}：完成 {r['progress']:.2f}%，序时 {r['pace']:.2f}%"
            if r["progress"] is not None
            else f"{r['goal']}：尚无数据，序时 {r['pace']:.2f}%"
        )
        shown = "—" if r["progress"] is None else f"{r['progress']:.1f}%"
        fill = "#2f7d32" if (r["ahead"] or 0) >= 0 and r["progress"] is not None else "#b44d12"
        parts.append(
            f"<g><title>{escape(text)}</title>"
            f'<text x="{bar_x - 8}" y="{y + 17}" text-anchor="end" font-size="13">{escape(r["goal"])}</text>'
            f'<rect x="{bar_x}" y="{y + 4}" width="{bar_w}" height="16" fill="#eef2f7"/>'
            f'<rect x="{bar_x}" y="{y + 4}" width="{bar_w * progress / 100:.1f}" height="16" fill="{fill}"/>'
            f'<line x1="{bar_x + bar_w * pace / 100:.1f}" x2="{bar_x + bar_w * pace / 100:.1f}" y1="{y}" '
            f'y2="{y + 24}" stroke="#1f2933" stroke-width="2"/>'
            f'<text x="{bar_x + bar_w + 6}" y="{y + 17}" font-size="12">{shown}</text></g>'
        )
    y = 10 + len(rows) * row_h + 12
    parts.append(
        f'<g font-size="12"><rect x="{bar_x}" y="{y}" width="14" height="10" fill="#2f7d32"/>'
        f'<text x="{bar_x + 20}" y="{y + 10}">不欠进度</text>'
        f'<rect x="{bar_x + 100}" y="{y}" width="14" height="10" fill="#b44d12"/>'
        f'<text x="{bar_x + 120}" y="{y + 10}">欠进度或无数据</text>'
        f'<line x1="{bar_x + 250}" x2="{bar_x + 250}" y1="{y - 2}" y2="{y + 12}" stroke="#1f2933" stroke-width="2"/>'
        f'<text x="{bar_x + 258}" y="{y + 10}">序时进度</text></g></svg>'
    )
    return "".join(parts)
