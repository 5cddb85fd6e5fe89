"""GET|POST /o/{token}: the link-based forms (no login). GET/HEAD change nothing; only a real POST records.

Routes check what the browser sent (origin, size, rate, form nonce) and render; `followups` decides and records.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlmodel import Session

from scheduler.auth import LoginThrottle
from scheduler.clock import SHANGHAI
from scheduler.followups import forms
from scheduler.followups.links import Grant, LinkExpired, LinkRefused, LinkSigner
from scheduler.followups.models import Task
from scheduler.followups.renewal import LinkStillValid, Renewal, check_link, expired_grant, renew_link
from scheduler.followups.submissions import Accepted, Refused, submit_through_link
from scheduler.followups.tasks import get_task
from scheduler.runtime import Runtime
from scheduler.web.deps import NowDep, RuntimeDep, SessionDep, WriteSessionDep
from scheduler.web.taskforms import MAX_BODY_BYTES, MAX_FORM_FIELDS, form_context
from scheduler.web.templates import render

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)
FORM_NONCE_FIELD = "form_nonce"
FORM_NONCE_MAX_AGE = 24 * 3600
TOKEN_HEADERS = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store", "X-Robots-Tag": "noindex, nofollow",
                 "X-Content-Type-Options": "nosniff"}


class LinkForms:
    """Per-app state of the link forms: signers and anonymous POST throttles (in memory, per process)."""

    def __init__(self, runtime: Runtime, *, wall: Callable[[], float] = time.monotonic) -> None:
        """Build the signers; the throttles count wall-clock seconds from `wall`, never the application clock."""
        keys = runtime.settings.signing_keys()
        self.signer = LinkSigner(keys)
        self.nonces = URLSafeTimedSerializer(keys[::-1] if len(keys) > 1 else keys, salt="kjzs-form-nonce")
        self.posts = LoginThrottle(limit=30, window=timedelta(minutes=1), wall=wall)  # anonymous POSTs per address
        self.renewals = LoginThrottle(limit=1, window=timedelta(minutes=10), wall=wall)  # fresh links per link


def link_forms(request: Request, runtime: RuntimeDep) -> LinkForms:
    """Return the app's link-form state, built on first use."""
    state = getattr(request.app.state, "link_forms", None)
    if state is None:
        state = request.app.state.link_forms = LinkForms(runtime)
    return state


LinkFormsDep = Annotated[LinkForms, Depends(link_forms)]


def page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> Response:
    """Render a page behind a token with the headers such pages need."""
    response = render(request, name, {"tz": SHANGHAI, **context}, status_code=status_code)
    response.headers.update(TOKEN_HEADERS)
    return response


def problem(request: Request, status_code: int, heading: str, message: str, **extra: Any) -> Response:
    """Render a plain refusal or expiry page."""
    return page(request, "link_problem.html", {"heading": heading, "message": message, "renew_url": None,
                                               "hidden": {}, **extra}, status_code)


REFUSED = ("链接无效",
           "此链接无效、已被撤销或不能用于此操作。请使用邮件中的最新链接，或联系科技招商推进领导小组办公室。")
STALE_NONCE = ("页面打开时间过长或不是从邮件链接打开的，本次提交未保存。您填写的内容已保留在下方，"
               "请核对后再次点击“提交”。")
TOO_LARGE = f"提交内容超过 {MAX_BODY_BYTES // 1024} KB 上限，未保存。请精简后重试。"


def _mask(address: str) -> str:
    name, _, domain = address.partition("@")
    return f"{name[:2]}***@{domain}"


def _client(request: Request) -> tuple[str, str]:
    return (request.client.host if request.client else "unknown"), request.headers.get("user-agent", "")[:400]


def _origin_ok(request: Request, base_url: str) -> bool:
    """Refuse cross-site POSTs: Sec-Fetch-Site must not say cross-site, and an Origin, when real, must be ours.

    Pages send Referrer-Policy: no-referrer, so browsers post with `Origin: null`; the per-form nonce still binds
    the POST to a page this site rendered for this very link.
    """
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return False
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source or source == "null":
        return True
    ours, theirs = urlsplit(base_url), urlsplit(source)
    return (theirs.scheme, theirs.netloc) == (ours.scheme, ours.netloc)  # never the Host header: a client sets it


