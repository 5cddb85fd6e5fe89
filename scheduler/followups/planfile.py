"""The office's plan file through the browser: read it (JSON, XLSX or DOCX) against the stored units, preview the
merge as a dry run that is rolled back, listing every row it would change and every conflict, then import it for
real with an audit entry.

It lives in followups because that is the lowest layer that sees the importer (plan), who changed a field through a
form (followups.history annotates conflicts from the audit log) and the audit log itself; plan/ may import neither.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from scheduler.audit import ActorKind, AuditEntry, audit
from scheduler.followups.history import annotate_conflicts
from scheduler.plan.catalog import get_organizations, get_plan
from scheduler.plan.grids import MAX_TABLE_BYTES, table_format
from scheduler.plan.importer import ImportReport, import_plan
from scheduler.plan.merge import FIELD_LABELS, display, encode
from scheduler.plan.models import Event, EventOrganization, Occurrence, Organization, Plan, Role
from scheduler.plan.seed import MAX_SEED_BYTES, PlanFile, parse_plan_bytes
from scheduler.plan.sheet import TableOptions, read_plan_table
from scheduler.plan.sheet_info import stored_unit
from scheduler.validation import FileKind, InputInvalid

MAX_PLAN_FILE_BYTES = max(MAX_TABLE_BYTES, MAX_SEED_BYTES)
IMPORT_ACTION = "plan.import"
ACCEPTED = ("xlsx", "docx", "json")
TABLE_LABELS = {"plan": "计划", "organization": "单位", "event": "活动", "occurrence": "场次",
                "event_organization": "主办/承办单位"}
CHANGE_LABELS = {"created": "新增", "updated": "修改", "withdrawn": "撤下"}
PLAN_FIELDS = ("year", "title", "source", "published", "themes")
ORG_FIELDS = ("name", "short_name", "aliases", "kind", "parent", "withdrawn")
EVENT_FIELDS = ("quarter", "type", "theme", "title", "content", "locations", "date_text", "chains", "series",
                "withdrawn", "hosts", "co_organizers")
OCCURRENCE_FIELDS = ("title", "location", "date_text", "window", "start_at", "end_at", "status", "withdrawn")


@dataclass(frozen=True)
class FileOptions:
    """The plan metadata a table may take from the form (as the CLI's --key/--year/--title/--published)."""

    key: str | None = None
    year: int | None = None
    title: str | None = None
    published: date | None = None

    @property
    def given(self) -> list[str]:
        names = (("计划编号", self.key), ("年度", self.year), ("标题", self.title), ("发布日期", self.published))
        return [label for label, value in names if value]


def parse_options(*, key: str, year: str, title: str, published: str) -> tuple[FileOptions, dict[str, str]]:
    """Read the optional form fields; return the options and a Chinese problem per refused field."""
    errors: dict[str, str] = {}
    key, year, title, published = key.strip(), year.strip(), title.strip(), published.strip()
    if key and not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,63}", key):
        errors["key"] = "计划编号只能用小写字母、数字和连字符，如 nantong-2027"
    number = int(year) if year.isdigit() else None
    if year and (number is None or not 2000 <= number <= 2100):
        errors["year"] = f"年度 {year!r} 无效（2000–2100 之间的整数）"
    if len(title) > 200:
        errors["title"] = "标题过长（最多 200 字）"
    try:
        day = date.fromisoformat(published) if published else None
    except ValueError:
        day, errors["published"] = None, f"发布日期 {published!r} 无效（形如 2026-12-20）"
    return FileOptions(key or None, number, title or None, day), errors


