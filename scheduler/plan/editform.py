"""The activity form of the plan editor, checked by the seed's own rules before anything is written.

The edited row is checked inside a copy of its whole plan as the file would hold it (other rows' sessions at the
windows their date texts say), so 序号, series, theme and unit rules see the other rows; each problem comes back at
the form field it is about (`title`, `hosts`, `s1-date_text` …) with the importer's Chinese message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlmodel import Session, col, select

from scheduler.plan.models import Event, EventOrganization, EventType, Occurrence, Organization, Plan, Precision, Role
from scheduler.plan.seed import EventIn, OrganizationIn, PlanFile, PlanHeader, SessionIn, check_plan
from scheduler.plan.sheet_row import NOTHING, Units, norm, split_outside_brackets
from scheduler.plan.vocabulary import plan_types
from scheduler.plan.windows import DateTextError, normalize_date_text, parse_series, parse_window
from scheduler.validation import located_errors

EVENT_FIELDS = ("quarter", "type", "theme", "title", "content", "locations", "date_text", "chains", "series")
SESSION_FIELDS = ("title", "location", "date_text")
MAX_SESSIONS = 60


class EditInvalid(ValueError):
    """A form that cannot be applied: Chinese messages by form field (`title`, `hosts`, `s1-date_text` …)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("；".join(errors.values()))
        self.errors = errors


@dataclass
class SessionForm:
    """One session row of the form; `key` is empty for a new row."""

    key: str = ""
    title: str = ""
    location: str = ""
    date_text: str = ""

    @property
    def blank(self) -> bool:
        return not (self.key or self.title.strip() or self.location.strip() or self.date_text.strip())


@dataclass
class EventForm:
    """The activity form as typed: units by name (、-separated), places and chains as lists in one line."""

    seq: str = ""
    quarter: str = ""
    type: str = ""
    theme: str = ""
    title: str = ""
    content: str = ""
    locations: str = ""
    date_text: str = ""
    hosts: str = ""
    co_organizers: str = ""
    chains: str = ""
    series: str = ""
    sessions: list[SessionForm] = field(default_factory=list)


# --- reading the stored row ----------------------------------------------------------------------------------------


def get_event(*, session: Session, plan: Plan, seq: int) -> Event | None:
    """Return the plan's row with 序号 `seq`, withdrawn or not."""
    return session.exec(select(Event).where(Event.plan_id == plan.id, Event.seq == seq)).first()


def event_sessions(*, session: Session, event: Event) -> list[Occurrence]:
    """Return an event's sessions in plan order, withdrawn ones included."""
    query = select(Occurrence).where(Occurrence.event_id == event.id).order_by(col(Occurrence.position))
    return list(session.exec(query))


# --- checking a form with the seed's rules ----------------------------------------------------------------------


def _header(plan: Plan) -> PlanHeader:
    return PlanHeader.model_construct(id=plan.key, year=plan.year, title=plan.title, source=plan.source,
                                      published=plan.published, timezone=plan.timezone, themes=dict(plan.themes),
                                      office=plan.office, chains=list(plan.chains),
                                      bankuai=list(plan.bankuai) or None, types=plan_types(plan))


def _org_in(org: Organization) -> OrganizationIn:
    return OrganizationIn.model_construct(id=org.key, name=org.name, short_name=org.short_name,
                                          aliases=list(org.aliases), kind=org.kind, duties=org.duties,
                                          members=list(org.members), parent=org.parent)


def _written_window(text: str, plan: Plan, start: date, end: date, precision: str) -> tuple[date, date, Precision]:
    """The window a date text says (what the file would hold), else the stored one."""
    try:
        w = parse_window(text, year=plan.year, published=plan.published)
    except DateTextError:
        return start, end, Precision(precision)
    return w.start, w.end, w.precision


