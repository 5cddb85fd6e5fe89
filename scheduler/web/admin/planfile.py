"""Administrator pages: upload the office's plan file (preview as a dry run, then confirm) and download a plan as the
office's XLSX/DOCX table."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from scheduler.auth import AdminUser
from scheduler.clock import local_date
from scheduler.followups.planfile import (
    ACCEPTED,
    MAX_PLAN_FILE_BYTES,
    FileOptions,
    PlanFileOutcome,
    import_plan_file,
    imported_entry,
    parse_options,
    preview_plan_file,
    read_plan_upload,
)
from scheduler.plan.catalog import PlanNotFound, choose_plan, list_plans
from scheduler.plan.export import stored_plan, write_docx, write_xlsx
from scheduler.runtime import Runtime
from scheduler.validation import MAX_ID, InputInvalid, ValueRefused, parse_int
from scheduler.web.deps import NowDep, RuntimeDep, SessionDep, WriteSessionDep
from scheduler.web.security import AdminDep, CsrfDep, csrf_token
from scheduler.web.templates import render
from scheduler.web.uploads import UploadStore

router = APIRouter(prefix="/admin/plan", include_in_schema=False)
Text = Annotated[str, Form(max_length=400)]
FORMATS = {
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", write_xlsx),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", write_docx),
}
OPTION_FIELDS = ("key", "year", "title", "published")
DONE = {"cancelled": "已取消，本次上传的文件已删除，数据库没有改动。"}


def upload_store(runtime: Runtime) -> UploadStore:
    """Return the folder keeping uploaded files between preview and confirmation."""
    return UploadStore(runtime.settings.var_dir / "uploads", max_bytes=MAX_PLAN_FILE_BYTES)


def wall_now() -> datetime:
    """Return the real time: kept files expire by it, not by a simulated clock (which may stand or race)."""
    return datetime.now(UTC)


def _filename(file: UploadFile | None) -> str:
    """Return the uploaded file's own name for messages only (never a path on this server)."""
    name = re.split(r"[\\/]", (file.filename or "") if file else "")[-1]
    return re.sub(r"[\x00-\x1f\x7f]", "", name).strip()[:120]


def _page(request: Request, session: Session, *, values: dict[str, str] | None = None,
          errors: dict[str, str] | None = None, invalid: InputInvalid | None = None,
          preview: dict[str, Any] | None = None, staged: dict[str, str] | None = None,
          imported: dict[str, Any] | None = None, done: str = "", status_code: int = 200) -> Response:
    return render(request, "admin_planfile.html", {
        "plans": list_plans(session=session), "values": values or {}, "errors": errors or {}, "invalid": invalid,
        "preview": preview, "staged": staged, "imported": imported, "done": DONE.get(done, ""),
        "csrf": csrf_token(request), "max_mb": MAX_PLAN_FILE_BYTES // (1024 * 1024),
        "accept": ",".join(f".{ext}" for ext in ACCEPTED),
    }, status_code=status_code)


@router.get("/upload", response_class=HTMLResponse)
def upload_page(request: Request, session: SessionDep, admin: AdminDep, imported: str = "",
                done: str = "") -> Response:
    """Show the upload form, the stored plans with their downloads, and the report of a confirmed import."""
    try:  # ASCII digits within the row-id range only: str.isdigit() also says yes to '²' and 5,000 digits
        entry_id: int | None = parse_int(imported, label="导入记录", low=1, high=MAX_ID)
    except ValueRefused:
        entry_id = None  # a stale or hand-edited link shows the page without the report
    entry = imported_entry(session=session, entry_id=entry_id) if entry_id is not None else None
    return _page(request, session, imported=entry.after if entry else None, done=done)


def _options(fields: dict[str, str]) -> tuple[FileOptions, dict[str, str]]:
    return parse_options(**{name: fields.get(name, "") for name in OPTION_FIELDS})


