"""GET|POST /o/{token}: the link-based forms (no login). GET/HEAD change nothing; only a real POST records."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, select

from scheduler.audit import ActorKind, audit
from scheduler.auth import LoginThrottle
from scheduler.clock import SHANGHAI
from scheduler.db import session_scope
from scheduler.followups import forms
from scheduler.followups.action_links import ACTIONS, link_recipients
from scheduler.followups.links import Grant, LinkAction, LinkExpired, LinkRefused, LinkSigner
from scheduler.followups.models import Task, TaskKind, TaskStatus
from scheduler.followups.planner import task_context
from scheduler.followups.submissions import Actor, SubmissionRejected, submit
from scheduler.mail.kinds import MailKind, task_subject
from scheduler.mail.outbox import Recipient, enqueue
from scheduler.outcomes.filing import get_report, report_rows, report_totals
from scheduler.plan.catalog import get_organizations
from scheduler.runtime import Runtime
from scheduler.web.deps import SessionDep
from scheduler.web.taskforms import MAX_BODY_BYTES, MAX_FORM_FIELDS, form_context, parse
from scheduler.web.templates import render

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)
FORM_NONCE_FIELD = "form_nonce"
FORM_NONCE_MAX_AGE = 24 * 3600
SUBMIT_ATTEMPTS = 5
TOKEN_HEADERS = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store", "X-Robots-Tag": "noindex, nofollow",
                 "X-Content-Type-Options": "nosniff"}


class LinkForms:
    """Per-app state of the link forms: signers and anonymous POST throttles (in memory, per process)."""

    def __init__(self, runtime: Runtime) -> None:
        keys = runtime.settings.signing_keys()
        self.signer = LinkSigner(keys)
        self.nonces = URLSafeTimedSerializer(keys[::-1] if len(keys) > 1 else keys, salt="kjzs-form-nonce")
        self.posts = LoginThrottle(limit=30, window=timedelta(minutes=1))  # anonymous POSTs per address
        self.renewals = LoginThrottle(limit=1, window=timedelta(minutes=10))  # fresh-link requests per link


def link_forms(request: Request) -> LinkForms:
    """Return the app's link-form state, built on first use."""
    state = getattr(request.app.state, "link_forms", None)
    if state is None:
        state = request.app.state.link_forms = LinkForms(request.app.state.runtime)
    return state


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


def _origin_ok(request: Request, runtime: Runtime) -> bool:
    """Refuse cross-site POSTs: Sec-Fetch-Site must not say cross-site, and an Origin, when real, must be ours.

    Pages send Referrer-Policy: no-referrer, so browsers post with `Origin: null`; the per-form nonce still binds
    the POST to a page this site rendered for this very link.
    """
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return False
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source or source == "null":
        return True
    ours, theirs = urlsplit(runtime.settings.base_url), urlsplit(source)
    return (theirs.scheme, theirs.netloc) == (ours.scheme, ours.netloc)  # never the Host header: a client sets it


