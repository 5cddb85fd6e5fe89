"""`scheduler goals …`: import a goal set file (horizon, 口径, targets) and list the stored sets."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from scheduler.cli.context import JsonFlag

goals_app = typer.Typer(help="发展目标集（如 2025 年目标、2026–2030 年目标）", no_args_is_help=True)


@goals_app.command("import")
def goals_import(ctx: typer.Context, path: Path, as_json: JsonFlag = False) -> None:
    """导入一个发展目标集 TOML 文件（整份校验，出错不写入；同一 key 的目标集被替换）。"""
    from scheduler.cli.context import refused, require_schema, runtime
    from scheduler.db import session_scope
    from scheduler.reports.goalsets import import_goal_set, read_goals_file
    from scheduler.validation import InputInvalid

    rt = runtime(ctx)
    require_schema(rt)
    try:
        doc = read_goals_file(path)
    except InputInvalid as exc:
        raise refused(exc, as_json=as_json) from None
    with session_scope(rt.engine, write=True) as session:
        import_goal_set(session=session, doc=doc, now=rt.clock.now())
    head = doc.set
    if as_json:
        typer.echo(json.dumps({"ok": True, "set": head.key, "goals": len(doc.goals)}, ensure_ascii=False))
    else:
        span = f"{head.starts_on} 至 {head.ends_on}"
        typer.echo(f"已导入目标集 {head.key}（{head.title}，{span}，{len(doc.goals)} 项目标）。")


@goals_app.command("list")
def goals_list(ctx: typer.Context) -> None:
    """列出已导入的发展目标集及其期限。"""
    from scheduler.cli.context import require_schema, runtime
    from scheduler.db import session_scope
    from scheduler.reports.goalsets import list_goal_sets

    rt = runtime(ctx)
    require_schema(rt)
    with session_scope(rt.engine) as session:
        sets = [(s.key, s.title, s.starts_on, s.ends_on) for s in list_goal_sets(session=session)]
    if not sets:
        typer.echo("尚未导入发展目标集：scheduler goals import seeds/goals_2025.toml")
    for key, title, start, end in sets:
        typer.echo(f"{key}  {title}  {start} 至 {end}")
