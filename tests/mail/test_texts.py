"""Plain-text bodies start with the greeting (the subject is a header, never glued onto the text)."""

from __future__ import annotations

from datetime import date

import pytest

from scheduler.clock import first_full_week
from scheduler.config import Settings
from scheduler.mail.compose import Composer
from scheduler.mail.kinds import KIND_LABELS

CONTEXTS = {
    "task_digest": {"count": 1, "digest_day": "2023-02-06", "org_name": "市科技局", "base_url": "http://x",
                    "overdue": [{"title": "本周洽谈填报", "kind_label": "洽谈", "org": "海安市", "due_on": "2023-01-30",
                                 "days_overdue": 7, "reminders_sent": 1}]},
    "monthly_report": {"title": "2023年1月月度跟踪", "org_name": "市科技局", "as_of": "2023-01-31",
                       "rows": [{"rank": "—", "unit": "海安市", "held": 0, "signed": 0, "signed_ytd": 0, "target": "—",
                                 "rate": "—", "pace": "8.3", "ahead": "—", "reports_overdue": 0}],
                       "base_url": "http://x", "report_url": "http://x/r", "overdue": []},
}


@pytest.mark.parametrize("kind", sorted(CONTEXTS))
def test_text_body_starts_with_the_greeting(settings: Settings, kind: str) -> None:
    composer = Composer(settings, calendars=lambda uid: b"")
    template = composer.env.get_template(f"{kind}.txt")
    try:
        text = template.render(CONTEXTS[kind])
    except Exception as exc:  # the template needs more context: say which
        pytest.fail(f"{kind}.txt did not render with the test context: {exc}")
    assert "—%" not in text  # no percent sign after a missing figure
    first_line = text.lstrip().splitlines()[0]
    assert first_line == "市科技局：", text[:200]
    subject = "".join(template.blocks["subject"](template.new_context(CONTEXTS[kind]))).strip()
    assert subject.startswith("【") and subject not in text


def test_every_outbox_kind_has_a_chinese_label() -> None:
    for kind in ("task_request", "task_nudge", "task_digest", "link_renewal", "monthly_report", "fix_request"):
        assert KIND_LABELS[kind] and KIND_LABELS[kind].isascii() is False


@pytest.mark.parametrize(("day", "monday"), [
    (date(2023, 1, 22), date(2023, 1, 23)),  # the notice: a Sunday → the next Monday
    (date(2023, 1, 23), date(2023, 1, 23)),  # a Monday is itself
    (date(2023, 1, 25), date(2023, 1, 30)),
])
def test_weekly_check_ins_start_with_the_first_full_week(day: date, monday: date) -> None:
    assert first_full_week(day) == monday
