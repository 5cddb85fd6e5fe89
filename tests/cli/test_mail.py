"""CLI: outbox list/retry/cancel, mail preview, run-job, replay --json through a real aiosmtpd."""

from __future__ import annotations

import json
from email import message_from_string, policy

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select
from typer.testing import CliRunner

from scheduler.cli import app
from scheduler.clock import FixedClock
from scheduler.config import Settings
from scheduler.db import session_scope
from scheduler.mail.models import OutboxMessage
from scheduler.reminders.planner import REMINDER_KINDS
from scheduler.runtime import Runtime
from tests.factories.mail import EXAMPLE_CONTACTS, Recorder, start_smtp
from tests.support.instants import NOTICE_DATE

runner = CliRunner()


@pytest.fixture
def rt(mail_engine: Engine, settings: Settings) -> Runtime:
    settings = settings.model_copy(update={"contacts_file": EXAMPLE_CONTACTS, "smtp_timeout": 5})
    return Runtime(settings, engine=mail_engine, clock=FixedClock(NOTICE_DATE))


def invoke(rt: Runtime, *args: str):
    return runner.invoke(app, list(args), obj=rt)


def test_run_job_plan_then_outbox_list_retry_cancel(rt: Runtime) -> None:
    planned = invoke(rt, "run-job", "plan")
    assert planned.exit_code == 0, planned.output
    assert json.loads(planned.output)["added"] > 400  # a year of 定档 mail, at most 3 nudges each
    listed = invoke(rt, "outbox", "list", "--state", "pending", "--limit", "5", "--json")
    body = json.loads(listed.output)
    assert body["counts"]["pending"] > 400 and len(body["rows"]) == 5
    text = invoke(rt, "outbox", "list", "--limit", "3").output
    assert "待发送" in text and "定档" in text
    row_id = body["rows"][0]["id"]
    assert invoke(rt, "outbox", "retry", str(row_id)).exit_code == 2  # pending: nothing to retry
    cancelled = invoke(rt, "outbox", "cancel", str(row_id))
    assert cancelled.exit_code == 0 and "已取消" in cancelled.output
    retried = invoke(rt, "outbox", "retry", str(row_id))
    assert retried.exit_code == 0 and "重新排队" in retried.output
    missing = invoke(rt, "outbox", "cancel", "999999")
    assert missing.exit_code == 2 and "没有编号为 999999 的邮件" in missing.output
    assert invoke(rt, "outbox", "list", "--state", "lost").exit_code == 2
    assert invoke(rt, "run-job", "nothing").exit_code == 2


@pytest.mark.parametrize("kind", REMINDER_KINDS)
def test_mail_preview_renders_every_kind(rt: Runtime, kind: str) -> None:
    result = invoke(rt, "mail", "preview", kind, "--occurrence", "13-1")
    assert result.exit_code == 0, result.output
    assert "主题：【" in result.output
    assert "收件人：kjj.lianluo@example.org" in result.output
    assert "附件：event.ics" not in result.output  # 13-1 has no fixed time yet: no calendar entry (issue 14)
    eml = invoke(rt, "mail", "preview", kind, "--occurrence", "13-1", "--format", "eml").output
    msg = message_from_string(eml, policy=policy.default)
    assert msg["Subject"].startswith("【")
    assert list(msg.iter_attachments()) == []
    html = invoke(rt, "mail", "preview", kind, "--occurrence", "13-1", "--format", "html").output
    assert html.startswith("<!doctype html>")


def test_mail_preview_refuses_unknown_kind_or_occurrence(rt: Runtime) -> None:
    assert "未知邮件类型" in invoke(rt, "mail", "preview", "spam", "--occurrence", "01-1").output
    assert "没有场次" in invoke(rt, "mail", "preview", "reminder", "--occurrence", "99-9").output


def test_replay_json_counts_what_the_server_received(rt: Runtime) -> None:
    recorder = Recorder()
    controller = start_smtp(recorder)
    try:
        settings = rt.settings.model_copy(update={"smtp_port": controller.port, "smtp_host": "127.0.0.1"})
        result = runner.invoke(app, ["replay", "--start", "2023-01-22", "--end", "2023-03-31", "--json"],
                               obj=Runtime(settings, engine=rt.engine, clock=rt.clock))
        human = runner.invoke(app, ["replay", "--start", "2023-01-22", "--end", "2023-02-10"],
                              obj=Runtime(settings, engine=rt.engine, clock=rt.clock))
    finally:
        controller.stop()
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["failed"] == 0
    assert sum(body["by_kind"].values()) == body["sent"]
    # Follow-up tasks (issue 5) mail through the same replay: weekly 洽谈 requests, overdue nudges, the digest;
    # and so does the monthly report to the office, as the ticker sends it.
    assert set(body["by_kind"]) == {"fix_request", "fix_nudge", "fix_escalation", "task_request", "task_nudge",
                                    "task_digest", "monthly_report"}
    assert body["by_kind"]["monthly_report"] == 4  # January and February, to both 市科技局 contacts
    assert human.exit_code == 0 and "定档请求（fix_request）" in human.output
    # Mails per recipient per week (issue 14): the median and the busiest week, in JSON and in words.
    volume = body["per_recipient_week"]
    assert 1 <= volume["median"] <= volume["max"] and volume["max_recipient"] and volume["pairs"] > 0
    assert "每人每周收到邮件：中位数" in human.output and "按政策跳过" in human.output
    assert len(recorder.received) == body["sent"] + int(human.output.split("发送 ")[1].split(" 封")[0])
    # The replay ran in a scratch database: the configured one is untouched.
    with session_scope(rt.engine) as session:
        assert session.exec(select(OutboxMessage)).all() == []


def test_replay_needs_contacts_and_sane_dates(rt: Runtime) -> None:
    no_contacts = Runtime(rt.settings.model_copy(update={"contacts_file": None}), engine=rt.engine)
    assert "联系人文件" in runner.invoke(app, ["replay", "--start", "2023-01-01", "--end", "2023-02-01"],
                                       obj=no_contacts).output
    assert "早于" in invoke(rt, "replay", "--start", "2023-03-01", "--end", "2023-02-01").output
    assert "YYYY-MM-DD" in invoke(rt, "replay", "--start", "soon", "--end", "2023-02-01").output


def test_smtp_sink_says_when_its_port_is_taken(rt: Runtime) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = rt.settings.model_copy(update={"smtp_port": port, "smtp_host": "127.0.0.1"})
        result = runner.invoke(app, ["smtp-sink"], obj=Runtime(settings, engine=rt.engine))
    assert result.exit_code == 2 and "端口已被占用" in result.output
