"""The shape every report takes (titled tables of typed columns), so one exporter serves them all."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

# Column kinds: text, int, money (万元, 2 decimals), pct (percent, 2 decimals), pp (percentage points), score
NUMERIC_KINDS = {"int", "money", "pct", "pp", "score", "qty"}  # qty: a count (int) or an amount (2 decimals)


@dataclass
class Column:
    key: str
    label: str
    kind: str = "text"


@dataclass
class Table:
    key: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""


@dataclass
class Report:
    """A computed report: what, for when, as of which day, and its tables."""

    kind: str
    period: str
    title: str
    as_of: str  # ISO date the figures stand at
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    svg: str = ""  # inline chart (cadence heatmap, goal progress); never exported to CSV/XLSX

    def table(self, key: str) -> Table:
        """Return the table named `key`."""
        return next(t for t in self.tables if t.key == key)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data (numbers stay numbers)."""
        data = asdict(self)
        data.pop("svg")
        return jsonable(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        """Rebuild a report from `to_dict` output (frozen snapshots)."""
        tables = [
            Table(t["key"], t["title"], [Column(**c) for c in t["columns"]], t["rows"], t.get("note", ""))
            for t in data["tables"]
        ]
        return cls(
            data["kind"],
            data["period"],
            data["title"],
            data["as_of"],
            tables,
            data.get("notes", []),
            data.get("meta", {}),
        )


def jsonable(value: Any) -> Any:
    """Return `value` with Decimals as floats and dates as ISO text."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def pct(numerator: float | Decimal, denominator: float | Decimal | None) -> float | None:
    """Return numerator/denominator as a percentage rounded to 2 decimals (None without a denominator)."""
    if not denominator:
        return None
    return round(float(numerator) / float(denominator) * 100, 2)


def rank_desc(values: dict[str, float | None]) -> dict[str, int | None]:
    """Rank keys by value, highest first; equal values share a rank (1, 2, 2, 4); None gets no rank."""
    return {
        k: None if v is None else 1 + sum(1 for w in values.values() if w is not None and w > v)
        for k, v in values.items()
    }


def cell_value(value: Any, kind: str) -> Any:
    """Return what a cell holds: numbers for numeric columns, text otherwise (None stays empty)."""
    if value is None:
        return None
    if kind in NUMERIC_KINDS and isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return int(value) if kind == "int" or (kind == "qty" and isinstance(value, int)) else float(value)
    return str(value)


def display(value: Any, kind: str) -> str:
    """Format a value for a printed page."""
    if value is None or value == "":
        return "—"
    if kind == "qty" and isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if kind in ("pct", "pp", "score", "money", "qty") and isinstance(value, int | float | Decimal):
        text = f"{float(value):,.2f}"
        return ("+" + text) if kind == "pp" and float(value) > 0 else text
    return str(value)
