"""`scheduler db upgrade` and `scheduler plan validate|import|show`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from scheduler.cli.context import JsonFlag, fail, refused, require_schema, runtime, unreachable

if TYPE_CHECKING:
    from scheduler.plan.seed import PlanFile

db_app = typer.Typer(help="数据库", no_args_is_help=True)
plan_app = typer.Typer(help="活动计划：校验、导入、查看", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """升级数据库结构到最新版本。"""
    from sqlalchemy.exc import OperationalError

    from scheduler.migrate import upgrade

    rt = runtime(ctx)
    try:
        upgrade(rt.settings.resolved_database_url)
    except OperationalError as exc:
        raise unreachable(rt, exc) from None
    typer.echo("数据库已升级到最新版本。")


def _load(path: Path, as_json: bool) -> PlanFile:
    from scheduler.plan.seed import read_plan_file
    from scheduler.validation import InputInvalid

    try:
        return read_plan_file(path)
    except InputInvalid as exc:
        raise refused(exc, as_json=as_json) from None


@plan_app.command("validate")
def plan_validate(path: Path, as_json: JsonFlag = False) -> None:
    """校验计划文件（整份检查，列出所有错误）。"""
    doc = _load(path, as_json)
    sessions = sum(len(e.sessions) for e in doc.events)
    if as_json:
        typer.echo(
            json.dumps(
                {"ok": True, "events": len(doc.events), "sessions": sessions, "organizations": len(doc.organizations)},
                ensure_ascii=False,
            )
        )
    else:
        typer.echo(f"计划文件有效：{len(doc.events)} 项活动，{sessions} 个场次，{len(doc.organizations)} 个单位。")


@plan_app.command("import")
def plan_import(ctx: typer.Context, path: Path, as_json: JsonFlag = False) -> None:
    """导入计划文件（可重复执行；出错时不写入任何数据）。"""
    from scheduler.db import session_scope
    from scheduler.plan.importer import import_plan

    doc = _load(path, as_json)
    rt = runtime(ctx)
    require_schema(rt)
    with session_scope(rt.engine, write=True) as session:
        report = import_plan(session=session, doc=doc, now=rt.clock.now())
    if as_json:
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False))
        return
    if report.changes == 0:
        typer.echo("导入完成：0 处变更（数据库已是最新）。")
        return
    typer.echo(f"导入完成：{report.changes} 处变更。")
    for key, n in sorted(report.counts.items()):
        if not key.endswith(".unchanged"):
            typer.echo(f"  {key}: {n}")


@plan_app.command("show")
def plan_show(
    ctx: typer.Context,
    plan_key: Annotated[str | None, typer.Option("--plan", help="计划 key，如 nantong-2023（默认：当前计划）")] = None,
    as_json: JsonFlag = False,
) -> None:
    """以表格显示已导入的计划（默认当前年度的计划）。"""
    from scheduler.clock import local_date
    from scheduler.db import session_scope
    from scheduler.plan.catalog import PlanNotFound, choose_plan
    from scheduler.plan.rows import plan_rows

    rt = runtime(ctx)
    require_schema(rt)
    with session_scope(rt.engine) as session:
        try:
            plan = choose_plan(session=session, key=plan_key, today=local_date(rt.clock.now()))
        except PlanNotFound as exc:
            raise fail(str(exc)) from None
        if plan is None:
            raise fail("数据库中还没有计划，请先运行：scheduler plan import seeds/events_2023.json")
        rows = plan_rows(session=session, plan=plan)
        heading = f"{plan.title}（{plan.key}，{plan.year} 年度）"
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return
    typer.echo(heading)
    for row in rows:
        typer.echo(f"{row['seq']:>3}  Q{row['quarter']}  {row['type_label']:<6}  {row['title']}")
        typer.echo(
            f"      主办：{'、'.join(row['hosts'])}"
            + (f"  承办/配合：{'、'.join(row['co_organizers'])}" if row["co_organizers"] else "")
        )
        for occ in row["sessions"]:
            typer.echo(f"      · {occ['window']:<14} {occ['location']:<8} {occ['title']}  [{occ['status_label']}]")
