"""`scheduler workdays …`: show a year, enter next year's notice day by day, confirm it, undo; Chinese errors."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from scheduler.cli import app

NOTICE = "国办发明电〔2026〕X号"


@pytest.fixture
def cli(engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SCHEDULER_DATABASE_URL", db_url)
    monkeypatch.setenv("SCHEDULER_CLOCK", "simulated:2026-12-01@1")
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def lines_with(output: str, text: str) -> list[str]:
    return [" ".join(line.split()) for line in output.splitlines() if text in line]


def test_show_a_year_the_library_covers(cli) -> None:
    done = cli("workdays", "show", "--year", "2024")
    assert done.exit_code == 0, done.output
    assert "按国务院办公厅放假安排" in done.output and "暂定" not in done.output
    assert lines_with(done.output, "2024-02-04") == ["2024-02-04 周日 调休上班 春节 chinesecalendar"]
    assert lines_with(done.output, "2024-10-07") == ["2024-10-07 周一 放假 国庆节 chinesecalendar"]
    assert "2024-02-09" not in done.output  # 除夕 2024 is an ordinary working Friday
    assert "调休上班 8 天；全年工作日 251 天。" in done.output  # 国办发明电〔2023〕7号, counted by hand
    assert "2026 年工作日历" in cli("workdays", "show").output  # the clock's year by default


def test_enter_confirm_and_undo_next_years_notice(cli) -> None:
    done = cli("workdays", "show", "--year", "2027")
    assert done.exit_code == 0 and "暂定" in done.output and "全年工作日 261 天（暂定）" in done.output
    done = cli("workdays", "set", "2027-02-08", "--off", "--note", "春节", "--source", NOTICE)
    assert done.exit_code == 0, done.output
    assert "已录入：2027-02-08（周一）放假，春节" in done.output
    assert cli("workdays", "set", "2027-02-20", "--work", "--note", "春节调休上班", "--source", NOTICE).exit_code == 0
    done = cli("workdays", "show", "--year", "2027")
    assert "暂定" in done.output, "entered but not confirmed"
    assert lines_with(done.output, "2027-02-08") == [f"2027-02-08 周一 放假 春节 {NOTICE}（办公室调整）"]
    assert lines_with(done.output, "2027-02-20") == [f"2027-02-20 周六 调休上班 春节调休上班 {NOTICE}（办公室调整）"]
    assert "全年工作日 261 天（暂定）" in done.output  # one weekday off, one Saturday on
    done = cli("workdays", "confirm", "--year", "2027", "--source", NOTICE)
    assert done.exit_code == 0 and "不再是暂定" in done.output
    done = cli("workdays", "show", "--year", "2027")
    assert f"已确认（依据 {NOTICE}，确认于 2026-12-01）" in done.output and "（暂定）" not in done.output
    assert cli("workdays", "unset", "2027-02-08").exit_code == 0
    assert "2027-02-08" not in cli("workdays", "show", "--year", "2027").output
    again = cli("workdays", "unset", "2027-02-08")
    assert again.exit_code == 2 and "日期 DAY 2027-02-08 没有录入过调整" in again.output


@pytest.mark.parametrize(("args", "message"), [
    (["set", "2027-2-30", "--off", "--note", "春节", "--source", NOTICE], "日期 DAY '2027-2-30' 无效"),
    (["set", "1899-01-01", "--off", "--note", "春节", "--source", NOTICE], "日期 DAY '1899-01-01' 超出范围"),
    (["set", "2027-02-08", "--note", "春节", "--source", NOTICE], "安排 --work/--off：请二选一"),
    (["set", "2027-02-08", "--work", "--off", "--note", "春节", "--source", NOTICE], "安排 --work/--off：请二选一"),
    (["set", "2027-02-08", "--off", "--source", NOTICE], "说明（--note）不能为空"),
    (["set", "2027-02-08", "--off", "--note", "春节"], "依据（--source）不能为空"),
    (["show", "--year", "明年"], "年份 --year '明年' 无效"),
    (["show", "--year", "3000"], "年份 --year 3000 超出范围"),
    (["confirm", "--source", NOTICE], "年份 --year：请指定"),
    (["confirm", "--year", "2027", "--source", NOTICE], "年份 2027：尚未录入任何放假或调休日期"),
    (["confirm", "--year", "2025", "--source", NOTICE], "年份 2025：日历库（chinesecalendar）已有该年的放假安排"),
    (["unset", "明天"], "日期 DAY '明天' 无效"),
])
def test_bad_input_names_the_field_and_exits_2(cli, args: list[str], message: str) -> None:
    done = cli("workdays", *args)
    assert done.exit_code == 2 and message in done.output, done.output
    assert "办公室调整" not in cli("workdays", "show", "--year", "2027").output  # nothing written
