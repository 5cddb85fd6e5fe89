"""`scheduler workdays …`: the working-day calendar of a year and the office's overrides (next year's notice)."""

from __future__ import annotations

import unicodedata
from datetime import date
from typing import Annotated

import typer

from scheduler.clock import local_date

workdays_app = typer.Typer(help="工作日历：法定节假日、调休上班日与办公室录入的调整", no_args_is_help=True)

WEEKDAYS = "一二三四五六日"
YEARS = range(2000, 2101)
DayArg = Annotated[str, typer.Argument(metavar="DAY", help="日期，形如 2027-02-05")]
YearOpt = Annotated[str | None, typer.Option("--year", help="年份，如 2027（默认今年）")]


def _day(text: str) -> date:
    from scheduler.cli.context import fail

    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise fail(f"日期 DAY {text!r} 无效（形如 2027-02-05）") from None
    if day.year not in YEARS:
        raise fail(f"日期 DAY {text!r} 超出范围（年份须在 {YEARS[0]}–{YEARS[-1]} 之间）")
    return day


def _year(text: str) -> int:
    from scheduler.cli.context import fail

    try:
        year = int(text.strip())
    except ValueError:
        raise fail(f"年份 --year {text!r} 无效（形如 2027）") from None
    if year not in YEARS:
        raise fail(f"年份 --year {year} 超出范围（须在 {YEARS[0]}–{YEARS[-1]} 之间）")
    return year


def _pad(text: str, width: int) -> str:
    """Pad `text` to `width` terminal columns (Chinese characters take two)."""
    used = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(width - used, 1)


@workdays_app.command("show")
def workdays_show(ctx: typer.Context, year: YearOpt = None) -> None:
    """显示一年的放假与调休上班安排，并说明该年是否为暂定。"""
    from scheduler.cli.context import require_schema, runtime
    from scheduler.db import session_scope
    from scheduler.workdays import LIBRARY, get_year, load_calendar

    rt = runtime(ctx)
    y = _year(year) if year is not None else local_date(rt.clock.now()).year
    require_schema(rt)
    with session_scope(rt.engine) as session:
        calendar = load_calendar(session=session)
        confirmed = get_year(session=session, year=y)
        confirmed_on = local_date(confirmed.confirmed_at) if confirmed else None
    days = calendar.special_days(y)
    overridden = sum(d.overridden for d in days)
    if confirmed is not None:
        typer.echo(f"{y} 年工作日历：已确认（依据 {confirmed.source}，确认于 {confirmed_on}）。")
    elif calendar.library_covers(y):
        extra = f"；办公室调整 {overridden} 天，以调整为准" if overridden else ""
        typer.echo(f"{y} 年工作日历：按国务院办公厅放假安排（日历库 {LIBRARY}）{extra}。")
    else:
        typer.echo(f"{y} 年工作日历：暂定——日历库尚无该年放假安排，办公室也未确认；除下列调整外仅按周末计算。")
        typer.echo(f"  国务院办公厅通知发布后，请逐日录入：scheduler workdays set {y}-01-01 --off --note 元旦 "
                   f"--source 国办发明电〔…〕…号，录完后确认：scheduler workdays confirm --year {y} --source …")
    if days:
        typer.echo(_pad("日期", 12) + _pad("星期", 6) + _pad("安排", 10) + _pad("节日/说明", 20) + "依据")
        for d in days:
            kind = ("调休上班" if d.day.weekday() >= 5 else "上班") if d.is_workday else "放假"
            typer.echo(_pad(d.day.isoformat(), 12) + _pad(f"周{WEEKDAYS[d.day.weekday()]}", 6) + _pad(kind, 10)
                       + _pad(d.name or "—", 20) + d.source + ("（办公室调整）" if d.overridden else ""))
    else:
        typer.echo("（无放假或调休安排）")
    off = sum(not d.is_workday for d in days)
    swapped = sum(d.is_workday and d.day.weekday() >= 5 for d in days)
    total = calendar.workdays_between(date(y - 1, 12, 31), date(y, 12, 31))
    typer.echo(f"合计：放假 {off} 天（含落在周末的节日），调休上班 {swapped} 天；全年工作日 {total} 天"
               + ("（暂定）" if calendar.is_provisional(y) else "") + "。")


@workdays_app.command("set")
def workdays_set(
    ctx: typer.Context,
    day: DayArg,
    work: Annotated[bool, typer.Option("--work", help="这一天上班（如调休上班的周末）")] = False,
    off: Annotated[bool, typer.Option("--off", help="这一天放假")] = False,
    note: Annotated[str, typer.Option("--note", help="说明，如 春节 或 春节调休上班")] = "",
    source: Annotated[str, typer.Option("--source", help="依据，如 国办发明电〔2026〕X号")] = "",
) -> None:
    """录入一天的调整（放假或上班），优先于日历库。"""
    from scheduler.cli.context import fail, require_schema, runtime
    from scheduler.db import session_scope
    from scheduler.workdays import WorkdaysInvalid, set_override

    when = _day(day)
    if work == off:
        raise fail("安排 --work/--off：请二选一（--work 上班，--off 放假）")
    rt = runtime(ctx)
    require_schema(rt)
    try:
        with session_scope(rt.engine, write=True) as session:
            set_override(session=session, day=when, is_workday=work, note=note, source=source, now=rt.clock.now())
    except WorkdaysInvalid as exc:
        raise fail(str(exc)) from None
    typer.echo(f"已录入：{when.isoformat()}（周{WEEKDAYS[when.weekday()]}）{'上班' if work else '放假'}，"
               f"{note.strip()}，依据 {source.strip()}。")


@workdays_app.command("unset")
def workdays_unset(ctx: typer.Context, day: DayArg) -> None:
    """删除一天的调整，恢复日历库（或周末）的安排。"""
    from scheduler.cli.context import fail, require_schema, runtime
    from scheduler.db import session_scope
    from scheduler.workdays import remove_override

    when = _day(day)
    rt = runtime(ctx)
    require_schema(rt)
    with session_scope(rt.engine, write=True) as session:
        removed = remove_override(session=session, day=when)
    if not removed:
        raise fail(f"日期 DAY {when.isoformat()} 没有录入过调整")
    typer.echo(f"已删除 {when.isoformat()} 的调整。")


@workdays_app.command("confirm")
def workdays_confirm(
    ctx: typer.Context,
    year: YearOpt = None,
    source: Annotated[str, typer.Option("--source", help="依据，如 国办发明电〔2026〕X号")] = "",
) -> None:
    """确认一年的放假安排已按通知录入完毕（该年不再是暂定）。"""
    from scheduler.cli.context import fail, require_schema, runtime
    from scheduler.db import session_scope
    from scheduler.workdays import WorkdaysInvalid, confirm_year

    if year is None:
        raise fail("年份 --year：请指定要确认的年份，如 --year 2027")
    y = _year(year)
    rt = runtime(ctx)
    require_schema(rt)
    try:
        with session_scope(rt.engine, write=True) as session:
            confirm_year(session=session, year=y, source=source, now=rt.clock.now())
    except WorkdaysInvalid as exc:
        raise fail(str(exc)) from None
    typer.echo(f"已确认 {y} 年工作日历（依据 {source.strip()}），该年不再是暂定。")
