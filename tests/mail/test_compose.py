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


def test_html_mail_fits_a_phone_and_titles_are_not_repeated(composer: Composer) -> None:
    # The 2023 plan's 03-1: activity 江海创投行 科创基金园区行, its February session titled with the month.
    context = {**BASE, "event_title": "江海创投行 科创基金园区行", "title": "江海创投行 科创基金园区行（2023年2月）"}
    content = composer.render_templates(row(context), occurrence(), {"action_url": None})
    for text in (content.text, content.html):
        assert "江海创投行 科创基金园区行（2023年2月）" in text
        assert "（江海创投行" not in text
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in content.html
    assert "max-width:600px" in content.html and "width:100%" in content.html
    # A session whose title does not repeat the activity's keeps both.
    other = composer.render_templates(row({**BASE, "title": "华东理工大学（高端装备）"}), occurrence(),
                                      {"action_url": None})
    assert "校企对接活动（华东理工大学（高端装备））" in other.text
    # A task titled after its kind does not say the kind twice.
    task = OutboxMessage(id=2, origin="followups", kind=MailKind.TASK_REQUEST, subject="task:7", rule="request",
                         recipient="a@example.org", recipient_name="张三", due_at=NOW, next_attempt_at=NOW,
                         created_at=NOW, updated_at=NOW,
                         context={"task_id": 7, "task_kind": "outcome", "task_kind_label": "成效填报",
                                  "task_title": "成效填报：校企对接活动", "assignee": "如皋市",
                                  "opens_on": "2023-03-15", "due_on": "2023-03-22", "occurrence": None,
                                  "org_name": "如皋市", "role": "host"})
    rendered = composer.render_templates(task, None, {"action_url": None})
    assert "成效填报：校企对接活动" in rendered.text and "（成效填报）" not in rendered.text + rendered.html
    assert '<meta name="viewport"' in rendered.html
