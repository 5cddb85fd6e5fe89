"""What every command shares: the runtime built once per command, Chinese failures, refused files, the --json flag."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:  # imported where used: `scheduler --help` loads no settings, database or validation code
    from scheduler.runtime import Runtime
    from scheduler.validation import InputInvalid

JsonFlag = Annotated[bool, typer.Option("--json", help="输出 JSON（供程序读取）")]


def runtime(ctx: typer.Context) -> Runtime:
    """Return the runtime built once for this command."""
    if ctx.obj is None:
        from scheduler.config import load_settings
        from scheduler.runtime import Runtime

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


def require_current_schema(rt: Runtime) -> None:
    """Stop with a clear message unless the database is reachable and migrated to this program's revision.

    For the long-running commands: `serve` and `worker` must not start on a schema they would fail on every tick.
    A database built without Alembic (no version table, the tests' create_all) is taken as current.
    """
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy.exc import DBAPIError

    from scheduler.migrate import alembic_config

    require_schema(rt)
    url = rt.engine.url.render_as_string(hide_password=False)
    try:
        with rt.engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    except DBAPIError as exc:
        raise unreachable(rt, exc) from None
    if not current:
        return
    script = ScriptDirectory.from_config(alembic_config(url))
    heads = set(script.get_heads())
    if current == heads:
        return
    shown = rt.engine.url.render_as_string(hide_password=True)
    known = {rev.revision for rev in script.walk_revisions()}
    if not current <= known:
        raise fail(f"数据库 {shown} 的版本（{'、'.join(sorted(current))}）比本程序新，请升级程序后再启动")
    raise fail(f"数据库 {shown} 的结构版本过旧（{'、'.join(sorted(current))}，应为 {'、'.join(sorted(heads))}），"
               "请先运行：scheduler db upgrade")


def unreachable(rt: Runtime, exc: Exception) -> typer.Exit:
    """Say which database (password hidden) could not be reached and why."""
    reason = " ".join(str(getattr(exc, "orig", exc)).split())  # one line: drivers add hints on lines of their own
    return fail(f"无法连接数据库 {rt.engine.url.render_as_string(hide_password=True)}：{reason}")


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print a Chinese error to stderr and return the exit to raise."""
    typer.echo(message, err=True)
    return typer.Exit(code)


def refused(exc: InputInvalid, *, as_json: bool = False) -> typer.Exit:
    """Print every located error of a refused file (stderr, or JSON on stdout with --json); return exit 2."""
    if as_json:
        typer.echo(json.dumps(exc.as_dict(), ensure_ascii=False, indent=2))
    else:
        typer.echo(str(exc), err=True)
    return typer.Exit(2)
