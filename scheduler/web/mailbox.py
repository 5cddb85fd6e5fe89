"""The local mailbox at /mail: what the embedded SMTP sink received (list, message, attachments)."""

from __future__ import annotations

from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from scheduler.clock import SHANGHAI
from scheduler.contacts import opt_out
from scheduler.mail.compose import unsubscribe_serializer
from scheduler.mail.kinds import KIND_LABELS
from scheduler.mail.sink import list_mail, mail_parts, read_mail
from scheduler.web.deps import NowDep, RuntimeDep, WriteSessionDep
from scheduler.web.security import MAIL_BODY_POLICY, LoginRequired, OptionalAdminDep
from scheduler.web.templates import render

router = APIRouter()
PAGE_SIZE = 100
REFRESH_SECONDS = 10
HEADER_LABELS = (("Subject", "主题"), ("From", "发件人"), ("To", "收件人"), ("Date", "日期"),
                 ("Message-ID", "Message-ID"), ("List-Unsubscribe", "退订"))


def _header_text(name: str, msg: Any) -> str:
    """Return a header for people: dates in Beijing time, everything else as sent."""
    value = str(msg.get(name, ""))
    if name == "Date":
        try:
            return f"{parsedate_to_datetime(value).astimezone(SHANGHAI):%Y-%m-%d %H:%M}（北京时间）"
        except (TypeError, ValueError):
            return value
    return value


def mailbox_access(request: Request, runtime: RuntimeDep, admin: OptionalAdminDep) -> None:
    """Let administrators read the mailbox; without sign-in only when SCHEDULER_MAILBOX_PUBLIC says so (the demo).

    The stored mail holds live capability links: the rule is an explicit setting, default sign-in, not a guess from
    BASE_URL (a loopback BASE_URL says nothing about the addresses the server listens on).
    """
    if admin is None and not runtime.settings.mailbox_public:
        raise LoginRequired(request.url.path)


MailboxAccess = [Depends(mailbox_access)]
PRIVATE_HEADERS = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


def _mailbox(runtime: RuntimeDep) -> Path:
    return runtime.settings.var_dir / "mail"


def _unsubscribe_address(runtime: RuntimeDep, token: str) -> str:
    try:
        return str(unsubscribe_serializer(runtime.settings).loads(token))
    except Exception:
        raise HTTPException(404, "退订链接无效") from None


@router.get("/mail/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe_form(request: Request, runtime: RuntimeDep, token: str) -> HTMLResponse:
    """Ask for confirmation (a GET changes nothing: mail scanners follow every link)."""
    email = _unsubscribe_address(runtime, token)
    response = render(request, "unsubscribe.html", {"email": email, "token": token, "done": False})
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.post("/mail/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe(
    request: Request, runtime: RuntimeDep, now: NowDep, session: WriteSessionDep, token: str
) -> HTMLResponse:
    """Stop routine reminders to the token's address (RFC 8058 one-click POST, or the confirmation form)."""
    email = _unsubscribe_address(runtime, token)
    opt_out(session=session, email=email, now=now)
    response = render(request, "unsubscribe.html", {"email": email, "token": token, "done": True})
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.get("/mail", response_class=HTMLResponse, dependencies=MailboxAccess)
def mailbox(request: Request, runtime: RuntimeDep, page: int = 1) -> HTMLResponse:
    """List the messages the local sink stored, newest first."""
    page = max(1, page)
    sink_on = runtime.settings.mail_sink
    # Only the embedded sink's mail is shown: a real deployment has no local mailbox to expose.
    mails, total = list_mail(_mailbox(runtime), limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE) if sink_on else ([], 0)
    response = render(request, "mail_list.html", {
        "mails": mails, "total": total, "page": page, "pages": max(1, -(-total // PAGE_SIZE)),
        "kind_labels": KIND_LABELS, "sink_on": sink_on,
    })
    if page == 1 and sink_on:
        response.headers["Refresh"] = str(REFRESH_SECONDS)  # new mail shows up without JavaScript
    response.headers.update(PRIVATE_HEADERS)
    return response


@router.get("/mail/{name}", response_class=HTMLResponse, dependencies=MailboxAccess)
def mail_message(request: Request, runtime: RuntimeDep, name: str) -> HTMLResponse:
    """Show one stored message: headers, text and HTML alternatives, attachments."""
    msg = read_mail(_mailbox(runtime), name) if runtime.settings.mail_sink else None
    if msg is None:
        raise HTTPException(404, "没有这封邮件")
    headers = [(label, _header_text(h, msg)) for h, label in HEADER_LABELS if msg.get(h)]
    response = render(request, "mail_view.html", {"name": name, "headers": headers, **mail_parts(msg),
                                                  "kind_labels": KIND_LABELS,
                                                  "kind": str(msg.get("X-Scheduler-Kind", ""))})
    response.headers.update(PRIVATE_HEADERS)
    return response


@router.get("/mail/{name}/body.html", response_class=HTMLResponse, dependencies=MailboxAccess)
def mail_html_body(runtime: RuntimeDep, name: str) -> HTMLResponse:
    """Serve a stored message's HTML part on its own, for the sandboxed frame of the message page: it keeps the
    inline styles mail clients see, under a policy of its own (no script, framed by this site only)."""
    msg = read_mail(_mailbox(runtime), name) if runtime.settings.mail_sink else None
    html = mail_parts(msg)["html"] if msg is not None else ""
    if not html:
        raise HTTPException(404, "这封邮件没有 HTML 正文")
    headers = {**PRIVATE_HEADERS, "Content-Security-Policy": MAIL_BODY_POLICY, "X-Frame-Options": "SAMEORIGIN"}
    return HTMLResponse(html, headers=headers)


@router.get("/mail/{name}/attachments/{index}", dependencies=MailboxAccess)
def mail_attachment(runtime: RuntimeDep, name: str, index: int) -> Response:
    """Download one attachment of a stored message (e.g. its .ics)."""
    msg = read_mail(_mailbox(runtime), name) if runtime.settings.mail_sink else None
    attachments = list(msg.iter_attachments()) if msg is not None else []
    if not 0 <= index < len(attachments):
        raise HTTPException(404, "没有这个附件")
    part = attachments[index]
    data = part.get_payload(decode=True) or b""
    filename = part.get_filename() or "attachment"
    media = "text/calendar; charset=utf-8" if part.get_content_type() == "text/calendar" else "application/octet-stream"
    return Response(data, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "X-Content-Type-Options": "nosniff", **PRIVATE_HEADERS})
