"""The pure planner: (occurrences, organizations, contacts, rules, now) → the outbox rows wanted right now."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from scheduler.clock import at_local, local_date
from scheduler.mail.kinds import MailKind, occurrence_subject
from scheduler.mail.outbox import Recipient, WantedMail
from scheduler.mail.policy import DEFAULT_POLICY, MailPolicy
from scheduler.mail.senddays import provisional_context
from scheduler.plan.catalog import EventView, expand_members
from scheduler.plan.models import (
    STATUS_LABELS,
    EventType,
    Occurrence,
    OccurrenceStatus,
    Organization,
)
from scheduler.plan.rows import occurrence_when
from scheduler.plan.windows import format_window
from scheduler.workdays import WorkCalendar

ORIGIN = "reminders"
REMINDER_KINDS = (MailKind.FIX_REQUEST, MailKind.FIX_NUDGE, MailKind.FIX_ESCALATION, MailKind.REMINDER,
                  MailKind.CHANGE_NOTICE)
class Rules(BaseModel):
    """When and to whom reminder mail goes for one activity type."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    request_days_before_window: int = 30
    nudge_every_days: int = 7  # 0 turns nudges off
    escalate_days_before_close: int = 7
    escalate_to: tuple[str, ...] | None = None  # None: the office unit of the occurrence's plan
    remind_days_before: tuple[int, ...] = (7, 1)
    send_at: time = time(9, 0)
    notify_changes: bool = True


@dataclass(frozen=True)
class RuleBook:
    """Default rules plus overrides per activity type."""

    default: Rules = field(default_factory=Rules)
    by_type: Mapping[str, Rules] = field(default_factory=dict)

    def for_type(self, event_type: str) -> Rules:
        """Return the rules for an activity type."""
        return self.by_type.get(event_type, self.default)

    @classmethod
    def from_overrides(cls, overrides: Mapping[str, Mapping[str, Any]]) -> RuleBook:
        """Build from {"default" | activity type: {field: value}}; unknown types or fields raise ValueError."""
        known = {str(t) for t in EventType} | {"default"}
        bad = set(overrides) - known
        if bad:
            raise ValueError(
                f"SCHEDULER_REMINDER_RULES: 未知活动类型 {'、'.join(sorted(bad))}（可选：{'、'.join(sorted(known))}）"
            )
        default = Rules(**overrides.get("default", {}))
        by_type = {t: Rules(**{**default.model_dump(), **v}) for t, v in overrides.items() if t != "default"}
        return cls(default=default, by_type=by_type)


@dataclass(frozen=True)
class PersonRef:
    """The planner's view of a contact (no database attachment)."""

    name: str
    email: str


@dataclass
class Plan:
    """Planner output: wanted rows and the organizations that would receive mail but have no contacts."""

    wanted: list[WantedMail] = field(default_factory=list)
    missing_contacts: set[str] = field(default_factory=set)


def window_close(occ: Occurrence) -> datetime:
    """Return the instant a window ends (midnight after its last day, Shanghai)."""
    return at_local(occ.window_end + timedelta(days=1), time(0, 0))


def _recipients(
    keys: Iterable[str], role: str, orgs: Mapping[str, Organization], contacts: Mapping[str, Sequence[PersonRef]],
    plan: Plan,
) -> list[Recipient]:
    out = []
    for key in expand_members(list(keys), dict(orgs)):
        people = contacts.get(key, ())
        if not people:
            plan.missing_contacts.add(key)
        org_name = orgs[key].short_name if key in orgs else key
        out += [Recipient(email=p.email, name=p.name, org_key=key, org_name=org_name, role=role) for p in people]
    return out


def _dedupe(recipients: Iterable[Recipient]) -> list[Recipient]:
    seen: set[str] = set()
    out = []
    for r in recipients:
        if r.email.lower() not in seen:
            seen.add(r.email.lower())
            out.append(r)
    return out


