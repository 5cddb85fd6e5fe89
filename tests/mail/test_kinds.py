"""Typed subjects: what the builders write the parsers read back, and nothing else (ASCII digits only)."""

from __future__ import annotations

from datetime import date

import pytest

from scheduler.mail.kinds import (
    KIND_LABELS,
    MailKind,
    digest_subject,
    occurrence_id_of,
    occurrence_subject,
    report_subject,
    task_id_of,
    task_subject,
)


def test_subjects_keep_the_stored_format() -> None:
    assert task_subject(7) == "task:7"
    assert occurrence_subject(12) == "occurrence:12"
    assert digest_subject(date(2023, 2, 13)) == "digest:2023-02-13"
    assert report_subject("monthly", "2023-03") == "report:monthly:2023-03"


@pytest.mark.parametrize("row_id", [0, 1, 7, 12, 10**18 - 1])
def test_parsers_read_back_what_the_builders_wrote(row_id: int) -> None:
    assert task_id_of(task_subject(row_id)) == row_id
    assert occurrence_id_of(occurrence_subject(row_id)) == row_id
    assert task_id_of(occurrence_subject(row_id)) is None
    assert occurrence_id_of(task_subject(row_id)) is None


@pytest.mark.parametrize("rest", ["²", "①", "٣", "１２", "7²", "", " 7", "7 ", "7\n", "+7", "-7", "007", "7.0", "1_000",
                                  "0x1f", "9" * 19])
def test_parsers_refuse_anything_but_canonical_ascii_digits(rest: str) -> None:
    assert task_id_of(f"task:{rest}") is None
    assert occurrence_id_of(f"occurrence:{rest}") is None


def test_parsers_refuse_other_subjects() -> None:
    for subject in ("digest:2023-02-13", "report:monthly:2023-03", "Task:7", "task7", "xtask:7", "occurrence:12:x"):
        assert task_id_of(subject) is None and occurrence_id_of(subject) is None


def test_every_kind_has_a_chinese_label() -> None:
    assert set(KIND_LABELS) == set(MailKind)
    assert all(not label.isascii() for label in KIND_LABELS.values())