async def read_form(request: Request) -> dict[str, str] | Response:
    """Read an urlencoded body of bounded size; return the fields or a refusal page."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
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


def still_contact(session: Session, grant: Grant) -> bool:
    """Tell whether the token's recipient is still a contact the task's mail goes to."""
    task = session.get(Task, grant.task_id)
    return task is not None and grant.recipient.lower() in link_recipients(session=session, task=task)


def _verify(request: Request, session: Session, token: str) -> Grant | Response:
    runtime: Runtime = request.app.state.runtime
    state = link_forms(request)
    try:
        grant = state.signer.verify(session=session, token=token, now=runtime.clock.now())
        task = session.get(Task, grant.task_id)
        if task is None or ACTIONS.get(TaskKind(task.kind)) != grant.action:
            raise LinkRefused()  # a token for another kind of work than this task's
        if not still_contact(session, grant):
            raise LinkRefused()  # the person left the organization's contacts: the link dies with the role
        return grant
    except LinkRefused:
        return problem(request, 403, *REFUSED)
    except LinkExpired as exc:
        if not still_contact(session, exc.grant):
            return problem(request, 403, *REFUSED)
        nonce = state.nonces.dumps(exc.grant.nonce)
        return problem(request, 410, "链接已过期", "此链接已过期。已提交的内容不受影响。",
                       renew_url=f"{request.url.path}/renew", hidden={FORM_NONCE_FIELD: nonce},
                       masked=_mask(exc.grant.recipient))


@router.api_route("/o/{token}", methods=["GET", "HEAD"])
def open_form(request: Request, token: str, session: SessionDep) -> Response:
    """Show the form of a link, pre-filled; nothing is written."""
    grant = _verify(request, session, token)
    if isinstance(grant, Response):
        return grant
    task = session.get(Task, grant.task_id)
    if task is None:
        return problem(request, 403, *REFUSED)
    ctx = form_context(session=session, task=task, action=grant.action)
    hidden = {FORM_NONCE_FIELD: link_forms(request).nonces.dumps(grant.nonce)}
    return page(request, "task_form.html", {**ctx, "post_url": request.url.path, "hidden": hidden, "on_behalf": False})


def _nonce_ok(state: LinkForms, form: dict[str, str], grant_nonce: str) -> bool:
    try:
        value = state.nonces.loads(form.get(FORM_NONCE_FIELD, ""), max_age=FORM_NONCE_MAX_AGE)
    except BadSignature:
        return False
    return value == grant_nonce


def record(
    *, runtime: Runtime, task_id: int, action: LinkAction, form: dict[str, str], actor: Actor
) -> tuple[str, Any]:
    """Parse and record one submission, retrying when a concurrent one took the same revision number.

    Returns ("errors", context) to re-render, ("done", (revision, task, totals)), or ("too_large", message).
    """
    if record_check(form):
        return "too_large", f"行数过多：最多 {forms.MAX_ROWS} 行"
    for attempt in range(SUBMIT_ATTEMPTS):
        try:
            with session_scope(runtime.engine, write=True) as session:
                task = session.exec(select(Task).where(Task.id == task_id).with_for_update()).one()
                parsed = parse(action, form, session=session, task=task)
                if not parsed.ok:
                    return "errors", form_context(session=session, task=task, action=action, values=form,
                                                  errors=parsed.errors)
                try:
                    revision = submit(session=session, task=task, action=action, data=parsed.data, actor=actor,
                                      now=runtime.clock.now())
                except SubmissionRejected as exc:
                    session.rollback()
                    return "errors", form_context(session=session, task=task, action=action, values=form,
                                                  errors=exc.errors)
                totals = None
                if action == LinkAction.OUTCOME and task.occurrence_id:
                    report = get_report(session=session, occurrence_id=task.occurrence_id)
                    totals = report_totals(*report_rows(session=session, report=report)) if report else None
                return "done", (revision, task, totals)
        except (IntegrityError, OperationalError):
            if attempt == SUBMIT_ATTEMPTS - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def record_check(form: dict[str, str]) -> str:
    """Return "too_large" when the form carries more rows than allowed, else ""."""
    try:
        for prefix, fields in (("p", forms.PROJECT_FIELDS), ("t", forms.TALENT_FIELDS), ("n", forms.ENTRY_FIELDS)):
            forms.row_count(form, prefix, fields)
    except forms.FormTooLarge:
        return "too_large"
    return ""


def outcome_page(request: Request, kind: str, payload: Any, *, post_url: str, hidden: dict[str, str],
                 on_behalf: bool) -> Response:
    """Render the result of `record`: the form with errors (422), a refusal (413) or the confirmation."""
    if kind == "too_large":
        return problem(request, 413, "提交内容过大", f"{payload}，未保存。")
    if kind == "errors":
        return page(request, "task_form.html", {**payload, "post_url": post_url, "hidden": hidden,
                                                "on_behalf": on_behalf}, 422)
    revision, task, totals = payload
    message = None
    if task.status == "open" and revision.action == LinkAction.OUTCOME:
        message = "活动已登记为延期；新的时间确定后，请继续通过此链接填报成效。"
    return page(request, "task_done.html", {"task": task, "revision": revision, "totals": totals,
                                            "message": message, "back_url": post_url, "on_behalf": on_behalf})


async def guarded_form(request: Request) -> dict[str, str] | Response:
    """Apply what every anonymous POST must pass (same site, rate limit, bounded body); return its fields."""
    runtime: Runtime = request.app.state.runtime
    state = link_forms(request)
    ip, _agent = _client(request)
    now = runtime.clock.now()
    if not _origin_ok(request, runtime):
        return problem(request, 403, "来源不明的提交", "此提交不是从本站页面发出的，未保存。")
    if state.posts.blocked(ip, now):
        return problem(request, 429, "提交过于频繁", "提交过于频繁，请稍后再试。")
    state.posts.fail(ip, now)
    return await read_form(request)


def more_rows(request: Request, task_id: int, action: LinkAction, form: dict[str, str], *, hidden: dict[str, str],
              on_behalf: bool, extra_rows: int = 3, notice: str | None = None, status_code: int = 200) -> Response:
    """Re-render the form (by default with three more blank rows), keeping what was typed; nothing is recorded."""
    runtime: Runtime = request.app.state.runtime
    with Session(runtime.engine) as session:
        task = session.get(Task, task_id)
        assert task is not None
        ctx = form_context(session=session, task=task, action=action, values=form, extra_rows=extra_rows)
    return page(request, "task_form.html", {**ctx, "post_url": request.url.path, "hidden": hidden,
                                            "on_behalf": on_behalf, "notice": notice}, status_code)


@router.post("/o/{token}")
async def post_form(request: Request, token: str) -> Response:
    """Record a submission made through a link (a second one is an edit, kept as a revision)."""
    runtime: Runtime = request.app.state.runtime
    state = link_forms(request)
    ip, agent = _client(request)
    form = await guarded_form(request)
    if isinstance(form, Response):
        return form
    with Session(runtime.engine) as session:
        grant = _verify(request, session, token)
    if isinstance(grant, Response):
        return grant
    hidden = {FORM_NONCE_FIELD: state.nonces.dumps(grant.nonce)}
    if record_check(form):
        return problem(request, 413, "提交内容过大", f"行数过多：最多 {forms.MAX_ROWS} 行，未保存。")
    if not _nonce_ok(state, form, grant.nonce):  # a page left open too long: keep every typed answer
        return more_rows(request, grant.task_id, grant.action, form, hidden=hidden, on_behalf=False, extra_rows=0,
                         notice=STALE_NONCE, status_code=422)
    if form.get("add_rows") and not record_check(form):
        return more_rows(request, grant.task_id, grant.action, form, hidden=hidden, on_behalf=False)
    actor = Actor(grant.recipient, ActorKind.LINK, ip=ip, user_agent=agent, nonce=grant.nonce)
    kind, payload = record(runtime=runtime, task_id=grant.task_id, action=grant.action, form=form, actor=actor)
    return outcome_page(request, kind, payload, post_url=request.url.path, hidden=hidden, on_behalf=False)


@router.post("/o/{token}/renew")
async def renew_link(request: Request, token: str) -> Response:
    """Send a fresh link for an expired one, by email, to the expired link's recipient only."""
    runtime: Runtime = request.app.state.runtime
    state = link_forms(request)
    ip, agent = _client(request)
    now = runtime.clock.now()
    form = await guarded_form(request)
    if isinstance(form, Response):
        return form
    with session_scope(runtime.engine, write=True) as session:
        try:
            state.signer.verify(session=session, token=token, now=now)
            return problem(request, 400, "链接仍然有效", "此链接仍然有效，请直接打开使用。")
        except LinkRefused:
            return problem(request, 403, *REFUSED)
        except LinkExpired as exc:
            grant = exc.grant
        if not _nonce_ok(state, form, grant.nonce):
            return problem(request, 403, "表单已失效", "请重新打开原链接后再申请。")
        task = session.get(Task, grant.task_id)
        if task is None or not still_contact(session, grant):
            return problem(request, 403, *REFUSED)
        if task.status in (TaskStatus.DONE, TaskStatus.CANCELLED):
            state_label = "已完成" if task.status == TaskStatus.DONE else "已取消"
            return problem(request, 409, "事项已关闭",
                           f"该事项{state_label}，无需再填报，因此不再发送新链接。已提交的内容不受影响；"
                           "如需修改，请联系科技招商推进领导小组办公室。")
        if state.renewals.blocked(grant.nonce, now):
            return problem(request, 429, "已发送过新链接", "新链接已发送，请查收邮件（10 分钟内只能申请一次）。")
        state.renewals.fail(grant.nonce, now)
        orgs = get_organizations(session=session)
        org_name = orgs[task.organization_key].short_name if task.organization_key in orgs else ""
        rcpt = Recipient(email=grant.recipient, name="", org_key=task.organization_key, org_name=org_name,
                         role="renewal")
        enqueue(session=session, origin="links", kind=MailKind.LINK_RENEWAL, subject=task_subject(task.id or 0),
                rule=f"renew:{grant.nonce}:{now.isoformat()}", recipients=[rcpt],
                context=task_context(task, org_name, None), due_at=now, now=now)
        audit(session=session, at=now, actor=grant.recipient, actor_kind=ActorKind.LINK, action="link.request",
              entity="issued_link", task_id=task.id, ip=ip, user_agent=agent, after={"expired_nonce": grant.nonce})
    return problem(request, 200, "新链接已发送", f"新链接已发送到 {_mask(grant.recipient)}，请查收邮件。")
