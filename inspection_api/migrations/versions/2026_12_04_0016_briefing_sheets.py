"""briefing sheets: print window and lock, supervisor opinions, unlock requests

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import inspection_api.db


revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('briefing_sheets',
    sa.Column('inspection_id', sa.Integer(), nullable=False),
    sa.Column('print_deadline', inspection_api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('printed_at', inspection_api.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('first_printed_at', inspection_api.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('print_count', sa.Integer(), nullable=False),
    sa.Column('unlock_count', sa.Integer(), nullable=False),
    sa.Column('last_unlocked_at', inspection_api.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_unlocked_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', inspection_api.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspections.id'], name=op.f('fk_briefing_sheets_inspection_id_inspections'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['last_unlocked_by_user_id'], ['users.id'], name=op.f('fk_briefing_sheets_last_unlocked_by_user_id_users')),
    sa.PrimaryKeyConstraint('inspection_id', name=op.f('pk_briefing_sheets'))
    )
    op.create_table('supervisor_opinions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inspection_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('author_user_id', sa.Integer(), nullable=True),
    sa.Column('author_name', sa.String(length=64), nullable=False),
    sa.Column('author_org_id', sa.Integer(), nullable=True),
    sa.Column('author_org_name', sa.String(length=100), nullable=False),
    sa.Column('created_at', inspection_api.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_org_id'], ['orgs.id'], name=op.f('fk_supervisor_opinions_author_org_id_orgs')),
    sa.ForeignKeyConstraint(['author_user_id'], ['users.id'], name=op.f('fk_supervisor_opinions_author_user_id_users')),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspections.id'], name=op.f('fk_supervisor_opinions_inspection_id_inspections'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supervisor_opinions'))
    )
    with op.batch_alter_table('supervisor_opinions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supervisor_opinions_inspection_id'), ['inspection_id'], unique=False)

    op.create_table('sheet_unlock_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inspection_id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('approver_org_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('pending', 'approved', 'refused', name='unlockstate', native_enum=False, length=16), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('requested_by_user_id', sa.Integer(), nullable=True),
    sa.Column('requester_name', sa.String(length=64), nullable=False),
    sa.Column('requested_at', inspection_api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_by_user_id', sa.Integer(), nullable=True),
    sa.Column('decider_name', sa.String(length=64), nullable=False),
    sa.Column('decided_at', inspection_api.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('comment', sa.String(length=500), nullable=False),
    sa.Column('reopened_until', inspection_api.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['approver_org_id'], ['orgs.id'], name=op.f('fk_sheet_unlock_requests_approver_org_id_orgs')),
    sa.ForeignKeyConstraint(['decided_by_user_id'], ['users.id'], name=op.f('fk_sheet_unlock_requests_decided_by_user_id_users')),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspections.id'], name=op.f('fk_sheet_unlock_requests_inspection_id_inspections'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], name=op.f('fk_sheet_unlock_requests_org_id_orgs')),
    sa.ForeignKeyConstraint(['requested_by_user_id'], ['users.id'], name=op.f('fk_sheet_unlock_requests_requested_by_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sheet_unlock_requests'))
    )
    with op.batch_alter_table('sheet_unlock_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sheet_unlock_requests_approver_org_id'), ['approver_org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sheet_unlock_requests_decided_by_user_id'), ['decided_by_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sheet_unlock_requests_inspection_id'), ['inspection_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sheet_unlock_requests_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sheet_unlock_requests_requested_by_user_id'), ['requested_by_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sheet_unlock_requests_state'), ['state'], unique=False)


def downgrade() -> None:
    op.drop_table('sheet_unlock_requests')
    op.drop_table('supervisor_opinions')
    op.drop_table('briefing_sheets')
