"""Every kind of mail the outbox carries: one enum, with the label people read for each kind."""

from __future__ import annotations

import enum


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
}
