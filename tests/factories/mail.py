"""Plain factories for mail tests: plan objects without a database, contacts, a recording SMTP server."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy.engine import Engine
from sqlmodel import select

from scheduler.config import PROJECT_ROOT
from scheduler.contacts import read_contacts_file, replace_contacts
from scheduler.db import session_scope
from scheduler.plan.catalog import EventView, get_organizations
from scheduler.plan.models import Event, Occurrence, Organization
from tests.support.instants import NOTICE_DATE
from tests.support.servers import reserve_port

T0 = NOTICE_DATE  # the notice date, 09:00 Shanghai
EXAMPLE_CONTACTS = PROJECT_ROOT / "seeds" / "contacts.example.toml"


@pytest.fixture
def mail_engine(seeded_engine: Engine) -> Engine:
    """The 2023 plan with the example contacts."""
    with session_scope(seeded_engine, write=True) as session:
        people = read_contacts_file(EXAMPLE_CONTACTS, organizations=get_organizations(session=session))
        replace_contacts(session=session, people=people, now=T0)
    return seeded_engine


def edit_occurrence(engine: Engine, key: str, now: datetime, **values: Any) -> Occurrence:
    """Change an occurrence the way an edit does: new values, sequence + 1, updated_at = now."""
    with session_scope(engine, write=True) as session:
        occ = session.exec(select(Occurrence).where(Occurrence.key == key)).one()
        for name, value in values.items():
            setattr(occ, name, value)
        occ.sequence += 1
        occ.updated_at = now
        return occ


def org(key: str, *, kind: str = "district", members: tuple[str, ...] = (), short: str | None = None) -> Organization:
    return Organization(id=abs(hash(key)) % 10_000, key=key, name=short or key, short_name=short or key, kind=kind,
                        members=list(members), created_at=T0, updated_at=T0)


def occurrence(**over: Any) -> Occurrence:
    values: dict[str, Any] = {
        "id": 1, "plan_id": 1, "event_id": 1, "key": "04-1", "uid": "nantong-2023-04-1@kjzs-scheduler",
        "title": "校企对接活动", "location": "如皋", "date_text": "3月", "window_start": date(2023, 3, 1),
        "window_end": date(2023, 3, 31), "precision": "month", "status": "planned", "sequence": 0,
        "created_at": T0, "updated_at": T0,
    }
    values.update(over)
    return Occurrence(**values)


def view(occurrences: list[Occurrence], *, hosts: list[Organization], cos: list[Organization] = (),  # type: ignore[assignment]
         type: str = "district", event_id: int = 1) -> EventView:
    event = Event(id=event_id, plan_id=1, seq=event_id, quarter=1, type=type, title="校企对接活动", content="对接",
                  locations=["如皋"], date_text="3月", created_at=T0, updated_at=T0)
    return EventView(event, list(hosts), list(cos), occurrences)


@dataclass
class Recorder:
    """aiosmtpd handler that records messages and can answer scripted failures."""

    received: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    data_replies: list[str] = field(default_factory=list)  # replies used (once each) instead of 250 for DATA
    refuse_rcpt: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    # Hold every DATA until this turns true (an event the test waits for, e.g. "both workers have claimed rows"),
    # checked every 50 ms; `hold_limit` polls at most, a safety net so a broken test cannot hang forever.
    hold_until: Callable[[], bool] | None = None
    hold_limit: int = 6000
    held: int = 0  # DATA commands that had to wait for hold_until
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse_rcpt:
            return self.refuse_rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.hold_until is not None and not self.hold_until():
            self.held += 1
            for _ in range(self.hold_limit):
                await asyncio.sleep(0.05)
                if self.hold_until():
                    break
        with self.lock:
            if self.data_replies:
                return self.data_replies.pop(0)
            self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"

    def messages(self) -> list[EmailMessage]:
        with self.lock:
            return [message_from_bytes(data, policy=policy.default) for _, _, data in self.received]  # type: ignore[misc]


class BoundController(Controller):
    """aiosmtpd's threaded controller serving on a socket bound beforehand (port 0, read back): no window in
    which another process could take the port between choosing it and listening on it."""

    def __init__(self, handler: Any, sock: socket.socket, **kwargs: Any) -> None:
        host, port = sock.getsockname()[:2]
        super().__init__(handler, hostname=host, port=port, **kwargs)
        self._sock = sock

    def _create_server(self) -> Any:
        return self.loop.create_server(self._factory_invoker, sock=self._sock, ssl=self.ssl_context)


def start_smtp(handler: Recorder, *, sock: socket.socket | None = None, **smtp_kwargs: Any) -> Controller:
    """Start a real aiosmtpd on 127.0.0.1 (in its own thread) on `sock` (from reserve_port) or a port the
    system picks; `controller.port` is the port. The caller stops it."""
    controller = BoundController(handler, sock or reserve_port(), **smtp_kwargs)
    controller.start()
    return controller
