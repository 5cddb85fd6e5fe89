"""`scheduler report …` and `scheduler targets …` on a seeded database: files, numbers and Chinese errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from scheduler.cli import app
from scheduler.config import PROJECT_ROOT


@pytest.fixture
def cli(seeded_engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SCHEDULER_DATABASE_URL", db_url)
    monkeypatch.setenv("SCHEDULER_CLOCK", "simulated:2023-04-03@1")
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def test_report_files_and_errors(cli, tmp_path: Path) -> None:
    done = cli("targets", "import", str(PROJECT_ROOT / "seeds" / "targets_2023.example.csv"))
    assert done.exit_code == 0 and "33 条" in done.output
    out = tmp_path / "m.xlsx"
    done = cli("report", "monthly", "--period", "2023-03", "--format", "xlsx", "--out", str(out))
    assert done.exit_code == 0, done.output
    ws = load_workbook(out)["各板块月度跟踪"]
    rugao = next(row for row in ws.iter_rows(values_only=True) if row[0] == "如皋市")
    assert rugao[11] == 130 and rugao[13] == 25.0  # target from the example file; pace 3/12
    done = cli("report", "cadence", "--period", "2023", "--format", "json")
    assert json.loads(done.output)["tables"][0]["rows"][0]["theme"] == "科技成果"
    bad = cli("report", "weekly", "--period", "2023-03")
    assert bad.exit_code == 2 and "未知报表类型 'weekly'" in bad.output
    bad = cli("report", "bimonthly", "--period", "2023-02/03")
    assert bad.exit_code == 2 and "01/02、03/04" in bad.output
    bad = cli("report", "monthly", "--period", "2023-03", "--format", "xlsx")
    assert bad.exit_code == 2 and "--out" in bad.output


def test_targets_import_refuses_a_bad_file_whole(cli, tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        "年度,板块,指标,目标值,来源\n2023,如皋市,签约项目数,12,\n2023,火星,签约项目数,3,\n2023,rugao,x,1,\n",
        encoding="utf-8",
    )
    done = cli("targets", "import", str(path))
    assert done.exit_code == 2
    assert "第 3 行：未知板块 '火星'" in done.output and "第 4 行：未知指标 'x'" in done.output
    assert "尚未设置年度目标" in cli("targets", "show").output  # nothing written, not even the good row
