"""Mail the monthly tracking report to the leading group office (市科技局 contacts) through the outbox."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from sqlmodel import Session

from scheduler.clock import SHANGHAI, local_date
from scheduler.contacts import contacts_by_org
from scheduler.mail.kinds import MailKind, report_subject
from scheduler.mail.outbox import Recipient, SyncReport, WantedMail, sync_outbox
from scheduler.plan.catalog import plans_for_year
from scheduler.reports.build import build_report
from scheduler.reports.export import display
from scheduler.reports.periods import make_period

ORIGIN = "reports"
OFFICE_ORG = "kjj"  # 推进领导小组办公室设在市科技局
SEND_AT = time(9, 0)  # on the 1st of the next month, 09:00 Shanghai
SUMMARY_KEYS = ("unit", "held", "signed", "signed_ytd", "target", "rate", "pace", "ahead", "rank", "reports_overdue")


def wanted_report_mail(*, session: Session, now: datetime, base_url: str) -> list[WantedMail]:
    """Return the report mail due by `now`: one per office contact, for the month just finished, on the plan of
    that month's year (December 2026 is reported in January 2027 on the 2026 plan); none without such a plan."""
    last_month = local_date(now).replace(day=1) - timedelta(days=1)
    period = make_period("month", last_month.year, last_month.month)
    plans = plans_for_year(session=session, year=period.year)
    office = contacts_by_org(session=session).get(OFFICE_ORG, [])
    if not plans or not office:
        return []
    report = build_report(session=session, kind="monthly", period=period.text, now=now, plan_key=plans[0].key)
    main = report.table("units")
    columns = {c.key: c for c in main.columns}
    rows = [{k: display(r.get(k), columns[k].kind) for k in SUMMARY_KEYS} for r in main.rows]
    context: dict[str, Any] = {
        "org_name": "市科技局（推进领导小组办公室）",
        "title": report.title,
        "period": period.text,
        "period_label": period.label,
        "as_of": report.as_of,
        "rows": rows,
        "overdue": report.table("overdue_reports").rows[:20],
        "report_url": f"{base_url.rstrip('/')}/admin/reports/monthly?period={period.text}",
    }
    due = datetime.combine(period.end + timedelta(days=1), SEND_AT, tzinfo=SHANGHAI)
    return [
        WantedMail(kind=MailKind.MONTHLY_REPORT, subject=report_subject("monthly", period.text), rule="monthly",
                   recipient=Recipient(email=c.email, name=c.name, org_key=OFFICE_ORG, org_name="市科技局",
                                       role="office"),
                   due_at=due, expires_at=None, context=context)
        for c in office
    ]


def plan_report_mail(*, session: Session, now: datetime, base_url: str) -> SyncReport:
    """Make the outbox hold this month's report mail (the caller commits); earlier months' rows are kept."""
    wanted = wanted_report_mail(session=session, now=now, base_url=base_url)
    if not wanted:
        return SyncReport()
    period = wanted[0].context["period"]
    return sync_outbox(session=session, origin=f"{ORIGIN}:{period}", wanted=wanted, now=now)
