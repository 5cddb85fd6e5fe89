"""The pure follow-up planner: (occurrences, organizations, templates, stored tasks, now) → wanted tasks and mail."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from scheduler.clock import at_local, local_date, week_start
from scheduler.followups.checklists import ChecklistItem, items_for
from scheduler.followups.kinds import TASK_KIND_LABELS
from scheduler.followups.models import Task, TaskKind, TaskStatus
from scheduler.mail.kinds import MailKind, digest_subject, task_subject
from scheduler.mail.outbox import Recipient, WantedMail
from scheduler.mail.policy import DEFAULT_POLICY, MailPolicy
from scheduler.mail.senddays import provisional_lines, send_on_workday
from scheduler.plan.catalog import EventView, expand_members
from scheduler.plan.models import Occurrence, Organization
from scheduler.reminders.planner import PersonRef
from scheduler.workdays import WorkCalendar

ORIGIN = "followups"
FIX_REQUEST_DAYS = 30  # 定档 opens this many days before the window (as the reminders planner asks)
OUTCOME_DUE_WORKDAYS = 5
NUDGE_EVERY_DAYS = 7
# After this many nudges a task only appears in the weekly digest; a week's 洽谈 check-in is nudged once
# (next week's request reminds again), a month's lead check-in twice.
MAX_NUDGES = {TaskKind.OUTCOME: 4, TaskKind.CHECKLIST: 2, TaskKind.NEGOTIATION: 1, TaskKind.LEAD_CHECKIN: 2}
LEAD_CHECKIN_DUE_DAY = 10
SEND_AT = time(9, 0)


@dataclass(frozen=True)
class WantedTask:
    """One task the planner wants to exist (open), with its dates."""

    key: str
    kind: TaskKind
    title: str
    organization_key: str
    opens_on: date
    due_on: date
    occurrence_id: int | None = None
    assignee_role: str | None = None
    template_key: str | None = None
    period_start: date | None = None


def occurrence_day(occ: Occurrence) -> date | None:
    """Return the event day once fixed, else None."""
    return local_date(occ.start_at) if occ.start_at is not None else None


def occurrence_end_day(occ: Occurrence) -> date:
    """Return the day the occurrence ends: its fixed end (or start) day, else the window's last day."""
    if occ.end_at is not None:
        return local_date(occ.end_at)
    if occ.start_at is not None:
        return local_date(occ.start_at)
    return occ.window_end


def _host_key(view: EventView, orgs: Mapping[str, Organization]) -> str | None:
    keys = expand_members([o.key for o in view.hosts], dict(orgs))
    return keys[0] if keys else None


def _occurrence_tasks(
    view: EventView, occ: Occurrence, orgs: Mapping[str, Organization],
    templates: Mapping[str, tuple[ChecklistItem, ...]], stored: Mapping[str, Task], today: date,
    calendar: WorkCalendar,
) -> Iterable[WantedTask]:
    host = _host_key(view, orgs)
    if host is None or not occ.is_active:
        return
    label = occ.title
    fix_key = f"fix:occ:{occ.id}"
    if occ.start_at is None or fix_key in stored:
        yield WantedTask(fix_key, TaskKind.FIX_DATE, f"定档：{label}", host,
                         occ.window_start - timedelta(days=FIX_REQUEST_DAYS), occ.window_end, occ.id, "host")
    end_day = occurrence_end_day(occ)
    yield WantedTask(f"outcome:occ:{occ.id}", TaskKind.OUTCOME, f"成效填报：{label}", host, end_day,
                     calendar.add_workdays(end_day, OUTCOME_DUE_WORKDAYS), occ.id, "host")
    day = occurrence_day(occ)
    if day is None:
        return
    cos = expand_members([o.key for o in view.co_organizers], dict(orgs))
    for item in items_for(templates, view.event.type):
        due = day + timedelta(days=item.offset_days)
        owners = [(host, "host", "")] if item.assignee == "host" else [(c, "co_organizer", f":{c}") for c in cos]
        for org, role, suffix in owners:
            key = f"checklist:occ:{occ.id}:{item.key}{suffix}"
            # Items first planned after the event is over are not wanted; once planned, they stay.
            if key not in stored and today > max(due, day):
                continue
            yield WantedTask(key, TaskKind.CHECKLIST, f"{item.title}：{label}", org, min(due, day) - timedelta(days=14),
                             due, occ.id, role, item.key)


