"""Web page rendering: the Jinja2 environment and `render` with the context every page needs."""

from __future__ import annotations

import time
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates

from scheduler.clock import SHANGHAI
from scheduler.config import PROJECT_ROOT
from scheduler.faults import Degraded, Fault, write_probe
from scheduler.web.deps import get_runtime
from scheduler.web.security import csrf_token


def make_templates() -> Jinja2Templates:
    """Build the Jinja2 environment for web pages (autoescaped)."""
    return Jinja2Templates(directory=str(PROJECT_ROOT / "templates" / "web"))


DEGRADED_TEXT = {
    Fault.READ_ONLY: "只读模式：系统磁盘或数据库当前为只读，可以浏览已保存的内容，暂时不能保存任何修改",
    Fault.DISK_FULL: "磁盘已满：可以浏览已保存的内容，暂时不能保存任何修改，请联系管理员清理磁盘",
    Fault.PERMISSION: "只读模式：系统没有写入数据文件的权限，可以浏览已保存的内容，暂时不能保存任何修改",
}


def degraded_banner(state: Degraded) -> str:
    """Say in one Chinese line what cannot be saved and since when (Beijing time)."""
    return f"{DEGRADED_TEXT[state.fault]}（自 {state.since.astimezone(SHANGHAI):%Y-%m-%d %H:%M:%S} 起）。"


def render(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> Any:
    """Render a page with the context every page needs (clock banner, sign-out CSRF token, and the read-only banner
    while writes fail: set by the failing write, cleared by a write that works or a probe)."""
    runtime = get_runtime(request)
    signed_in = "session" in request.scope and request.session.get("admin_id") is not None
    degraded = runtime.write_health.current(probe=write_probe(runtime.engine), tick=time.monotonic())
    base: dict[str, Any] = {"clock_text": runtime.clock.describe(), "now": runtime.clock.now(), "signed_in": signed_in,
                            "degraded": degraded and degraded_banner(degraded)}
    if signed_in:
        base["logout_csrf"] = csrf_token(request)
    return request.app.state.templates.TemplateResponse(request, name, {**base, **context}, status_code=status_code)