@router.post("/upload", dependencies=[CsrfDep])
def upload_preview(request: Request, session: WriteSessionDep, now: NowDep, admin: AdminDep,
                   runtime: RuntimeDep, file: Annotated[UploadFile | None, File()] = None, key: Text = "",
                   year: Text = "", title: Text = "", published: Text = "") -> Response:
    """Check an uploaded plan file and show, without writing anything, what importing it would change."""
    values = {"key": key, "year": year, "title": title, "published": published}
    options, errors = _options(values)
    if errors:
        return _page(request, session, values=values, errors=errors, status_code=422)
    name = _filename(file) or "上传的文件"
    data = file.file.read(MAX_PLAN_FILE_BYTES + 1) if file else b""  # one byte more: the reader says too big
    try:
        doc = read_plan_upload(session=session, data=data, filename=name, options=options)
    except InputInvalid as exc:
        return _page(request, session, values=values, invalid=exc, status_code=422)
    outcome = preview_plan_file(session=session, doc=doc, now=now)  # rolled back: nothing written
    staged = None
    if outcome.needs_confirmation:
        kept = upload_store(runtime).stage(data=data, filename=name, owner=admin.id or 0, fields=values,
                                           now=wall_now())
        staged = {"id": kept.id, "digest": kept.digest, "filename": name}
    return _page(request, session, values=values, preview=_shown(outcome, name), staged=staged)


def _shown(outcome: PlanFileOutcome, filename: str) -> dict[str, Any]:
    return {"file": filename, **outcome.as_dict()}


@router.post("/upload/confirm", dependencies=[CsrfDep])
def upload_confirm(request: Request, session: WriteSessionDep, now: NowDep, admin: AdminDep, runtime: RuntimeDep,
                   upload: Text = "", digest: Text = "") -> Response:
    """Import the previewed file for real, record it in the audit log and show the report."""
    store = upload_store(runtime)
    kept = store.load(upload_id=upload, digest=digest, owner=admin.id or 0, now=wall_now())
    if kept is None:
        message = "这次上传已导入、已取消或已过期（文件只保留 2 小时），请重新上传文件。"
        context = {"title": "上传已失效", "messages": [message], "status": 410}
        return render(request, "error.html", context, status_code=410)
    store.discard(kept.id)  # used once, whatever happens next
    options, _ = _options(kept.fields)
    try:
        doc = read_plan_upload(session=session, data=kept.data, filename=kept.filename, options=options)
    except InputInvalid as exc:  # the stored units changed since the preview
        return _page(request, session, values=kept.fields, invalid=exc, status_code=422)
    _, entry = import_plan_file(session=session, doc=doc, now=now, actor=_actor(admin), source=kept.filename,
                                digest=kept.digest)
    return RedirectResponse(f"/admin/plan/upload?imported={entry.id}#done", status_code=303)


@router.post("/upload/cancel", dependencies=[CsrfDep])
def upload_cancel(admin: AdminDep, runtime: RuntimeDep, upload: Text = "") -> Response:
    """Forget a previewed file without importing it."""
    upload_store(runtime).discard(upload)
    return RedirectResponse("/admin/plan/upload?done=cancelled#done", status_code=303)


def _actor(admin: AdminUser) -> str:
    return f"admin:{admin.username}"


def content_disposition(filename: str, fallback: str) -> str:
    """Return an attachment header with an ASCII fallback and the UTF-8 name (RFC 6266 / RFC 5987 `filename*`)."""
    ascii_name = re.sub(r"[^A-Za-z0-9._-]", "_", fallback) or "download"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _export(request: Request, session: Session, now: datetime, plan_key: str, fmt: str) -> Response:
    try:
        plan = choose_plan(session=session, key=plan_key or None, today=local_date(now))
    except PlanNotFound as exc:
        return render(request, "error.html", {"title": "没有此计划", "messages": [str(exc)], "status": 404},
                      status_code=404)
    doc = stored_plan(session=session, key=plan.key) if plan else None
    if plan is None or doc is None:
        context = {"title": "没有计划", "messages": ["数据库中还没有计划：请先上传计划文件。"], "status": 404}
        return render(request, "error.html", context, status_code=404)
    media_type, write = FORMATS[fmt]
    data, _warnings = write(doc)
    title = re.sub(r'[\x00-\x1f\x7f\\/:*?"<>|\s]+', "", plan.title)[:80] or "活动安排表"
    headers = {"content-disposition": content_disposition(f"{title}（{plan.key}）.{fmt}", f"{plan.key}.{fmt}"),
               "cache-control": "no-store"}
    return Response(data, media_type=media_type, headers=headers)


@router.get("/export.xlsx")
def export_xlsx(request: Request, session: SessionDep, now: NowDep, admin: AdminDep, plan: str = "") -> Response:
    """Download a plan (default: the current one) as the office's Excel table, ready to edit and upload again."""
    return _export(request, session, now, plan, "xlsx")


@router.get("/export.docx")
def export_docx(request: Request, session: SessionDep, now: NowDep, admin: AdminDep, plan: str = "") -> Response:
    """Download a plan (default: the current one) as the office's Word table."""
    return _export(request, session, now, plan, "docx")
