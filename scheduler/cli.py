"""Command line (`scheduler …`): database, plan, service. User messages are Chinese."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from scheduler.cli_mail import register as register_mail_commands
from scheduler.config import load_settings
from scheduler.runtime import Runtime

app = typer.Typer(help="科技招商活动排期与联络服务", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="数据库", no_args_is_help=True)
plan_app = typer.Typer(help="活动计划：校验、导入、查看", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(plan_app, name="plan")

JsonFlag = Annotated[bool, typer.Option("--json", help="输出 JSON（供程序读取）")]


def runtime(ctx: typer.Context) -> Runtime:
    """Return the runtime built once for this command."""
    if ctx.obj is None:
        try:
            rt = Runtime(load_settings())
            _ = rt.clock  # read SCHEDULER_CLOCK now: a bad value is a clear error before any work
        except ValueError as exc:
            raise fail(f"配置错误：\n{exc}") from None
        ctx.obj = rt
    return ctx.obj


def require_schema(rt: Runtime) -> None:
    """Stop with a clear message when the database is unreachable or not migrated yet."""
    from sqlalchemy import inspect
    from sqlalchemy.exc import OperationalError

    try:
        migrated = inspect(rt.engine).has_table("plan")
    except OperationalError as exc:
        raise unreachable(rt, exc) from None
    if not migrated:
        url = rt.engine.url.render_as_string(hide_password=True)
        raise fail(f"数据库 {url} 尚未初始化，请先运行：scheduler db upgrade")


def unreachable(rt: Runtime, exc: Exception) -> typer.Exit:
    """Say which database (password hidden) could not be reached and why."""
    reason = str(getattr(exc, "orig", exc)).strip()
    return fail(f"无法连接数据库 {rt.engine.url.render_as_string(hide_password=True)}：{reason}")


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print a Chinese error to stderr and return the exit to raise."""
    typer.echo(message, err=True)
    return typer.Exit(code)


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


def _load(path: Path, as_json: bool):
    from scheduler.plan import PlanInvalid, read_plan_file

    try:
        return read_plan_file(path)
    except PlanInvalid as exc:
        if as_json:
            typer.echo(
                json.dumps(
                    {
                        "ok": False,
                        "source": exc.source,
                        "errors": [{"path": e.path, "message": e.message} for e in exc.errors],
                    },
                    ensure_ascii=False,
                    indent=2,
                )
            )
        else:
            typer.echo(f"计划文件 {exc.source} 有 {len(exc.errors)} 处错误，未写入任何数据：", err=True)
            for err in exc.errors:
                typer.echo(f"  {err}", err=True)
        raise typer.Exit(2) from None


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
    from scheduler.plan_import import import_plan

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
def plan_show(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """以表格显示已导入的计划。"""
    from scheduler.db import session_scope
    from scheduler.planview import plan_rows

    rt = runtime(ctx)
    require_schema(rt)
    with session_scope(rt.engine) as session:
        rows = plan_rows(session=session)
    if rows is None:
        raise fail("数据库中还没有计划，请先运行：scheduler plan import seeds/events_2023.json")
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return
    for row in rows:
        typer.echo(f"{row['seq']:>3}  Q{row['quarter']}  {row['type_label']:<6}  {row['title']}")
        typer.echo(
            f"      主办：{'、'.join(row['hosts'])}"
            + (f"  承办/配合：{'、'.join(row['co_organizers'])}" if row["co_organizers"] else "")
        )
        for occ in row["sessions"]:
            typer.echo(f"      · {occ['window']:<14} {occ['location']:<8} {occ['title']}  [{occ['status_label']}]")


@app.command("serve")
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="监听地址")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="端口")] = 8000,
) -> None:
    """启动网页服务（含定时任务）。"""
    import uvicorn

    from scheduler.reminders.mailer import SMTPMailer
    from scheduler.web.app import create_app

    rt = runtime(ctx)
    typer.echo(f"服务已启动：http://{host}:{port}/  （{rt.clock.describe()}）")
    if rt.settings.mail_sink:
        typer.echo(f"本地 SMTP 接收端：{rt.settings.smtp_host}:{rt.settings.smtp_port}，邮件见 http://{host}:{port}/mail")
    web = create_app(rt.settings, clock=rt.clock, engine=rt.engine, mailer=SMTPMailer(rt.settings), ticker=True)
    uvicorn.run(web, host=host, port=port, log_level="info")


register_mail_commands(app)


from scheduler.cli_feed import feed_app  # noqa: E402  (it builds on runtime/fail above)

app.add_typer(feed_app, name="feed")

from scheduler.cli_user import user_app  # noqa: E402

app.add_typer(user_app, name="user")

from scheduler.cli_report import report, targets_app  # noqa: E402

app.command("report")(report)
app.add_typer(targets_app, name="targets")


def main() -> None:
    """Entry point of the `scheduler` console script."""
    try:
        app()
    except ValueError as exc:  # settings errors carry Chinese, located messages
        typer.echo(f"配置错误：{exc}", err=True)
        sys.exit(2)