def occurrence_context(view: EventView, occ: Occurrence) -> dict[str, Any]:
    """Snapshot what a message about `occ` shows (event, when, place, host, co-organizers)."""
    return {
        "occurrence_id": occ.id,
        "occurrence_key": occ.key,
        "uid": occ.uid,
        "seq": view.event.seq,
        "event_title": view.event.title,
        "title": occ.title,
        "content": view.event.content,
        "type_label": view.type_label,
        "when": occurrence_when(occ),
        "window": format_window(occ.window_start, occ.window_end, occ.precision),
        "fixed": occ.start_at is not None,
        "location": occ.location,
        "hosts": [o.short_name for o in view.hosts],
        "co_organizers": [o.short_name for o in view.co_organizers],
        "status": occ.status,
        "status_label": STATUS_LABELS.get(OccurrenceStatus(occ.status), occ.status),
        "status_reason": occ.status_reason,
        "sequence": occ.sequence,
    }


def stated_days(occ: Occurrence) -> list[date]:
    """Return the dates a message about `occ` states: its window and, once fixed, its days."""
    days = [occ.window_start, occ.window_end]
    days += [local_date(at) for at in (occ.start_at, occ.end_at) if at is not None]
    return days


def plan_mail(
    views: Sequence[EventView],
    orgs: Mapping[str, Organization],
    contacts: Mapping[str, Sequence[PersonRef]],
    rules: RuleBook,
    now: datetime,
    opted_out: frozenset[str] = frozenset(),
    *,
    calendar: WorkCalendar,
    offices: Mapping[int, str] | None = None,
    policy: MailPolicy = DEFAULT_POLICY,
) -> Plan:
    """Return every row wanted at `now`; rows already expired are not wanted.

    Addresses in `opted_out` unsubscribed from routine reminders; requests, escalations and notices still reach them.
    Requests, nudges and escalations go out on `calendar`'s working days (the next one when due on a day off),
    reminders on the working day before; a date in a year `calendar` does not cover yet adds the provisional line.
    Escalations go to the office unit of each event's plan (`offices`: plan id → unit key) unless the rules name
    other units. Send times follow `policy` (sending hours; change notices at once by default; weekly nudges
    counted from the request's working day and capped).
    """
    plan = Plan()
    for view in views:
        if view.event.withdrawn:
            continue
        r = rules.for_type(view.event.type)
        if r.escalate_to is None:
            office = (offices or {}).get(view.event.plan_id)
            r = r.model_copy(update={"escalate_to": (office,) if office else ()})
        hosts = [o.key for o in view.hosts]
        cos = [o.key for o in view.co_organizers]
        for occ in view.occurrences:
            if occ.withdrawn:
                continue
            assert occ.id is not None, "the planner reads stored occurrences"
            base = {**occurrence_context(view, occ), **provisional_context(stated_days(occ), calendar)}
            for kind, rule, role_recipients, due, expires, extra in _rows_for(occ, r, hosts, cos, orgs, contacts, plan,
                                                                             calendar, policy):
                if expires is not None and (expires <= now or expires <= due):
                    continue  # expired, or moved onto the next row's day (which then goes instead)
                for rcpt in role_recipients:
                    if kind == MailKind.REMINDER and rcpt.email.lower() in opted_out:
                        continue
                    plan.wanted.append(
                        WantedMail(
                            kind=kind,
                            subject=occurrence_subject(occ.id),
                            rule=rule,
                            recipient=rcpt,
                            due_at=due,
                            expires_at=expires,
                            occurrence_id=occ.id,
                            sequence=occ.sequence,
                            context={**base, **extra, "org_name": rcpt.org_name, "role": rcpt.role},
                        )
                    )
    return plan


