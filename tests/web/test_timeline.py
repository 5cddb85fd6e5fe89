"""Timeline entries as Chinese sentences, from hand-written audit snapshots (pure logic)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from scheduler.web.timeline import audit_sentence, occurrence_change, revision_sentence

NAMES = {"chongchuan": "崇川区"}
AT = datetime(2023, 1, 28, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, 28 January


def test_a_fix_date_submission_reads_as_a_sentence() -> None:
    data: dict[str, Any] = {"status": "planned", "status_reason": None, "start_at": None, "end_at": None,
            "location": "上海", "window_start": "2023-03-01", "window_end": "2023-03-31", "sequence": 0}
    before = {"data": data, "task": {"status": "open", "done_by": None}}
    after = {"data": {**data, "status": "fixed", "start_at": "2023-03-08T06:00:00+00:00",
                      "end_at": "2023-03-08T08:30:00+00:00", "location": "上海张江科学会堂", "sequence": 1},
             "task": {"status": "done", "done_by": "cc@example.org"}, "revision": 1}
    label, text = audit_sentence(action="fix_date.submit", actor="cc@example.org", actor_kind="link",
                                 on_behalf_of=None, at=AT, before=before, after=after, unit="chongchuan", names=NAMES)
    assert label == "定档"
    # 06:00–08:30 UTC is 14:00–16:30 in Shanghai
    assert text == ("崇川区联络员（cc@example.org） 1月28日 定档：3月8日 14:00–16:30，"
                    "地点 上海张江科学会堂，状态改为已定档")


def test_an_admin_filing_on_behalf_and_a_window_move() -> None:
    label, text = audit_sentence(
        action="plan.occurrence.move", actor="admin:office", actor_kind="admin", on_behalf_of="chongchuan", at=AT,
        before={"window_start": "2023-03-01", "window_end": "2023-03-31", "status": "planned", "sequence": 0},
        after={"window_start": "2023-04-01", "window_end": "2023-04-30", "status": "postponed",
               "status_reason": "专家行程调整", "sequence": 1},
        unit=None, names=NAMES,
    )
    assert label == "改期"
    assert text == "管理员 office（代崇川区） 1月28日 改期：时间窗口 4月1日–4月30日，原因 专家行程调整，状态改为延期"


def test_revisions_and_unknown_fields_never_show_internal_names() -> None:
    label, text = revision_sentence(kind="fix_date", number=2, data={"date": "2023-03-08", "start_time": "14:00",
                                    "end_time": "16:30", "place": "南通"}, actor="system", actor_kind="system",
                                    on_behalf_of=None, at=AT, unit=None, names=NAMES)
    assert label == "定档·第 2 次提交（修改）"
    assert text == "系统 1月28日 提交定档：3月8日 14:00–16:30，地点 南通"
    assert occurrence_change({"sequence": 0, "secret_column": 1}, {"sequence": 1, "secret_column": 2}) == ""
