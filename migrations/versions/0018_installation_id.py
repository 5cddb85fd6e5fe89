"""This installation's random id, kept once generated: Message-IDs are unique per installation (issue 14).

Revision ID: 0018_installation_id
Revises: 0017_schedule_proposals
Create Date: 2026-12-05

"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import scheduler.db


revision = '0018_installation_id'
down_revision = '0017_schedule_proposals'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('installation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', scheduler.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )


def downgrade() -> None:
    op.drop_table('installation')