def _rows_for(
    occ: Occurrence, r: Rules, hosts: list[str], cos: list[str], orgs: Mapping[str, Organization],
    contacts: Mapping[str, Sequence[PersonRef]], plan: Plan, calendar: WorkCalendar, policy: MailPolicy,
) -> Iterable[tuple[str, str, list[Recipient], datetime, datetime | None, dict[str, Any]]]:
    """Yield (kind, rule, recipients, due, expires, extra context) for one occurrence."""
    status = occ.status
    if status in (OccurrenceStatus.HELD, OccurrenceStatus.REPORTED):
        return
    changed_at = occ.updated_at
    start_bound = occ.start_at if occ.start_at is not None else window_close(occ)
    everyone = _dedupe(
        _recipients(hosts, "host", orgs, contacts, plan) + _recipients(cos, "co_organizer", orgs, contacts, plan)
    )
    if r.notify_changes and occ.sequence > 0:
        # One notice per material change: the key carries the sequence, so the next change is a new row.
        notice_at = policy.place(changed_at, calendar, kind=MailKind.CHANGE_NOTICE, before=start_bound)
        yield MailKind.CHANGE_NOTICE, f"change:{occ.sequence}", everyone, notice_at, start_bound, {}
    if status == OccurrenceStatus.CANCELLED:
        return
    if occ.start_at is None:
        yield from _fix_rows(occ, r, hosts, orgs, contacts, plan, calendar, policy)
        return
    start_day = local_date(occ.start_at)
    # A reminder due on a day off goes on the working day before (never after the event); the rule keeps its
    # nominal day count, the text says how many days are really left.
    dues = [(days, policy.place_before(at_local(start_day - timedelta(days=days), r.send_at), calendar))
            for days in sorted(set(r.remind_days_before), reverse=True)]
    dues = [(days, due) for days, due in dues if due < occ.start_at]
    for i, (days, due) in enumerate(dues):
        # A reminder due before the last change is covered by that change's notice; a late one by the next reminder.
        if due < changed_at:
            continue
        expires = dues[i + 1][1] if i + 1 < len(dues) else occ.start_at
        rule = f"remind-{days}d:{start_day.isoformat()}"
        yield MailKind.REMINDER, rule, everyone, due, expires, {"days_before": (start_day - local_date(due)).days}


def _fix_rows(
    occ: Occurrence, r: Rules, hosts: list[str], orgs: Mapping[str, Organization],
    contacts: Mapping[str, Sequence[PersonRef]], plan: Plan, calendar: WorkCalendar, policy: MailPolicy,
) -> Iterable[tuple[str, str, list[Recipient], datetime, datetime | None, dict[str, Any]]]:
    closes = window_close(occ)
    window = f"{occ.window_start.isoformat()}..{occ.window_end.isoformat()}"
    extra = {"window_close": occ.window_end.isoformat()}
    host_rcpts = _dedupe(_recipients(hosts, "host", orgs, contacts, plan))
    request_due = max(at_local(occ.window_start - timedelta(days=r.request_days_before_window), r.send_at),
                      occ.updated_at)
    escalation_due = max(at_local(occ.window_end - timedelta(days=r.escalate_days_before_close), r.send_at),
                         request_due)
    # Nominal times above; each row goes out in the sending hours of a working day.
    request_sent = policy.place(request_due, calendar, before=closes)
    escalation_sent = policy.place(escalation_due, calendar, before=closes)
    yield MailKind.FIX_REQUEST, f"request:{window}", host_rcpts, request_sent, closes, extra
    if r.nudge_every_days > 0:
        # Weekly from the working day the request goes out (not the day the plan came out), at the rule's hour,
        # never sooner than the policy's first-nudge interval, and at most `max_weekly_nudges` times. Rule keys
        # count from the nominal request day, so a calendar edit re-dates a nudge in place.
        step = timedelta(days=r.nudge_every_days)
        anchor = at_local(local_date(request_sent), r.send_at)
        earliest = policy.first_nudge(request_sent, calendar)
        nudges: list[tuple[date, datetime]] = []  # (nominal day, sent)
        k = 1
        while len(nudges) < policy.max_weekly_nudges:
            due = max(anchor + k * step, earliest)
            if due >= escalation_due:
                break
            sent = policy.place(due, calendar)
            if sent > request_sent:  # a request moved past a holiday is not followed by a nudge the same morning
                nudges.append((local_date(request_due) + k * step, sent))
            k += 1
        for i, (nominal, sent) in enumerate(nudges):
            # Each nudge stands until the next one (the last until the escalation).
            nxt = nudges[i + 1][1] if i + 1 < len(nudges) else escalation_sent
            yield MailKind.FIX_NUDGE, f"nudge:{nominal.isoformat()}", host_rcpts, sent, nxt, extra
    if r.escalate_to:
        office = _dedupe(_recipients(r.escalate_to, "escalation", orgs, contacts, plan))
        yield MailKind.FIX_ESCALATION, f"escalate:{window}", office, escalation_sent, closes, extra
