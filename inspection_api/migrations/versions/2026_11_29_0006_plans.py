"""plans

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 03:29:50.090526
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import inspection_api.db


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('plan_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('org_kind', sa.Enum('province', 'branch', 'sub_branch', name='orgkind', native_enum=False, length=24), nullable=False),
    sa.Column('auto_join', sa.Boolean(), nullable=False),
    sa.Column('inspection_type', sa.Enum('existing', 'new', name='inspectiontype', native_enum=False, length=24), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', inspection_api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', inspection_api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('frequency', sa.Enum('year', 'month', 'day', name='frequency', native_enum=False, length=24), nullable=False),
    sa.Column('interval', sa.Integer(), nullable=False),
    sa.Column('validity', sa.Integer(), nullable=False),
    sa.Column('validity_unit', sa.Enum('day', 'month', 'year', name='validityunit', native_enum=False, length=24), nullable=False),
    sa.Column('exit_rule', sa.Enum('this_month', 'next_month', name='monthrule', native_enum=False, length=24), nullable=False),
    sa.Column('exit_interval', sa.Integer(), nullable=False),
    sa.Column('exit_unit', sa.Enum('month', 'day', name='exitunit', native_enum=False, length=24), nullable=False),
    sa.Column('exit_count', sa.Integer(), nullable=False),
    sa.Column('first_rule', sa.Enum('this_month', 'next_month', name='monthrule', native_enum=False, length=24), nullable=False),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['users.id'], name=op.f('fk_plan_rules_created_by_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], name=op.f('fk_plan_rules_org_id_orgs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_rules')),
    sa.UniqueConstraint('org_id', 'name', name=op.f('uq_plan_rules_org_id'))
    )
    with op.batch_alter_table('plan_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_rules_org_id'), ['org_id'], unique=False)

    op.create_table('plan_inspection_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('checkpoint_id', sa.Integer(), nullable=False),
    sa.Column('inspection_id', sa.Integer(), nullable=False),
    sa.Column('completed_at', inspection_api.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['checkpoint_id'], ['checkpoints.id'], name=op.f('fk_plan_inspection_records_checkpoint_id_checkpoints'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_inspection_records'))
    )
    with op.batch_alter_table('plan_inspection_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_inspection_records_checkpoint_id'), ['checkpoint_id'], unique=False)

    op.create_table('plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('checklist_template_id', sa.Integer(), nullable=True),
    sa.Column('executor_role', sa.Enum('system_admin', 'org_admin', 'inspector', 'reviewer', 'exception_handler', 'enterprise_contact', name='role', native_enum=False, length=24), nullable=False),
    sa.Column('auto_created', sa.Boolean(), nullable=False),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', inspection_api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', inspection_api.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['users.id'], name=op.f('fk_plans_created_by_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], name=op.f('fk_plans_org_id_orgs')),
    sa.ForeignKeyConstraint(['rule_id'], ['plan_rules.id'], name=op.f('fk_plans_rule_id_plan_rules')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plans'))
    )
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plans_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_plans_rule_id'), ['rule_id'], unique=False)

    op.create_table('plan_tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('checkpoint_id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('regular', 'exit', name='taskkind', native_enum=False, length=24), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('state', sa.Enum('pending', 'in_progress', 'done', 'overdue', name='taskstate', native_enum=False, length=24), nullable=False),
    sa.Column('assignee_user_id', sa.Integer(), nullable=True),
    sa.Column('started_at', inspection_api.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('completed_at', inspection_api.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('inspection_id', sa.Integer(), nullable=True),
    sa.Column('covered_by_inspection_id', sa.Integer(), nullable=True),
    sa.Column('created_at', inspection_api.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assignee_user_id'], ['users.id'], name=op.f('fk_plan_tasks_assignee_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['checkpoint_id'], ['checkpoints.id'], name=op.f('fk_plan_tasks_checkpoint_id_checkpoints'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], name=op.f('fk_plan_tasks_plan_id_plans'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_tasks')),
    sa.UniqueConstraint('checkpoint_id', 'plan_id', 'period_start', name=op.f('uq_plan_tasks_checkpoint_id'))
    )
    with op.batch_alter_table('plan_tasks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_tasks_assignee_user_id'), ['assignee_user_id'], unique=False)
        batch_op.create_index('ix_plan_tasks_org_state_end', ['org_id', 'state', 'period_end'], unique=False)
        batch_op.create_index('ix_plan_tasks_plan_state', ['plan_id', 'state'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('plan_tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_plan_tasks_plan_state')
        batch_op.drop_index('ix_plan_tasks_org_state_end')
        batch_op.drop_index(batch_op.f('ix_plan_tasks_assignee_user_id'))

    op.drop_table('plan_tasks')
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plans_rule_id'))
        batch_op.drop_index(batch_op.f('ix_plans_org_id'))

    op.drop_table('plans')
    with op.batch_alter_table('plan_inspection_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_inspection_records_checkpoint_id'))

    op.drop_table('plan_inspection_records')
    with op.batch_alter_table('plan_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_rules_org_id'))

    op.drop_table('plan_rules')
