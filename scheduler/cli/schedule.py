"""`scheduler schedule …`: the conflict checker on a plan or one proposed date, units' blackout days, the limits."""

from __future__ import annotations

import json
from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer

from scheduler.clock import local_date

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from sqlalchemy.engine import Engine
    from sqlmodel import Session

    from scheduler.plan.models import Plan
    from scheduler.runtime import Runtime

schedule_app = typer.Typer(help="排期：冲突检查、单位不可安排日期与排期规则", no_args_is_help=True)
blackout_app = typer.Typer(help="单位声明的不可安排日期（两会、领导外出等）", no_args_is_help=True)
schedule_app.add_typer(blackout_app, name="blackout")



def session_scope(engine: Engine, *, write: bool = False) -> AbstractContextManager[Session]:
    """scheduler.db.session_scope, imported when a command runs: `scheduler --help` loads no database code."""
    from scheduler.db import session_scope as scope

    return scope(engine, write=write)


PlanOpt = Annotated[str | None, typer.Option("--plan", help="计划 key（默认：当前计划）")]
JsonOpt = Annotated[bool, typer.Option("--json", help="以 JSON 输出")]


def _chosen_plan(session: Session, rt: Runtime, plan: str | None) -> Plan:
    """Return the plan `--plan` names (default: the current one), or stop with a Chinese reason."""
    from scheduler.cli.context import fail
    from scheduler.plan.catalog import PlanNotFound, choose_plan

    try:
        chosen = choose_plan(session=session, key=plan, today=local_date(rt.clock.now()))
    except PlanNotFound as exc:
        raise fail(f"--plan：{exc}") from None
    if chosen is None:
        raise fail("尚未导入任何计划，请先运行：scheduler plan import PATH")
    return chosen


def _day(text: str | None, option: str) -> date | None:
    from scheduler.cli.context import fail

    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise fail(f"{option} {text!r} 不是有效日期（形如 2023-03-14）") from None


@schedule_app.command("check")
def schedule_check(
    ctx: typer.Context,
    plan: PlanOpt = None,
    occurrence: Annotated[str | None, typer.Option("--occurrence", help="只检查这一场（场次编号，如 06-1）")] = None,
    on: Annotated[str | None, typer.Option("--date", help="设想的日期（与 --occurrence 一起用）")] = None,
    until: Annotated[str | None, typer.Option("--end", help="设想的结束日期（多日活动）")] = None,
    as_json: JsonOpt = False,
) -> None:
    """检查已定档场次之间的冲突，或设想把一场定在某天的代价；有“不可选”问题时退出码为 1。"""
    from scheduler.cli.context import fail, require_schema, runtime
    from scheduler.scheduling.checker import SEVERITY_LABELS, Severity, check, check_fixed
    from scheduler.scheduling.snapshot import load_snapshot

    start, end = _day(on, "--date"), _day(until, "--end")
    if (occurrence is None) != (start is None):
        raise fail("--occurrence 与 --date 须同时给出（检查设想的日期），或都不给（检查全部已定档场次）")
    rt = runtime(ctx)
    require_schema(rt)
    with session_scope(rt.engine) as session:
        chosen = _chosen_plan(session, rt, plan)
        snap = load_snapshot(session=session, plan=chosen)
    if occurrence is not None:
        assert start is not None
        if occurrence not in {s.key for s in snap.slots}:
            raise fail(f"--occurrence：计划 {chosen.key} 中没有场次 {occurrence!r}（或已取消）")
        results = {occurrence: check(snap, occurrence, start, end)}
    else:
        results = check_fixed(snap)
    blocked = any(f.severity == Severity.BLOCK for fs in results.values() for f in fs)
    if as_json:
        typer.echo(json.dumps({"plan": chosen.key, "findings": {k: [f.as_dict() for f in fs]
                                                                for k, fs in results.items()}},
                              ensure_ascii=False, indent=2))
    else:
        fixed = sum(s.days is not None for s in snap.slots)
        scope = f"场次 {occurrence} 定在 {start}" if occurrence else f"计划 {chosen.key} 已定档 {fixed} 场"
        if not results or not any(results.values()):
            typer.echo(f"{scope}：未发现冲突。")
        for key, findings in results.items():
            slot = snap.slot(key)
            typer.echo(f"序号 {slot.seq} 场次 {key}「{slot.title}」：")
            for f in findings:
                typer.echo(f"  [{SEVERITY_LABELS[f.severity]}] {f.reason}")
    if blocked:
        raise typer.Exit(1)


