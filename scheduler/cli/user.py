"""`scheduler user …`: administrator accounts (add, list, password, disable)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

# The account module (and its password hasher) is imported inside each command: `scheduler --help` stays quick.

user_app = typer.Typer(help="管理员账号", no_args_is_help=True)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return typer.prompt("密码", hide_input=True, confirmation_prompt="再次输入密码")


@user_app.command("add")
def user_add(
    ctx: typer.Context,
    username: str,
    name: Annotated[str, typer.Option("--name", help="显示名称")] = "",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="从标准输入读取密码")] = False,
) -> None:
    """添加管理员（密码交互输入，或 --password-stdin）。"""
    from scheduler.auth import AccountError, create_user
    from scheduler.cli.context import fail, runtime
    from scheduler.db import session_scope

    rt = runtime(ctx)
    try:
        with session_scope(rt.engine, write=True) as session:
            create_user(
                session=session,
                username=username,
                password=_password(password_stdin),
                display_name=name,
                now=rt.clock.now(),
            )
    except AccountError as exc:
        raise fail(f"无法添加管理员：{exc}") from None
    typer.echo(f"已添加管理员 {username}。")


@user_app.command("passwd")
def user_passwd(
    ctx: typer.Context,
    username: str,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="从标准输入读取密码")] = False,
) -> None:
    """重设管理员密码（已登录的会话随之失效）。"""
    from scheduler.auth import AccountError, set_password
    from scheduler.cli.context import fail, runtime
    from scheduler.db import session_scope

    rt = runtime(ctx)
    try:
        with session_scope(rt.engine, write=True) as session:
            set_password(session=session, username=username, password=_password(password_stdin))
    except AccountError as exc:
        raise fail(f"无法重设密码：{exc}") from None
    typer.echo(f"已重设 {username} 的密码。")


@user_app.command("list")
def user_list(ctx: typer.Context) -> None:
    """列出管理员。"""
    from sqlmodel import select

    from scheduler.auth import AdminUser
    from scheduler.cli.context import runtime
    from scheduler.db import session_scope

    with session_scope(runtime(ctx).engine) as session:
        users = session.exec(select(AdminUser).order_by(AdminUser.username)).all()
    if not users:
        typer.echo("还没有管理员。添加：scheduler user add 用户名")
    for user in users:
        state = "已停用" if user.disabled else "正常"
        last = user.last_login_at.isoformat() if user.last_login_at else "从未登录"
        typer.echo(f"{user.username}\t{user.display_name}\t{state}\t最近登录：{last}")


@user_app.command("disable")
def user_disable(ctx: typer.Context, username: str) -> None:
    """停用管理员（立即退出所有会话）。"""
    from sqlmodel import select

    from scheduler.auth import AdminUser, end_sessions
    from scheduler.cli.context import fail, runtime
    from scheduler.db import session_scope

    with session_scope(runtime(ctx).engine, write=True) as session:
        user = session.exec(select(AdminUser).where(AdminUser.username == username)).first()
        if user is None:
            raise fail(f"没有用户 {username}")
        user.disabled = True
        end_sessions(user)
    typer.echo(f"已停用 {username}。")
