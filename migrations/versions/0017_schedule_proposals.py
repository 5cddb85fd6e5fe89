"""Scheduling (issue 11): units' blackout days, the conflict checker's limits, published proposals.

Revision ID: 0017_schedule_proposals
Revises: 0016_logistics
Create Date: 2026-12-05

"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import scheduler.db


revision = '0017_schedule_proposals'
down_revision = '0016_logistics'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('schedule_blackout',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('start', sa.Date(), nullable=False),
    sa.Column('end', sa.Date(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('created_at', scheduler.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_schedule_blackout_organization_key'), 'schedule_blackout', ['organization_key'],
                    unique=False)
    op.create_table('schedule_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('travel_buffer_days', sa.Integer(), nullable=False),
    sa.Column('away_cap', sa.Integer(), nullable=False),
    sa.Column('updated_at', scheduler.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('schedule_proposal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('occurrence_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('why', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('published_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('published_at', scheduler.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['plan.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('plan_id', 'version', 'occurrence_key', name='uq_schedule_proposal')
    )
    op.create_index(op.f('ix_schedule_proposal_plan_id'), 'schedule_proposal', ['plan_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_schedule_proposal_plan_id'), table_name='schedule_proposal')
    op.drop_table('schedule_proposal')
    op.drop_table('schedule_rules')
    op.drop_index(op.f('ix_schedule_blackout_organization_key'), table_name='schedule_blackout')
    op.drop_table('schedule_blackout')
