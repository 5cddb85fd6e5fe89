"""Home (what needs attention, for administrators; the month calendar for everyone) and event timelines, each for
the plan chosen with `?plan=KEY` (default: the current plan)."""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlmodel import Session, col, select

from scheduler.audit import AuditEntry
from scheduler.clock import SHANGHAI, local_date
from scheduler.followups.kinds import TASK_KIND_LABELS
from scheduler.followups.models import TASK_STATUS_LABELS, FormRevision, Task, TaskKind, TaskStatus
from scheduler.followups.tasks import list_tasks
from scheduler.mail.kinds import task_subject
from scheduler.mail.models import STATE_LABELS, OutboxMessage, OutboxState
from scheduler.mail.outbox import list_page
from scheduler.mail.requeue import held_back
from scheduler.outcomes.filing import get_report, report_rows
from scheduler.outcomes.models import REPORT_STATUS_LABELS, ReportStatus
from scheduler.plan.catalog import get_organizations, list_event_views
from scheduler.plan.models import STATUS_LABELS, OccurrenceStatus, Plan
from scheduler.plan.rows import occurrence_when, plan_choices
from scheduler.reports.cadence import closing_windows, compute_cadence
from scheduler.reports.facts import Facts, load_facts
from scheduler.reports.tables import display
from scheduler.reports.targets import load_targets
from scheduler.web.admin.outbox import GENERIC_KIND, mail_kind_label
from scheduler.web.deps import NowDep, SessionDep
from scheduler.web.figures import months_svg, units_svg, year_figures
from scheduler.web.pages import chosen_plan, plan_days, provisional_banner
from scheduler.web.security import AdminDep, OptionalAdminDep, csrf_token
from scheduler.web.templates import render
from scheduler.web.timeline import audit_sentence, revision_sentence

router = APIRouter()
WEEKDAYS = "一二三四五六日"


def attention(*, session: Session, facts: Facts, today: date) -> dict[str, Any]:
    """Collect what the office should act on: closing windows, overdue reports, failed mail, foreseen gaps."""
    closing = [
        {
            "seq": o.seq,
            "title": o.title,
            "hosts": "、".join(o.host_names),
            "window_end": o.window_end,
            "closed": o.window_end < today,
        }
        for o in closing_windows(facts, today)
    ]
    # The open tasks behind each item, so every line carries its action (催办, 代为填报/定档, open the task).
    plan_occ = {o.id for o in facts.occurrences}
    open_tasks = [t for t in list_tasks(session=session, status=TaskStatus.OPEN) if t.occurrence_id in plan_occ]
    fix_task = {t.occurrence_id: t.id for t in open_tasks if t.kind == TaskKind.FIX_DATE}
    for c, o in zip(closing, closing_windows(facts, today), strict=True):
        c["task_id"] = fix_task.get(o.id)
    overdue = []
    for t in open_tasks:
        if t.kind == TaskKind.OUTCOME and t.due_on < today:
            occ = facts.occurrence(t.occurrence_id)
            overdue.append(
                {
                    "seq": occ.seq if occ else None,
                    "title": occ.title if occ else "—",
                    "unit": facts.unit_name(t.organization_key),
                    "due_on": t.due_on,
                    "days": (today - t.due_on).days,
                    "task_id": t.id,
                }
            )
    failed = list_page(session=session, state=OutboxState.FAILED, offset=0, limit=20)  # newest failure first
    held = held_back(session=session)  # SMTP outage: deferred mail and since when (wall clock)
    cad = compute_cadence(facts, today)
    gaps = [g for g in cad.gaps if g.month is None or g.month >= today.month or today.year < facts.year]
    gaps.sort(key=lambda g: (g.month is not None, g.month or 0))  # theme windows first, then the nearest months
    return {
        "tasks_overdue": len(list_tasks(session=session, overdue_on=today)),
        "closing": closing,
        "overdue": sorted(overdue, key=lambda r: r["due_on"]),
        "failed": failed,
        "mail_held": held,
        "mail_held_since": f"{held.since.astimezone(SHANGHAI):%m-%d %H:%M}" if held is not None else "",
        "gaps": gaps,
        "themes": cad.themes,
    }


