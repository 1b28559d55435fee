"""Indexes for 实时监管 (supervision reports)

- plan_tasks (org_id, period_end, period_start, state, checkpoint_id, inspection_id): the tasks
  due in a window, org by org, read from the index alone (completion and coverage);
- plan_tasks (inspection_id): an inspection's 检查类型 (the plan of the task it did);
- inspections (org_id, submitted_at, kind, conclusion): inspections submitted in a window,
  org by org (details, conclusions, trends);
- anomalies (org_id, created_at): anomalies raised in a window.

Revision ID: 0015
Revises: 0011
Create Date: 2026-12-04 17:00:00.000000
"""

from collections.abc import Sequence

from alembic import op


revision: str = '0015'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        'ix_plan_tasks_org_end_report',
        'plan_tasks',
        ['org_id', 'period_end', 'period_start', 'state', 'checkpoint_id', 'inspection_id'],
    )
    op.create_index('ix_plan_tasks_inspection_id', 'plan_tasks', ['inspection_id'])
    op.create_index(
        'ix_inspections_org_submitted',
        'inspections',
        ['org_id', 'submitted_at', 'kind', 'conclusion'],
    )
    op.create_index('ix_anomalies_org_created', 'anomalies', ['org_id', 'created_at'])


def downgrade() -> None:
    op.drop_index('ix_anomalies_org_created', table_name='anomalies')
    op.drop_index('ix_inspections_org_submitted', table_name='inspections')
    op.drop_index('ix_plan_tasks_inspection_id', table_name='plan_tasks')
    op.drop_index('ix_plan_tasks_org_end_report', table_name='plan_tasks')
