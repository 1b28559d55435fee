"""remote sessions, invites, participants

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 23:25:20.351786
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import inspection_api.db


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('remote_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('enterprise_name', sa.String(length=100), nullable=False),
    sa.Column('created_by_user_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('pending', 'active', 'ended', 'cancelled', name='sessionstate', native_enum=False, length=16), nullable=False),
    sa.Column('created_at', inspection_api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', inspection_api.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_at', inspection_api.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['users.id'], name=op.f('fk_remote_sessions_created_by_user_id_users')),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], name=op.f('fk_remote_sessions_org_id_orgs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_remote_sessions'))
    )
    with op.batch_alter_table('remote_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_remote_sessions_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_remote_sessions_created_by_user_id'), ['created_by_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_remote_sessions_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_remote_sessions_state'), ['state'], unique=False)

    op.create_table('remote_invites',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('contact_name', sa.String(length=64), nullable=False),
    sa.Column('created_by_user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', inspection_api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', inspection_api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', inspection_api.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('device_id', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['users.id'], name=op.f('fk_remote_invites_created_by_user_id_users')),
    sa.ForeignKeyConstraint(['session_id'], ['remote_sessions.id'], name=op.f('fk_remote_invites_session_id_remote_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_remote_invites')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_remote_invites_token_hash'))
    )
    with op.batch_alter_table('remote_invites', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_remote_invites_session_id'), ['session_id'], unique=False)

    op.create_table('remote_participants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('inspector', 'contact', 'recorder', name='participantkind', native_enum=False, length=16), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('invite_id', sa.Integer(), nullable=True),
    sa.Column('display_name', sa.String(length=64), nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('connected', sa.Boolean(), nullable=False),
    sa.Column('joined_at', inspection_api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('left_at', inspection_api.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['invite_id'], ['remote_invites.id'], name=op.f('fk_remote_participants_invite_id_remote_invites')),
    sa.ForeignKeyConstraint(['session_id'], ['remote_sessions.id'], name=op.f('fk_remote_participants_session_id_remote_sessions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_remote_participants_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_remote_participants')),
    sa.UniqueConstraint('session_id', 'invite_id', name='uq_remote_participants_session_invite'),
    sa.UniqueConstraint('session_id', 'user_id', name='uq_remote_participants_session_user')
    )
    with op.batch_alter_table('remote_participants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_remote_participants_invite_id'), ['invite_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_remote_participants_session_id'), ['session_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_remote_participants_user_id'), ['user_id'], unique=False)

    op.create_table('remote_participant_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('at', inspection_api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('event', sa.Enum('joined', 'reconnected', 'disconnected', 'left', 'timed_out', name='participanteventkind', native_enum=False, length=16), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=False),
    sa.Column('user_agent', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['participant_id'], ['remote_participants.id'], name=op.f('fk_remote_participant_events_participant_id_remote_participants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_remote_participant_events'))
    )
    with op.batch_alter_table('remote_participant_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_remote_participant_events_participant_id'), ['participant_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('remote_participant_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_remote_participant_events_participant_id'))

    op.drop_table('remote_participant_events')
    with op.batch_alter_table('remote_participants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_remote_participants_user_id'))
        batch_op.drop_index(batch_op.f('ix_remote_participants_session_id'))
        batch_op.drop_index(batch_op.f('ix_remote_participants_invite_id'))

    op.drop_table('remote_participants')
    with op.batch_alter_table('remote_invites', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_remote_invites_session_id'))

    op.drop_table('remote_invites')
    with op.batch_alter_table('remote_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_remote_sessions_state'))
        batch_op.drop_index(batch_op.f('ix_remote_sessions_org_id'))
        batch_op.drop_index(batch_op.f('ix_remote_sessions_created_by_user_id'))
        batch_op.drop_index(batch_op.f('ix_remote_sessions_created_at'))

    op.drop_table('remote_sessions')