def _period_tasks(
    bankuai: Sequence[Organization], lead_orgs: set[str], first_week: date, today: date, calendar: WorkCalendar,
) -> Iterable[WantedTask]:
    # Next week's (and next month's) task exists a week ahead, so its request mail is already queued.
    horizon = today + timedelta(days=7)
    for org in bankuai:
        monday = first_week
        while monday <= horizon:
            yield WantedTask(f"negotiation:{org.key}:{monday.isoformat()}", TaskKind.NEGOTIATION,
                             f"本周洽谈填报（{monday.month}月{monday.day}日当周）：{org.short_name}", org.key, monday,
                             calendar.add_workdays(monday + timedelta(days=6), 1), assignee_role="bankuai",
                             period_start=monday)
            monday += timedelta(days=7)
        if org.key in lead_orgs:
            month = (horizon.replace(day=1))
            yield WantedTask(f"leads:{org.key}:{month:%Y-%m}", TaskKind.LEAD_CHECKIN,
                             f"项目线索月度更新（{month.year}年{month.month}月）：{org.short_name}", org.key, month,
                             month.replace(day=LEAD_CHECKIN_DUE_DAY), assignee_role="bankuai", period_start=month)


def period_end(kind: str, period_start: date | None) -> date | None:
    """Return the last day of a weekly or monthly task's period (None for tasks about an occurrence)."""
    if period_start is None:
        return None
    if kind == TaskKind.NEGOTIATION:
        return period_start + timedelta(days=6)
    if kind == TaskKind.LEAD_CHECKIN:
        following = (period_start.replace(day=28) + timedelta(days=4)).replace(day=1)
        return following - timedelta(days=1)
    return None


def plan_tasks(
    views: Sequence[EventView], orgs: Mapping[str, Organization], templates: Mapping[str, tuple[ChecklistItem, ...]],
    stored: Mapping[str, Task], lead_orgs: set[str], first_week: date, now: datetime, *, calendar: WorkCalendar,
    policy: MailPolicy = DEFAULT_POLICY,
) -> dict[str, WantedTask]:
    """Return every task wanted open at `now` by key (stored tasks not listed are cancelled or closed by sync).

    No task is due sooner than the policy's minimum number of working days after it was created (today for a new
    one): its due date moves out.
    """
    today = local_date(now)
    wanted: dict[str, WantedTask] = {}
    for view in views:
        if view.event.withdrawn:
            continue
        for occ in view.occurrences:
            for w in _occurrence_tasks(view, occ, orgs, templates, stored, today, calendar):
                wanted[w.key] = w
    bankuai = sorted((o for o in orgs.values() if o.is_bankuai and not o.withdrawn and not o.members),
                     key=lambda o: o.key)
    for w in _period_tasks(bankuai, lead_orgs, week_start(first_week), today, calendar):
        wanted[w.key] = w
    # Period tasks already stored stay wanted (a past week is never cancelled, only left overdue).
    for key, task in stored.items():
        if task.kind in (TaskKind.NEGOTIATION, TaskKind.LEAD_CHECKIN) and key not in wanted:
            wanted[key] = WantedTask(key, TaskKind(task.kind), task.title, task.organization_key, task.opens_on,
                                     task.due_on, None, task.assignee_role, None, task.period_start)
    for key, w in wanted.items():
        created = local_date(stored[key].created_at) if key in stored else today
        earliest = policy.earliest_due(created, calendar)
        if w.due_on < earliest:
            wanted[key] = replace(w, due_on=earliest)
    return wanted


def context_nudge(ctx: Mapping[str, Any], number: int) -> dict[str, Any]:
    """Return a nudge's context: the task's, with which nudge this is."""
    return {**ctx, "nudge_number": number}


def task_context(task: Task, org_name: str, occ_context: Mapping[str, Any] | None) -> dict[str, Any]:
    """Snapshot what a mail about `task` shows."""
    return {
        "task_id": task.id,
        "task_kind": task.kind,
        "task_kind_label": TASK_KIND_LABELS.get(TaskKind(task.kind), task.kind),
        "task_title": task.title,
        "assignee": org_name,
        "opens_on": task.opens_on.isoformat(),
        "due_on": task.due_on.isoformat(),
        "occurrence": dict(occ_context) if occ_context else None,
    }


