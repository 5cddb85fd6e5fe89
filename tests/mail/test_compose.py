"""Rendering: subjects per kind of change, RFC 2047 headers, one body per context, stable Message-IDs."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from typing import Any

import pytest

from scheduler.config import Settings
from scheduler.mail.compose import Composer
from scheduler.mail.kinds import MailKind, occurrence_subject
from scheduler.mail.models import OutboxMessage
from tests.factories.mail import occurrence

NOW = datetime(2023, 2, 1, tzinfo=UTC)
BASE = {"event_title": "校企对接活动", "title": "校企对接活动", "seq": 4, "type_label": "板块招商活动",
        "when": "2023-03-15 14:00–17:00", "fixed": True, "location": "如皋", "hosts": ["如皋市"],
        "co_organizers": ["各县（市、区）"], "status": "fixed", "status_label": "已定档", "status_reason": None,
        "org_name": "如皋市", "role": "host"}
PLANNED = {"when": "2023年3月", "location": "如皋", "status_label": "计划"}
FIXED = {"when": "2023-03-15 14:00–17:00", "location": "如皋", "status_label": "已定档"}


def row(context: dict[str, Any], *, id: int = 1, recipient: str = "a@example.org", name: str = "张三") -> OutboxMessage:
    return OutboxMessage(id=id, origin="reminders", kind=MailKind.CHANGE_NOTICE, subject=occurrence_subject(1),
                         rule="change:1",
                         recipient=recipient, recipient_name=name, context=context, due_at=NOW, next_attempt_at=NOW,
                         created_at=NOW, updated_at=NOW)


def fake_calendar(uid: str) -> bytes:
    """Stand-in for feeds_cache.FeedCalendars (tested against the feeds in test_mail_ics.py)."""
    return f"BEGIN:VCALENDAR\r\nUID:{uid}\r\nEND:VCALENDAR\r\n".encode()


@pytest.fixture
def composer(settings: Settings) -> Composer:
    return Composer(settings, calendars=fake_calendar)


@pytest.mark.parametrize(("context", "subject", "says", "html_says"), [
    ({**BASE, "previous": PLANNED}, "【已定档】校企对接活动（2023-03-15 14:00–17:00）", "原定：2023年3月，如皋（计划）",
     "已定档</strong>"),
    ({**BASE, "when": "2023-03-22 14:00", "previous": FIXED}, "【活动变更】校企对接活动（2023-03-22 14:00）",
     "现为：2023-03-22 14:00，如皋（已定档）", "的安排有更新"),
    ({**BASE, "status": "cancelled", "status_label": "取消", "status_reason": "场地原因", "previous": FIXED},
     "【活动取消】校企对接活动", "已取消，原因：场地原因", "已取消</strong>，原因：场地原因"),
])
def test_change_notice_says_what_changed(composer: Composer, context: dict, subject: str, says: str,
                                         html_says: str) -> None:
    content = composer.render_templates(row(context), occurrence(), {"action_url": None})
    assert content.subject == subject
    assert says in content.text and html_says in content.html


def test_headers_are_encoded_and_bodies_shared_per_context(composer: Composer) -> None:
    occ = occurrence()
    first = composer.compose(row(BASE, id=1), occ, now=NOW)
    second = composer.compose(row(BASE, id=2, recipient="b@example.org", name="李四"), occ, now=NOW)
    head1, body1 = first.data.split(b"\r\n\r\n", 1)
    head2, body2 = second.data.split(b"\r\n\r\n", 1)
    assert body1 == body2 and head1 != head2
    assert b"=?utf-8?" in head1 and head1.isascii()
    msg = message_from_bytes(first.data, policy=policy.default)
    assert msg["Subject"] == "【已定档】校企对接活动（2023-03-15 14:00–17:00）"
    assert str(msg["To"]) == "张三 <a@example.org>" and msg["Date"].datetime.utcoffset().total_seconds() == 8 * 3600
    assert first.message_id != second.message_id
    assert composer.compose(row(BASE, id=1), occ, now=NOW).message_id == first.message_id  # stable across retries
    assert msg["Message-ID"] == first.message_id