@schedule_app.command("rules")
def schedule_rules(
    ctx: typer.Context,
    buffer: Annotated[int | None, typer.Option("--buffer", help="外出活动前后各留出的行程天数")] = None,
    cap: Annotated[int | None, typer.Option("--cap", help="全市同一天外出团组的上限")] = None,
) -> None:
    """显示或修改排期规则（行程缓冲天数、每日外出团组上限）。"""
    from scheduler.cli.context import fail, require_schema, runtime
    from scheduler.scheduling.blackouts import BlackoutInvalid, set_rules
    from scheduler.scheduling.snapshot import load_rules

    rt = runtime(ctx)
    require_schema(rt)
    if buffer is not None or cap is not None:
        try:
            with session_scope(rt.engine, write=True) as session:
                set_rules(session=session, travel_buffer_days=buffer, away_cap=cap, now=rt.clock.now())
        except BlackoutInvalid as exc:
            raise fail("；".join(f"--{k}：{v}" for k, v in exc.errors.items())) from None
    with session_scope(rt.engine) as session:
        rules = load_rules(session=session)
    typer.echo(f"外出活动前后各留 {rules.travel_buffer_days} 天行程；全市同一天最多 {rules.away_cap} 个团组外出。")


@blackout_app.command("add")
def blackout_add(
    ctx: typer.Context,
    unit: Annotated[str, typer.Argument(help="单位简称或编号，如 启东市")],
    start: Annotated[str, typer.Argument(help="开始日期，如 2023-03-04")],
    end: Annotated[str, typer.Argument(help="结束日期（含），如 2023-03-13")],
    reason: Annotated[str, typer.Option("--reason", help="原因，如 全国两会")] = "",
) -> None:
    """声明一个单位在一段日期内不能安排活动。"""
    from scheduler.cli.context import fail, require_schema, runtime
    from scheduler.scheduling.blackouts import BlackoutInvalid, add_blackout

    first, last = _day(start, "START"), _day(end, "END")
    rt = runtime(ctx)
    require_schema(rt)
    labels = {"unit": "UNIT", "start": "START", "end": "END", "reason": "--reason"}
    try:
        with session_scope(rt.engine, write=True) as session:
            row = add_blackout(session=session, unit=unit, start=first, end=last, reason=reason, by="cli",
                               now=rt.clock.now())
            row_id = row.id
    except BlackoutInvalid as exc:
        raise fail("；".join(f"{labels[k]}：{v}" for k, v in exc.errors.items())) from None
    typer.echo(f"已声明（编号 {row_id}）：{unit.strip()} {first} 至 {last} 不安排活动（{reason.strip()}）。")


@blackout_app.command("list")
def blackout_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """列出所有单位的不可安排日期。"""
    from scheduler.cli.context import require_schema, runtime
    from scheduler.scheduling.blackouts import list_blackouts

    rt = runtime(ctx)
    require_schema(rt)
    with session_scope(rt.engine) as session:
        rows = list_blackouts(session=session)
    if as_json:
        typer.echo(json.dumps([{"id": r.id, "unit": r.unit, "unit_name": r.unit_name, "start": r.start.isoformat(),
                                "end": r.end.isoformat(), "reason": r.reason} for r in rows],
                              ensure_ascii=False, indent=2))
        return
    if not rows:
        typer.echo("（尚无单位声明不可安排日期）")
    for r in rows:
        typer.echo(f"{r.id}\t{r.unit_name}\t{r.start} 至 {r.end}\t{r.reason}")


