"""Who receives mail for each organization: the contacts file (TOML or CSV), its validation and the Contact table."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Column, String, UniqueConstraint, delete, func
from sqlmodel import Field, Session, SQLModel, col, select

from scheduler.audit import ActorKind, audit
from scheduler.db import utc_column
from scheduler.plan.models import Organization, OrgKind
from scheduler.validation import (
    HEADER_UNSAFE,
    FileKind,
    InputInvalid,
    LocatedError,
    csv_rows,
    decode_utf8,
    load_toml,
    read_input_file,
)

MAX_CONTACTS_BYTES = 1024 * 1024
EMPTY_FILE = ("文件中没有任何联系人：导入会删除全部现有联系人，已拒绝。"
              "如确需清空，请在命令行加 --allow-empty（scheduler contacts import 文件 --allow-empty）")
DEFAULT_ROLE = "联络人"
MAX_NAME, MAX_ROLE = 100, 50
CSV_COLUMNS = ("org", "name", "email", "role")
FIELD_LABELS = {"org": "单位", "name": "姓名", "email": "邮箱", "role": "职务"}
NEEDS_SMTPUTF8 = "用户名含非 ASCII 字符，只有支持 SMTPUTF8 的邮件服务器才能投递，而当前邮件服务器未确认支持"


class Contact(SQLModel, table=True):
    """One person who receives mail for an organization."""

    __table_args__ = (UniqueConstraint("organization_key", "email", name="uq_contact_org_email"),)

    id: int | None = Field(default=None, primary_key=True)
    organization_key: str = Field(sa_column=Column(String(64), nullable=False, index=True))
    name: str = Field(max_length=100)
    email: str = Field(max_length=254)
    role: str = Field(default=DEFAULT_ROLE, max_length=50)
    position: int = 0
    created_at: datetime = Field(sa_column=utc_column(nullable=False))


class MailOptOut(SQLModel, table=True):
    """An address that asked (List-Unsubscribe) to stop routine reminders; requests and notices still go."""

    __tablename__ = "mail_opt_out"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(sa_column=Column(String(254), unique=True, nullable=False))
    created_at: datetime = Field(sa_column=utc_column(nullable=False))


def opt_out(*, session: Session, email: str, now: datetime) -> bool:
    """Record that `email` wants no routine reminders; return False when it already had."""
    email = email.lower()
    if session.exec(select(MailOptOut).where(MailOptOut.email == email)).first() is not None:
        return False
    session.add(MailOptOut(email=email, created_at=now))
    session.flush()
    return True


def opted_out(*, session: Session) -> set[str]:
    """Return every address that unsubscribed from routine reminders."""
    return set(session.exec(select(MailOptOut.email)).all())


@dataclass(frozen=True)
class Person:
    """A validated contact, not yet stored."""

    org: str
    name: str
    email: str
    role: str


_invalid = partial(InputInvalid, kind=FileKind.CONTACTS)


def _raw_rows(data: bytes, source: str) -> list[tuple[str, dict[str, Any]]]:
    """Return (location, raw fields) for every person in a TOML or CSV file."""
    text = decode_utf8(data, source=source, kind=FileKind.CONTACTS)
    if source.lower().endswith(".csv"):
        return _csv_rows(text, source)
    doc = load_toml(text, source=source, kind=FileKind.CONTACTS)
    rows: list[tuple[str, dict[str, Any]]] = []
    for org, people in doc.items():
        if not isinstance(people, list) or not all(isinstance(p, dict) for p in people):
            raise _invalid(source, [LocatedError(where=org, message="应为联系人表格数组，例如 [[kjj]] name=… email=…")])
        rows += [(f"{org}[{i}]", {"org": org, **p}) for i, p in enumerate(people)]
    return rows


def _csv_rows(text: str, source: str) -> list[tuple[str, dict[str, Any]]]:
    """Return (第 N 行, fields by header name) for a CSV; a cell beyond the header's columns is an error."""
    lines = csv_rows(text, source=source, kind=FileKind.CONTACTS, width=len(CSV_COLUMNS))
    _where, header = next(lines, ("第 1 行", []))
    names = [h.strip() for h in header]
    missing = [c for c in ("org", "email") if c not in names]
    if missing:
        problem = LocatedError(where="第 1 行", message=f"缺少列 {'、'.join(missing)}（应为 org,name,email,role）")
        raise _invalid(source, [problem])
    rows: list[tuple[str, dict[str, Any]]] = []
    for where, cells in lines:
        if len(cells) > len(names) and any(c.strip() for c in cells[len(names):]):
            message = f"多出 {len(cells) - len(names)} 列（表头只有 {len(names)} 列）"
            raise _invalid(source, [LocatedError(where=where, message=message)])
        rows.append((where, dict(zip(names, cells, strict=False))))
    return rows


def _at(where: str, field: str) -> str:
    return f"{where}.{field}" if where else field


