"""Administrator pages: contacts per organization (list, add, edit, remove) and the contacts file upload."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, col, select

from scheduler.auth import AdminUser
from scheduler.contacts import (
    MAX_CONTACTS_BYTES,
    Contact,
    ContactInvalid,
    add_contact,
    contacts_by_org,
    get_contact,
    import_contacts,
    opted_out,
    remove_contact,
    update_contact,
)
from scheduler.plan.models import Organization, OrgKind
from scheduler.validation import InputInvalid
from scheduler.web.admin.params import CleanText, RowId
from scheduler.web.deps import NowDep, SessionDep, WriteSessionDep
from scheduler.web.security import AdminDep, CsrfDep, csrf_token
from scheduler.web.templates import render

router = APIRouter(prefix="/admin", include_in_schema=False)
DONE = {"added": "已添加联系人。", "saved": "已保存修改。", "removed": "已删除联系人。",
        "imported": "已导入联系人文件。"}
TextField = Annotated[str, Form(max_length=400), CleanText]


def _actor(admin: AdminUser) -> str:
    return f"admin:{admin.username}"


def _organizations(session: Session) -> list[Organization]:
    """Every organization that takes contacts (not withdrawn, not a group of members), in the plan file's order."""
    query = select(Organization).where(col(Organization.withdrawn).is_(False)).order_by(col(Organization.id))
    rows = session.exec(query)
    return [o for o in rows if not (o.kind == OrgKind.GROUP and o.members)]


def _page(request: Request, session: Session, *, values: dict[str, str] | None = None,
          errors: dict[str, str] | None = None, import_errors: InputInvalid | None = None, done: str = "",
          status_code: int = 200) -> Response:
    by_org = contacts_by_org(session=session)
    orgs = _organizations(session)
    names = {o.key: o for o in session.exec(select(Organization))}
    extra = [k for k in by_org if k not in {o.key for o in orgs}]  # contacts of units withdrawn since
    return render(request, "admin_contacts.html", {
        "orgs": orgs, "extra": extra, "names": names, "by_org": by_org, "opted_out": opted_out(session=session),
        "values": values or {"role": "联络人"}, "errors": errors or {}, "import_errors": import_errors,
        "done": DONE.get(done, ""), "csrf": csrf_token(request), "max_kb": MAX_CONTACTS_BYTES // 1024,
        "without": [o for o in orgs if not by_org.get(o.key)], "total": sum(len(v) for v in by_org.values()),
    }, status_code=status_code)


@router.get("/contacts", response_class=HTMLResponse)
def contacts_page(request: Request, session: SessionDep, admin: AdminDep, done: str = "") -> Response:
    """List contacts per organization, with opt-out status, the add form and the file upload."""
    return _page(request, session, done=done)


@router.post("/contacts", dependencies=[CsrfDep])
def contacts_add(request: Request, session: WriteSessionDep, now: NowDep, admin: AdminDep, org: TextField = "",
                 name: TextField = "", email: TextField = "", role: TextField = "") -> Response:
    """Add one contact; a refused form comes back with each problem next to its field."""
    values = {"org": org, "name": name, "email": email, "role": role}
    try:
        add_contact(session=session, fields=values, now=now, actor=_actor(admin))
    except ContactInvalid as exc:
        return _page(request, session, values=values, errors=exc.errors, status_code=422)
    return RedirectResponse("/admin/contacts?done=added#done", status_code=303)


def _edit_page(request: Request, session: Session, contact: Contact, values: dict[str, str],
               errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    return render(request, "admin_contact_edit.html", {
        "contact": contact, "orgs": _organizations(session), "values": values, "errors": errors or {},
        "csrf": csrf_token(request), "opted_out": contact.email.lower() in opted_out(session=session),
    }, status_code=status_code)


def _missing(request: Request, contact_id: int) -> Response:
    message = f"没有编号为 {contact_id} 的联系人（可能已被删除）。"
    context = {"title": "没有此联系人", "messages": [message], "status": 404}
    return render(request, "error.html", context, status_code=404)


@router.get("/contacts/{contact_id:rowid}", response_class=HTMLResponse)
def contact_edit_page(request: Request, contact_id: RowId, session: SessionDep, admin: AdminDep) -> Response:
    """Show the form editing one contact."""
    contact = get_contact(session=session, contact_id=contact_id)
    if contact is None:
        return _missing(request, contact_id)
    values = {"org": contact.organization_key, "name": contact.name, "email": contact.email, "role": contact.role}
    return _edit_page(request, session, contact, values)


@router.post("/contacts/{contact_id:rowid}", dependencies=[CsrfDep])
def contact_save(request: Request, contact_id: RowId, session: WriteSessionDep, now: NowDep, admin: AdminDep,
                 org: TextField = "", name: TextField = "", email: TextField = "", role: TextField = "") -> Response:
    """Save an edited contact; a refused form comes back with each problem next to its field."""
    values = {"org": org, "name": name, "email": email, "role": role}
    try:
        contact = update_contact(session=session, contact_id=contact_id, fields=values, now=now, actor=_actor(admin))
    except ContactInvalid as exc:
        stored = get_contact(session=session, contact_id=contact_id)  # unchanged: validation comes first
        assert stored is not None
        return _edit_page(request, session, stored, values, exc.errors, status_code=422)
    if contact is None:
        return _missing(request, contact_id)
    return RedirectResponse("/admin/contacts?done=saved#done", status_code=303)


@router.post("/contacts/{contact_id:rowid}/remove", dependencies=[CsrfDep])
def contact_remove(request: Request, contact_id: RowId, session: WriteSessionDep, now: NowDep,
                   admin: AdminDep) -> Response:
    """Delete one contact."""
    if remove_contact(session=session, contact_id=contact_id, now=now, actor=_actor(admin)) is None:
        return _missing(request, contact_id)
    return RedirectResponse("/admin/contacts?done=removed#done", status_code=303)


@router.post("/contacts/import", dependencies=[CsrfDep])
def contacts_import(request: Request, session: WriteSessionDep, now: NowDep, admin: AdminDep,
                    file: Annotated[UploadFile, File()]) -> Response:
    """Replace every contact with an uploaded TOML or CSV file, after checking all of it; errors are listed."""
    data = file.file.read(MAX_CONTACTS_BYTES + 1)  # one byte more than allowed: parse_contacts says too big
    source = (file.filename or "上传的文件").rsplit("/", 1)[-1][:200]
    try:
        import_contacts(session=session, data=data, source=source, now=now, actor=_actor(admin))
    except InputInvalid as exc:
        return _page(request, session, import_errors=exc, status_code=422)
    return RedirectResponse("/admin/contacts?done=imported#done", status_code=303)
