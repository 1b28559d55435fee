"""plan_tasks: no foreign keys on plan_id and assignee_user_id, and the assignee index only
on assigned tasks (per-row work of a bulk generation; see docs/plans.md, "Performance")

Revision ID: 0014
Revises: 0010
Create Date: 2026-12-04 17:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0014'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('plan_tasks', schema=None) as batch_op:
        batch_op.drop_constraint('fk_plan_tasks_plan_id_plans', type_='foreignkey')
        batch_op.drop_constraint('fk_plan_tasks_assignee_user_id_users', type_='foreignkey')
        batch_op.drop_index('ix_plan_tasks_assignee_user_id')
        batch_op.create_index(
            'ix_plan_tasks_assignee_user_id', ['assignee_user_id'], unique=False,
            postgresql_where=sa.text('assignee_user_id IS NOT NULL'),
            sqlite_where=sa.text('assignee_user_id IS NOT NULL'),
        )


def downgrade() -> None:
    with op.batch_alter_table('plan_tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_plan_tasks_assignee_user_id')
        batch_op.create_index('ix_plan_tasks_assignee_user_id', ['assignee_user_id'], unique=False)
        batch_op.create_foreign_key(
            'fk_plan_tasks_assignee_user_id_users', 'users', ['assignee_user_id'], ['id'],
            ondelete='SET NULL',
        )
        batch_op.create_foreign_key(
            'fk_plan_tasks_plan_id_plans', 'plans', ['plan_id'], ['id'], ondelete='CASCADE'
        )
