"""Web page rendering: the Jinja2 environment and `render` with the context every page needs."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates

from scheduler.config import PROJECT_ROOT
from scheduler.web.deps import get_runtime
from scheduler.web.security import csrf_token


def make_templates() -> Jinja2Templates:
    """Build the Jinja2 environment for web pages (autoescaped)."""
    return Jinja2Templates(directory=str(PROJECT_ROOT / "templates" / "web"))


def render(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> Any:
    """Render a page with the context every page needs (clock banner, sign-out CSRF token)."""
    runtime = get_runtime(request)
    signed_in = "session" in request.scope and request.session.get("admin_id") is not None
    base: dict[str, Any] = {"clock_text": runtime.clock.describe(), "now": runtime.clock.now(), "signed_in": signed_in}
    if signed_in:
        base["logout_csrf"] = csrf_token(request)
    return request.app.state.templates.TemplateResponse(request, name, {**base, **context}, status_code=status_code)
