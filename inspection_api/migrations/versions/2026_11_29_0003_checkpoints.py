"""checkpoints

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 02:22:05.020453
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import inspection_api.db


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('checkpoints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('customer_name', sa.String(length=100), nullable=False),
    sa.Column('loan_amount', sa.Numeric(precision=15, scale=2), nullable=True),
    sa.Column('loan_date', sa.Date(), nullable=True),
    sa.Column('maturity_date', sa.Date(), nullable=True),
    sa.Column('classification', sa.Enum('pass', 'special_mention', 'substandard', 'doubtful', 'loss', name='loanclassification', native_enum=False, length=16), nullable=True),
    sa.Column('address', sa.String(length=200), nullable=False),
    sa.Column('contact_name', sa.String(length=64), nullable=False),
    sa.Column('contact_phone', sa.String(length=32), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('bound_at', inspection_api.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('bound_by_user_id', sa.Integer(), nullable=True),
    sa.Column('radius_m', sa.Integer(), nullable=True),
    sa.Column('last_checked_in_at', inspection_api.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('exit_reason', sa.Enum('exited', 'written_off', 'settled', 'discount_only', name='exitreason', native_enum=False, length=16), nullable=True),
    sa.Column('exit_date', sa.Date(), nullable=True),
    sa.Column('exit_note', sa.String(length=500), nullable=False),
    sa.Column('exited_at', inspection_api.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('qr_generation', sa.Integer(), nullable=False),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', inspection_api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', inspection_api.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['bound_by_user_id'], ['users.id'], name=op.f('fk_checkpoints_bound_by_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['users.id'], name=op.f('fk_checkpoints_created_by_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], name=op.f('fk_checkpoints_org_id_orgs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkpoints')),
    sa.UniqueConstraint('code', name=op.f('uq_checkpoints_code'))
    )
    with op.batch_alter_table('checkpoints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checkpoints_customer_name'), ['customer_name'], unique=False)
        batch_op.create_index(batch_op.f('ix_checkpoints_exit_reason'), ['exit_reason'], unique=False)
        batch_op.create_index(batch_op.f('ix_checkpoints_org_id'), ['org_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('checkpoints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checkpoints_org_id'))
        batch_op.drop_index(batch_op.f('ix_checkpoints_exit_reason'))
        batch_op.drop_index(batch_op.f('ix_checkpoints_customer_name'))

    op.drop_table('checkpoints')
