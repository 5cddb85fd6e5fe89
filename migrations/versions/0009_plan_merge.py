"""Plan import as a merge: each row remembers what the file last said; which units take part in which plan.

Revision ID: 0009_plan_merge
Revises: 0008_workdays
Create Date: 2026-12-05

Rows imported before this revision start with an empty memory: the importer treats a field it has no memory of as
"unchanged by the file", so the first re-import after the upgrade reverts nothing. Participants are filled from the
host/co-organizer links that exist; the next import of each plan adds the rest of the units its file lists.
"""
from alembic import op
import sqlalchemy as sa


revision = '0009_plan_merge'
down_revision = '0008_workdays'
branch_labels = None
depends_on = None

TABLES = ('plan', 'organization', 'event', 'occurrence')


def upgrade() -> None:
    # Plain ALTER TABLE (SQLite adds a column with a constant default in place; a batch copy would trip the
    # foreign keys that point at these tables).
    for table in TABLES:
        op.add_column(table, sa.Column('imported', sa.JSON(), nullable=False, server_default=sa.text("'{}'")))
    op.create_table('plan_organization',
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], ),
    sa.ForeignKeyConstraint(['plan_id'], ['plan.id'], ),
    sa.PrimaryKeyConstraint('plan_id', 'organization_id')
    )
    op.execute(
        "INSERT INTO plan_organization (plan_id, organization_id) "
        "SELECT DISTINCT event.plan_id, event_organization.organization_id "
        "FROM event_organization JOIN event ON event.id = event_organization.event_id"
    )


def downgrade() -> None:
    op.drop_table('plan_organization')
    for table in reversed(TABLES):
        op.drop_column(table, 'imported')