def read_plan_upload(*, session: Session, data: bytes, filename: str, options: FileOptions) -> PlanFile:
    """Read an uploaded plan file, told by its content; raise InputInvalid naming every bad cell or field."""
    if not data:
        raise InputInvalid(filename or "（未选择文件）", "文件为空或未选择文件", kind=FileKind.PLAN)
    if len(data) > MAX_PLAN_FILE_BYTES:
        message = f"文件过大（{len(data)} 字节，上限 {MAX_PLAN_FILE_BYTES} 字节）"
        raise InputInvalid(filename, message, kind=FileKind.PLAN)
    kind = table_format(data, name=filename)  # refuses .xls/.doc, PDFs and renamed files with what they really are
    if kind is None:
        ext = filename.lower().rsplit(".", 1)[-1] if "." in filename else ""
        if ext != "json":
            message = "只接受 Excel（.xlsx）、Word（.docx）活动安排表或 JSON 计划文件（.json）"
            raise InputInvalid(filename, message, kind=FileKind.PLAN)
        if options.given:
            message = f"{'、'.join(options.given)} 只用于 Excel/Word 表格；JSON 计划文件自带这些信息，请留空"
            raise InputInvalid(filename, message, kind=FileKind.PLAN)
        return parse_plan_bytes(data, source=filename)
    units = [stored_unit(o) for o in get_organizations(session=session).values() if not o.withdrawn]
    newest = get_plan(session=session)
    prefix = re.sub(r"-\d{4}$", "", newest.key) if newest else "plan"
    table = TableOptions(key=options.key, year=options.year, title=options.title, published=options.published,
                         key_prefix=prefix)
    return read_plan_table(data, source=filename, organizations=units, options=table)


@dataclass
class RowChange:
    """One row the import adds, changes or withdraws, as the office knows it (序号, 场次, unit)."""

    action: str  # 新增, 修改 or 撤下
    where: str
    title: str
    details: list[str] = field(default_factory=list)
    feed_update: bool = False  # subscribers' calendars get a new version (SEQUENCE+1)

    def as_dict(self) -> dict[str, Any]:
        return {"action": self.action, "where": self.where, "title": self.title, "details": self.details,
                "feed_update": self.feed_update}


@dataclass
class PlanFileOutcome:
    """What importing one file does (or did): the plan, the importer's report and the rows it changes."""

    plan_key: str
    plan_title: str
    plan_year: int
    new_plan: bool
    report: ImportReport
    rows: list[RowChange]

    @property
    def needs_confirmation(self) -> bool:
        """Tell whether confirming would store anything (changes, or conflicts remembered so they are not repeated)."""
        return self.report.changes > 0 or bool(self.report.conflicts)

    def count_lines(self) -> list[str]:
        """Say per table what changes: `活动：新增 48`."""
        per: dict[str, list[str]] = {}
        for counted, n in sorted(self.report.counts.items()):
            table, change = counted.split(".", 1)
            if change in CHANGE_LABELS:
                per.setdefault(table, []).append(f"{CHANGE_LABELS[change]} {n}")
        return [f"{TABLE_LABELS.get(t, t)}：{'，'.join(parts)}" for t, parts in per.items()]

    def as_dict(self) -> dict[str, Any]:
        """Return what the pages show (also kept in the audit entry of a confirmed import)."""
        return {"plan": self.plan_key, "title": self.plan_title, "year": self.plan_year, "new_plan": self.new_plan,
                "changes": self.report.changes, "count_lines": self.count_lines(),
                "sequence_bumps": self.report.sequence_bumps,
                "conflicts": [c.as_dict() for c in self.report.conflicts], "rows": [r.as_dict() for r in self.rows]}


def preview_plan_file(*, session: Session, doc: PlanFile, now: datetime) -> PlanFileOutcome:
    """Run the whole import and roll it back: what it would change and every conflict, nothing written."""
    outcome = _run(session, doc, now)
    session.rollback()
    return outcome


def import_plan_file(*, session: Session, doc: PlanFile, now: datetime, actor: str, source: str,
                     digest: str) -> tuple[PlanFileOutcome, AuditEntry]:
    """Import the file for real and record it in the audit log (the caller commits)."""
    outcome = _run(session, doc, now)
    plan = session.exec(select(Plan).where(Plan.key == outcome.plan_key)).one()
    after = {"file": source, "sha256": digest, **outcome.as_dict(), "report": outcome.report.as_dict()}
    entry = audit(session=session, at=now, actor=actor, actor_kind=ActorKind.ADMIN, action=IMPORT_ACTION,
                  entity="plan", entity_id=plan.id, after=after)
    session.flush()
    return outcome, entry


def imported_entry(*, session: Session, entry_id: int) -> AuditEntry | None:
    """Return the audit entry of a confirmed import, None for any other id."""
    entry = session.get(AuditEntry, entry_id)
    return entry if entry is not None and entry.action == IMPORT_ACTION else None