def month_calendar(
    *, session: Session, plan: Plan | None, year: int, month: int, admin: bool, link_plan: str | None = None
) -> dict[str, Any]:
    """Lay out one month of `plan`: weeks of days with the occurrences fixed on them, and the month's open windows.

    Links carry `link_plan` (the plan the visitor chose; None while the default plan is shown).
    """
    query = f"?plan={link_plan}" if link_plan else ""
    by_day: dict[date, list[dict]] = {}
    windows: list[dict] = []
    first, last = date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
    for view in list_event_views(session=session, plan=plan) if plan else []:
        for occ in view.occurrences:
            item = {
                "seq": view.event.seq,
                "title": occ.title,
                "location": occ.location,
                "hosts": "、".join(o.short_name for o in view.hosts),
                "when": occurrence_when(occ),
                "status": occ.status,
                "status_label": STATUS_LABELS[OccurrenceStatus(occ.status)],
                # The public page reads the feed snapshot, which knows one plan's 序号 only (feeds are being made
                # multi-plan separately): no plan argument for it yet.
                "href": f"/admin/events/{view.event.seq}{query}" if admin else f"/events/{view.event.seq}",
            }
            if occ.start_at is not None:
                day = local_date(occ.start_at)
                if first <= day <= last:
                    by_day.setdefault(day, []).append(item)
            elif occ.window_start <= last and occ.window_end >= first and occ.precision != "year":
                windows.append(item)
    weeks, day = [], first - timedelta(days=first.weekday())
    while day <= last:
        weeks.append(
            [
                {"day": d, "in_month": d.month == month, "events": by_day.get(d, [])}
                for d in (day + timedelta(days=i) for i in range(7))
            ]
        )
        day += timedelta(days=7)
    prev_m = (first - timedelta(days=1)).replace(day=1)
    next_m = last + timedelta(days=1)
    return {
        "year": year,
        "month": month,
        "weeks": weeks,
        "windows": windows,
        "weekdays": WEEKDAYS,
        "prev": f"{prev_m:%Y-%m}",
        "next": f"{next_m:%Y-%m}",
        "plan_key": link_plan,
    }


def _month_arg(value: str | None, today: date, plan_year: int | None) -> tuple[int, int]:
    if value:
        try:
            y, m = (int(p) for p in value.split("-", 1))
            if 2000 <= y <= 2100 and 1 <= m <= 12:
                return y, m
        except ValueError:
            pass
        raise HTTPException(status_code=400, detail=f"月份参数 {value!r} 无效，应形如 2023-03")
    if plan_year is not None and today.year != plan_year:
        return plan_year, (1 if today.year < plan_year else 12)
    return today.year, today.month


@router.get("/", response_class=HTMLResponse)
def home(
    request: Request, session: SessionDep, now: NowDep, admin: OptionalAdminDep, month: str | None = None,
    plan: str | None = None,
) -> HTMLResponse:
    """Show the chosen plan's month calendar; administrators also see what needs attention in it."""
    today = local_date(now)
    chosen = chosen_plan(session=session, key=plan, today=today)
    facts = load_facts(session=session, plan=chosen) if chosen is not None else None
    y, m = _month_arg(month, today, facts.year if facts else None)
    link_plan = chosen.key if plan and chosen is not None else None  # keep a chosen plan across links
    ctx: dict[str, Any] = {
        "cal": month_calendar(session=session, plan=chosen, year=y, month=m, admin=admin is not None,
                              link_plan=link_plan),
        "plan_query": f"?plan={link_plan}" if link_plan else "",
        "has_plan": facts is not None,
        "plan": chosen,
        "plans": plan_choices(session=session, chosen=chosen),
        "selector_action": "/",
        "admin": admin,
        "today": today,
        "provisional": provisional_banner(session=session, days=[*plan_days(session=session, plan=chosen),
                                                                 date(y, m, 1)]),
    }
    if admin is not None and facts is not None:
        ctx["att"] = attention(session=session, facts=facts, today=today)
        ctx["csrf"] = csrf_token(request)
        fig = year_figures(facts, load_targets(session=session, year=facts.year), today)
        ctx.update(fig=fig, months_svg=months_svg(fig), units_svg=units_svg(fig), display=display)
        ctx["state_labels"] = STATE_LABELS
        ctx["kind_label"] = mail_kind_label
    return render(request, "home.html", ctx)


@router.get("/admin", include_in_schema=False)
def admin_root() -> RedirectResponse:
    """Send /admin to the home page, which is the administrators' dashboard once signed in."""
    return RedirectResponse("/", status_code=303)


