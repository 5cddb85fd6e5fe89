"""Error pages for people: a browser gets a Chinese page saying what went wrong and where; programs keep JSON.

A read-only or full disk, or a database away, is a 503 page with a banner saying what still works, never a 500.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from scheduler.faults import Fault, classify
from scheduler.faults import describe as describe_fault
from scheduler.validation import json_path, located_errors
from scheduler.web.deps import get_runtime
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
# Starlette's own details ("Not Found", "Method Not Allowed") are English reason phrases: say it in Chinese.
DEFAULT_DETAILS = {
    404: "没有这个页面：网址 {path} 不存在，或所指的内容已被删除。",
    405: "网址 {path} 不接受这种请求方式（{method}）。",
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
    if exc.status_code in DEFAULT_DETAILS and detail == HTTPStatus(exc.status_code).phrase:
        detail = DEFAULT_DETAILS[exc.status_code].format(path=request.url.path, method=request.method)
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


FAULT_PAGES = {
    Fault.READ_ONLY: ("只读模式", "系统磁盘当前为只读：可以浏览已保存的内容，暂时不能保存任何修改。"),
    Fault.DISK_FULL: ("磁盘已满", "系统磁盘已满：暂时不能保存任何修改，请联系管理员清理磁盘。"),
    Fault.PERMISSION: ("只读模式", "系统没有写入数据文件的权限：暂时不能保存任何修改，请联系管理员。"),
    Fault.DISK_IO: ("暂时无法访问", "系统磁盘读写出错：请稍后再试，或联系管理员。"),
    Fault.BUSY: ("系统繁忙", "系统正忙，本次操作未保存：请稍后重试。"),
    Fault.MISSING: ("暂时无法访问", "数据文件不可用：请联系管理员。"),
    Fault.UNREACHABLE: ("暂时无法访问", "数据库暂时无法连接：请稍后再试。"),
}
log = logging.getLogger(__name__)


async def _fault(request: Request, exc: Exception) -> Response:
    """Answer a database or disk failure with 503 and a Chinese banner (a bug still gets its 500 and traceback)."""
    fault = classify(exc)
    if fault is None:
        raise exc
    title, message = FAULT_PAGES[fault]
    get_runtime(request).write_health.failed(exc, now=datetime.now(UTC), tick=time.monotonic())
    log.warning("%s %s: %s", request.method, request.url.path, describe_fault(exc))
    headers = {"Retry-After": "30"}
    if not wants_html(request):
        return JSONResponse({"detail": message, "fault": str(fault)}, status_code=503, headers=headers)
    context = {"title": title, "messages": [message], "status": 503}
    response = render(request, "error.html", context, status_code=503)
    response.headers.update(headers)
    return response


def install_error_pages(app: FastAPI) -> None:
    """Register the HTML error pages on `app`, database and disk failures included (503 with a banner, not 500)."""
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    # DBAPIError, not only OperationalError: PostgreSQL's read-only transaction (25006) is an InternalError
    app.add_exception_handler(DBAPIError, _fault)
    app.add_exception_handler(OSError, _fault)
