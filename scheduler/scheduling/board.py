"""The planning board (排期建议): one row per 板块 (city units together), months across; in each month the sessions
whose window touches it, with their fixed day, the published suggestion, and the checker's findings on fixed days."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from scheduler.scheduling.checker import PlanSnapshot, Severity, check_fixed
from scheduler.scheduling.publish import Suggestion

CITY_ROW = "市级"


@dataclass(frozen=True)
class Entry:
    """One session in one month cell."""

    key: str
    seq: int
    title: str
    fixed: date | None
    suggested: date | None
    why: str | None
    in_month: bool  # its (fixed, else suggested) day falls in this month; otherwise only its window does
    problems: tuple[str, ...] = ()
    blocked: bool = False


@dataclass
class BoardRow:
    """One 板块 (or the city units) across the plan's twelve months."""

    name: str
    months: dict[int, list[Entry]] = field(default_factory=lambda: {m: [] for m in range(1, 13)})

    @property
    def empty_months(self) -> list[int]:
        return [m for m, entries in self.months.items() if not any(e.in_month for e in entries)]


def board(snap: PlanSnapshot, published: dict[str, Suggestion]) -> list[BoardRow]:
    """Lay the plan out by 板块 and month (pure)."""
    findings = check_fixed(snap)
    rows: dict[str, BoardRow] = {}
    for slot in sorted(snap.slots, key=lambda s: (s.seq, s.key)):
        owners = [h for h in slot.hosts if h in snap.bankuai] or [CITY_ROW]
        suggestion = published.get(slot.key) if slot.days is None else None
        day = slot.days[0] if slot.days else (suggestion.day if suggestion else None)
        problems = tuple(f.reason for f in findings.get(slot.key, []) if f.severity != Severity.ADVICE)
        blocked = any(f.severity == Severity.BLOCK for f in findings.get(slot.key, []))
        lo, hi = slot.window
        for owner in owners:
            row = rows.setdefault(owner, BoardRow(snap.name(owner) if owner != CITY_ROW else CITY_ROW))
            for m in range(1, 13):
                first, last = date(snap.year, m, 1), date(snap.year + m // 12, m % 12 + 1, 1)
                if not (lo < last and hi >= first):
                    continue
                row.months[m].append(Entry(slot.key, slot.seq, slot.title, slot.days[0] if slot.days else None,
                                           suggestion.day if suggestion else None,
                                           suggestion.why if suggestion else None,
                                           day is not None and day.year == snap.year and day.month == m,
                                           problems, blocked))
    city = [rows.pop(CITY_ROW)] if CITY_ROW in rows else []
    return city + sorted(rows.values(), key=lambda r: r.name)