def _stored_rows(session: Session, plan: Plan, skip: int | None, orgs: dict[int, Organization]) -> list[EventIn]:
    """The plan's other live rows as the file would hold them (sessions at their written windows)."""
    events = [e for e in session.exec(select(Event).where(Event.plan_id == plan.id, col(Event.withdrawn).is_(False)))
              if e.seq != skip]
    occs: dict[int | None, list[Occurrence]] = {}
    for o in session.exec(select(Occurrence).where(Occurrence.plan_id == plan.id, col(Occurrence.withdrawn).is_(False))
                          .order_by(col(Occurrence.position))):
        occs.setdefault(o.event_id, []).append(o)
    links: dict[int, dict[str, list[str]]] = {}
    query = select(EventOrganization).where(col(EventOrganization.event_id).in_([e.id for e in events]))
    for link in session.exec(query.order_by(col(EventOrganization.position))):
        role = "hosts" if link.role == Role.HOST else "co_organizers"
        links.setdefault(link.event_id, {"hosts": [], "co_organizers": []})[role].append(orgs[link.organization_id].key)
    rows = []
    for e in sorted(events, key=lambda e: e.seq):
        sessions = []
        for o in occs.get(e.id, []):
            start, end, precision = _written_window(o.date_text, plan, o.window_start, o.window_end, o.precision)
            sessions.append(SessionIn.model_construct(key=o.key, title=o.title, location=o.location,
                                                      date_text=o.date_text, start=start, end=end,
                                                      precision=precision, start_at=None, end_at=None))
        linked = links.get(e.id or 0, {"hosts": [], "co_organizers": []})
        rows.append(EventIn.model_construct(
            seq=e.seq, quarter=e.quarter, type=e.type, theme=e.theme, title=e.title, content=e.content,
            locations=list(e.locations), date_text=e.date_text, hosts=linked["hosts"],
            co_organizers=linked["co_organizers"], chains=list(e.chains), series=e.series, sessions=sessions))
    return rows


def _names(text: str) -> list[str]:
    return [] if norm(text) in NOTHING else [p for line in text.splitlines() for p in split_outside_brackets(line)]


def _session_dicts(form: EventForm, plan: Plan, seq: int, keys: list[str]) -> tuple[list[dict[str, Any]], list[str]]:
    rows = [(i, s) for i, s in enumerate(form.sessions) if not s.blank]
    if not rows:  # no rows typed: one session from the activity itself, or one per window of a series
        series = _quiet_series(form.date_text, plan.year)
        texts = [w.text for w in series.windows] if series else [form.date_text]
        titles = [f"{form.title.strip()}（{t}）" for t in texts] if series else [form.title]
        place = "、".join(_names(form.locations))
        rows = [(-1, SessionForm("", title, place, text)) for title, text in zip(titles, texts, strict=True)]
    out, prefixes = [], []
    taken = set(keys)
    n = 0
    for i, s in rows:
        key = s.key
        if not key:
            while True:
                n += 1
                key = f"{seq:02d}-{n}" if 0 < seq < 10000 else f"new-{n}"
                if key not in taken:
                    break
            taken.add(key)
        try:
            w = parse_window(s.date_text, year=plan.year, published=plan.published)
            start, end, precision = w.start, w.end, w.precision
        except DateTextError:  # the seed's window check says so, at this row's date field
            start, end, precision = date(plan.year, 1, 1), date(plan.year, 1, 1), Precision.DAY
        out.append({"key": key, "title": s.title, "location": s.location, "date_text": s.date_text, "start": start,
                    "end": end, "precision": precision})
        prefixes.append(f"s{i}" if i >= 0 else "")
    return out, prefixes


def _quiet_series(text: str, year: int) -> Any:
    try:
        return parse_series(text, year=year)
    except DateTextError:
        return None


_PATH = re.compile(r"^events\[\d+\](?:\.(?P<field>[a-z_]+))?(?:\[(?P<index>\d+)\])?(?:\.(?P<sub>[a-z_]+))?")


def _form_field(where: str, prefixes: list[str]) -> str:
    """Map a seed path of the edited row to its form field."""
    m = _PATH.match(where)
    if m is None or m["field"] is None:
        return "date_text"  # the row as a whole: a series' rows disagree on their date
    if m["field"] != "sessions":
        return m["field"]
    if m["index"] is None:
        return "sessions"
    prefix = prefixes[int(m["index"])]
    sub = m["sub"] if m["sub"] in SESSION_FIELDS else "date_text"
    if not prefix:  # derived from the row: its date, name and place are the row's
        return {"title": "title", "location": "locations"}.get(sub, "date_text")
    return f"{prefix}-{sub}"


