"""Logistics mail through the outbox: the request when participation opens, a nudge before the deadline to every
unit that has not nominated yet, and each guest's invitation, reminder and confirmation (with an iTIP REQUEST);
pure planners of wanted rows, synced like every other origin."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timedelta
from email.utils import parseaddr
from typing import Any

from sqlmodel import Session, select

from scheduler.clock import SHANGHAI, at_local, local_date
from scheduler.logistics.guests import GuestSigner, invitation_context, invitation_ics, list_guests
from scheduler.logistics.models import COLLECT_LABELS, DelegationUnit, Guest, GuestStatus, Participation
from scheduler.logistics.participation import NominationSigner, event_days, list_units
from scheduler.mail.compose import Attachment, Composer, Content, Renderer
from scheduler.mail.kinds import MailKind
from scheduler.mail.models import OutboxMessage
from scheduler.mail.outbox import Recipient, SyncReport, WantedMail, sync_outbox
from scheduler.mail.senddays import send_on_workday
from scheduler.plan.models import Event, Occurrence
from scheduler.workdays import WorkCalendar, load_calendar

ORIGIN = "logistics"
NUDGE_DAYS_BEFORE = 2  # the nudge goes out two days before the deadline, 09:00 Shanghai, on a working day
NUDGE_AT = time(9, 0)


def origin_of(participation: Participation) -> str:
    """Return the outbox origin of one participation's mail."""
    return f"{ORIGIN}:{participation.id}"


def subject_of(unit: DelegationUnit) -> str:
    """Return the outbox subject of mail about one asked unit."""
    return f"nomination:{unit.id}"


def wanted_nomination_mail(*, participation: Participation, occurrence: Occurrence, event: Event,
                           units: list[DelegationUnit], signer: NominationSigner, base_url: str,
                           calendar: WorkCalendar, now: datetime) -> list[WantedMail]:
    """Return the rows one participation wants: a request per unit, a nudge per unit that has not nominated."""
    start, end = event_days(occurrence)
    deadline_text = f"{participation.deadline_at.astimezone(SHANGHAI):%Y年%m月%d日 %H:%M}"
    wanted: list[WantedMail] = []
    for unit in units:
        context: dict[str, Any] = {
            "event_title": occurrence.title, "seq": event.seq, "location": occurrence.location,
            "event_days": start.isoformat() if start == end else f"{start.isoformat()} 至 {end.isoformat()}",
            "deadline": deadline_text, "capacity": unit.capacity, "total_capacity": participation.total_capacity,
            "collect": [COLLECT_LABELS[c] for c in participation.collect if c in COLLECT_LABELS],
            "note": participation.note or "", "unit_name": unit.org_name,
            "nomination_url": f"{base_url.rstrip('/')}/o/n/{signer.token_for(unit)}",
        }
        recipient = Recipient(email=unit.contact_email, name=unit.contact_name, org_key=unit.organization_key,
                              org_name=unit.org_name, role="delegation")
        wanted.append(WantedMail(kind=MailKind.NOMINATION_REQUEST, subject=subject_of(unit), rule="request",
                                 recipient=recipient, due_at=participation.created_at,
                                 expires_at=participation.deadline_at, context=context))
        if unit.revisions == 0:
            day = local_date(participation.deadline_at) - timedelta(days=NUDGE_DAYS_BEFORE)
            due = send_on_workday(at_local(day, NUDGE_AT), calendar, before=participation.deadline_at)
            if participation.created_at < due < participation.deadline_at:
                wanted.append(WantedMail(kind=MailKind.NOMINATION_NUDGE, subject=subject_of(unit),
                                         rule=f"nudge:{NUDGE_DAYS_BEFORE}d", recipient=recipient, due_at=due,
                                         expires_at=participation.deadline_at, context=context))
    return wanted


