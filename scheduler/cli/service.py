"""Long-running and one-off service commands: serve, worker, run-job, replay, smtp-sink."""

from __future__ import annotations

import asyncio
import json
import signal
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from scheduler.cli.context import JsonFlag, fail, refused, require_current_schema, runtime
from scheduler.clock import SHANGHAI

if TYPE_CHECKING:
    from scheduler.config import Settings
    from scheduler.jobs import MailJobs
    from scheduler.runtime import Runtime

# The ids and names of scheduler.jobs.JOBS, for `run-job --help` without importing every job's code at start-up
# (tests/cli/test_startup.py checks it equals describe_jobs()).
JOB_HELP = ("plan（计划→发件箱） | followups（跟进事项→发件箱） | reports（月度跟踪报表邮件） | "
            "logistics（会务报名通知与名单清理） | dispatch（发送到期邮件） | recover（恢复中断的发送）")


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="监听地址")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="端口")] = 8000,
) -> None:
    """启动网页服务（含定时任务）。"""
    import uvicorn

    from scheduler.mail.mailer import SMTPMailer
    from scheduler.web.app import create_app

    rt = started_runtime(ctx)
    typer.echo(f"服务已启动：http://{host}:{port}/  （{rt.clock.describe()}）")
    if rt.settings.mail_sink:
        typer.echo(f"本地 SMTP 接收端：{rt.settings.smtp_host}:{rt.settings.smtp_port}，邮件见 http://{host}:{port}/mail")
    web = create_app(rt.settings, clock=rt.clock, engine=rt.engine, mailer=SMTPMailer(rt.settings), ticker=True)
    if rt.settings.access_log:
        from scheduler.web.accesslog import log_to_stdout

        log_to_stdout()
    # uvicorn's own access log stays off: when SCHEDULER_ACCESS_LOG=on the app writes it (redacted, unfiltered)
    uvicorn.run(web, host=host, port=port, log_level="info", access_log=False, **uvicorn_options(rt.settings))


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Return uvicorn's proxy options: X-Forwarded-* honoured only from SCHEDULER_FORWARDED_ALLOW_IPS (default none).

    uvicorn otherwise trusts 127.0.0.1, so anyone reaching the port locally (or through a proxy that passes the
    client's header on) picks their own address and walks around the per-address sign-in and form throttles.
    """
    proxies = settings.forwarded_allow_ips
    return {"proxy_headers": bool(proxies), "forwarded_allow_ips": proxies or ""}


def started_runtime(ctx: typer.Context) -> Runtime:
    """Return the runtime of a long-running or ticking command: schema current, clock resumed from the database."""
    from scheduler.clockstate import resume_clock
    from scheduler.mail.policy import MailPolicy

    rt = runtime(ctx)
    require_current_schema(rt)
    MailPolicy.from_settings(rt.settings.mail_policy)  # a bad SCHEDULER_MAIL_POLICY stops here (配置错误)
    rt.clock = resume_clock(rt.clock, engine=rt.engine)
    return rt


def _mail_jobs(rt: Runtime) -> MailJobs:
    from scheduler.jobs import MailJobs
    from scheduler.mail.mailer import SMTPMailer

    return MailJobs(rt, mailer=SMTPMailer(rt.settings))


def worker(ctx: typer.Context) -> None:
    """只运行定时任务（计划、发送、恢复），可与其他实例并行。"""
    from scheduler.jobs import running_ticker

    rt = started_runtime(ctx)
    jobs = _mail_jobs(rt)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with running_ticker(jobs):
            typer.echo(f"定时任务已启动（{rt.clock.describe()}，进程 {jobs.worker}）。按 Ctrl+C 停止。")
            await stop.wait()

    asyncio.run(main())

def run_job(ctx: typer.Context, job_id: Annotated[str, typer.Argument(metavar="ID", help=JOB_HELP)]
            ) -> None:
    """运行某个定时任务一次并输出结果（JSON）。"""
    from scheduler.jobs import job_by_id

    try:
        job_by_id(job_id)
    except LookupError as exc:
        raise fail(str(exc.args[0])) from None
    rt = started_runtime(ctx)
    jobs = _mail_jobs(rt)

    async def main() -> dict[str, Any]:
        try:
            return await jobs.run_once(job_id)
        finally:
            await jobs.mailer.close()

    typer.echo(json.dumps(asyncio.run(main()), ensure_ascii=False))

def replay_cmd(
    ctx: typer.Context,
    start: Annotated[str, typer.Option(help="开始日期 YYYY-MM-DD（上海时间 0 点）")],
    end: Annotated[str, typer.Option(help="结束日期 YYYY-MM-DD（含当天）")],
    plan: Annotated[Path | None, typer.Option(help="计划文件；默认 SCHEDULER_SEED_FILE")] = None,
    contacts: Annotated[Path | None, typer.Option(help="联系人文件；默认 SCHEDULER_CONTACTS_FILE")] = None,
    as_json: JsonFlag = False,
) -> None:
    """在模拟时钟上尽快重放一段时间：经配置的 SMTP 服务器真实发送，输出各类邮件数量（使用临时数据库）。"""
    from scheduler.replay import ReplaySetupError, replay_in_scratch_db
    from scheduler.validation import InputInvalid

    rt = runtime(ctx)
    try:
        t0 = datetime.fromisoformat(start).replace(tzinfo=SHANGHAI).astimezone(UTC)
        t1 = (datetime.fromisoformat(end).replace(tzinfo=SHANGHAI) + timedelta(days=1)).astimezone(UTC)
    except ValueError:
        raise fail(f"日期应为 YYYY-MM-DD，收到 {start!r} / {end!r}") from None
    if t1 <= t0:
        raise fail("结束日期早于开始日期")
    with tempfile.TemporaryDirectory(prefix="kjzs-replay-") as tmp:
        try:
            result = replay_in_scratch_db(settings=rt.settings, start=t0, end=t1, workdir=Path(tmp),
                                          plan=plan, contacts=contacts)
        except ReplaySetupError as exc:
            raise fail(str(exc)) from None
        except InputInvalid as exc:
            raise refused(exc, as_json=as_json) from None
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
        return
    from scheduler.mail.kinds import KIND_LABELS

    typer.echo(f"重放 {start} 至 {end}：发送 {result['sent']} 封，失败 {result['failed']} 封，"
               f"用时 {result['seconds']} 秒。")
    for kind, n in result["by_kind"].items():
        typer.echo(f"  {KIND_LABELS.get(kind, kind)}（{kind}）：{n}")
    volume = result["per_recipient_week"]
    typer.echo(f"每人每周收到邮件：中位数 {volume['median']} 封，最多 {volume['max']} 封"
               + (f"（{volume['max_recipient']}，{volume['max_week']}）" if volume["max_recipient"] else "")
               + f"；按政策跳过 {result['skipped']} 封。")

def smtp_sink(ctx: typer.Context) -> None:
    """运行本地 SMTP 接收端（SCHEDULER_SMTP_HOST:SMTP_PORT），邮件保存到 var/mail/。"""
    from scheduler.mail.sink import SinkError, start_sink

    s = runtime(ctx).settings

    async def main() -> None:
        server = await start_sink(s.smtp_host, s.smtp_port, s.var_dir / "mail")
        typer.echo(f"本地 SMTP 接收端：{s.smtp_host}:{s.smtp_port} → {s.var_dir / 'mail'}")
        async with server:
            await server.serve_forever()

    try:
        asyncio.run(main())
    except SinkError as exc:
        raise fail(str(exc)) from None
    except KeyboardInterrupt:
        pass