async def read_form(request: Request) -> dict[str, str] | Response:
    """Read an urlencoded body of bounded size; return the fields or a refusal page."""
    declared = request.headers.get("content-length")
    declared_ok = declared is None or (declared.isascii() and declared.isdigit() and len(declared) <= 12
                                       and int(declared) <= MAX_BODY_BYTES)
    if not declared_ok:
        return problem(request, 413, "提交内容过大", TOO_LARGE)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            return problem(request, 413, "提交内容过大", TOO_LARGE)
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return problem(request, 415, "无法识别的提交", "请通过页面上的表单提交。")
    try:
        text = bytes(body).decode("utf-8")
    except UnicodeDecodeError:
        return problem(request, 422, "无法识别的提交", "提交内容不是有效的 UTF-8 表单数据，未保存。")
    try:
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except ValueError:
        return problem(request, 413, "提交内容过大", f"表单字段超过 {MAX_FORM_FIELDS} 个上限，未保存。")
    return dict(pairs)


def _verify(request: Request, session: Session, state: LinkForms, token: str, now: datetime) -> Grant | Response:
    """Return the grant of a usable token, or the refusal or expiry page to show instead."""
    try:
        return check_link(session=session, signer=state.signer, token=token, now=now)
    except LinkRefused:
        return problem(request, 403, *REFUSED)
    except LinkExpired as exc:
        nonce = state.nonces.dumps(exc.grant.nonce)
        return problem(request, 410, "链接已过期", "此链接已过期。已提交的内容不受影响。",
                       renew_url=f"{request.url.path}/renew", hidden={FORM_NONCE_FIELD: nonce},
                       masked=_mask(exc.grant.recipient))


@router.api_route("/o/{token}", methods=["GET", "HEAD"])
def open_form(request: Request, token: str, session: SessionDep, now: NowDep, state: LinkFormsDep) -> Response:
    """Show the form of a link, pre-filled; nothing is written."""
    grant = _verify(request, session, state, token, now)
    if isinstance(grant, Response):
        return grant
    task = get_task(session=session, task_id=grant.task_id)
    if task is None:
        return problem(request, 403, *REFUSED)
    ctx = form_context(session=session, task=task)
    hidden = {FORM_NONCE_FIELD: state.nonces.dumps(grant.nonce)}
    return page(request, "task_form.html", {**ctx, "post_url": request.url.path, "hidden": hidden, "on_behalf": False})


def _nonce_ok(state: LinkForms, form: dict[str, str], grant_nonce: str) -> bool:
    try:
        value = state.nonces.loads(form.get(FORM_NONCE_FIELD, ""), max_age=FORM_NONCE_MAX_AGE)
    except BadSignature:
        return False
    return value == grant_nonce


def rows_refusal(request: Request, form: dict[str, str]) -> Response | None:
    """Return the refusal page (413) for a form carrying more rows than allowed, else None."""
    try:
        forms.check_rows(form)
    except forms.FormTooLarge as exc:
        return problem(request, 413, "提交内容过大", f"{exc}，未保存。")
    return None


def form_page(request: Request, session: Session, task: Task, form: dict[str, str], *, hidden: dict[str, str],
              on_behalf: bool, extra_rows: int = 0, errors: dict[str, str] | None = None, notice: str | None = None,
              status_code: int = 200) -> Response:
    """Show the form again with what was typed (and more blank rows, errors or a notice); nothing is recorded."""
    ctx = form_context(session=session, task=task, values=form, errors=errors, extra_rows=extra_rows)
    return page(request, "task_form.html", {**ctx, "post_url": request.url.path, "hidden": hidden,
                                            "on_behalf": on_behalf, "notice": notice}, status_code)


def result_page(request: Request, session: Session, task: Task, form: dict[str, str], result: Accepted | Refused,
                *, hidden: dict[str, str], on_behalf: bool) -> Response:
    """Render what recording a submission came to: the form with errors (422) or the confirmation."""
    if isinstance(result, Refused):
        return form_page(request, session, task, form, hidden=hidden, on_behalf=on_behalf, errors=result.errors,
                         status_code=422)
    return page(request, "task_done.html", {"task": result.task, "revision": result.revision,
                                            "totals": result.receipt, "message": result.note,
                                            "back_url": request.url.path, "on_behalf": on_behalf})