def _run(session: Session, doc: PlanFile, now: datetime) -> PlanFileOutcome:
    before = _state(session, doc.plan.id)
    report = import_plan(session=session, doc=doc, now=now)
    annotate_conflicts(session=session, conflicts=report.conflicts)
    after = _state(session, doc.plan.id)
    new_plan = ("plan", doc.plan.id) not in before
    return PlanFileOutcome(doc.plan.id, doc.plan.title, doc.plan.year, new_plan, report, _row_changes(before, after))


State = dict[tuple[str, str], dict[str, Any]]


def _state(session: Session, plan_key: str) -> State:
    """Copy the plan's rows and the shared units as plain values, keyed by what the office calls them."""
    out: State = {}
    orgs = {o.id: o for o in session.exec(select(Organization))}
    for org in orgs.values():
        out["organization", org.key] = {n: encode(getattr(org, n)) for n in ORG_FIELDS}
    plan = session.exec(select(Plan).where(Plan.key == plan_key)).first()
    if plan is None:
        return out
    out["plan", plan.key] = {n: encode(getattr(plan, n)) for n in PLAN_FIELDS} | {"_title": plan.title}
    events = {e.id: e for e in session.exec(select(Event).where(Event.plan_id == plan.id))}
    links = session.exec(select(EventOrganization).where(col(EventOrganization.event_id).in_(list(events)))
                         .order_by(col(EventOrganization.position))).all()
    for event in events.values():
        values = {n: encode(getattr(event, n)) for n in EVENT_FIELDS if hasattr(event, n)}
        for name, role in (("hosts", Role.HOST), ("co_organizers", Role.CO_ORGANIZER)):
            values[name] = [orgs[x.organization_id].short_name for x in links
                            if x.event_id == event.id and x.role == role]
        out["event", f"{event.seq:05d}"] = values | {"_seq": event.seq, "_title": event.title}
    for occ in session.exec(select(Occurrence).where(Occurrence.plan_id == plan.id)):
        seq = events[occ.event_id].seq
        values = {n: encode(getattr(occ, n)) for n in OCCURRENCE_FIELDS if hasattr(occ, n)}
        values["window"] = f"{occ.window_start.isoformat()}–{occ.window_end.isoformat()}"
        out["event", f"{seq:05d}/{occ.key}"] = values | {"_seq": seq, "_key": occ.key, "_title": occ.title,
                                                          "_sequence": occ.sequence}
    return out


def _where(kind: str, values: dict[str, Any], key: str) -> str:
    if kind == "organization":
        return f"单位 {values['short_name']}"
    if kind == "plan":
        return f"计划 {key}"
    if "_key" in values:
        return f"序号 {values['_seq']} 场次 {values['_key']}"
    return f"序号 {values['_seq']}"


def _describe(name: str, value: Any) -> str:
    return value if name == "window" else display(name, value)


def _row_changes(before: State, after: State) -> list[RowChange]:
    """Compare two copies row by row: the plan, the units, then each 序号 with its 场次 in the plan's order."""
    rows: list[RowChange] = []
    created_events: set[str] = set()
    order = {"plan": 0, "organization": 1, "event": 2}
    for kind, key in sorted(after, key=lambda k: (order[k[0]], k[1])):
        new, old = after[kind, key], before.get((kind, key))
        where, title = _where(kind, new, key), str(new.get("_title", new.get("name", "")))
        if old is None:
            if kind == "event" and key.split("/")[0] in created_events:
                rows[-1].details.append(f"{new['date_text']} · {new['location']}")  # a session of a new row
                continue
            if kind == "event" and "/" not in key:
                created_events.add(key)
            details = [f"{new['date_text']} · {new['location']}"] if "_key" in new else []
            rows.append(RowChange("新增", where, title, details))
            continue
        changed = [n for n in new if not n.startswith("_") and new[n] != old.get(n)]
        bumped = new.get("_sequence", 0) != old.get("_sequence", 0)
        if not changed and not bumped:
            continue
        withdrawn = "withdrawn" in changed and new["withdrawn"] is True
        details = [f"{FIELD_LABELS.get(n, n)}：{_describe(n, old.get(n))} → {_describe(n, new[n])}"
                   for n in changed if n != "withdrawn"]
        rows.append(RowChange("撤下" if withdrawn else "修改", where, title, details, feed_update=bumped))
    return rows