def wanted_guest_mail(*, participation: Participation, occurrence: Occurrence, event: Event, guests: list[Guest],
                      signer: GuestSigner, base_url: str, organizer: str, calendar: WorkCalendar
                      ) -> list[WantedMail]:
    """Return a participation's guest rows: the invitation, a reminder while unanswered, the accepted's confirmation."""
    start, end = event_days(occurrence)
    deadline_text = f"{participation.deadline_at.astimezone(SHANGHAI):%Y年%m月%d日 %H:%M}"
    wanted: list[WantedMail] = []
    for guest in guests:
        if not guest.email:
            continue
        context: dict[str, Any] = {
            "event_title": occurrence.title, "seq": event.seq, "location": occurrence.location,
            "event_days": start.isoformat() if start == end else f"{start.isoformat()} 至 {end.isoformat()}",
            "deadline": deadline_text, "guest_name": guest.name, "note": participation.note or "",
            "rsvp_url": f"{base_url.rstrip('/')}/o/g/{signer.token_for(guest)}",
        }
        recipient = Recipient(email=guest.email, name=guest.name, org_key="guest", org_name=guest.org or guest.name,
                              role="guest")
        subject = f"guest:{guest.id}"
        wanted.append(WantedMail(kind=MailKind.GUEST_INVITATION, subject=subject, rule="invitation",
                                 recipient=recipient, due_at=guest.created_at, expires_at=participation.deadline_at,
                                 context=context))
        if guest.status == GuestStatus.INVITED:
            day = local_date(participation.deadline_at) - timedelta(days=NUDGE_DAYS_BEFORE)
            due = send_on_workday(at_local(day, NUDGE_AT), calendar, before=participation.deadline_at)
            if guest.created_at < due < participation.deadline_at:
                wanted.append(WantedMail(kind=MailKind.GUEST_REMINDER, subject=subject,
                                         rule=f"reminder:{NUDGE_DAYS_BEFORE}d", recipient=recipient, due_at=due,
                                         expires_at=participation.deadline_at, context=context))
        elif guest.status == GuestStatus.ACCEPTED and guest.answered_at is not None:
            ics = invitation_context(guest=guest, occurrence=occurrence, organizer=organizer)
            wanted.append(WantedMail(kind=MailKind.GUEST_CONFIRMATION, subject=subject,
                                     rule=f"confirmation:{guest.sequence}", recipient=recipient,
                                     due_at=guest.answered_at, expires_at=None,
                                     context={**context, "ics": ics, "checkin_code": guest.checkin_code,
                                              "companions": guest.companions, "arrival": guest.arrival or ""}))
    return wanted


def plan_nomination_mail(*, session: Session, signer: NominationSigner, base_url: str, now: datetime,
                         participation_id: int | None = None, guest_signer: GuestSigner | None = None,
                         organizer: str = "") -> SyncReport:
    """Make the outbox hold the nomination mail of every participation still taking names (the caller commits)."""
    query = select(Participation).where(Participation.deadline_at > now - timedelta(days=1))
    if participation_id is not None:
        query = select(Participation).where(Participation.id == participation_id)
    total = SyncReport()
    calendar: WorkCalendar | None = None
    for participation in session.exec(query).all():
        occurrence = session.get(Occurrence, participation.occurrence_id)
        event = session.get(Event, occurrence.event_id) if occurrence is not None else None
        if occurrence is None or event is None:
            continue
        calendar = calendar or load_calendar(session=session)
        wanted = wanted_nomination_mail(participation=participation, occurrence=occurrence, event=event,
                                        units=list_units(session=session, participation_id=participation.id or 0),
                                        signer=signer, base_url=base_url, calendar=calendar, now=now)
        if guest_signer is not None:
            wanted += wanted_guest_mail(participation=participation, occurrence=occurrence, event=event,
                                        guests=list_guests(session=session, participation_id=participation.id or 0),
                                        signer=guest_signer, base_url=base_url, organizer=organizer,
                                        calendar=calendar)
        report = sync_outbox(session=session, origin=origin_of(participation), wanted=wanted, now=now)
        total.added += report.added
        total.updated += report.updated
        total.cancelled += report.cancelled
        total.revived += report.revived
    return total


def plan_logistics_mail(*, session: Session, keys: list[str], base_url: str, mail_from: str, now: datetime,
                        participation_id: int | None = None) -> SyncReport:
    """Plan every logistics row (units' requests and nudges, guests' invitations, reminders, confirmations)."""
    return plan_nomination_mail(session=session, signer=NominationSigner(keys), base_url=base_url, now=now,
                                participation_id=participation_id, guest_signer=GuestSigner(keys),
                                organizer=parseaddr(mail_from)[1])


def confirmation_renderer(composer: Composer) -> Renderer:
    """Return the renderer of guest confirmations: the templates plus the iTIP REQUEST built from the row."""

    def render(row: OutboxMessage, occurrence: Occurrence | None, extra: dict[str, Any]) -> Content:
        content = composer.render_templates(row, None, extra)
        invite = Attachment(filename="invite.ics", maintype="text", subtype="calendar",
                            data=invitation_ics(row.context["ics"]), params=(("method", "REQUEST"),))
        return replace(content, attachments=(*content.attachments, invite))

    return render
