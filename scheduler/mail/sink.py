"""A local SMTP sink (aiosmtpd) storing each message as one .eml under var/mail/, and reading them back."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import re
import time
import uuid
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from scheduler.clock import SHANGHAI

EML_NAME = re.compile(r"^[0-9]{19}-[0-9a-f]{8}\.eml$")
log = logging.getLogger(__name__)


class StoreHandler:
    """aiosmtpd handler: write each accepted message atomically as `<ns>-<rand>.eml`.

    Its own I/O errors (disk full, directory removed or read-only) are answered 451, so the sender keeps the message
    and tries again; a failed write leaves no partial file behind. A removed directory is created again.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        with contextlib.suppress(OSError):  # created again on the first message if it cannot be now
            directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """Store the message as received; answer 451 (try again later) when it cannot be stored."""
        data = envelope.original_content or b""
        name = f"{time.time_ns():019d}-{uuid.uuid4().hex[:8]}.eml"
        try:
            store_atomically(self.directory, name, data)
        except OSError as exc:
            reason = errno.errorcode.get(exc.errno or 0, type(exc).__name__)
            log.warning("mail sink cannot store a message in %s: %s", self.directory, exc)
            return f"451 4.3.0 Local storage error ({reason}), try again later"
        return "250 OK"


def store_atomically(directory: Path, name: str, data: bytes) -> None:
    """Write `data` to directory/name through a hidden temporary file, synced, then renamed; remove it on failure."""
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".{name}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, directory / name)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


class SinkError(RuntimeError):
    """The sink cannot listen where it was told to."""


async def start_sink(host: str, port: int, directory: Path) -> asyncio.AbstractServer:
    """Serve SMTP on host:port in the running loop, storing mail in `directory`."""
    handler = StoreHandler(directory)
    loop = asyncio.get_running_loop()
    try:
        return await loop.create_server(lambda: SMTP(handler, hostname="kjzs-sink", enable_SMTPUTF8=True),
                                        host=host, port=port)
    except OSError as exc:
        reason = "端口已被占用" if exc.errno == errno.EADDRINUSE else exc.strerror
        hint = "可用 SCHEDULER_SMTP_PORT 换一个端口"
        raise SinkError(f"本地 SMTP 接收端无法监听 {host}:{port}：{reason}（{hint}）") from None


@dataclass(frozen=True)
class StoredMail:
    """Headers of one stored message, for the list page."""

    name: str
    subject: str
    sender: str
    to: str
    date: str
    kind: str


def list_mail(directory: Path, *, limit: int = 200, offset: int = 0) -> tuple[list[StoredMail], int]:
    """Return stored messages newest first (a page of them) and how many there are."""
    if not directory.is_dir():
        return [], 0
    names = sorted((p.name for p in directory.iterdir() if EML_NAME.match(p.name)), reverse=True)
    parser = BytesHeaderParser(policy=policy.default)
    out = []
    for name in names[offset : offset + limit]:
        with (directory / name).open("rb") as fh:
            head = parser.parse(fh)
        out.append(StoredMail(name, str(head.get("Subject", "")), str(head.get("From", "")),
                              str(head.get("To", "")), _local_date(head.get("Date")),
                              str(head.get("X-Scheduler-Kind", ""))))
    return out, len(names)


def _local_date(header: Any) -> str:
    when = getattr(header, "datetime", None)
    if when is None or when.tzinfo is None:
        return str(header or "")
    return f"{when.astimezone(SHANGHAI):%Y-%m-%d %H:%M}"


def read_mail(directory: Path, name: str) -> EmailMessage | None:
    """Parse one stored message; None when the name is not a stored message's name."""
    if not EML_NAME.match(name) or not (directory / name).is_file():
        return None
    msg = message_from_bytes((directory / name).read_bytes(), policy=policy.default)
    return msg


def mail_parts(msg: EmailMessage) -> dict[str, Any]:
    """Return the text and HTML alternatives and the attachments of a message."""
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    return {
        "text": text.get_content() if text is not None else "",
        "html": html.get_content() if html is not None else "",
        "attachments": [(a.get_filename() or "attachment", a.get_content_type()) for a in msg.iter_attachments()],
    }