@blackout_app.command("remove")
def blackout_remove(ctx: typer.Context, blackout_id: Annotated[int, typer.Argument(metavar="ID")]) -> None:
    """删除一条不可安排日期（按编号）。"""
    from scheduler.cli.context import fail, require_schema, runtime
    from scheduler.scheduling.blackouts import remove_blackout

    rt = runtime(ctx)
    require_schema(rt)
    with session_scope(rt.engine, write=True) as session:
        removed = remove_blackout(session=session, blackout_id=blackout_id)
    if not removed:
        raise fail(f"ID：没有编号为 {blackout_id} 的不可安排日期（可用 scheduler schedule blackout list 查看）")
    typer.echo(f"已删除编号 {blackout_id} 的不可安排日期。")


@schedule_app.command("propose")
def schedule_propose(
    ctx: typer.Context,
    plan: PlanOpt = None,
    time_limit: Annotated[float, typer.Option("--time-limit", help="求解时限（秒）", min=0.5, max=600)] = 4.0,
    workers: Annotated[int, typer.Option("--workers", help="求解线程数（1 时结果可复现）", min=1, max=16)] = 1,
    publish_it: Annotated[bool, typer.Option("--publish", help="发布为新版本：下一次定档请求会附上建议日期")] = False,
    as_json: JsonOpt = False,
) -> None:
    """为每个未定档场次计算建议日期（默认只显示；--publish 记录为新版本，不改动任何场次）。"""
    from scheduler.cli.context import fail, require_schema, runtime
    from scheduler.plan.models import Plan
    from scheduler.scheduling.proposer import ProposalImpossible, propose
    from scheduler.scheduling.publish import latest_published, publish
    from scheduler.scheduling.snapshot import load_snapshot

    rt = runtime(ctx)
    require_schema(rt)
    with session_scope(rt.engine) as session:
        chosen = _chosen_plan(session, rt, plan)
        snap = load_snapshot(session=session, plan=chosen)
        assert chosen.id is not None
        previous = {k: s.day for k, s in latest_published(session=session, plan_id=chosen.id).items()}
    try:
        result = propose(snap, time_limit=time_limit, workers=workers, previous=previous)
    except ProposalImpossible as exc:
        raise fail("无法排期：" + "；".join(exc.reasons)) from None
    version = None
    if publish_it:
        with session_scope(rt.engine, write=True) as session:
            stored = session.get(Plan, chosen.id)
            assert stored is not None
            version = publish(session=session, plan=stored, proposal=result, by="cli", now=rt.clock.now())
    by_key = {s.key: s for s in snap.slots}
    if as_json:
        typer.echo(json.dumps({
            "plan": chosen.key, "status": result.status, "first_feasible_s": result.first_feasible_s,
            "final_s": result.final_s, "empty_months": result.empty_months,
            "destination_weeks": result.destination_weeks, "trips": result.trips, "published_version": version,
            "sessions": [{"key": p.key, "seq": by_key[p.key].seq, "date": p.day.isoformat(), "why": p.why}
                         for p in sorted(result.days.values(), key=lambda p: (by_key[p.key].seq, p.key))],
        }, ensure_ascii=False, indent=2))
        return
    state = f"已发布为第 {version} 版" if version else "仅供审核，未写入"
    typer.echo(f"计划 {chosen.key}：为 {len(result.days)} 个未定档场次给出建议（{state}）。")
    for p in sorted(result.days.values(), key=lambda p: (by_key[p.key].seq, p.key)):
        typer.echo(f"序号 {by_key[p.key].seq:>2} 场次 {p.key}  {p.day.isoformat()}  {p.why}")
    empty = "、".join(f"{m}月" for m in result.empty_months) or "无"
    typer.echo(f"没有活动的月份：{empty}；外出 {result.trips} 场，涉及 {result.destination_weeks} 个“目的地×周”；"
               f"求解 {result.final_s:.1f} 秒（{'最优' if result.status == 'OPTIMAL' else '时限内最好'}）。")
