"""The plan's vocabulary (office unit, industry chains, 板块) on the plan; development goal sets as data.

Revision ID: 0010_plan_vocabulary
Revises: 0009_plan_merge
Create Date: 2026-12-06

Plans stored before this revision get what was built in until now: the office unit `kjj` when such a unit exists
(else none: no escalations, digests or report mail until the plan is re-imported with its `office`), and the six
chains of the 2023 notice. The next import of each plan replaces these guesses with what its file says. Goal sets
start empty: `scheduler goals import seeds/goals_2025.toml` stores the notice's 2025 set.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import scheduler.db


revision = '0010_plan_vocabulary'
down_revision = '0009_plan_merge'
branch_labels = None
depends_on = None

CHAINS_2023 = '["船舶海工", "新一代信息技术", "高端装备", "新材料", "新能源", "生物医药"]'


def upgrade() -> None:
    # Plain ALTER TABLE, as in 0009: a batch copy of `plan` would trip the foreign keys pointing at it.
    op.add_column('plan', sa.Column('office', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    op.add_column('plan', sa.Column('chains', sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
    op.add_column('plan', sa.Column('bankuai', sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
    plan = sa.table('plan', sa.column('office', sa.String()), sa.column('chains', sa.JSON()))
    organization = sa.table('organization', sa.column('key', sa.String()))
    has_kjj = sa.exists().where(organization.c.key == 'kjj')
    op.execute(plan.update().where(has_kjj).values(office='kjj'))
    op.execute(plan.update().values(chains=sa.text(f"'{CHAINS_2023}'")))
    op.create_table('goal_set',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('basis', sa.Text(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('updated_at', scheduler.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    op.create_table('goal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('goal_set_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('unit', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('target', sa.Numeric(precision=16, scale=2), nullable=False),
    sa.Column('semantics', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('derive', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.ForeignKeyConstraint(['goal_set_id'], ['goal_set.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('goal_set_id', 'key', name='uq_goal_set_key')
    )
    op.create_index(op.f('ix_goal_goal_set_id'), 'goal', ['goal_set_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_goal_goal_set_id'), table_name='goal')
    op.drop_table('goal')
    op.drop_table('goal_set')
    for column in ('bankuai', 'chains', 'office'):
        op.drop_column('plan', column)