def _people(key: str, orgs: Mapping[str, Organization], contacts: Mapping[str, Sequence[PersonRef]], role: str,
            missing: set[str]) -> list[Recipient]:
    people = contacts.get(key, ())
    if not people:
        missing.add(key)
    name = orgs[key].short_name if key in orgs else key
    return [Recipient(email=p.email, name=p.name, org_key=key, org_name=name, role=role) for p in people]


def _with_provisional(ctx: dict[str, Any], days: Iterable[date], calendar: WorkCalendar,
                      also: Iterable[str] = ()) -> dict[str, Any]:
    """Add the provisional lines of `days` (and `also`, an occurrence's own) to a mail context, if any."""
    lines = sorted(set(provisional_lines(days, calendar)) | set(also))
    return {**ctx, "provisional": lines} if lines else ctx


def _digest_day(today: date, calendar: WorkCalendar) -> tuple[date, datetime]:
    """Return the Monday whose digest is wanted `today` and when it goes out (that Monday, or the next working day).

    A digest stays wanted all the day it goes out (sent or not); the next Monday's from the day after on.
    """
    monday = today - timedelta(days=today.weekday())
    send = send_on_workday(at_local(monday, SEND_AT), calendar)
    if local_date(send) < today:
        monday += timedelta(days=7)
        send = send_on_workday(at_local(monday, SEND_AT), calendar)
    return monday, send


def _digest_rows(office: str, overdue: Sequence[Task], digest_day: date, due: datetime,
                 orgs: Mapping[str, Organization], contacts: Mapping[str, Sequence[PersonRef]], missing: set[str],
                 calendar: WorkCalendar) -> list[WantedMail]:
    """Return one office unit's weekly digest of overdue tasks, one row per contact, going out at `due`."""
    # What changed since last week's digest first: tasks that fell overdue since then, then the older ones.
    last_week = digest_day - timedelta(days=7)
    items = sorted(overdue, key=lambda t: (t.due_on < last_week, t.due_on, t.id or 0))
    listing = [{"task_id": t.id, "title": t.title, "kind_label": TASK_KIND_LABELS.get(TaskKind(t.kind), t.kind),
                "org": orgs[t.organization_key].short_name if t.organization_key in orgs else t.organization_key,
                "due_on": t.due_on.isoformat(), "days_overdue": (digest_day - t.due_on).days,
                "reminders_sent": t.reminders_sent, "new": t.due_on >= last_week} for t in items]
    new_count = sum(1 for row in listing if row["new"])
    ctx = _with_provisional({"digest_day": digest_day.isoformat(), "overdue": listing, "count": len(listing),
                             "new_count": new_count, "since": last_week.isoformat()},
                            [digest_day, *(t.due_on for t in items)], calendar)
    return [WantedMail(kind=MailKind.TASK_DIGEST, subject=digest_subject(digest_day), rule="weekly", recipient=r,
                       due_at=due, expires_at=due + timedelta(days=1), context={**ctx, "org_name": r.org_name})
            for r in _people(office, orgs, contacts, "office", missing)]


