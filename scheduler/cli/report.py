"""`scheduler report KIND --period P --format …` and `scheduler targets …` (annual targets, 2025 goal values)."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer

from scheduler.cli.context import JsonFlag

GOAL_MAX = Decimal("99999999999999.99")  # goal_entry.value is Numeric(16, 2)
targets_app = typer.Typer(help="年度目标（各板块）与 2025 发展目标数据", no_args_is_help=True)


def report(
    ctx: typer.Context,
    kind: Annotated[
        str, typer.Argument(help="monthly 月度跟踪 | bimonthly 双月点评 | quarterly 季度考核 | cadence | targets")
    ],
    period: Annotated[str, typer.Option("--period", help="2023-03 | 2023-03/04 | 2023Q1 | 2023")],
    fmt: Annotated[str, typer.Option("--format", help="html | csv | xlsx | json")] = "html",
    out: Annotated[Path | None, typer.Option("--out", help="写入文件（默认输出到屏幕；xlsx 必须指定）")] = None,
    weights: Annotated[Path | None, typer.Option("--weights", help="季度考核计分设置（TOML）")] = None,
    issue: Annotated[bool, typer.Option("--issue", help="发布并冻结季度考核（不可撤销、不可重复）")] = False,
    by: Annotated[str, typer.Option("--by", help="发布人（与 --issue 一起使用）")] = "cli",
    plan: Annotated[str | None, typer.Option("--plan", help="计划 key（默认：期间所在年度的计划）")] = None,
) -> None:
    """生成报表：月度跟踪、双月点评、季度考核、活动节奏、目标进度。"""
    from scheduler.cli.context import fail, refused, require_schema, runtime
    from scheduler.db import session_scope
    from scheduler.reports.build import ReportUnavailable, build_report, check_kind, issue_quarterly
    from scheduler.reports.export import FORMATS, export
    from scheduler.reports.quarterly import Scoring
    from scheduler.reports.snapshots import SnapshotExists
    from scheduler.validation import InputInvalid

    try:
        check_kind(kind)
    except ReportUnavailable as exc:
        raise fail(str(exc)) from None
    if fmt not in FORMATS:
        raise fail(f"未知格式 {fmt!r}（可选：{'、'.join(FORMATS)}）")
    if fmt == "xlsx" and out is None:
        raise fail("xlsx 为二进制文件，请用 --out 指定输出文件")
    if issue and kind != "quarterly":
        raise fail("只有季度考核（quarterly）可以发布冻结")
    rt = runtime(ctx)
    require_schema(rt)
    try:
        scoring = Scoring.from_file(weights) if weights else None
    except InputInvalid as exc:
        raise refused(exc) from None
    try:
        now = rt.clock.now()
        with session_scope(rt.engine, write=issue) as session:
            if issue:
                built = issue_quarterly(session=session, period=period, now=now, by=by, scoring=scoring,
                                        plan_key=plan)
            else:
                built = build_report(session=session, kind=kind, period=period, now=now, scoring=scoring,
                                     plan_key=plan)
    except (ReportUnavailable, SnapshotExists) as exc:
        raise fail(str(exc)) from None
    data = export(built, fmt)
    if out is None:
        typer.echo(data.decode("utf-8"), nl=False)
        return
    out.write_bytes(data)
    typer.echo(f"已写入 {out}（{built.title}，{len(data)} 字节）" + ("；已发布并冻结" if issue else ""), err=True)


@targets_app.command("import")
def targets_import(ctx: typer.Context, path: Path, as_json: JsonFlag = False) -> None:
    """导入各板块年度目标 CSV（年度,板块,指标,目标值,来源；整份校验，出错不写入）。"""
    from scheduler.cli.context import refused, require_schema, runtime
    from scheduler.db import session_scope
    from scheduler.reports.targets import import_targets
    from scheduler.validation import InputInvalid

    rt = runtime(ctx)
    require_schema(rt)
    try:
        with session_scope(rt.engine, write=True) as session:
            n = import_targets(session=session, path=path, now=rt.clock.now())
    except InputInvalid as exc:
        raise refused(exc, as_json=as_json) from None
    if as_json:
        typer.echo(json.dumps({"ok": True, "targets": n}, ensure_ascii=False))
    else:
        typer.echo(f"已导入 {n} 条年度目标。")


@targets_app.command("show")
def targets_show(
    ctx: typer.Context, year: Annotated[str | None, typer.Option("--year", help="年度（默认：当前时钟的年份）")] = None
) -> None:
    """显示各板块年度目标。"""
    from scheduler.cli.context import fail, require_schema, runtime
    from scheduler.clock import local_date
    from scheduler.db import session_scope
    from scheduler.reports.targets import METRICS, bankuai_units, shown_targets
    from scheduler.validation import ValueRefused, parse_year

    try:
        wanted = parse_year(year, label="--year") if year is not None else None
    except ValueRefused as exc:
        raise fail(str(exc)) from None
    rt = runtime(ctx)
    require_schema(rt)
    if wanted is None:
        wanted = local_date(rt.clock.now()).year
    targets: dict[str, dict[str, object]] = {}
    with session_scope(rt.engine) as session:
        for key, metric, value in shown_targets(session=session, year=wanted):
            targets.setdefault(key, {})[metric] = value
        units = bankuai_units(session=session)
    if not targets:
        typer.echo(f"{wanted} 年尚未设置年度目标：scheduler targets import seeds/targets_2023.example.csv")
        return
    for key, org in units.items():
        values = targets.get(key, {})
        typer.echo(
            f"{org.short_name:<8} "
            + "  ".join(f"{label} {_shown(values.get(m), unit)}" for m, (label, unit) in METRICS.items())
        )


def _shown(value: object, unit: str) -> str:
    """Print a target with its unit; none as —, a stored value out of range as 无效值 (no unit)."""
    if value is None:
        return f"—{unit}"
    return value if isinstance(value, str) else f"{value}{unit}"


@targets_app.command("goal")
def goal_set(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="目标代码，如 hightech、patents、tech_contracts")],
    value: str,
    as_of: Annotated[str, typer.Option("--as-of", help="数据日期 YYYY-MM-DD")],
    source: Annotated[str, typer.Option("--source", help="数据来源，如 市统计局统计公报")],
) -> None:
    """录入一项 2025 发展目标的统计值（注明来源与日期）。"""
    from scheduler.cli.context import fail, require_schema, runtime
    from scheduler.db import session_scope
    from scheduler.reports.goals import add_entry
    from scheduler.validation import ValueRefused, clean_text, parse_decimal, parse_year

    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", as_of, re.ASCII):
            raise ValueRefused(f"日期 {as_of[:40]!r} 无效（形如 2023-06-30）")
        try:
            day = date.fromisoformat(as_of)
        except ValueError:
            raise ValueRefused(f"日期 {as_of!r} 无效（形如 2023-06-30）") from None
        parse_year(str(day.year), label="日期的年份")
        amount = parse_decimal(value, label="数值", low=Decimal(0), high=GOAL_MAX)
        source = clean_text(source, label="数据来源", limit=200)
    except ValueRefused as exc:
        raise fail(str(exc)) from None
    rt = runtime(ctx)
    require_schema(rt)
    try:
        with session_scope(rt.engine, write=True) as session:
            add_entry(
                session=session, goal_key=key, as_of=day, value=amount, source=source, by="cli", now=rt.clock.now()
            )
    except ValueError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"已记录 {key} = {amount}（{day}，{source}）")
