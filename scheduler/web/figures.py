"""The plan year at a glance for the dashboard: held vs planned, 定档率, outcome reports on time, projects signed
against the target and its pace, and two inline SVG charts (monthly held vs planned; completion per 板块), each
with the same figures as a text table."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from html import escape

from scheduler.reports.facts import Facts
from scheduler.reports.metrics import held_count, planned_count, reports_on_time, signed, unit_occurrences, ytd
from scheduler.reports.tables import pct
from scheduler.reports.targets import Targets


@dataclass
class YearFigures:
    """What the dashboard shows of the plan year as of one day."""

    held: int
    planned: int  # planned up to the end of the current month
    fixed: int  # occurrences with a day (fixed or held) among those whose window has opened
    opened: int
    reports_on_time: int
    reports_due: int
    signed: int
    amount: Decimal
    target: int | None  # sum of the 板块's 签约项目 targets
    pace: float  # 序时进度, %
    months: list[tuple[int, int, int]] = field(default_factory=list)  # (month, planned, held)
    units: list[tuple[str, int, int]] = field(default_factory=list)  # (板块, planned to date, held)

    @property
    def fixed_rate(self) -> float | None:
        return pct(self.fixed, self.opened)

    @property
    def on_time_rate(self) -> float | None:
        return pct(self.reports_on_time, self.reports_due)

    @property
    def signed_rate(self) -> float | None:
        return pct(self.signed, self.target)


def year_figures(facts: Facts, targets: Targets, today: date) -> YearFigures:
    """Count the plan year's figures as of `today` (a day after the year counts the whole year)."""
    as_of = min(today, date(facts.year, 12, 31))
    span = ytd(facts.year, as_of)
    active = [o for o in facts.occurrences if o.active]
    month_now = as_of.month if today.year == facts.year else 12
    opened = [o for o in active if o.window_start <= as_of]
    on_time = due = 0
    for u in facts.units:
        a, b = reports_on_time(facts, u.key, as_of)
        on_time, due = on_time + a, due + b
    n, amount = signed(facts, None, span)
    goal = [int(t["signed_projects"]) for t in targets.values() if "signed_projects" in t]
    return YearFigures(
        held=held_count(active, span),
        planned=planned_count(active, facts.year, range(1, month_now + 1)),
        fixed=sum(1 for o in opened if o.start_on is not None),
        opened=len(opened),
        reports_on_time=on_time,
        reports_due=due,
        signed=n,
        amount=amount,
        target=sum(goal) if goal else None,
        pace=round(month_now / 12 * 100, 2),
        months=[
            (m, planned_count(active, facts.year, [m]),
             sum(1 for o in active if o.held and o.start_on and o.start_on.year == facts.year
                 and o.start_on.month == m and o.start_on <= as_of))
            for m in range(1, 13)
        ],
        units=[
            (u.name, planned_count(unit_occurrences(facts, u.key), facts.year, range(1, month_now + 1)),
             held_count(unit_occurrences(facts, u.key), span))
            for u in facts.units
        ],
    )


def months_svg(fig: YearFigures) -> str:
    """Draw monthly planned (light) vs held (dark) bars; every bar has a <title> for screen readers and hover."""
    top = max([1, *(max(p, h) for _m, p, h in fig.months)])
    width, height, base = 600, 170, 140
    parts = [f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="各月计划与已举办活动数" '
             'class="figure" data-testid="chart-months">']
    for i, (m, planned, held) in enumerate(fig.months):
        x = 10 + i * 49
        for j, (value, cls, label) in enumerate(((planned, "bar-planned", "计划"), (held, "bar-held", "已举办"))):
            h = round(value / top * 110)
            parts.append(f'<rect class="{cls}" data-month="{m}" x="{x + j * 20}" y="{base - h}" width="18" '
                         f'height="{h}"><title>{m}月{label} {value} 场</title></rect>')
        parts.append(f'<text x="{x + 19}" y="{base + 16}" text-anchor="middle">{m}月</text>')
    parts.append("</svg>")
    return "".join(parts)


def units_svg(fig: YearFigures) -> str:
    """Draw each 板块's held ÷ planned-to-date as a horizontal bar (100 % at the right edge)."""
    row = 22
    height = row * len(fig.units) + 10
    parts = [f'<svg viewBox="0 0 600 {height}" role="img" aria-label="各板块活动完成情况" class="figure" '
             'data-testid="chart-units">']
    for i, (name, planned, held) in enumerate(fig.units):
        y = 5 + i * row
        share = min(held / planned, 1.0) if planned else 0.0
        label = f"{held}/{planned}" if planned else "尚无到期计划"
        parts.append(f'<text x="110" y="{y + 14}" text-anchor="end">{escape(name)}</text>')
        parts.append(f'<rect class="bar-planned" x="120" y="{y}" width="400" height="16"></rect>')
        parts.append(f'<rect class="bar-held" data-unit="{escape(name)}" x="120" y="{y}" width="{round(400 * share)}"'
                     f' height="16"><title>{escape(name)} 已举办 {label}</title></rect>')
        parts.append(f'<text x="528" y="{y + 13}">{label}</text>')
    parts.append("</svg>")
    return "".join(parts)
