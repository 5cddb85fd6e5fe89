"""Operations without tracebacks (issue 15): every command names a database, disk or permission failure in one
Chinese line; serve and worker refuse to start on a database they cannot use."""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError
from typer.testing import CliRunner

import scheduler.cli as cli_module
from scheduler.cli import app, main
from scheduler.migrate import upgrade
from tests.cli.test_cli import run_module

UNREACHABLE = "postgresql+psycopg://kjzs:s3cret@127.0.0.1:1/test"


def _sqlite_error(message: str) -> OperationalError:
    return OperationalError("INSERT …", {}, sqlite3.OperationalError(message))


@pytest.mark.parametrize(("exc", "line"), [
    (OSError(errno.ENOSPC, "No space left on device", "var/mail/x.tmp"),
     "操作失败：磁盘已满：var/mail/x.tmp（No space left on device）"),
    (PermissionError(errno.EACCES, "Permission denied", "var/scheduler.db"),
     "操作失败：没有权限：var/scheduler.db（Permission denied）"),
    (OSError(errno.EROFS, "Read-only file system", "var/secret_key"),
     "操作失败：磁盘或数据库为只读：var/secret_key（Read-only file system）"),
    (_sqlite_error("database or disk is full"), "操作失败：数据库错误：磁盘已满（database or disk is full）"),
    (_sqlite_error("attempt to write a readonly database"),
     "操作失败：数据库错误：磁盘或数据库为只读（attempt to write a readonly database）"),
    (_sqlite_error("database is locked"), "操作失败：数据库错误：数据库忙（其他进程正在写入）（database is locked）"),
])
def test_main_turns_environment_failures_into_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], exc: Exception, line: str
) -> None:
    def failing() -> None:
        raise exc

    monkeypatch.setattr(cli_module, "app", failing)
    with pytest.raises(SystemExit) as stopped:
        main()
    assert stopped.value.code == 1
    assert capsys.readouterr().err.splitlines() == [line]


def test_a_bug_is_not_dressed_up_as_an_environment_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    def failing() -> None:
        raise OSError("something else entirely")  # no errno: not a disk or permission failure

    monkeypatch.setattr(cli_module, "app", failing)
    with pytest.raises(OSError, match="something else entirely"):
        main()


@pytest.mark.parametrize("args", [["run-job", "plan"], ["worker"], ["serve"], ["outbox", "list"]])
def test_commands_on_an_unreachable_database_print_one_line(tmp_path: Path, args: list[str]) -> None:
    result = run_module(args, tmp_path, SCHEDULER_DATABASE_URL=UNREACHABLE)
    assert result.returncode in (1, 2), result.stderr
    assert "Traceback" not in result.stderr and "s3cret" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "无法连接数据库" in lines[0], result.stderr


def test_a_directory_where_the_database_should_be_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "db").mkdir()
    result = run_module(["outbox", "list"], tmp_path, SCHEDULER_DATABASE_URL=f"sqlite:///{tmp_path / 'db'}")
    assert result.returncode in (1, 2) and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_serve_and_worker_refuse_an_old_schema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0008_workdays")
    monkeypatch.setenv("SCHEDULER_DATABASE_URL", url)
    monkeypatch.setenv("SCHEDULER_VAR_DIR", str(tmp_path))
    result = CliRunner().invoke(app, [command])
    assert result.exit_code == 2
    assert "的结构版本过旧（0008_workdays，应为 " in result.stderr
    assert result.stderr.rstrip().endswith("请先运行：scheduler db upgrade")


def test_serve_refuses_an_unmigrated_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCHEDULER_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    monkeypatch.setenv("SCHEDULER_VAR_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 2 and "尚未初始化，请先运行：scheduler db upgrade" in result.stderr


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_serve_and_worker_refuse_a_bad_mail_policy_in_one_line(tmp_path: Path, command: str) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    upgrade(url)
    result = run_module([command], tmp_path, SCHEDULER_DATABASE_URL=url,
                        SCHEDULER_MAIL_POLICY='{"hours_start": "25:00"}')
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.strip() == (
        "配置错误：SCHEDULER_MAIL_POLICY.hours_start: 取值 '25:00' 无效（应为 00:00–23:59 之间的时刻，如 09:00）")