@router.get("/admin/events/{seq}", response_class=HTMLResponse)
def event_timeline(
    request: Request, session: SessionDep, admin: AdminDep, now: NowDep, seq: int, plan: str | None = None
) -> HTMLResponse:
    """Show one event of the chosen plan, each occurrence with its timeline: mail, tasks, outcome report, revisions,
    audit."""
    chosen = chosen_plan(session=session, key=plan, today=local_date(now))
    views = list_event_views(session=session, plan=chosen) if chosen else []
    view = next((v for v in views if v.event.seq == seq), None)
    if view is None:
        where = f"计划 {chosen.key} 中" if chosen else "计划中"
        raise HTTPException(status_code=404, detail=f"{where}没有序号 {seq} 的活动")
    orgs = {k: o.short_name for k, o in get_organizations(session=session).items()}
    sessions = [occurrence_timeline(session=session, occ=occ, org_names=orgs) for occ in view.occurrences]
    ev = view.event
    return render(
        request,
        "event_timeline.html",
        {
            "ev": ev,
            "type_label": view.type_label,
            "sessions": sessions,
            "hosts": [o.short_name for o in view.hosts],
            "co_organizers": [o.short_name for o in view.co_organizers],
            "tz": SHANGHAI,
            "plan": chosen,
            "plans": plan_choices(session=session, chosen=chosen),
            "selector_action": f"/admin/events/{seq}",
        },
    )


def occurrence_timeline(*, session: Session, occ: Any, org_names: dict[str, str] | None = None) -> dict[str, Any]:
    """Return one occurrence with its time-ordered history (organizations by name, never by internal key)."""
    names = org_names or {}
    items: list[dict[str, Any]] = []
    mails = session.exec(select(OutboxMessage).where(OutboxMessage.occurrence_id == occ.id))
    tasks = list(session.exec(select(Task).where(Task.occurrence_id == occ.id).order_by(col(Task.due_on))))
    task_ids = [t.id for t in tasks if t.id is not None]
    task_mail: list[OutboxMessage] = (
        list(session.exec(select(OutboxMessage).where(
            col(OutboxMessage.subject).in_([task_subject(i) for i in task_ids]))))
        if task_ids
        else []
    )
    for m in [*mails, *task_mail]:
        at = m.sent_at or m.due_at
        items.append(
            {
                "at": at,
                "what": f"邮件·{mail_kind_label(m.kind)}" if mail_kind_label(m.kind) != GENERIC_KIND else GENERIC_KIND,
                "detail": f"{m.recipient_name or ''} <{m.recipient}> · {STATE_LABELS[OutboxState(m.state)]}"
                + (f" · {m.last_error}" if m.state == OutboxState.FAILED and m.last_error else ""),
            }
        )
    for t in tasks:
        items.append(
            {
                "at": t.created_at,
                "what": f"任务·{TASK_KIND_LABELS.get(TaskKind(t.kind), t.kind)}",
                "detail": f"{t.title} · 负责：{names.get(t.organization_key, t.organization_key)} · 截止 {t.due_on} · "
                f"{TASK_STATUS_LABELS[TaskStatus(t.status)]}" + (f"（{t.done_by}）" if t.done_by else ""),
            }
        )
    unit_of = {t.id: t.organization_key for t in tasks}
    if task_ids:
        for r in session.exec(select(FormRevision).where(col(FormRevision.task_id).in_(task_ids))):
            what, detail = revision_sentence(
                kind=r.action, number=r.number, data=r.data, actor=r.actor, actor_kind=r.actor_kind,
                on_behalf_of=r.on_behalf_of, at=r.created_at, unit=unit_of.get(r.task_id), names=names,
            )
            items.append({"at": r.created_at, "what": what, "detail": detail})
    for a in session.exec(select(AuditEntry).where(AuditEntry.entity == "occurrence", AuditEntry.entity_id == occ.id)):
        what, detail = audit_sentence(
            action=a.action, actor=a.actor, actor_kind=a.actor_kind, on_behalf_of=a.on_behalf_of, at=a.at,
            before=a.before, after=a.after, unit=unit_of.get(a.task_id) if a.task_id else None, names=names,
        )
        items.append({"at": a.at, "what": what, "detail": detail})
    items.sort(key=lambda i: i["at"])
    report = get_report(session=session, occurrence_id=occ.id)
    outcome = None
    if report is not None:
        projects, talents = report_rows(session=session, report=report)
        outcome = {
            "report": report,
            "status_label": REPORT_STATUS_LABELS.get(ReportStatus(report.status), report.status),
            "projects": projects,
            "talents": talents,
        }
    return {
        "occ": occ,
        "when": occurrence_when(occ),
        "status_label": STATUS_LABELS[OccurrenceStatus(occ.status)],
        "history": items,
        "outcome": outcome,
    }

