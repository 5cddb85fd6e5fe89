"""The quarterly scoring file (`report quarterly --weights`) goes through the shared bounded reader (issue 15):
a FIFO, a directory, an over-large or a non-UTF-8 file is refused with a located Chinese error, never read or hung."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from scheduler.cli import app
from scheduler.clock import FixedClock
from scheduler.config import Settings
from scheduler.reports.quarterly import Scoring
from scheduler.runtime import Runtime
from scheduler.validation import InputInvalid
from tests.conftest import NOTICE_DATE

GOOD = 'method = "efficacy"\nsatisfactory = 1.0\ndisallowed = 0.0\n'


def refusal(path: Path) -> InputInvalid:
    with pytest.raises(InputInvalid) as caught:
        Scoring.from_file(path)
    assert caught.value.source == str(path)
    assert caught.value.heading.startswith(f"计分设置文件 {path} 有 1 处错误")
    return caught.value


def test_a_good_scoring_file_still_reads(tmp_path: Path) -> None:
    path = tmp_path / "scoring.toml"
    path.write_text(GOOD, encoding="utf-8")
    assert Scoring.from_file(path).method == "efficacy"


@pytest.mark.timeout(20)
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    path = tmp_path / "scoring.toml"
    os.mkfifo(path)  # nobody writes: a plain open() + read() would hang here forever
    [error] = refusal(path).errors
    assert (error.where, error.message) == ("", "是管道（FIFO），不是普通文件，未读取")


def test_a_directory_is_refused(tmp_path: Path) -> None:
    [error] = refusal(tmp_path).errors
    assert (error.where, error.message) == ("", "是目录，不是普通文件，未读取")


def test_a_huge_file_is_refused_by_its_size(tmp_path: Path) -> None:
    path = tmp_path / "scoring.toml"
    path.write_text(GOOD + "#" * (64 * 1024), encoding="utf-8")
    size = path.stat().st_size  # 64 KiB of comment plus the three lines above
    [error] = refusal(path).errors
    assert error.message == f"文件过大（{size} 字节，上限 65536 字节）"


def test_a_non_utf8_file_is_refused_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "scoring.toml"
    path.write_bytes(GOOD.encode() + "# 计分\n".encode("gbk"))  # line 4 in GBK: 56 + 2 bytes, then 0xBC
    [error] = refusal(path).errors
    assert error.where == "第 4 行"
    assert error.message.startswith("不是 UTF-8 编码（字节偏移 58 处的 b'\\xbc'）")


def test_deep_nesting_is_located(tmp_path: Path) -> None:
    path = tmp_path / "scoring.toml"
    path.write_text(GOOD + "x = " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    [error] = refusal(path).errors
    assert (error.where, error.message) == ("第 4 行", "嵌套过深（超过 32 层）")


@pytest.mark.timeout(20)
def test_the_cli_refuses_a_fifo_with_exit_2_and_no_traceback(seeded_engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "weights.toml"
    os.mkfifo(path)
    settings = Settings(var_dir=tmp_path, secret_keys=["v" * 32])
    rt = Runtime(settings, engine=seeded_engine, clock=FixedClock(NOTICE_DATE))
    done = CliRunner().invoke(app, ["report", "quarterly", "--period", "2023Q1", "--weights", str(path)], obj=rt)
    assert done.exit_code == 2, done.output
    assert "Traceback" not in done.output
    assert f"计分设置文件 {path} 有 1 处错误，未写入任何数据" in done.output
    assert "是管道（FIFO），不是普通文件，未读取" in done.output