async def guarded_form(request: Request, runtime: Runtime, state: LinkForms, now: datetime
                       ) -> dict[str, str] | Response:
    """Apply what every anonymous POST must pass (same site, rate limit, bounded body); return its fields."""
    ip, _agent = _client(request)
    if not _origin_ok(request, runtime.settings.base_url):
        return problem(request, 403, "来源不明的提交", "此提交不是从本站页面发出的，未保存。")
    if state.posts.blocked(ip):
        return problem(request, 429, "提交过于频繁", "提交过于频繁，请稍后再试。")
    state.posts.fail(ip)
    return await read_form(request)


@router.post("/o/{token}")
async def post_form(request: Request, token: str, runtime: RuntimeDep, now: NowDep, session: SessionDep,
                    state: LinkFormsDep) -> Response:
    """Record a submission made through a link (a second one is an edit, kept as a revision)."""
    ip, agent = _client(request)
    form = await guarded_form(request, runtime, state, now)
    if isinstance(form, Response):
        return form
    grant = _verify(request, session, state, token, now)
    if isinstance(grant, Response):
        return grant
    hidden = {FORM_NONCE_FIELD: state.nonces.dumps(grant.nonce)}
    refusal = rows_refusal(request, form)
    if refusal is not None:
        return refusal
    task = get_task(session=session, task_id=grant.task_id)
    if task is None:
        return problem(request, 403, *REFUSED)
    if not _nonce_ok(state, form, grant.nonce):  # a page left open too long: keep every typed answer
        return form_page(request, session, task, form, hidden=hidden, on_behalf=False, notice=STALE_NONCE,
                         status_code=422)
    if form.get("add_rows"):
        return form_page(request, session, task, form, hidden=hidden, on_behalf=False, extra_rows=3)
    # The submission is its own transaction (locked, retried on a revision race), committed before we answer.
    result = submit_through_link(engine=runtime.engine, grant=grant, form=form, ip=ip, user_agent=agent, now=now)
    return result_page(request, session, task, form, result, hidden=hidden, on_behalf=False)


@router.post("/o/{token}/renew")
async def renew(request: Request, token: str, runtime: RuntimeDep, now: NowDep, session: WriteSessionDep,
                state: LinkFormsDep) -> Response:
    """Send a fresh link for an expired one, by email, to the expired link's recipient only."""
    ip, agent = _client(request)
    form = await guarded_form(request, runtime, state, now)
    if isinstance(form, Response):
        return form
    try:
        grant = expired_grant(session=session, signer=state.signer, token=token, now=now)
    except LinkStillValid:
        return problem(request, 400, "链接仍然有效", "此链接仍然有效，请直接打开使用。")
    except LinkRefused:
        return problem(request, 403, *REFUSED)
    if not _nonce_ok(state, form, grant.nonce):
        return problem(request, 403, "表单已失效", "请重新打开原链接后再申请。")
    result = renew_link(session=session, grant=grant, now=now, throttle=state.renewals, ip=ip, user_agent=agent)
    if result == Renewal.REFUSED:
        return problem(request, 403, *REFUSED)
    if result in (Renewal.DONE, Renewal.CANCELLED):
        state_label = "已完成" if result == Renewal.DONE else "已取消"
        return problem(request, 409, "事项已关闭",
                       f"该事项{state_label}，无需再填报，因此不再发送新链接。已提交的内容不受影响；"
                       "如需修改，请联系科技招商推进领导小组办公室。")
    if result == Renewal.THROTTLED:
        return problem(request, 429, "已发送过新链接", "新链接已发送，请查收邮件（10 分钟内只能申请一次）。")
    return problem(request, 200, "新链接已发送", f"新链接已发送到 {_mask(grant.recipient)}，请查收邮件。")


def form_nonce_matches(state: LinkForms, form: dict[str, str], nonce: str) -> bool:
    """Tell whether a POSTed form carries the signed nonce of the link it was rendered for (not older than a day)."""
    try:
        return bool(state.nonces.loads(form.get(FORM_NONCE_FIELD, ""), max_age=FORM_NONCE_MAX_AGE) == nonce)
    except BadSignature:
        return False
