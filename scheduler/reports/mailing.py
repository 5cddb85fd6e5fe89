"""Mail the monthly tracking report to each plan's office unit (the 2023 notice: 市科技局, 推进领导小组办公室) through
the outbox: every plan of the month's year (one per city) is reported to its own office's contacts."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session, select

from scheduler.clock import SHANGHAI, local_date
from scheduler.contacts import Contact, contacts_by_org
from scheduler.mail.compose import Attachment, Composer, Content, Renderer
from scheduler.mail.kinds import MailKind, report_subject
from scheduler.mail.models import OutboxMessage, OutboxState
from scheduler.mail.outbox import Recipient, SyncReport, WantedMail, sync_outbox
from scheduler.mail.senddays import provisional_context, send_on_workday
from scheduler.plan.catalog import get_organizations, plans_for_year
from scheduler.plan.models import Occurrence, Plan
from scheduler.reports.build import build_report
from scheduler.reports.documents import file_name, to_docx, to_xlsx
from scheduler.reports.export import display
from scheduler.reports.periods import Period, make_period
from scheduler.reports.tables import Report
from scheduler.workdays import load_calendar

ORIGIN = "reports"
KIND = MailKind.MONTHLY_REPORT
RULE = "monthly"
LEFT_QUEUE = (OutboxState.SENT, OutboxState.SENDING, OutboxState.FAILED)  # rows sync_outbox never touches again
OFFICE_ROLE = "推进领导小组办公室"
SEND_AT = time(9, 0)  # on the 1st of the next month (or the next working day), 09:00 Shanghai
SUMMARY_KEYS = ("unit", "held", "signed", "signed_ytd", "target", "rate", "pace", "ahead", "rank", "reports_overdue")


def _due_month(*, session: Session, now: datetime) -> tuple[Period, list[tuple[Plan, list[Contact]]]] | None:
    """Return the month just finished by `now` and, per plan of that month's year, the contacts of its office unit
    (December 2026 is reported in January 2027 on the 2026 plans); None when no plan's office has contacts."""
    last_month = local_date(now).replace(day=1) - timedelta(days=1)
    period = make_period("month", last_month.year, last_month.month)
    contacts = contacts_by_org(session=session)
    due: list[tuple[Plan, list[Contact]]] = []
    offices: set[str] = set()
    for plan in plans_for_year(session=session, year=period.year):
        if plan.office and plan.office not in offices and contacts.get(plan.office):
            offices.add(plan.office)  # one report per office and month (the subject names only the month)
            due.append((plan, contacts[plan.office]))
    return (period, due) if due else None


def _subject(period: Period) -> str:
    return report_subject("monthly", period.text)


def wanted_report_mail(*, session: Session, now: datetime, base_url: str) -> list[WantedMail]:
    """Return the report mail due by `now`: for the month just finished, one per contact of each plan's office."""
    found = _due_month(session=session, now=now)
    if found is None:
        return []
    period, due = found
    orgs = get_organizations(session=session)
    first_key = plans_for_year(session=session, year=period.year)[0].key
    calendar = load_calendar(session=session)
    wanted: list[WantedMail] = []
    for plan, office in due:
        report = build_report(session=session, kind="monthly", period=period.text, now=now, plan_key=plan.key)
        main = report.table("units")
        columns = {c.key: c for c in main.columns}
        rows = [{k: display(r.get(k), columns[k].kind) for k in SUMMARY_KEYS} for r in main.rows]
        office_key: str = plan.office  # type: ignore[assignment]  # _due_month keeps plans with an office
        short = orgs[office_key].short_name if office_key in orgs else office_key
        chosen = "" if plan.key == first_key else f"&plan={plan.key}"
        overdue = report.table("overdue_reports").rows[:20]
        context: dict[str, Any] = {
            "org_name": f"{short}（{OFFICE_ROLE}）",
            "title": report.title,
            "period": period.text,
            "period_label": period.label,
            "as_of": report.as_of,
            "rows": rows,
            "overdue": overdue,
            "report_url": f"{base_url.rstrip('/')}/admin/reports/monthly?period={period.text}{chosen}",
            # The report itself (plain JSON, deterministic): the XLSX and the 通报 are made from it when the mail is
            # rendered, so the queued row stays small and identical from one tick to the next.
            "report": report.to_dict(),
            # The plan's year and the deadlines the mail states; a year the calendar does not cover yet is said so.
            **provisional_context([period.start, *(date.fromisoformat(o["due_on"]) for o in overdue)], calendar),
        }
        due_at = send_on_workday(datetime.combine(period.end + timedelta(days=1), SEND_AT, tzinfo=SHANGHAI),
                                 calendar)
        wanted += [
            WantedMail(kind=KIND, subject=_subject(period), rule=RULE,
                       recipient=Recipient(email=c.email, name=c.name, org_key=office_key, org_name=short,
                                           role="office"),
                       due_at=due_at, expires_at=None, context=context)
            for c in office
        ]
    return wanted


def with_report_files(composer: Composer) -> Renderer:
    """Return a renderer for the monthly report mail: the templates, plus the report as XLSX and as a Word 通报."""

    def render(row: OutboxMessage, occurrence: Occurrence | None, extra: dict[str, Any]) -> Content:
        content = composer.render_templates(row, occurrence, extra)
        data = row.context.get("report")
        if not isinstance(data, dict):
            return content  # a row queued before reports travelled with their mail
        report = Report.from_dict(data)
        files = tuple(
            Attachment(filename=file_name(report, ext), maintype="application", subtype=subtype, data=write(report))
            for ext, subtype, write in (
                ("xlsx", "vnd.openxmlformats-officedocument.spreadsheetml.sheet", to_xlsx),
                ("docx", "vnd.openxmlformats-officedocument.wordprocessingml.document", to_docx),
            )
        )
        return replace(content, attachments=content.attachments + files)

    return render


def attach_report_files(composer: Composer) -> Composer:
    """Make `composer` attach the XLSX and the 通报 to the monthly report mail; return it."""
    composer.register(KIND, with_report_files(composer))
    return composer


def _settled(*, session: Session, period: Period, office: list[Contact]) -> bool:
    """Tell whether every office contact's row for `period` has left the queue and none is pending.

    Syncing would then change nothing (rows that left are never touched again), so the report need not be built.
    """
    rows = session.exec(select(OutboxMessage.recipient, OutboxMessage.state).where(
        OutboxMessage.origin == f"{ORIGIN}:{period.text}", OutboxMessage.kind == KIND,
        OutboxMessage.subject == _subject(period), OutboxMessage.rule == RULE)).all()
    left = {recipient for recipient, state in rows if state in LEFT_QUEUE}
    pending = any(state == OutboxState.PENDING for _r, state in rows)
    return not pending and {c.email.lower() for c in office} <= left


def plan_report_mail(*, session: Session, now: datetime, base_url: str) -> SyncReport:
    """Make the outbox hold this month's report mail (the caller commits); earlier months' rows are kept.

    Once this month's mail has gone out the report is not built again: the ticker asks every few seconds.
    """
    due = _due_month(session=session, now=now)
    if due is None or _settled(session=session, period=due[0], office=[c for _p, people in due[1] for c in people]):
        return SyncReport()
    wanted = wanted_report_mail(session=session, now=now, base_url=base_url)
    return sync_outbox(session=session, origin=f"{ORIGIN}:{due[0].text}", wanted=wanted, now=now)
