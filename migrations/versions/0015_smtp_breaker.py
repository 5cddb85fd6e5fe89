"""The SMTP circuit breaker's state, shared by every worker process so only one of them probes (issue 15).

Revision ID: 0015_smtp_breaker
Revises: 0014_clean_control_chars
Create Date: 2026-12-05

"""
from alembic import op
import sqlalchemy as sa
import scheduler.db


revision = '0015_smtp_breaker'
down_revision = '0014_clean_control_chars'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('smtp_breaker',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('open_since', scheduler.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('next_probe', scheduler.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('interval', sa.Float(), nullable=False),
    sa.Column('updated_at', scheduler.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )


def downgrade() -> None:
    op.drop_table('smtp_breaker')
