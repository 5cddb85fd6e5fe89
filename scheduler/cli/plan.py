"""`scheduler db upgrade` and `scheduler plan validate|import|show|export` (JSON, or the office's XLSX/DOCX table)."""

from __future__ import annotations

import enum
import json
import os
import re
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from scheduler.cli.context import JsonFlag, fail, refused, require_schema, runtime, unreachable

if TYPE_CHECKING:
    from scheduler.plan.seed import OrganizationIn, PlanFile
    from scheduler.plan.sheet import TableOptions
    from scheduler.runtime import Runtime

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


KeyOption = Annotated[str | None, typer.Option("--key", help="表格的计划编号，如 nantong-2027（默认：城市-年度）")]
YearOption = Annotated[int | None, typer.Option("--year", help="表格的计划年度（默认：标题行中的年份）")]
TitleOption = Annotated[str | None, typer.Option("--title", help="表格的计划标题（默认：标题行）")]
PublishedOption = Annotated[str | None, typer.Option("--published", help="发布日期 YYYY-MM-DD（默认：当年1月1日）")]


class ExportFormat(enum.StrEnum):
    XLSX = "xlsx"
    DOCX = "docx"


def _table_options(
    path: Path, key: str | None, year: int | None, title: str | None, published: str | None, prefix: str
) -> TableOptions:
    from scheduler.plan.sheet import TableOptions

    values = (("--key", key), ("--year", year), ("--title", title), ("--published", published))
    given = [name for name, v in values if v]
    if given and path.suffix.lower() == ".json":
        raise fail(f"{'、'.join(given)} 只用于 Excel/Word 表格；JSON 计划文件自带这些信息")
    try:
        day = date.fromisoformat(published) if published else None
    except ValueError:
        raise fail(f"--published 应为 YYYY-MM-DD 日期，收到 {published!r}") from None
    return TableOptions(key=key, year=year, title=title, published=day, key_prefix=prefix)


def _directory(rt: Runtime | None) -> tuple[list[OrganizationIn], str]:
    """Return the units already in the database and the city part of the newest plan's key (for a table)."""
    if rt is None:
        return [], "plan"
    from sqlalchemy import inspect
    from sqlalchemy.exc import OperationalError

    from scheduler.db import session_scope
    from scheduler.plan.catalog import get_organizations, get_plan
    from scheduler.plan.sheet_info import stored_unit

    try:
        if not inspect(rt.engine).has_table("plan"):
            return [], "plan"
        with session_scope(rt.engine) as session:
            units = [stored_unit(o) for o in get_organizations(session=session).values() if not o.withdrawn]
            plan = get_plan(session=session)
    except OperationalError:
        return [], "plan"
    return units, re.sub(r"-\d{4}$", "", plan.key) if plan else "plan"


Options = tuple[str | None, int | None, str | None, str | None]


def _is_table(path: Path) -> bool:
    """Tell an XLSX/DOCX (a zip) from a JSON file by its first bytes; only a table needs the database's units."""
    if not path.is_file():  # a FIFO would block open(); read_plan_path refuses what is not a regular file
        return False
    try:
        with path.open("rb") as handle:
            return handle.read(4) == b"PK\x03\x04"
    except OSError:
        return False


def _load(path: Path, as_json: bool, rt: Runtime | None = None, options: Options | None = None) -> PlanFile:
    from scheduler.plan.sheet import read_plan_path
    from scheduler.validation import InputInvalid

    units, prefix = _directory(rt) if _is_table(path) else ([], "plan")
    table = _table_options(path, *options, prefix) if options else None
    try:
        return read_plan_path(path, organizations=units, options=table)
    except InputInvalid as exc:
        raise refused(exc, as_json=as_json) from None


@plan_app.command("validate")
def plan_validate(
    ctx: typer.Context,
    path: Path,
    as_json: JsonFlag = False,
    key: KeyOption = None,
    year: YearOption = None,
    title: TitleOption = None,
    published: PublishedOption = None,
) -> None:
    """校验计划文件：JSON，或 Excel（.xlsx）/Word（.docx）活动安排表（整份检查，列出所有错误）。"""
    doc = _load(path, as_json, runtime(ctx) if _is_table(path) else None, (key, year, title, published))
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
def plan_import(
    ctx: typer.Context,
    path: Path,
    as_json: JsonFlag = False,
    key: KeyOption = None,
    year: YearOption = None,
    title: TitleOption = None,
    published: PublishedOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="只预览变更与冲突，不写入数据库")] = False,
) -> None:
    """导入计划文件：JSON 或 Excel/Word 活动安排表（合并：只改文件改过的字段，不覆盖主办单位提交的内容）。"""
    from scheduler.db import session_scope
    from scheduler.followups.history import annotate_conflicts
    from scheduler.plan.importer import import_plan

    rt = runtime(ctx)
    require_schema(rt)
    doc = _load(path, as_json, rt, (key, year, title, published))
    with session_scope(rt.engine, write=True) as session:
        report = import_plan(session=session, doc=doc, now=rt.clock.now())
        annotate_conflicts(session=session, conflicts=report.conflicts)
        if dry_run:
            session.rollback()  # the whole import ran; none of it is kept
    if as_json:
        typer.echo(json.dumps({**report.as_dict(), "dry_run": dry_run}, ensure_ascii=False))
        return
    done = "预览（未写入）" if dry_run else "导入完成"
    if report.changes == 0:
        typer.echo(f"{done}：0 处变更（数据库已是最新）。")
    else:
        typer.echo(f"{done}：{report.changes} 处变更。")
        for counted, n in sorted(report.counts.items()):
            if not counted.endswith(".unchanged"):
                typer.echo(f"  {counted}: {n}")
    for conflict in report.conflicts:
        typer.echo(conflict.text())


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


@plan_app.command("export")
def plan_export(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="写入的文件，如 plan_2023.xlsx")],
    fmt: Annotated[ExportFormat, typer.Option("--format", help="xlsx 或 docx")] = ExportFormat.XLSX,
    plan_key: Annotated[str | None, typer.Option("--plan", help="计划编号（默认：最新的计划）")] = None,
    as_json: JsonFlag = False,
) -> None:
    """把已导入的计划导出为附件4格式的 Excel/Word 表格（可再导入）。"""
    from scheduler.db import session_scope
    from scheduler.plan.export import stored_plan, write_docx, write_xlsx

    rt = runtime(ctx)
    require_schema(rt)
    with session_scope(rt.engine) as session:
        doc = stored_plan(session=session, key=plan_key)
    if doc is None:
        missing = f"数据库中没有计划 {plan_key}" if plan_key else "数据库中还没有计划，请先运行：scheduler plan import"
        raise fail(missing)
    data, warnings = (write_xlsx if fmt is ExportFormat.XLSX else write_docx)(doc)
    partial = out.with_name(f".{out.name}.partial")
    try:
        partial.write_bytes(data)
        os.replace(partial, out)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise fail(f"无法写入 {out}：{exc.strerror}") from None
    sessions = sum(len(e.sessions) for e in doc.events)
    if as_json:
        summary = {"ok": True, "plan": doc.plan.id, "path": str(out), "format": str(fmt), "events": len(doc.events),
                   "sessions": sessions, "warnings": warnings}
        typer.echo(json.dumps(summary, ensure_ascii=False))
        return
    typer.echo(f"已导出计划 {doc.plan.id}（{len(doc.events)} 项活动，{sessions} 个场次）到 {out}")
    for warning in warnings:
        typer.echo(f"  注意：{warning}")
