"""Command line for mail: contacts, outbox, preview, worker, run-job, replay, smtp-sink. Messages are Chinese."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from scheduler.cli.context import JsonFlag, fail, refused, runtime
from scheduler.clock import SHANGHAI

if TYPE_CHECKING:
    from scheduler.config import Settings

contacts_app = typer.Typer(help="联系人：各单位的收件人", no_args_is_help=True)
outbox_app = typer.Typer(help="发件箱：查看、重发、取消", no_args_is_help=True)
MAX_LIST = 10_000  # rows `outbox list` prints at most
mail_app = typer.Typer(help="邮件：预览", no_args_is_help=True)


@contacts_app.command("import")
def contacts_import(
    ctx: typer.Context,
    path: Annotated[Path | None, typer.Argument(help="联系人文件（TOML 或 CSV）；默认 SCHEDULER_CONTACTS_FILE")] = None,
    allow_empty: Annotated[
        bool, typer.Option("--allow-empty", help="允许导入空文件（即删除全部联系人）；默认拒绝空文件")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """导入联系人文件（整份校验；有错误或文件为空时不写入任何数据，原有联系人保持不变）。"""
    from scheduler.contacts import MAX_CONTACTS_BYTES, parse_contacts, replace_contacts
    from scheduler.db import session_scope
    from scheduler.plan.catalog import get_organizations
    from scheduler.validation import FileKind, InputInvalid, read_input_file

    rt = runtime(ctx)
    path = path or rt.settings.contacts_file
    if path is None:
        raise fail("请指定联系人文件，或设置 SCHEDULER_CONTACTS_FILE。")
    try:  # read once, a regular file only: a FIFO or /dev/zero must not reach the SMTPUTF8 probe either
        data = read_input_file(path, limit=MAX_CONTACTS_BYTES, kind=FileKind.CONTACTS)
    except InputInvalid as exc:
        raise refused(exc, as_json=as_json) from None
    smtputf8 = _server_offers_smtputf8(rt.settings, data)
    with session_scope(rt.engine, write=True) as session:
        try:
            people = parse_contacts(data, source=str(path), organizations=get_organizations(session=session),
                                    allow_empty=allow_empty, smtputf8=smtputf8)
        except InputInvalid as exc:
            raise refused(exc, as_json=as_json) from None
        n = replace_contacts(session=session, people=people, now=rt.clock.now())
    orgs = len({p.org for p in people})
    if as_json:
        typer.echo(json.dumps({"ok": True, "contacts": n, "organizations": orgs}, ensure_ascii=False))
    else:
        typer.echo(f"联系人已导入：{orgs} 个单位，{n} 位联系人。")


def _server_offers_smtputf8(settings: Settings, data: bytes) -> bool:
    """Ask the mail server about SMTPUTF8, but only when the file holds a non-ASCII user name (else no network)."""
    from scheduler.mail.mailer import SMTPMailer

    text = data.decode("utf-8", errors="replace")
    # A local part is at most 64 characters (RFC 5321): bounded, the scan stays linear on a huge cell without "@".
    if all(local.isascii() for local in re.findall(r"([^\s\"',;<>@=]{1,64})@", text)):
        return False

    async def ask() -> bool:
        return await SMTPMailer(settings, connections=1).offers_smtputf8()

    return asyncio.run(ask())


@contacts_app.command("show")
def contacts_show(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """列出已导入的联系人（按单位）。"""
    from scheduler.contacts import contacts_by_org
    from scheduler.db import session_scope
    from scheduler.plan.catalog import get_organizations

    with session_scope(runtime(ctx).engine) as session:
        by_org = contacts_by_org(session=session)
        orgs = get_organizations(session=session)
    if as_json:
        typer.echo(json.dumps({k: [{"name": c.name, "email": c.email, "role": c.role} for c in v]
                               for k, v in by_org.items()}, ensure_ascii=False, indent=2))
        return
    if not by_org:
        raise fail("还没有联系人，请运行：scheduler contacts import seeds/contacts.example.toml", 1)
    for key, people in by_org.items():
        typer.echo(f"{orgs[key].short_name if key in orgs else key}（{key}）")
        for c in people:
            typer.echo(f"    {c.name}  <{c.email}>  {c.role}")


@outbox_app.command("list")
def outbox_list(
    ctx: typer.Context,
    state: Annotated[str | None, typer.Option(help="只看某一状态：pending|sending|sent|deferred|failed|cancelled")
                     ] = None,
    limit: Annotated[int, typer.Option(help="最多显示几条")] = 50,
    as_json: JsonFlag = False,
) -> None:
    """列出发件箱中的邮件（按计划发送时间倒序）。"""
    from scheduler.db import session_scope
    from scheduler.mail.kinds import KIND_LABELS
    from scheduler.mail.models import STATE_LABELS, OutboxState
    from scheduler.mail.outbox import count_by_state, list_rows

    if state is not None and state not in {str(s) for s in OutboxState}:
        raise fail(f"未知状态 {state[:40]!r}（可选：{'、'.join(str(s) for s in OutboxState)}）")
    if not 1 <= limit <= MAX_LIST:
        raise fail(f"--limit 应为 1 到 {MAX_LIST} 之间的整数，收到 {limit}")
    with session_scope(runtime(ctx).engine) as session:
        rows = list_rows(session=session, state=state, limit=limit)
        counts = count_by_state(session=session)
    if as_json:
        typer.echo(json.dumps({"counts": counts, "rows": [r.model_dump(exclude={"context"}) for r in rows]},
                              ensure_ascii=False, indent=2, default=str))
        return
    typer.echo("  ".join(f"{STATE_LABELS[OutboxState(k)]} {v}" for k, v in counts.items()))
    for r in rows:
        due = r.due_at.astimezone(SHANGHAI)
        typer.echo(f"{r.id:>6}  {STATE_LABELS[OutboxState(r.state)]:<4} {due:%Y-%m-%d %H:%M}  "
                   f"{KIND_LABELS.get(r.kind, r.kind):<5} {r.recipient:<34} {r.context.get('title', r.subject)}"
                   + (f"  〔{r.last_error}〕" if r.last_error and r.state != "sent" else ""))


def _change_row(ctx: typer.Context, row_id: int, action: str) -> None:
    from scheduler.db import session_scope
    from scheduler.mail.outbox import cancel_row, retry_row
    from scheduler.validation import MAX_ID

    if not 1 <= row_id <= MAX_ID:
        raise fail(f"没有编号为 {row_id} 的邮件（编号应为 1 到 {MAX_ID} 之间的整数）")
    rt = runtime(ctx)
    fn = retry_row if action == "retry" else cancel_row
    try:
        with session_scope(rt.engine, write=True) as session:
            fn(session=session, row_id=row_id, now=rt.clock.now())
    except (LookupError, ValueError) as exc:
        raise fail(str(exc.args[0])) from None
    typer.echo(f"邮件 {row_id} 已{'重新排队' if action == 'retry' else '取消'}。")


@outbox_app.command("retry")
def outbox_retry(
    ctx: typer.Context,
    row_id: Annotated[int | None, typer.Argument(metavar="[ID]", help="邮件编号（与 --all 二选一）")] = None,
    all_rows: Annotated[bool, typer.Option("--all", help="批量重发 --state 状态的全部邮件")] = False,
    state: Annotated[str, typer.Option(help="与 --all 同用：failed（失败）或 deferred（暂缓重试）")] = "failed",
    since: Annotated[str | None, typer.Option(help="与 --all 同用：只重发该日（YYYY-MM-DD，北京时间）起进入该状态的")
                     ] = None,
    as_json: JsonFlag = False,
) -> None:
    """重发一封失败、暂缓或已取消的邮件；--all 批量重发（已过期的邮件不重发）。"""
    if (row_id is None) == (not all_rows):
        raise fail("请给出一封邮件的编号，或用 --all 批量重发（二者选一）。")
    if row_id is not None:
        _change_row(ctx, row_id, "retry")
        return
    from scheduler.db import session_scope
    from scheduler.mail.requeue import retry_all

    try:
        day = date.fromisoformat(since) if since is not None else None
    except ValueError:
        raise fail(f"--since 应为日期 YYYY-MM-DD，而不是 {(since or '')[:40]!r}") from None
    rt = runtime(ctx)
    try:
        with session_scope(rt.engine, write=True) as session:
            done = retry_all(session=session, state=state, now=rt.clock.now(), since=day)
    except ValueError as exc:
        raise fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps({"ok": True, **done.as_dict()}, ensure_ascii=False))
        return
    skipped = f"另有 {done.expired} 封已过期，未重发（可用 outbox retry ID 单独重发）。" if done.expired else ""
    typer.echo(f"已重新排队 {done.requeued} 封邮件。{skipped}")


@outbox_app.command("cancel")
def outbox_cancel(ctx: typer.Context, row_id: Annotated[int, typer.Argument(metavar="ID")]) -> None:
    """取消一封待发送或失败的邮件（计划不会再恢复它）。"""
    _change_row(ctx, row_id, "cancel")


@mail_app.command("preview")
def mail_preview(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help="fix_request|fix_nudge|fix_escalation|reminder|change_notice")],
    occurrence: Annotated[str, typer.Option("--occurrence", help="场次编号或 key（如 01-1）")],
    fmt: Annotated[str, typer.Option("--format", help="text|html|eml")] = "text",
) -> None:
    """预览一封邮件（不发送、不写入数据库）。"""
    from scheduler.db import session_scope
    from scheduler.followups.action_links import mail_composer
    from scheduler.reminders.preview import PreviewError, preview_message
    from scheduler.reports.mailing import attach_report_files

    rt = runtime(ctx)
    composer = attach_report_files(mail_composer(rt.settings, rt.engine, record_links=False))
    try:
        with session_scope(rt.engine) as session:
            content, message = preview_message(session=session, composer=composer, kind=kind,
                                               occurrence=occurrence, now=rt.clock.now())
    except PreviewError as exc:
        raise fail(str(exc)) from None
    if fmt == "eml":
        typer.echo(message.data.decode("utf-8"))
    elif fmt == "html":
        typer.echo(content.html)
    else:
        typer.echo(f"主题：{content.subject}\n收件人：{message.recipient}\n")
        typer.echo(content.text)
        for a in content.attachments:
            typer.echo(f"附件：{a.filename}（{a.maintype}/{a.subtype}，{len(a.data)} 字节）")