def plan_task_mail(
    tasks: Sequence[Task], orgs: Mapping[str, Organization], contacts: Mapping[str, Sequence[PersonRef]],
    occ_contexts: Mapping[int, Mapping[str, Any]], now: datetime, *, calendar: WorkCalendar,
    offices: Mapping[int, Sequence[str]], policy: MailPolicy = DEFAULT_POLICY,
) -> tuple[list[WantedMail], set[str]]:
    """Return the request, nudge and digest rows wanted at `now` for open tasks (定档 mail is the reminders').

    Each goes out on `calendar`'s next working day when due on a day off (same local time); dates in a year the
    calendar does not cover yet add the provisional line. Each office unit's weekly digest lists the overdue tasks
    of its plans (`offices`: task id → office unit keys), those overdue since the last digest first.
    Times follow `policy`: sending hours, a first nudge not sooner than its minimum after the request, no 筹备事项
    nudge once the event is over, and mail about a week or month already over when its task was created, or
    still unsent a week after it (downtime, a clock jump), is recorded as skipped, not sent.
    """
    today = local_date(now)
    missing: set[str] = set()
    wanted: list[WantedMail] = []
    overdue_by_monday: list[Task] = []
    digest_day, digest_due = _digest_day(today, calendar)
    for task in tasks:
        if task.status != TaskStatus.OPEN or task.id is None:
            continue
        if task.due_on < digest_day:
            overdue_by_monday.append(task)
        if task.kind == TaskKind.FIX_DATE:
            continue  # the reminders planner sends 定档 requests, nudges and escalations, with this task's link
        rcpts = _people(task.organization_key, orgs, contacts, task.assignee_role or "assignee", missing)
        ctx = task_context(task, orgs[task.organization_key].short_name if task.organization_key in orgs else "",
                           occ_contexts.get(task.occurrence_id or -1))
        ctx = _with_provisional(ctx, (task.opens_on, task.due_on), calendar,
                                (ctx["occurrence"] or {}).get("provisional", ()))
        subject = task_subject(task.id)
        request_due = max(at_local(task.opens_on, SEND_AT), task.created_at)
        occ = ctx["occurrence"]
        occ_end = datetime.fromisoformat(occ["end_at"]) if occ and occ.get("end_at") else None
        if task.kind == TaskKind.OUTCOME and occ_end is not None:
            request_due = max(request_due, occ_end)
        over = period_end(task.kind, task.period_start)
        skip = None
        if over is not None and local_date(task.created_at) > over:
            skip = f"所涉周期已于 {over.isoformat()} 结束（停机或时钟跳变后才排上），不再补发"
        elif over is not None and today > over + timedelta(days=NUDGE_EVERY_DAYS):
            skip = f"所涉周期已于 {over.isoformat()} 结束，一周后仍未发出（停机或时钟跳变），不再补发"
        request_sent = policy.place(request_due, calendar)
        rows: list[tuple[str, str, datetime, datetime | None, dict[str, Any]]] = []
        if not task.reminders_sent:  # once a mail about the task was accepted, its request is history
            rows.append((MailKind.TASK_REQUEST, "request", request_due, None, ctx))
        first_nudge = policy.first_nudge(request_sent, calendar)
        # Preparation (due by the event day) stops with the event; follow-up items after it (宣传报道) go on.
        prep_until = occ_end if (task.kind == TaskKind.CHECKLIST and occ_end is not None
                                 and task.due_on <= local_date(occ_end)) else None
        nudge_day = task.due_on + timedelta(days=1)
        for n in range(MAX_NUDGES.get(TaskKind(task.kind), 1)):
            due = max(at_local(nudge_day, SEND_AT), first_nudge)
            nxt = at_local(nudge_day + timedelta(days=NUDGE_EVERY_DAYS), SEND_AT)
            if prep_until is not None:
                nxt = min(nxt, prep_until)  # a 筹备事项 is not nudged once the event is over
            rows.append((MailKind.TASK_NUDGE, f"nudge:{nudge_day.isoformat()}", due, nxt,
                         {**context_nudge(ctx, n + 1)}))
            nudge_day += timedelta(days=NUDGE_EVERY_DAYS)
        for kind, rule, nominal, nominal_expires, context in rows:
            # Rule keys stay on the nominal day; the send time (and the expiry, the next nudge's) move into the
            # sending hours of working days.
            due = policy.place(nominal, calendar, kind=kind)
            expires = None if nominal_expires is None else (
                nominal_expires if nominal_expires == prep_until else send_on_workday(nominal_expires, calendar))
            if skip is None and expires is not None and (expires <= now or expires <= due):
                continue
            wanted += [WantedMail(kind=kind, subject=subject, rule=rule, recipient=r, due_at=due, expires_at=expires,
                                  context={**context, "org_name": r.org_name, "role": r.role}, skip_reason=skip)
                       for r in rcpts]
    by_office: dict[str, list[Task]] = {}
    for task in overdue_by_monday:
        for office in offices.get(task.id or -1, ()):
            by_office.setdefault(office, []).append(task)
    for office, overdue in sorted(by_office.items()):
        wanted += _digest_rows(office, overdue, digest_day, digest_due, orgs, contacts, missing, calendar)
    return wanted, missing
