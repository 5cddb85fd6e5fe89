"""Command line (`scheduler …`): the root app; each command group lives in its own module. Messages are Chinese."""

from __future__ import annotations

import sys

import typer

from scheduler.cli import service
from scheduler.cli.feed import feed_app
from scheduler.cli.goals import goals_app
from scheduler.cli.mail import contacts_app, mail_app, outbox_app
from scheduler.cli.plan import db_app, plan_app
from scheduler.cli.report import report, targets_app
from scheduler.cli.schedule import schedule_app
from scheduler.cli.user import user_app
from scheduler.cli.workdays import workdays_app

app = typer.Typer(help="科技招商活动排期与联络服务", no_args_is_help=True, add_completion=False)
app.add_typer(db_app, name="db")
app.add_typer(plan_app, name="plan")
app.command("serve")(service.serve)
app.add_typer(contacts_app, name="contacts")
app.add_typer(outbox_app, name="outbox")
app.add_typer(mail_app, name="mail")
app.command("worker")(service.worker)
app.command("run-job")(service.run_job)
app.command("replay")(service.replay_cmd)
app.command("smtp-sink")(service.smtp_sink)
app.add_typer(feed_app, name="feed")
app.add_typer(user_app, name="user")
app.command("report")(report)
app.add_typer(targets_app, name="targets")
app.add_typer(goals_app, name="goals")
app.add_typer(workdays_app, name="workdays")
app.add_typer(schedule_app, name="schedule")


def _database_error(exc: BaseException) -> bool:
    """Tell whether `exc` is SQLAlchemy's (only possible once a command imported it: none is imported at start-up)."""
    errors = sys.modules.get("sqlalchemy.exc")
    return errors is not None and isinstance(exc, (errors.OperationalError, errors.DBAPIError))


def main() -> None:
    """Entry point of the `scheduler` console script: database, disk and permission failures as one Chinese line."""
    try:
        app()
    except Exception as exc:
        if isinstance(exc, OSError) or _database_error(exc):
            from scheduler.faults import describe as describe_fault

            reason = describe_fault(exc)
            if reason is None:
                raise
            typer.echo(f"操作失败：{reason}", err=True)
            sys.exit(1)
        if isinstance(exc, ValueError):  # settings errors carry Chinese, located messages
            typer.echo(f"配置错误：{exc}", err=True)
            sys.exit(2)
        raise
