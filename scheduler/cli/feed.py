"""`scheduler feed NAME [filters] --out FILE` (the bytes HTTP serves) and `scheduler feed token create|list|revoke`."""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl

import typer
from typer.core import TyperGroup

from scheduler.cli.context import JsonFlag, fail, runtime


class FeedGroup(TyperGroup):
    """A group whose unknown first word is a feed name handed to the hidden `render` command."""

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] not in self.commands:
            return "render", self.commands["render"], args
        return super().resolve_command(ctx, args)


feed_app = typer.Typer(
    cls=FeedGroup,
    no_args_is_help=True,
    help="日历订阅：scheduler feed NAME [筛选] --out FILE 写出与网页完全相同的字节；token 管理内部订阅令牌",
)
token_app = typer.Typer(help="内部日历订阅令牌（只保存令牌的哈希）", no_args_is_help=True)
feed_app.add_typer(token_app, name="token")

Many = Annotated[list[str] | None, typer.Option(help="可重复或用逗号分隔")]


def _params(
    plan: Any, org: Any, bankuai: Any, type_: Any, quarter: Any, chain: Any, windows: Any
) -> list[tuple[str, str]]:
    pairs = [("plan", v) for v in plan or []]
    pairs += [("org", v) for v in org or []] + [("bankuai", v) for v in bankuai or []]
    pairs += [("type", v) for v in type_ or []] + [("quarter", v) for v in quarter or []]
    pairs += [("chain", v) for v in chain or []]
    if windows is not None:
        pairs.append(("windows", windows))
    return pairs


@feed_app.command("render", hidden=True)
def feed_render(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="订阅名：all（进行中的全部计划）、plan/nantong-2027、org/kjj、quarter/2")],
    out: Annotated[Path | None, typer.Option("--out", help="写入文件（默认输出到标准输出）")] = None,
    plan: Annotated[list[str] | None, typer.Option(help="年度计划代码，如 nantong-2027；可重复")] = None,
    org: Many = None,
    bankuai: Many = None,
    type_: Annotated[list[str] | None, typer.Option("--type", help="活动类型，可重复")] = None,
    quarter: Many = None,
    chain: Many = None,
    windows: Annotated[str | None, typer.Option(help="0 = 不含时间待定的活动")] = None,
    token: Annotated[str | None, typer.Option(help="内部订阅令牌（输出内部日历）")] = None,
) -> None:
    """写出一个日历订阅的字节（与 HTTP 返回的完全相同）。"""
    from scheduler.db import session_scope
    from scheduler.feeds.cache import FeedCache
    from scheduler.feeds.filters import FeedNotFound, split_feed_path
    from scheduler.feeds.tokens import find_active_token

    rt = runtime(ctx)
    cache = FeedCache(rt.engine, base_url=rt.settings.base_url, recheck_seconds=0,
                      default_length=timedelta(minutes=rt.settings.event_default_minutes))
    params = _params(plan, org, bankuai, type_, quarter, chain, windows)
    try:
        kind, value = split_feed_path(name.removeprefix("/").removeprefix("feeds/"), require_suffix=False)
        if token is not None or kind == "private":
            with session_scope(rt.engine) as session:
                row = find_active_token(session=session, token=token or value or "")
                filters = row.filters if row is not None else ""
            if row is None:
                raise FeedNotFound("令牌无效或已撤销")
            spec = cache.resolve("private", None, parse_qsl(filters) + params, private=True)
        else:
            spec = cache.resolve(kind, value, params, private=False)
        feed = cache.feed(spec, rt.clock.now())
    except FeedNotFound as exc:
        raise fail(exc.message) from None
    if out is None:
        sys.stdout.buffer.write(feed.body)
        return
    out.write_bytes(feed.body)
    typer.echo(f"已写入 {out}：{feed.event_count} 项活动，{len(feed.body)} 字节，ETag {feed.etag}", err=True)


@token_app.command("create")
def token_create(
    ctx: typer.Context,
    label: Annotated[str, typer.Option(help="用途说明，例如“如皋市科技局内部日历”")],
    filters: Annotated[str, typer.Option("--filter", help="固定筛选，如 'bankuai=rugao&windows=0'")] = "",
    as_json: JsonFlag = False,
) -> None:
    """创建内部订阅令牌（地址只显示这一次）。"""
    from scheduler.db import session_scope
    from scheduler.feeds.cache import FeedCache
    from scheduler.feeds.filters import FeedNotFound
    from scheduler.feeds.tokens import create_feed_token

    rt = runtime(ctx)
    try:
        spec = FeedCache(rt.engine, base_url=rt.settings.base_url).resolve(
            "private", None, parse_qsl(filters, keep_blank_values=True), private=True
        )
        with session_scope(rt.engine, write=True) as session:
            row, token = create_feed_token(session=session, label=label, filters=spec.query, now=rt.clock.now())
    except (FeedNotFound, ValueError) as exc:
        raise fail(getattr(exc, "message", str(exc))) from None
    url = f"{rt.settings.base_url.rstrip('/')}/feeds/private/{token}.ics"
    if as_json:
        item = {"id": row.id, "label": row.label, "filters": row.filters, "url": url}
        typer.echo(json.dumps(item, ensure_ascii=False))
        return
    typer.echo(f"已创建令牌 #{row.id}（{row.label}）。订阅地址（只显示这一次，请妥善保管）：\n{url}")


@token_app.command("list")
def token_list(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """列出内部订阅令牌（不显示令牌本身）。"""
    from scheduler.db import session_scope
    from scheduler.feeds.tokens import list_feed_tokens

    with session_scope(runtime(ctx).engine) as session:
        rows = list_feed_tokens(session=session)
    items = [
        {
            "id": r.id,
            "label": r.label,
            "filters": r.filters,
            "created_at": r.created_at.isoformat(),
            "revoked_at": r.revoked_at.isoformat() if r.revoked_at else None,
        }
        for r in rows
    ]
    if as_json:
        typer.echo(json.dumps(items, ensure_ascii=False))
        return
    if not items:
        typer.echo("还没有内部订阅令牌。")
    for item in items:
        state = f"已撤销于 {item['revoked_at']}" if item["revoked_at"] else "有效"
        typer.echo(f"#{item['id']}  {item['label']}  筛选：{item['filters'] or '全部'}  {state}")


@token_app.command("revoke")
def token_revoke(ctx: typer.Context, token_id: Annotated[int, typer.Argument(help="令牌编号，见 token list")]) -> None:
    """撤销内部订阅令牌（立即失效）。"""
    from scheduler.db import session_scope
    from scheduler.feeds.tokens import revoke_feed_token

    rt = runtime(ctx)
    with session_scope(rt.engine, write=True) as session:
        row = revoke_feed_token(session=session, token_id=token_id, now=rt.clock.now())
    if row is None:
        raise fail(f"没有编号为 {token_id} 的令牌（见 scheduler feed token list）")
    typer.echo(f"令牌 #{token_id}（{row.label}）已撤销。")
