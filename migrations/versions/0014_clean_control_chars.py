"""Clean NUL and control characters stored before the input checks refused them (issue 15).

Text people typed or imported (contacts, organizations, events, occurrences, filed reports, leads) may hold NUL,
C0/C1 controls or DEL from before validation refused them: they break mail headers, exports and PostgreSQL. Single-
line fields lose them (a tab or line break becomes a space); multi-line fields keep tab and line feed (CR LF and a
lone CR become LF). A contact whose cleaned address equals another contact's of the same organization is the same
mailbox: the dirty duplicate is removed. Keys, identifiers and JSON columns are left alone. Data only: no schema
change, nothing to undo.

Revision ID: 0014_clean_control_chars
Revises: 0013_plan_city_vocabulary
Create Date: 2026-12-05

"""
import re

from alembic import op
import sqlalchemy as sa


revision = '0014_clean_control_chars'
down_revision = '0013_plan_city_vocabulary'
branch_labels = None
depends_on = None

# table → (single-line text columns, multi-line text columns)
COLUMNS = {
    'contact': (('name', 'email', 'role'), ()),
    'organization': (('name', 'short_name'), ('duties',)),
    'event': (('theme', 'title', 'date_text'), ('content',)),
    'occurrence': (('title', 'location', 'date_text'), ('status_reason',)),
    'outcome_report': (('actual_place', 'filer_name', 'filer_contact'), ('status_reason', 'narrative', 'next_steps')),
    'outcome_project': (('name', 'partner', 'chain', 'origin', 'contact'), ()),
    'outcome_talent': (('name',), ()),
    'lead': (('name', 'partner', 'chain', 'origin', 'contact'), ('stage_reason',)),
    'lead_stage_change': ((), ('evidence', 'reason')),
}
_BREAKS = re.compile(r'[\t\n\r\u2028\u2029]')
_CONTROL = re.compile(r'[\x00-\x1f\x7f-\x9f]')
_MULTI_CONTROL = re.compile(r'[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]')


def clean_line(value):
    if value is None:
        return None
    return _CONTROL.sub('', _BREAKS.sub(' ', value)).strip() if _CONTROL.search(value) else value


def clean_text(value):
    if value is None:
        return None
    if not (_MULTI_CONTROL.search(value) or '\r' in value):
        return value
    return _MULTI_CONTROL.sub('', value.replace('\r\n', '\n').replace('\r', '\n'))


def upgrade() -> None:
    conn = op.get_bind()
    _drop_duplicate_contacts(conn)  # first: the unique (organization, address) would refuse the cleaned address
    for name, (lines, texts) in COLUMNS.items():
        table = sa.table(name, sa.column('id'), *(sa.column(c) for c in (*lines, *texts)))
        rows = conn.execute(sa.select(table).order_by(table.c.id)).mappings().all()
        for row in rows:
            changed = {c: clean_line(row[c]) for c in lines if clean_line(row[c]) != row[c]}
            changed |= {c: clean_text(row[c]) for c in texts if clean_text(row[c]) != row[c]}
            if changed:
                conn.execute(sa.update(table).where(table.c.id == row['id']).values(**changed))


def _drop_duplicate_contacts(conn) -> None:
    """Remove a contact whose cleaned address another contact of its organization already has (clean rows win)."""
    contact = sa.table('contact', sa.column('id'), sa.column('organization_key'), sa.column('email'))
    rows = conn.execute(sa.select(contact).order_by(contact.c.id)).mappings().all()
    seen = {(r['organization_key'], r['email']) for r in rows if clean_line(r['email']) == r['email']}
    for row in rows:
        if clean_line(row['email']) == row['email']:
            continue
        key = (row['organization_key'], clean_line(row['email']))
        if key in seen:
            conn.execute(sa.delete(contact).where(contact.c.id == row['id']))
        seen.add(key)


def downgrade() -> None:
    pass  # the removed characters were never meant to be there