def _control_char_errors(raw: Mapping[str, Any], where: str) -> list[LocatedError]:
    """Locate every field holding a control character (a CR/LF in a name would become a header of its own)."""
    errors = []
    for field_name, label in FIELD_LABELS.items():
        value = str(raw.get(field_name) or "")
        hit = HEADER_UNSAFE.search(value)
        if hit is not None:
            message = (f"{label}含控制字符 U+{ord(hit.group()):04X}（第 {hit.start() + 1} 个字符；"
                       "换行、制表符等不能出现在联系人信息中）")
            errors.append(LocatedError(where=_at(where, field_name), message=message))
    return errors


def check_person(
    raw: Mapping[str, Any], *, organizations: Mapping[str, Organization], where: str = "", smtputf8: bool = False
) -> tuple[Person | None, list[LocatedError]]:
    """Validate one contact (org, name, email, role); each problem is located at `where`.field (a form: the field).

    Control characters are refused in every field; a non-ASCII domain is stored IDNA-encoded; a non-ASCII user name
    only when `smtputf8` (the mail server offers SMTPUTF8), else refused with the reason.
    """
    errors = _control_char_errors(raw, where)
    if errors:
        return None, errors
    org = str(raw.get("org") or "").strip()
    known = organizations.get(org)
    if known is None or known.withdrawn:
        errors.append(LocatedError(where=_at(where, "org"), message=f"未知单位 id {org!r}（先导入计划，再导入联系人）"))
    elif known.kind == OrgKind.GROUP and known.members:
        message = f"{known.short_name} 是由成员单位组成的组合，请为成员单位填写联系人"
        errors.append(LocatedError(where=_at(where, "org"), message=message))
    name = str(raw.get("name") or "").strip()
    role = str(raw.get("role") or "").strip() or DEFAULT_ROLE
    if not name:
        errors.append(LocatedError(where=_at(where, "name"), message="姓名不能为空"))
    elif len(name) > MAX_NAME:
        errors.append(LocatedError(where=_at(where, "name"), message=f"姓名过长（最多 {MAX_NAME} 字）"))
    if len(role) > MAX_ROLE:
        errors.append(LocatedError(where=_at(where, "role"), message=f"职务过长（最多 {MAX_ROLE} 字）"))
    address = str(raw.get("email") or "").strip()
    try:
        checked = validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        message = "邮箱不能为空" if not address else f"邮箱地址 {address!r} 无效：{exc}"
        errors.append(LocatedError(where=_at(where, "email"), message=message))
        return None, errors
    email = f"{checked.local_part}@{checked.ascii_domain}"  # 例子.中国 → xn--fsqu00a.xn--fiqs8s: every server takes it
    if not checked.local_part.isascii() and not smtputf8:
        errors.append(LocatedError(where=_at(where, "email"), message=f"邮箱地址 {address!r} 的{NEEDS_SMTPUTF8}"))
    if errors:
        return None, errors
    return Person(org=org, name=name, email=email, role=role), []


def parse_contacts(
    data: bytes, *, source: str, organizations: Mapping[str, Organization], allow_empty: bool = False,
    smtputf8: bool = False,
) -> list[Person]:
    """Validate a whole contacts file against the stored organizations; raise InputInvalid listing every problem.

    Importing replaces every contact, so a file without anyone is refused unless `allow_empty` says it is meant;
    `smtputf8`: the mail server takes non-ASCII user names.
    """
    if len(data) > MAX_CONTACTS_BYTES:
        raise _invalid(source, f"文件过大（上限 {MAX_CONTACTS_BYTES} 字节）")
    errors: list[LocatedError] = []
    people: list[Person] = []
    seen: dict[tuple[str, str], str] = {}
    rows = _raw_rows(data, source)
    if not rows and not allow_empty:
        raise _invalid(source, EMPTY_FILE)
    for where, raw in rows:
        unknown = {str(k) for k in raw} - set(CSV_COLUMNS)
        if unknown:
            errors.append(LocatedError(where=where, message=f"未知字段 {'、'.join(sorted(unknown))}"))
        person, problems = check_person(raw, organizations=organizations, where=where, smtputf8=smtputf8)
        errors += problems
        if person is None:
            continue
        key = (person.org, person.email.lower())
        if key in seen:
            message = f"{person.email} 在 {person.org} 下重复（已见于 {seen[key]}）"
            errors.append(LocatedError(where=f"{where}.email", message=message))
            continue
        seen[key] = where
        people.append(person)
    if errors:
        raise _invalid(source, errors)
    return people


def read_contacts_file(
    path: Path, *, organizations: Mapping[str, Organization], allow_empty: bool = False, smtputf8: bool = False
) -> list[Person]:
    """Read (a regular file, bounded) and validate a contacts file (`smtputf8`: see `parse_contacts`)."""
    data = read_input_file(path, limit=MAX_CONTACTS_BYTES, kind=FileKind.CONTACTS)
    return parse_contacts(
        data, source=str(path), organizations=organizations, allow_empty=allow_empty, smtputf8=smtputf8
    )


