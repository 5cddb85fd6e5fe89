"""A plan's own activity types (plan.types, key → label); goal sets belong to a city (goal_set.city): a plan's
reports read only the sets of its city (the plan key's prefix).

Revision ID: 0013_plan_city_vocabulary
Revises: 0012_clock_state
Create Date: 2026-12-09

Plans stored before this revision get no types of their own ({}: the 2023 notice's four, as before); the next
import of each plan stores what its file says. Sets stored before it get the city their key names
(nantong-2025 → nantong), as an import does for a file without `city`.
"""
from alembic import op
import sqlalchemy as sa


revision = '0013_plan_city_vocabulary'
down_revision = '0012_clock_state'
branch_labels = None
depends_on = None


def _city_of(key: str) -> str:
    head, sep, tail = key.rpartition("-")
    return head if sep and tail.isdigit() else key


def upgrade() -> None:
    # Plain ALTER TABLE, as in 0009/0010: a batch copy of `plan` would trip the foreign keys pointing at it.
    op.add_column('plan', sa.Column('types', sa.JSON(), nullable=False, server_default=sa.text("'{}'")))
    op.add_column('goal_set', sa.Column('city', sa.String(length=64), nullable=False, server_default=''))
    goal_set = sa.table('goal_set', sa.column('id', sa.Integer()), sa.column('key', sa.String()),
                        sa.column('city', sa.String()))
    connection = op.get_bind()
    for set_id, key in connection.execute(sa.select(goal_set.c.id, goal_set.c.key)).all():
        connection.execute(goal_set.update().where(goal_set.c.id == set_id).values(city=_city_of(key)))


def downgrade() -> None:
    op.drop_column('plan', 'types')
    with op.batch_alter_table('goal_set') as batch:
        batch.drop_column('city')
