"""Request-scoped dependencies: the runtime, a database session, templates."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from sqlmodel import Session

from scheduler.config import PROJECT_ROOT
from scheduler.runtime import Runtime


def make_templates() -> Jinja2Templates:
    """Build the Jinja2 environment for web pages (autoescaped)."""
    templates = Jinja2Templates(directory=str(PROJECT_ROOT / "templates" / "web"))
    return templates


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def get_session(request: Request) -> Iterator[Session]:
    """Yield a session; routes commit what they change."""
    with Session(request.app.state.runtime.engine, expire_on_commit=False) as session:
        yield session


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
SessionDep = Annotated[Session, Depends(get_session)]


def render(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> Any:
    """Render a page with the context every page needs (clock banner)."""
    runtime: Runtime = request.app.state.runtime
    signed_in = "session" in request.scope and request.session.get("admin_id") is not None
    base: dict[str, Any] = {"clock_text": runtime.clock.describe(), "now": runtime.clock.now(), "signed_in": signed_in}
    if signed_in:
        from scheduler.web.security import csrf_token  # security builds on deps

        base["logout_csrf"] = csrf_token(request)
    return request.app.state.templates.TemplateResponse(request, name, {**base, **context}, status_code=status_code)
