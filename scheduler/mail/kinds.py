"""Every kind of mail the outbox carries: one enum, the label people read for each kind, and the typed subjects
that say what a message is about (`task:7`, `occurrence:12`, `digest:2023-02-13`, `report:monthly:2023-03`)."""

from __future__ import annotations

import enum
import re
from datetime import date


class MailKind(enum.StrEnum):
    """What a message is; stored as its value in `outbox.kind`."""

    FIX_REQUEST = "fix_request"
    FIX_NUDGE = "fix_nudge"
    FIX_ESCALATION = "fix_escalation"
    REMINDER = "reminder"
    CHANGE_NOTICE = "change_notice"
    TASK_REQUEST = "task_request"
    TASK_NUDGE = "task_nudge"
    TASK_DIGEST = "task_digest"
    LINK_RENEWAL = "link_renewal"
    MONTHLY_REPORT = "monthly_report"
    NOMINATION_REQUEST = "nomination_request"  # logistics: a unit is asked to nominate its people
    NOMINATION_NUDGE = "nomination_nudge"  # logistics: the deadline is near and the unit has not nominated
    GUEST_INVITATION = "guest_invitation"  # logistics: a guest's personal RSVP link
    GUEST_REMINDER = "guest_reminder"  # logistics: the guest has not answered yet
    GUEST_CONFIRMATION = "guest_confirmation"  # logistics: accepted; carries an iTIP REQUEST and the check-in code


# As people read them, so that mailbox, outbox and timelines never show a raw code.
KIND_LABELS: dict[str, str] = {
    MailKind.FIX_REQUEST: "定档请求",
    MailKind.FIX_NUDGE: "定档催办",
    MailKind.FIX_ESCALATION: "定档督办",
    MailKind.REMINDER: "活动提醒",
    MailKind.CHANGE_NOTICE: "变更通知",
    MailKind.TASK_REQUEST: "待办通知",
    MailKind.TASK_NUDGE: "待办催办",
    MailKind.TASK_DIGEST: "督办周报",
    MailKind.LINK_RENEWAL: "新链接",
    MailKind.MONTHLY_REPORT: "月度跟踪报表",
    MailKind.NOMINATION_REQUEST: "报名通知",
    MailKind.NOMINATION_NUDGE: "报名催办",
    MailKind.GUEST_INVITATION: "邀请函",
    MailKind.GUEST_REMINDER: "邀请回复提醒",
    MailKind.GUEST_CONFIRMATION: "参会确认",
}

TASK_PREFIX = "task:"
OCCURRENCE_PREFIX = "occurrence:"
# A row id as the builders write it: ASCII digits, no sign, no leading zero, small enough for a BIGINT column.
# (str.isdigit() would also take '²' or '①', which int() then refuses.)
_ROW_ID = re.compile(r"0|[1-9][0-9]{0,17}")


def task_subject(task_id: int) -> str:
    """Return the subject of mail about one follow-up task."""
    return f"{TASK_PREFIX}{task_id}"


def occurrence_subject(occurrence_id: int) -> str:
    """Return the subject of mail about one occurrence (reminders, notices, 定档 mail)."""
    return f"{OCCURRENCE_PREFIX}{occurrence_id}"


def digest_subject(day: date) -> str:
    """Return the subject of the weekly overdue digest sent on `day`."""
    return f"digest:{day.isoformat()}"


def report_subject(report_kind: str, period: str) -> str:
    """Return the subject of the mailed report of one kind for one period (e.g. monthly, 2023-03)."""
    return f"report:{report_kind}:{period}"


def task_id_of(subject: str) -> int | None:
    """Return the task id of a `task:N` subject, or None for any other subject."""
    return _row_id_after(TASK_PREFIX, subject)


def occurrence_id_of(subject: str) -> int | None:
    """Return the occurrence id of an `occurrence:N` subject, or None for any other subject."""
    return _row_id_after(OCCURRENCE_PREFIX, subject)


def _row_id_after(prefix: str, subject: str) -> int | None:
    if not subject.startswith(prefix):
        return None
    rest = subject[len(prefix):]
    return int(rest) if _ROW_ID.fullmatch(rest) else None
