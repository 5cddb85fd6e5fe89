"""The clock's last instant, so a simulated clock resumes where it stopped and no clock runs back (issue 15).

Revision ID: 0012_clock_state
Revises: 0011_outbox_deferred
Create Date: 2026-12-08

"""
from alembic import op
import sqlalchemy as sa
import scheduler.db


revision = '0012_clock_state'
down_revision = '0011_outbox_deferred'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('clock_state',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('instant', scheduler.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', scheduler.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )


def downgrade() -> None:
    op.drop_table('clock_state')
