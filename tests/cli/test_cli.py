"""The command line: plan show/import output, db upgrade, Chinese messages for settings and database errors."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from scheduler.cli import app
from scheduler.config import DEFAULT_SEED, SettingsError, load_settings

ROW = re.compile(r"^\s*(\d+)\s+Q([1-4])\s+(\S+)\s+(.+)$")


def cli(args: list[str], **env: str) -> Any:
    return CliRunner().invoke(app, args, env=env or None)


def run_module(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m scheduler …` as a user would, with a clean SCHEDULER_* environment."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("SCHEDULER_")}
    return subprocess.run(
        [sys.executable, "-m", "scheduler", *args],
        env={**base, "SCHEDULER_VAR_DIR": str(tmp_path / "var"), **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_plan_show_prints_a_readable_table(db_url: str, seeded_engine: Engine) -> None:
    result = cli(["plan", "show"], SCHEDULER_DATABASE_URL=db_url)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    rows = [(i, ROW.match(line)) for i, line in enumerate(lines)]
    heads = [(i, m.groups()) for i, m in rows if m]
    assert [int(g[0]) for _, g in heads] == list(range(1, 49))
    by_seq = {int(g[0]): (i, g) for i, g in heads}
    i, (_, quarter, label, title) = by_seq[9]
    assert (quarter, label, title) == ("1", "板块招商活动", "江苏省船舶与海洋工程装备技术创新中心项目推介会")
    assert lines[i + 1].split() == ["主办：市科技局", "承办/配合：海门区科技局"]
    assert "2023年1-3月" in lines[i + 2] and "海门" in lines[i + 2] and "[计划]" in lines[i + 2]
    i, (_, quarter, label, _) = by_seq[32]
    assert (quarter, label) == ("3", "板块招商活动")
    assert lines[i + 2].split()[1:3] == ["2023年9月", "西安"]
    assert lines[i + 3].split()[1:3] == ["2023年7-9月", "深圳"]
    i, (_, quarter, label, _) = by_seq[37]
    assert (quarter, label) == ("4", "季度主题活动")
    assert lines[i + 1].split() == ["主办：市人才办", "承办/配合：各有关部门、各板块"]


def test_plan_show_json(db_url: str, seeded_engine: Engine) -> None:
    result = cli(["plan", "show", "--json"], SCHEDULER_DATABASE_URL=db_url)
    assert result.exit_code == 0
    rows = {r["seq"]: r for r in json.loads(result.stdout)}
    assert list(rows) == list(range(1, 49))
    assert sum(len(r["sessions"]) for r in rows.values()) == 61
    assert [s["window"] for s in rows[25]["sessions"]] == ["2023年三季度"] * 3
    assert [s["location"] for s in rows[25]["sessions"]] == ["北京", "深圳", "西安"]
    assert rows[47]["sessions"][0]["window"] == "2023年全年"
    assert (rows[36]["quarter"], rows[36]["sessions"][0]["window"]) == (3, "2023年6-7月")
    assert rows[3]["hosts"] == ["市金融局", "市科创投资集团"] and rows[3]["series"] == "jianghai-chuangtouxing"
    theme_row = (rows[13]["type"], rows[13]["type_label"], rows[13]["theme"])
    assert theme_row == ("quarterly_theme", "季度主题活动", "科创项目")
    assert rows[9]["co_organizers"] == ["海门区科技局"]
    assert rows[1]["sessions"][0]["uid"] == "nantong-2023-01-1@kjzs-scheduler"


def test_plan_show_without_a_plan_says_what_to_do(db_url: str, engine: Engine) -> None:
    result = cli(["plan", "show"], SCHEDULER_DATABASE_URL=db_url)
    assert result.exit_code == 2
    assert "数据库中还没有计划，请先运行：scheduler plan import seeds/events_2023.json" in result.stderr


def test_commands_on_an_unmigrated_database_say_to_upgrade(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    for args in (["plan", "show"], ["plan", "import", str(DEFAULT_SEED)]):
        result = cli(args, SCHEDULER_DATABASE_URL=url)
        assert result.exit_code == 2
        assert result.stderr.strip() == f"数据库 {url} 尚未初始化，请先运行：scheduler db upgrade"


def test_plan_import_json_reports_counts(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert cli(["db", "upgrade"], SCHEDULER_DATABASE_URL=url).exit_code == 0
    first = cli(["plan", "import", str(DEFAULT_SEED), "--json"], SCHEDULER_DATABASE_URL=url)
    assert first.exit_code == 0
    assert json.loads(first.stdout) == {
        "changes": 144,
        "counts": {"event.created": 48, "occurrence.created": 61, "organization.created": 34, "plan.created": 1},
        "sequence_bumps": [],
        "conflicts": [],
        "participants": {"added": 34},
        "dry_run": False,
    }
    text = cli(["plan", "import", str(DEFAULT_SEED)], SCHEDULER_DATABASE_URL=url)
    assert text.stdout == "导入完成：0 处变更（数据库已是最新）。\n"
    again = json.loads(cli(["plan", "import", str(DEFAULT_SEED), "--json"], SCHEDULER_DATABASE_URL=url).stdout)
    assert again["changes"] == 0 and again["counts"]["occurrence.unchanged"] == 61


def test_plan_import_text_lists_what_changed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    cli(["db", "upgrade"], SCHEDULER_DATABASE_URL=url)
    result = cli(["plan", "import", str(DEFAULT_SEED)], SCHEDULER_DATABASE_URL=url)
    assert result.stdout.splitlines() == [
        "导入完成：144 处变更。",
        "  event.created: 48",
        "  occurrence.created: 61",
        "  organization.created: 34",
        "  plan.created: 1",
    ]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"SCHEDULER_SMTP_PORT": "abc"}, "SCHEDULER_SMTP_PORT：不是整数，收到 'abc'"),
        ({"SCHEDULER_SMTP_TLS": "ssl"}, "SCHEDULER_SMTP_TLS：取值无效（可选：'none', 'starttls', 'tls'），收到 'ssl'"),
        ({"SCHEDULER_SECRET_KEYS": "changeme"}, "SCHEDULER_SECRET_KEYS：每个密钥都必须是 16 个字符以上的随机字符串"),
        ({"SCHEDULER_CLOCK": "bogus"}, "SCHEDULER_CLOCK: 未知的时钟 'bogus'（可用 real 或 simulated:START[@SPEED]）"),
        ({"SCHEDULER_CLOCK": "simulated:2023-13-01"},
         "SCHEDULER_CLOCK 第 11 个字符起：无法解析开始时间 '2023-13-01'（应为 ISO 8601）"),
        ({"SCHEDULER_CLOCK": "simulated:2023-01-22@inf"},
         "SCHEDULER_CLOCK 第 22 个字符起：倍速 'inf' 不是数字（应为大于 0、不超过 1000000 的有限数字，如 3600）"),
    ],
)
def test_settings_errors_are_chinese_and_located(tmp_path: Path, env: dict[str, str], expected: str) -> None:
    result = cli(["plan", "show"], SCHEDULER_DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}", **env)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == ["配置错误：", expected]


def test_a_wrong_secret_is_not_echoed(tmp_path: Path) -> None:
    result = cli(["db", "upgrade"], SCHEDULER_SECRET_KEYS="good-key-0123456789abcdef,tooshort")
    assert result.exit_code == 2
    assert "tooshort" not in result.output and "good-key" not in result.output


def test_secret_keys_are_a_comma_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCHEDULER_SECRET_KEYS", " new-key-0123456789abcdef , old-key-0123456789abcdef ")
    assert load_settings().secret_keys == ["new-key-0123456789abcdef", "old-key-0123456789abcdef"]
    monkeypatch.setenv("SCHEDULER_SMTP_PORT", "x")
    with pytest.raises(SettingsError, match="SCHEDULER_SMTP_PORT"):
        load_settings()


def test_python_m_scheduler_help(tmp_path: Path) -> None:
    result = run_module(["--help"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "科技招商活动排期与联络服务" in result.stdout
    for command in ("db", "plan", "serve"):
        assert re.search(rf"^\W*{command}\s", result.stdout, re.MULTILINE), command
    plan_help = run_module(["plan", "--help"], tmp_path)
    for command in ("validate", "import", "show"):
        assert command in plan_help.stdout


def test_console_entry_point_reports_settings_errors(tmp_path: Path) -> None:
    result = run_module(["plan", "show"], tmp_path, SCHEDULER_SMTP_PORT="abc")
    assert result.returncode == 2
    assert "SCHEDULER_SMTP_PORT：不是整数，收到 'abc'" in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_database_is_a_clear_error(tmp_path: Path) -> None:
    url = "postgresql+psycopg://kjzs:s3cret@127.0.0.1:1/test"
    for args in (["db", "upgrade"], ["plan", "show"]):
        result = run_module(args, tmp_path, SCHEDULER_DATABASE_URL=url)
        assert result.returncode == 2
        first = result.stderr.splitlines()[0]
        assert first.startswith("无法连接数据库 postgresql+psycopg://kjzs:***@127.0.0.1:1/test：")
        assert "s3cret" not in result.stderr and "Traceback" not in result.stderr


def test_db_upgrade_then_import_then_show_as_a_user_would(tmp_path: Path) -> None:
    """The default database lives under SCHEDULER_VAR_DIR; each step prints what a user reads."""
    assert run_module(["db", "upgrade"], tmp_path).stdout == "数据库已升级到最新版本。\n"
    assert (tmp_path / "var" / "scheduler.db").exists()
    assert run_module(["plan", "import", str(DEFAULT_SEED)], tmp_path).stdout.startswith("导入完成：144 处变更。")
    shown = run_module(["plan", "show"], tmp_path)
    assert shown.returncode == 0 and len([ln for ln in shown.stdout.splitlines() if ROW.match(ln)]) == 48
