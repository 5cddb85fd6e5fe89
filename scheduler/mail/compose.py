"""Turn an outbox row into MIME bytes: renderers by kind (jinja2 templates), cached bodies, per-recipient headers."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr, parseaddr, quote
from typing import Any, Protocol

import idna
from itsdangerous import URLSafeSerializer
from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound, select_autoescape
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from scheduler.clock import SHANGHAI
from scheduler.config import PROJECT_ROOT, Settings
from scheduler.contacts import Contact
from scheduler.feeds.cache import FeedCalendars
from scheduler.feeds.render import Party
from scheduler.mail.headers import encode_subject, installation_id, message_id
from scheduler.mail.kinds import KIND_LABELS, MailKind
from scheduler.mail.models import OutboxMessage
from scheduler.plan.models import Occurrence, Organization, Plan

EMAIL_TEMPLATES = PROJECT_ROOT / "templates" / "email"
BULK_KINDS = {MailKind.REMINDER}  # routine mail that carries List-Unsubscribe; requests and notices are transactional
UNSUBSCRIBE_SALT = "mail-unsubscribe"
BODY_CACHE_SIZE = 512
# Mail that carries an iTIP invitation (RFC 5546) to its recipient; other mail carries the feed's PUBLISH entry.
INVITATION_KINDS = {MailKind.REMINDER, MailKind.CHANGE_NOTICE}
INVITATION_ROLES = {"host", "co_organizer"}
# What must never reach a header line: C0/C1 controls (CR, LF, NUL, TAB …), DEL, Unicode line/paragraph separators.
CONTROL_CHARS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
ADDRESS_SPECIALS = re.compile(r'[\s<>()\[\],;:"\\]')
NAME_SPECIALS = re.compile(r'[][\\()<>@,:;".]')
CALENDAR_TYPE = re.compile(rb'Content-Type: text/calendar; method="([A-Z]+)"; charset="utf-8"')
FOLD = re.compile(r"\r\n[ \t]")  # header folding (what Header.encode emits), the one line break allowed


@dataclass(frozen=True, kw_only=True)
class Attachment:
    """A file attached to a message."""

    filename: str
    maintype: str
    subtype: str
    data: bytes
    params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, kw_only=True)
class Content:
    """What a renderer produces; identical for every recipient that shares the same context."""

    subject: str
    text: str
    html: str
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True, kw_only=True)
class OutgoingMessage:
    """One message ready for the transport: envelope and bytes."""

    sender: str
    recipient: str
    data: bytes
    message_id: str
    smtputf8: bool = False  # the recipient's user name is not ASCII: only a server offering SMTPUTF8 can take it


class Renderer(Protocol):
    """Build the content of one row (given the occurrence it concerns, if any)."""

    def __call__(self, row: OutboxMessage, occurrence: Occurrence | None, extra: dict[str, Any]) -> Content: ...


class LinkIssuer(Protocol):
    """Return the action link (a form URL for its recipient) of one row's mail rendered at `now`, or None.

    Built where the composer is built and handed to it, so previews, replays and the worker render the same mail.
    """

    def __call__(self, row: OutboxMessage, *, now: datetime) -> str | None: ...


# uid → the occurrence's .ics (feeds_cache.FeedCalendars: the very VEVENT the feeds carry); a source that also
# has `invitation(uid, organizer=, attendee=) -> (method, bytes)` makes invitations (see Composer.invites)
CalendarSource = Callable[[str], bytes]
# occurrence → the ORGANIZER of its invitations: the plan's office unit (its first contact), else the sender
OrganizerSource = Callable[[Occurrence], Party]


class Composer:
    """Renders rows to messages; holds the template environment, renderer registry and body cache."""

    def __init__(self, settings: Settings, *, calendars: CalendarSource, links: LinkIssuer | None = None,
                 templates_dir: Any = EMAIL_TEMPLATES, installation: Callable[[], str] | None = None,
                 organizers: OrganizerSource | None = None) -> None:
        """`installation` reads the id kept in the database (see `for_engine`), on the first message composed;
        without one (previews, tests) a random id of this composer's own."""
        self.settings = settings
        self._installation = installation
        self._installation_id: str | None = None if installation is not None else secrets.token_hex(8)
        self.calendars = calendars
        self.links = links  # without one, no mail carries an action link
        self.env = Environment(
            loader=FileSystemLoader(str(templates_dir)),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.renderers: dict[str, Renderer] = {}
        self._bodies: OrderedDict[str, tuple[bytes, str]] = OrderedDict()
        self._ics_cache: dict[tuple[Any, ...], Attachment] = {}
        name, address = parseaddr(settings.mail_from)
        self.office = Party(email=address, name=name)
        self.organizers: OrganizerSource = organizers or (lambda occurrence: self.office)
        self.sender = address
        self.from_header = _address_header(name, address)
        self.domain = address.rpartition("@")[2] or "localhost"
        self._unsubscribe = unsubscribe_serializer(settings)

    @classmethod
    def for_engine(cls, settings: Settings, engine: Engine, *, links: LinkIssuer | None = None) -> Composer:
        """Build a composer whose .ics attachments come from the feeds of the database behind `engine`."""
        length = timedelta(minutes=settings.event_default_minutes)
        composer = cls(settings, calendars=FeedCalendars(engine, base_url=settings.base_url, default_length=length),
                       links=links, installation=lambda: installation_id(engine))
        composer.organizers = lambda occurrence: office_party(engine, occurrence, composer.office)
        return composer

    def prepare(self, *, session: Session, rows: Sequence[OutboxMessage], now: datetime) -> None:
        """Let the link issuer issue a claimed batch's links in the claim's transaction, so composing writes nothing.

        An issuer without `prepare` issues each link when its row is composed.
        """
        prepare = getattr(self.links, "prepare", None)
        if prepare is not None:
            prepare(session=session, rows=rows, now=now)

    def register(self, kind: str, renderer: Renderer) -> None:
        """Use `renderer` for rows of `kind` instead of the templates named after it."""
        self.renderers[kind] = renderer

    def template_context(self, row: OutboxMessage, extra: dict[str, Any]) -> dict[str, Any]:
        """Return what templates see: the row's context plus links and labels."""
        base = self.settings.base_url.rstrip("/")
        return {
            **row.context,
            **extra,
            "kind": row.kind,
            "kind_label": KIND_LABELS.get(row.kind, row.kind),
            "base_url": base,
            "feed_url": f"{base}/feeds/all.ics",
            "plan_url": f"{base}/plan",
        }

    def render_templates(self, row: OutboxMessage, occurrence: Occurrence | None, extra: dict[str, Any]) -> Content:
        """Render `templates/email/{kind}.txt|.html`; attach the occurrence's .ics once it has a fixed time."""
        ctx = self.template_context(row, extra)
        ctx["has_ics"] = occurrence is not None and occurrence.start_at is not None
        ctx["ics_invite"] = ctx["has_ics"] and self.invites(row, occurrence)
        # A fixed event the plan gives no end: the calendar entry lasts the stated default (feeds do the same).
        ctx["ics_default_minutes"] = (self.settings.event_default_minutes
                                      if occurrence is not None and occurrence.start_at and not occurrence.end_at
                                      else None)
        try:
            text_t = self.env.get_template(f"{row.kind}.txt")
            html_t = self.env.get_template(f"{row.kind}.html")
        except TemplateNotFound as exc:
            raise LookupError(f"没有邮件模板：{exc.name}（邮件类型 {row.kind}）") from None
        attachments: tuple[Attachment, ...] = ()
        # Only a fixed event is a calendar entry people can put in their day; a window (up to the whole year) is
        # never attached as a weeks- or months-long event (the mail says so instead).
        if occurrence is not None and occurrence.start_at is not None:
            attachments = (self._invitation(row, occurrence) if ctx["ics_invite"] else self._ics(occurrence, ctx),)
        ctx["ics_method"] = dict(attachments[0].params).get("method") if attachments else None
        subject = "".join(text_t.blocks["subject"](text_t.new_context(ctx))).strip()
        return Content(subject=subject, text=text_t.render(ctx), html=html_t.render(ctx), attachments=attachments)

    def _ics(self, occurrence: Occurrence, ctx: dict[str, Any]) -> Attachment:
        """Return the occurrence's .ics attachment; every kind of mail about one version of it shares one."""
        key = (occurrence.id, occurrence.sequence, occurrence.updated_at, ctx.get("event_title"),
               tuple(ctx.get("hosts", ())), tuple(ctx.get("co_organizers", ())))
        hit = self._ics_cache.get(key)
        if hit is None:
            ics = self.calendars(occurrence.uid)
            hit = self._ics_cache[key] = Attachment(filename="event.ics", maintype="text", subtype="calendar",
                                                       data=ics, params=(("method", "PUBLISH"),))
            if len(self._ics_cache) > BODY_CACHE_SIZE:
                self._ics_cache.pop(next(iter(self._ics_cache)))
        return hit

    def invites(self, row: OutboxMessage, occurrence: Occurrence | None) -> bool:
        """Tell whether the row's mail carries an invitation to its recipient (reminders and change notices to
        hosts and co-organizers about a fixed occurrence) rather than the feed's PUBLISH entry."""
        return (occurrence is not None and occurrence.start_at is not None and row.kind in INVITATION_KINDS
                and row.context.get("role") in INVITATION_ROLES and hasattr(self.calendars, "invitation"))

    def _invitation(self, row: OutboxMessage, occurrence: Occurrence) -> Attachment:
        """Return the iTIP REQUEST (or CANCEL, once the occurrence is off) to the row's recipient."""
        organizer = self.organizers(occurrence)
        attendee = Party(email=row.recipient, name=header_text(row.recipient_name))
        key = ("invite", occurrence.id, occurrence.sequence, occurrence.updated_at, organizer, attendee)
        hit = self._ics_cache.get(key)
        if hit is None:
            method, data = self.calendars.invitation(  # type: ignore[attr-defined]
                occurrence.uid, organizer=organizer, attendee=attendee)
            hit = self._ics_cache[key] = Attachment(filename="event.ics", maintype="text", subtype="calendar",
                                                       data=data, params=(("method", method),))
            if len(self._ics_cache) > BODY_CACHE_SIZE:
                self._ics_cache.pop(next(iter(self._ics_cache)))
        return hit

    def _extra(self, row: OutboxMessage, now: datetime) -> dict[str, Any]:
        """Return what rendering adds to the row's context at `now`: its action link (issued if need be)."""
        return {"action_url": self.links(row, now=now) if self.links is not None else None}

    def _render(self, row: OutboxMessage, occurrence: Occurrence | None, extra: dict[str, Any]) -> Content:
        return self.renderers.get(row.kind, self.render_templates)(row, occurrence, extra)

    def content(self, row: OutboxMessage, occurrence: Occurrence | None, *, now: datetime) -> Content:
        """Render the content of one row at `now`, as `compose` does (action link included)."""
        return self._render(row, occurrence, self._extra(row, now))

    def _body(self, row: OutboxMessage, occurrence: Occurrence | None, now: datetime) -> tuple[bytes, str]:
        """Return (MIME body entity bytes, encoded Subject), cached: recipients of one context share them."""
        extra = self._extra(row, now)
        occ_key = (occurrence.id, occurrence.sequence, occurrence.updated_at.isoformat()) if occurrence else None
        # an invitation names its recipient (ATTENDEE): its body is that recipient's own
        who = (row.recipient, row.recipient_name) if self.invites(row, occurrence) else None
        key = hashlib.sha1(  # noqa: S324 - a cache key, not security
            json.dumps([row.kind, row.context, extra, occ_key, who], sort_keys=True, default=str).encode()
        ).hexdigest()
        hit = self._bodies.get(key)
        if hit is not None:
            self._bodies.move_to_end(key)
            return hit
        content = self._render(row, occurrence, extra)
        body = EmailMessage(policy=SMTP)
        body.set_content(content.text, subtype="plain", charset="utf-8", cte="base64")
        body.add_alternative(content.html, subtype="html", charset="utf-8", cte="base64")
        for a in content.attachments:
            body.add_attachment(a.data, maintype=a.maintype, subtype=a.subtype, filename=a.filename,
                                params=dict(a.params))
        for part in body.iter_attachments():
            if part.get_content_type() == "text/calendar":
                part.set_param("charset", "utf-8")
        for part in body.walk():
            del part["MIME-Version"]  # the top-level headers carry it once
        # the calendar part's parameters unquoted, as RFC 6047 writes them (the email package quotes every value)
        data = CALENDAR_TYPE.sub(rb"Content-Type: text/calendar; method=\1; charset=utf-8", body.as_bytes(policy=SMTP))
        hit = (data, encode_subject(header_text(content.subject)))
        self._bodies[key] = hit
        if len(self._bodies) > BODY_CACHE_SIZE:
            self._bodies.popitem(last=False)
        return hit

    def message_id(self, row: OutboxMessage) -> str:
        """Return the row's Message-ID: stable across retries, so a crash duplicate carries the same id; unique per
        installation (see scheduler.mail.headers)."""
        if self._installation_id is None:
            assert self._installation is not None
            self._installation_id = self._installation()
        return message_id(row.id, self._installation_id, self.domain)

    def compose(self, row: OutboxMessage, occurrence: Occurrence | None, *, now: datetime) -> OutgoingMessage:
        """Build the message for one row: cached body plus this recipient's headers."""
        body, subject = self._body(row, occurrence, now)
        recipient, smtputf8 = mail_address(row.recipient)
        message_id = self.message_id(row)
        headers = [
            f"From: {self.from_header}",
            f"To: {_address_header(row.recipient_name, row.recipient)}",
            f"Subject: {subject}",
            f"Date: {format_datetime(now.astimezone(SHANGHAI))}",
            f"Message-ID: {message_id}",
            "MIME-Version: 1.0",
            "Auto-Submitted: auto-generated",
            f"X-Scheduler-Kind: {row.kind}",
        ]
        if row.kind in BULK_KINDS:
            token = self._unsubscribe.dumps(row.recipient)
            url = f"{self.settings.base_url.rstrip('/')}/mail/unsubscribe/{token}"
            headers += [
                f"List-Unsubscribe: <{url}>, <mailto:{self.sender}?subject=unsubscribe>",
                "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
            ]
        for line in headers:  # defence in depth: whatever was stored, no value may start a header of its own
            if CONTROL_CHARS.search(FOLD.sub(" ", line)):
                raise ValueError(f"邮件头含换行或控制字符，拒绝发送：{line[:80]!r}")
        head = ("\r\n".join(headers) + "\r\n").encode("utf-8" if smtputf8 else "ascii")
        return OutgoingMessage(sender=self.sender, recipient=recipient, data=head + body, message_id=message_id,
                               smtputf8=smtputf8)



def office_party(engine: Engine, occurrence: Occurrence, fallback: Party) -> Party:
    """Return the ORGANIZER of invitations about `occurrence`: its plan's office unit at its first contact's
    address (named as the unit), else `fallback` (the sender, settings.mail_from)."""
    with Session(engine) as session:
        plan = session.get(Plan, occurrence.plan_id)
        if plan is None or not plan.office:
            return fallback
        people = session.exec(select(Contact).where(Contact.organization_key == plan.office)
                              .order_by(col(Contact.position))).all()
        unit = session.exec(select(Organization).where(Organization.key == plan.office)).first()
    if not people:
        return fallback
    return Party(email=people[0].email, name=unit.name if unit is not None else people[0].name)


def unsubscribe_serializer(settings: Settings) -> URLSafeSerializer:
    """Sign and read List-Unsubscribe tokens (payload: the address; newest key signs, all keys verify)."""
    # itsdangerous signs with the LAST key of the list; SECRET_KEYS lists the newest first.
    return URLSafeSerializer(list(reversed(settings.signing_keys())), salt=UNSUBSCRIBE_SALT)


def header_text(value: str) -> str:
    """Return `value` fit for one header line: control characters (CR, LF, NUL …) become spaces, runs collapse."""
    return " ".join(CONTROL_CHARS.sub(" ", value).split())


def mail_address(address: str) -> tuple[str, bool]:
    """Return the address to send to (domain IDNA-encoded) and whether it needs SMTPUTF8; ValueError if unusable."""
    local, at, domain = address.strip().rpartition("@")
    if not at or not local or not domain or CONTROL_CHARS.search(address) or ADDRESS_SPECIALS.search(address):
        raise ValueError(f"收件人地址无效（含空白、控制字符或分隔符，或缺少 @）：{address!r}")
    if not domain.isascii():
        try:
            domain = idna.encode(domain, uts46=True).decode("ascii")
        except idna.IDNAError as exc:
            raise ValueError(f"收件人地址的域名无法转换为 IDNA：{address!r}（{exc}）") from None
    return f"{local}@{domain}", not local.isascii()


def _address_header(name: str, address: str) -> str:
    """Return a To/From value: the display name without controls (quoted or RFC 2047-encoded), then the address."""
    address, smtputf8 = mail_address(address)
    name = header_text(name)
    if not name:
        return address
    if not name.isascii():
        name = encode_subject(name)
    elif not smtputf8:
        return formataddr((name, address))
    elif NAME_SPECIALS.search(name):
        name = f'"{quote(name)}"'
    return f"{name} <{address}>"
