"""Error pages for people: a browser gets a Chinese page saying what went wrong and where; programs keep JSON."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from scheduler.validation import json_path, located_errors
from scheduler.web.templates import render

TITLES = {
    400: "输入有误",
    403: "无权操作",
    404: "页面不存在",
    405: "不支持的请求",
    409: "无法执行",
    413: "提交内容过大",
    422: "输入有误",
    429: "请求过于频繁",
}
LOCATION_LABELS = {"body": "表单", "query": "网址参数", "path": "网址", "header": "请求头", "cookie": "Cookie"}


def wants_html(request: Request) -> bool:
    """Tell whether the client is a browser asking for a page (not the JSON API, not a program)."""
    return "text/html" in request.headers.get("accept", "") and not request.url.path.startswith("/api/")


def field_location(loc: Sequence[Any]) -> str:
    """Say where a request value sits, in Chinese: ('body', 'points') → '表单字段 points'."""
    where = LOCATION_LABELS.get(str(loc[0]), str(loc[0])) if loc else ""
    return f"{where}字段 {json_path(loc[1:]) or '?'}"


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if not wants_html(request):
        return await http_exception_handler(request, exc)
    detail = exc.detail if isinstance(exc.detail, str) else "请求无法完成"
    context = {"title": TITLES.get(exc.status_code, "出错了"), "messages": [detail], "status": exc.status_code}
    response = render(request, "error.html", context, status_code=exc.status_code)
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if not wants_html(request):
        return await request_validation_exception_handler(request, exc)
    # '表单字段 points：不是整数，收到 "abc"'
    messages = [str(e) for e in located_errors(exc.errors(), where=field_location)]
    return render(request, "error.html", {"title": TITLES[422], "messages": messages, "status": 422}, status_code=422)


def install_error_pages(app: FastAPI) -> None:
    """Register the HTML error pages on `app`."""
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