def replace_contacts(*, session: Session, people: list[Person], now: datetime) -> int:
    """Replace every stored contact with `people` (one transaction, owned by the caller)."""
    session.execute(delete(Contact))
    for position, p in enumerate(people):
        session.add(Contact(organization_key=p.org, name=p.name, email=p.email, role=p.role,
                            position=position, created_at=now))
    session.flush()
    return len(people)


def contacts_by_org(*, session: Session) -> dict[str, list[Contact]]:
    """Return stored contacts grouped by organization key, in file order."""
    out: dict[str, list[Contact]] = {}
    for c in session.exec(select(Contact).order_by(col(Contact.position))):
        out.setdefault(c.organization_key, []).append(c)
    return out


# --- Editing one contact at a time (the admin page); the caller commits, every change is audited. ---


class ContactInvalid(ValueError):
    """A contact form that cannot be stored: Chinese messages keyed by form field (org, name, email, role)."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("；".join(f"{k}：{v}" for k, v in self.errors.items()))


def _snapshot(contact: Contact) -> dict[str, Any]:
    return {"org": contact.organization_key, "name": contact.name, "email": contact.email, "role": contact.role}


def _organizations(session: Session) -> dict[str, Organization]:
    return {o.key: o for o in session.exec(select(Organization))}


def _valid_person(*, session: Session, fields: Mapping[str, str], keep_id: int | None = None,
                  smtputf8: bool = False) -> Person:
    """Validate a form's contact, including that its address is not already listed for the same organization."""
    organizations = _organizations(session)
    person, problems = check_person(fields, organizations=organizations, smtputf8=smtputf8)
    if person is None:
        errors: dict[str, str] = {}
        for problem in problems:
            errors.setdefault(problem.where, problem.message)
        raise ContactInvalid(errors)
    query = select(Contact).where(Contact.organization_key == person.org,
                                  func.lower(Contact.email) == person.email.lower())
    same = [c for c in session.exec(query) if c.id != keep_id]
    if same:
        org = organizations[person.org].short_name
        raise ContactInvalid({"email": f"{person.email} 在 {org} 下重复（已有联系人 {same[0].name}）"})
    return person


def get_contact(*, session: Session, contact_id: int) -> Contact | None:
    """Return the stored contact with this id, if any."""
    return session.get(Contact, contact_id)


def add_contact(*, session: Session, fields: Mapping[str, str], now: datetime, actor: str,
                smtputf8: bool = False) -> Contact:
    """Validate and store one contact after the others; raise ContactInvalid naming the form fields."""
    person = _valid_person(session=session, fields=fields, smtputf8=smtputf8)
    last = session.exec(select(func.max(Contact.position))).one()
    contact = Contact(organization_key=person.org, name=person.name, email=person.email, role=person.role,
                      position=(last if last is not None else -1) + 1, created_at=now)
    session.add(contact)
    session.flush()
    audit(session=session, at=now, actor=actor, actor_kind=ActorKind.ADMIN, action="contact.add", entity="contact",
          entity_id=contact.id, after=_snapshot(contact))
    return contact


def update_contact(
    *, session: Session, contact_id: int, fields: Mapping[str, str], now: datetime, actor: str, smtputf8: bool = False
) -> Contact | None:
    """Change a stored contact (None when there is no such contact); raise ContactInvalid naming the form fields."""
    contact = session.get(Contact, contact_id)
    if contact is None:
        return None
    person = _valid_person(session=session, fields=fields, keep_id=contact_id, smtputf8=smtputf8)
    before = _snapshot(contact)
    contact.organization_key, contact.name, contact.email, contact.role = (
        person.org, person.name, person.email, person.role)
    after = _snapshot(contact)
    if after != before:
        session.add(contact)
        session.flush()
        changed = [k for k in after if after[k] != before[k]]
        audit(session=session, at=now, actor=actor, actor_kind=ActorKind.ADMIN, action="contact.update",
              entity="contact", entity_id=contact_id, before={k: before[k] for k in changed},
              after={k: after[k] for k in changed})
    return contact


def remove_contact(*, session: Session, contact_id: int, now: datetime, actor: str) -> Contact | None:
    """Delete a stored contact; return it (None when there was no such contact)."""
    contact = session.get(Contact, contact_id)
    if contact is None:
        return None
    audit(session=session, at=now, actor=actor, actor_kind=ActorKind.ADMIN, action="contact.remove",
          entity="contact", entity_id=contact_id, before=_snapshot(contact))
    session.delete(contact)
    session.flush()
    return contact


def import_contacts(*, session: Session, data: bytes, source: str, now: datetime, actor: str,
                    smtputf8: bool = False) -> int:
    """Check a whole uploaded contacts file and replace every contact with it; InputInvalid leaves all as it was."""
    people = parse_contacts(data, source=source, organizations=_organizations(session), smtputf8=smtputf8)
    before = session.exec(select(func.count()).select_from(Contact)).one()
    count = replace_contacts(session=session, people=people, now=now)
    audit(session=session, at=now, actor=actor, actor_kind=ActorKind.ADMIN, action="contacts.import",
          entity="contact", before={"contacts": before},
          after={"source": source, "contacts": count, "organizations": len({p.org for p in people})})
    return count
