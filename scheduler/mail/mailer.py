"""Mail transport: the Mailer protocol, an SMTP implementation (aiosmtplib, pooled) and an in-memory one."""

from __future__ import annotations

import asyncio
import ssl
import time
from typing import Protocol

import aiosmtplib

from scheduler.config import Settings
from scheduler.mail.compose import OutgoingMessage

IDLE_CHECK_SECONDS = 10.0
UNREACHABLE_PAUSE_SECONDS = 5.0  # after a failed connect, fail fast instead of waiting out one timeout per message


class MailError(Exception):
    """A message the transport did not deliver; `permanent` says whether retrying can help."""

    permanent = False

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TransientMailError(MailError):
    """Try again later: 4xx replies, refused or dropped connections, timeouts, TLS or login trouble."""


class PermanentMailError(MailError):
    """The server refused this message for good (5xx)."""

    permanent = True


class Mailer(Protocol):
    """Sends one message; returns its Message-ID once the server accepted it, raises MailError otherwise."""

    async def send(self, message: OutgoingMessage) -> str: ...

    async def close(self) -> None: ...


class MemoryMailer:
    """Keeps messages in a list (unit tests, previews)."""

    def __init__(self) -> None:
        self.sent: list[OutgoingMessage] = []

    async def send(self, message: OutgoingMessage) -> str:
        """Keep the message; return its Message-ID."""
        self.sent.append(message)
        return message.message_id

    async def close(self) -> None:
        return None


def make_tls_context(settings: Settings) -> ssl.SSLContext:
    """Build the one TLS context every connection shares (building one costs ~50 ms)."""
    ctx = ssl.create_default_context(cafile=str(settings.smtp_cafile) if settings.smtp_cafile else None)
    if not settings.smtp_verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


NO_SMTPUTF8 = "邮件服务器不支持 SMTPUTF8，无法发往用户名含非 ASCII 字符的地址"


def classify(exc: BaseException) -> MailError:
    """Map an aiosmtplib or socket error to transient or permanent, keeping the server's reply.

    Only the transport can be transient (replies, disconnects, timeouts, TLS, sockets); anything else is a bug
    or a message that can never go (an address the server cannot take) and fails the row with the reason.
    """
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        exc = exc.recipients[0]
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        return PermanentMailError(f"{NO_SMTPUTF8}（{exc}）" if "SMTPUTF8" in str(exc) else f"{exc}")
    if not isinstance(exc, (aiosmtplib.SMTPException, OSError, TimeoutError)):
        return PermanentMailError(f"{type(exc).__name__}: {exc}")
    transport_trouble = (aiosmtplib.SMTPAuthenticationError, aiosmtplib.SMTPHeloError, aiosmtplib.SMTPConnectError)
    if isinstance(exc, aiosmtplib.SMTPResponseException) and not isinstance(exc, transport_trouble):
        reply = f"{exc.code} {exc.message}"
        return PermanentMailError(reply) if 500 <= exc.code < 600 else TransientMailError(reply)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return TransientMailError(f"{type(exc).__name__}: {exc.code} {exc.message}")
    return TransientMailError(f"{type(exc).__name__}: {exc}")


class SMTPMailer:
    """Sends through the configured server on a few reused connections sharing one TLS context."""

    def __init__(self, settings: Settings, *, connections: int | None = None,
                 unreachable_pause: float = UNREACHABLE_PAUSE_SECONDS) -> None:
        self.settings = settings
        self.unreachable_pause = unreachable_pause
        self.size = connections or settings.smtp_connections
        self.tls_context = make_tls_context(settings) if settings.smtp_tls != "none" else None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._idle: list[tuple[aiosmtplib.SMTP, float]] = []
        self._slots: asyncio.Semaphore | None = None
        self._unreachable_until = 0.0
        self._unreachable_reason = ""

    def _bind_loop(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if loop is not self._loop or self._slots is None:
            # Connections belong to the loop that opened them; a new loop (CLI run, test) starts a fresh pool.
            self._loop, self._idle, self._slots = loop, [], asyncio.Semaphore(self.size)
        return self._slots

    async def _connect(self) -> aiosmtplib.SMTP:
        s = self.settings
        client = aiosmtplib.SMTP(
            hostname=s.smtp_host, port=s.smtp_port, timeout=s.smtp_timeout,
            use_tls=s.smtp_tls == "tls", start_tls=s.smtp_tls == "starttls",
            tls_context=self.tls_context, validate_certs=s.smtp_verify,
        )
        await client.connect()
        if s.smtp_username:
            await client.login(s.smtp_username, s.smtp_password or "")
        return client

    async def _acquire(self) -> aiosmtplib.SMTP:
        while self._idle:
            client, since = self._idle.pop()
            if not client.is_connected:
                continue
            if time.monotonic() - since < IDLE_CHECK_SECONDS:
                return client
            try:  # servers drop idle connections; check before trusting one
                await client.noop()
                return client
            except Exception:
                client.close()
        if time.monotonic() < self._unreachable_until:
            raise TransientMailError(self._unreachable_reason)
        try:
            return await self._connect()
        except Exception as exc:
            self._unreachable_until = time.monotonic() + self.unreachable_pause
            self._unreachable_reason = classify(exc).reason
            raise

    async def send(self, message: OutgoingMessage) -> str:
        """Send on a pooled connection; return the Message-ID once the server accepted it, else raise MailError."""
        async with self._bind_loop():
            client: aiosmtplib.SMTP | None = None
            try:
                client = await self._acquire()
                # SMTPUTF8 only when an address needs it; aiosmtplib refuses it (permanent) unless the server offers it.
                options = ["SMTPUTF8"] if message.smtputf8 else []
                await client.sendmail(message.sender, [message.recipient], message.data, mail_options=options)
            except MailError:
                raise
            except Exception as exc:
                if client is not None:
                    client.close()  # its state after an error is unknown: never reuse it
                raise classify(exc) from exc
            self._idle.append((client, time.monotonic()))
            return message.message_id

    async def offers_smtputf8(self) -> bool:
        """Ask the server (EHLO) whether it takes SMTPUTF8 mail; False when it cannot be reached."""
        try:
            client = await self._connect()
        except Exception:
            return False
        try:
            if client.last_ehlo_response is None:
                await client.ehlo()
            return client.supports_extension("smtputf8")
        except Exception:
            return False
        finally:
            try:
                await client.quit()
            except Exception:
                client.close()

    async def close(self) -> None:
        """Say QUIT on every idle connection."""
        idle, self._idle = self._idle, []
        for client, _ in idle:
            try:
                await client.quit()
            except Exception:
                client.close()
