"""create_app: build the FastAPI application from settings, clock, engine and mailer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.engine import Engine
from starlette.middleware.sessions import SessionMiddleware
from starlette.staticfiles import StaticFiles

from scheduler.auth import SignInGuard
from scheduler.clock import Clock
from scheduler.config import Settings
from scheduler.runtime import Runtime
from scheduler.web import dashboard, feeds, health, invitations, links, mailbox, nominations, pages, subscribe
from scheduler.web.accesslog import AccessLog, placed_access_log
from scheduler.web.admin import auth as admin_auth
from scheduler.web.admin import board as admin_board
from scheduler.web.admin import checkin as admin_checkin
from scheduler.web.admin import contacts as admin_contacts
from scheduler.web.admin import logistics as admin_logistics
from scheduler.web.admin import outbox as admin_outbox
from scheduler.web.admin import plan as admin_plan
from scheduler.web.admin import planfile as admin_planfile
from scheduler.web.admin import reports as admin_reports
from scheduler.web.admin import schedule as admin_schedule
from scheduler.web.admin import targets as admin_targets
from scheduler.web.admin import tasks as admin_tasks
from scheduler.web.admin import users as admin_users
from scheduler.web.admin import workdays as admin_workdays
from scheduler.web.errors import install_error_pages
from scheduler.web.headrequests import HeadAsGet
from scheduler.web.logredact import install_redaction
from scheduler.web.security import SESSION_COOKIE, SESSION_MAX_AGE, LoginRequired, SecurityHeaders
from scheduler.web.templates import make_templates

STATIC_DIR = Path(__file__).parent / "static"  # every stylesheet the pages link; nothing is fetched from elsewhere


class SchedulerApp(FastAPI):
    """The application; a cached feed is answered before the middleware stack (see FeedMiddleware.answer_cached)."""

    cached_feeds: feeds.FeedMiddleware | None = None
    access_log: AccessLog | None = None  # set when SCHEDULER_ACCESS_LOG is on: cached feeds write their line too

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self.cached_feeds is not None:
            status = await self.cached_feeds.answer_cached(scope, send)
            if status:
                if self.access_log is not None:
                    self.access_log.write(scope, status)
                return
        await super().__call__(scope, receive, send)


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    engine: Engine | None = None,
    mailer: Any = None,
    ticker: bool = False,
) -> FastAPI:
    """Build the web application; nothing global, everything from the arguments. `ticker` runs the mail jobs."""
    from scheduler.jobs import serve_lifespan
    from scheduler.mail.outbox import count_by_state

    runtime = Runtime(settings, clock=clock, engine=engine)
    runtime.mailer = mailer
    runtime.health_contributors["outbox"] = lambda session: count_by_state(session=session)
    app = SchedulerApp(
        title="科技招商活动排期与联络服务",
        docs_url=None,  # Swagger UI loads assets from a CDN: no third-party assets, no run-time fetches
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=serve_lifespan(runtime) if ticker else None,
    )
    app.state.runtime = runtime
    app.state.templates = make_templates()
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")  # app.css: CSP style-src 'self'
    app.include_router(health.router)
    app.include_router(pages.router)
    app.include_router(subscribe.router)
    app.include_router(mailbox.router)
    app.include_router(admin_auth.router)
    app.include_router(nominations.router)  # /o/n/{token}: units' nominations, beside /o/{token}
    app.include_router(invitations.router)  # /o/g/{token}: guests' answers
    app.include_router(links.router)
    app.include_router(admin_tasks.router)
    install_redaction()
    app.include_router(dashboard.router)
    app.include_router(admin_reports.router)
    app.include_router(admin_targets.router)
    app.include_router(admin_outbox.router)
    app.include_router(admin_contacts.router)
    app.include_router(admin_users.router)
    app.include_router(admin_workdays.router)
    app.include_router(admin_logistics.router)
    app.include_router(admin_checkin.router)
    app.include_router(admin_schedule.router)
    app.include_router(admin_board.router)
    app.include_router(admin_planfile.router)  # before admin_plan: /admin/plan/upload is not a plan key
    app.include_router(admin_plan.router)
    app.state.sign_in_guard = SignInGuard()  # failed sign-ins per (username, address) and per address
    app.add_middleware(HeadAsGet)  # inside feeds (which answer their own HEAD with ETag), so every page takes HEAD
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.signing_keys()[0],
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_MAX_AGE,
        same_site="lax",
        https_only=settings.base_url.startswith("https://"),
    )
    app.add_middleware(SecurityHeaders)  # CSP, nosniff and no-store on every answer (feeds add their own)
    feed_layer = feeds.FeedMiddleware(None, runtime=runtime)
    app.add_middleware(feeds.placed, layer=feed_layer)  # outermost in the stack: feeds touch nothing inside it
    if settings.access_log:
        app.access_log = AccessLog(None)  # one instance: its redaction memo serves both paths
        app.add_middleware(placed_access_log, layer=app.access_log)
    app.cached_feeds = feed_layer  # cached feeds skip even the framework's error layer

    install_error_pages(app)

    @app.exception_handler(LoginRequired)
    def _to_login(request: Request, exc: LoginRequired) -> RedirectResponse:
        return RedirectResponse(f"/login?next={exc.next_path}", status_code=303)

    return app