def check_event_form(*, session: Session, plan: Plan, form: EventForm, event: Event | None = None) -> EventIn:
    """Read and check a form by the importer's rules; raise EditInvalid with each problem at its field."""
    errors: dict[str, str] = {}
    orgs = list(session.exec(select(Organization).order_by(col(Organization.id))))
    units = Units(_org_in(o) for o in orgs)
    raw: dict[str, Any] = {}
    for name in ("hosts", "co_organizers"):
        ids, problems = units.match(getattr(form, name).replace("\n", " "))
        raw[name] = ids
        if problems:
            errors[name] = "；".join(problems)
    seq = event.seq if event is not None else _int(form.seq)
    quarter = _int(form.quarter)
    theme = form.theme.strip() or None
    if form.type == EventType.QUARTERLY_THEME and theme is None and quarter is not None:
        theme = plan.themes.get(str(quarter))  # as the table reader does: 季度主题活动 takes its quarter's theme
    if len([s for s in form.sessions if not s.blank]) > MAX_SESSIONS:
        errors["sessions"] = f"场次过多（最多 {MAX_SESSIONS} 个）"
    stored = event_sessions(session=session, event=event) if event is not None else []
    keys = [o.key for o in session.exec(select(Occurrence).where(Occurrence.plan_id == plan.id))]
    sessions, prefixes = _session_dicts(form, plan, seq or 0, keys)
    raw |= {"seq": form.seq if seq is None else seq, "quarter": form.quarter if quarter is None else quarter,
            "type": form.type, "theme": theme, "title": form.title, "content": form.content.strip(),
            "locations": _names(form.locations), "date_text": form.date_text, "chains": _names(form.chains),
            "series": form.series.strip() or None, "sessions": sessions}
    try:
        ev_in = EventIn.model_validate(raw)
    except ValidationError as exc:
        for err in located_errors(exc.errors(include_url=False)):
            errors.setdefault(_form_field(f"events[0].{err.where}", prefixes), err.message)
        raise EditInvalid(errors) from None
    if event is None and get_event(session=session, plan=plan, seq=ev_in.seq) is not None:
        errors.setdefault("seq", f"序号 {ev_in.seq} 重复")  # a live row is caught below too; a withdrawn one only here
    live = {o.key for o in stored if not o.withdrawn}
    for s, prefix in zip(form.sessions, [f"s{i}" for i in range(len(form.sessions))], strict=True):
        if s.key and not s.blank and s.key not in live:
            errors.setdefault(f"{prefix}-title", f"场次 {s.key} 不属于本活动或已撤下")
    others = _stored_rows(session, plan, event.seq if event else None, {o.id or 0: o for o in orgs})
    doc = PlanFile.model_construct(plan=_header(plan), organizations=[_org_in(o) for o in orgs],
                                   events=[*others, ev_in])
    mine = f"events[{len(others)}]"
    for err in check_plan(doc):
        if err.where == mine or err.where.startswith((f"{mine}.", f"{mine}[")):
            errors.setdefault(_form_field(err.where, prefixes), err.message)
    if not errors and event is not None:
        errors |= _fixed_time_errors(stored, ev_in, prefixes)
    if errors:
        raise EditInvalid(errors)
    return ev_in


def _fixed_time_errors(stored: list[Occurrence], ev_in: EventIn, prefixes: list[str]) -> dict[str, str]:
    """Refuse a new date text that moves a session away from the time its host fixed (as the import keeps it)."""
    by_key = {o.key: o for o in stored}
    errors = {}
    for s, prefix in zip(ev_in.sessions, prefixes, strict=True):
        occ = by_key.get(s.key)
        if occ is None or occ.start_at is None:
            continue
        if normalize_date_text(occ.date_text) == normalize_date_text(s.date_text):
            continue
        day = occ.start_at.astimezone(ZoneInfo("Asia/Shanghai")).date()
        if not s.start <= day <= s.end:
            errors[f"{prefix}-date_text" if prefix else "date_text"] = (
                f"场次 {occ.key} 已定于 {day}，不在新日期 {s.date_text!r} 之内：请用“延期”改时间")
    return errors


def _int(text: str) -> int | None:
    return int(text.strip()) if text.strip().isdigit() else None
