"""outbox: deferred rows wait on the wall clock (retry_at) and remember since when they are held back

Revision ID: 0011_outbox_deferred
Revises: 0010_plan_vocabulary
Create Date: 2026-12-08

The new `deferred` state needs no schema change (state is a string). Rows that an older version left `pending`
after a transient failure keep retrying as before; nothing is backfilled.
"""
from alembic import op
import sqlalchemy as sa
import scheduler.db


revision = '0011_outbox_deferred'
down_revision = '0010_plan_vocabulary'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('outbox', sa.Column('retry_at', scheduler.db.UTCDateTime(timezone=True), nullable=True))
    op.add_column('outbox', sa.Column('deferred_since', scheduler.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # Deferred rows go back to the queue the older version understands.
    op.execute("UPDATE outbox SET state = 'pending' WHERE state = 'deferred'")
    with op.batch_alter_table('outbox') as batch:
        batch.drop_column('deferred_since')
        batch.drop_column('retry_at')
