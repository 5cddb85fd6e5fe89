"""Goal sets belong to a city: a plan's reports read only the sets of its city (the plan key's prefix).

Revision ID: 0013_goal_set_city
Revises: 0012_clock_state
Create Date: 2026-12-09

Sets stored before this revision get the city their key names (nantong-2025 → nantong), as an import does
for a file without `city`.
"""
from alembic import op
import sqlalchemy as sa


revision = '0013_goal_set_city'
down_revision = '0012_clock_state'
branch_labels = None
depends_on = None


def _city_of(key: str) -> str:
    head, sep, tail = key.rpartition("-")
    return head if sep and tail.isdigit() else key


def upgrade() -> None:
    op.add_column('goal_set', sa.Column('city', sa.String(length=64), nullable=False, server_default=''))
    goal_set = sa.table('goal_set', sa.column('id', sa.Integer()), sa.column('key', sa.String()),
                        sa.column('city', sa.String()))
    connection = op.get_bind()
    for set_id, key in connection.execute(sa.select(goal_set.c.id, goal_set.c.key)).all():
        connection.execute(goal_set.update().where(goal_set.c.id == set_id).values(city=_city_of(key)))


def downgrade() -> None:
    with op.batch_alter_table('goal_set') as batch:
        batch.drop_column('city')
