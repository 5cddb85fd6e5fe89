"""The checklist template file goes through the shared bounded reader (issue 15): a FIFO, a directory, an
over-large or a non-UTF-8 file is refused with a located Chinese error instead of hanging or a traceback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scheduler.followups.checklists import ChecklistItem, read_checklists
from scheduler.validation import InputInvalid

GOOD = '[[default]]\nkey = "venue"\ntitle = "确认场地"\noffset_days = -7\n'


def refusal(path: Path) -> InputInvalid:
    with pytest.raises(InputInvalid) as caught:
        read_checklists(path)
    assert caught.value.source == str(path)
    assert caught.value.heading.startswith(f"筹备事项模板文件 {path} 有 1 处错误")
    return caught.value


def test_a_good_file_reads_and_a_missing_one_means_no_items(tmp_path: Path) -> None:
    path = tmp_path / "checklists.toml"
    path.write_text(GOOD, encoding="utf-8")
    assert read_checklists(path) == {"default": (ChecklistItem("venue", "确认场地", -7, "host"),)}
    assert read_checklists(tmp_path / "absent.toml") == {}
    assert read_checklists(None) == {}


@pytest.mark.timeout(20)
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    path = tmp_path / "checklists.toml"
    os.mkfifo(path)
    [error] = refusal(path).errors
    assert (error.where, error.message) == ("", "是管道（FIFO），不是普通文件，未读取")


def test_a_directory_is_refused(tmp_path: Path) -> None:
    [error] = refusal(tmp_path).errors
    assert (error.where, error.message) == ("", "是目录，不是普通文件，未读取")


def test_a_huge_file_is_refused_by_its_size(tmp_path: Path) -> None:
    path = tmp_path / "checklists.toml"
    path.write_text(GOOD + "#" * (256 * 1024), encoding="utf-8")
    size = path.stat().st_size
    [error] = refusal(path).errors
    assert error.message == f"文件过大（{size} 字节，上限 262144 字节）"


def test_a_non_utf8_file_is_refused_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "checklists.toml"
    path.write_bytes(GOOD.encode() + "# 筹备\n".encode("gbk"))  # line 5 in GBK
    [error] = refusal(path).errors
    assert error.where == "第 5 行"
    assert error.message.startswith("不是 UTF-8 编码")


def test_deep_nesting_is_located(tmp_path: Path) -> None:
    path = tmp_path / "checklists.toml"
    path.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    [error] = refusal(path).errors
    assert (error.where, error.message) == ("第 1 行", "嵌套过深（超过 32 层）")
