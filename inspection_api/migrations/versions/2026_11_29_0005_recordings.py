"""recordings

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 02:15:45.062003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import inspection_api.db


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('recordings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('recording', 'finalizing', 'ready', 'failed', name='recordingstate', native_enum=False, length=16), nullable=False),
    sa.Column('worker', sa.String(length=100), nullable=True),
    sa.Column('lease_until', inspection_api.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('takeovers', sa.Integer(), nullable=False),
    sa.Column('started_at', inspection_api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finalized_at', inspection_api.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['session_id'], ['remote_sessions.id'], name=op.f('fk_recordings_session_id_remote_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recordings')),
    sa.UniqueConstraint('session_id', name=op.f('uq_recordings_session_id'))
    )
    with op.batch_alter_table('recordings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recordings_lease_until'), ['lease_until'], unique=False)
        batch_op.create_index(batch_op.f('ix_recordings_state'), ['state'], unique=False)

    op.create_table('recording_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recording_id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=300), nullable=False),
    sa.Column('content_type', sa.String(length=50), nullable=False),
    sa.Column('poster_key', sa.String(length=300), nullable=True),
    sa.Column('duration', sa.Float(), nullable=False),
    sa.Column('codecs', sa.String(length=100), nullable=False),
    sa.Column('width', sa.Integer(), nullable=True),
    sa.Column('height', sa.Integer(), nullable=True),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('segments', sa.Integer(), nullable=False),
    sa.Column('legs', sa.Integer(), nullable=False),
    sa.Column('warnings', sa.JSON(), nullable=False),
    sa.Column('created_at', inspection_api.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['participant_id'], ['remote_participants.id'], name=op.f('fk_recording_files_participant_id_remote_participants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recording_id'], ['recordings.id'], name=op.f('fk_recording_files_recording_id_recordings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recording_files')),
    sa.UniqueConstraint('recording_id', 'participant_id', name='uq_recording_files_participant')
    )
    with op.batch_alter_table('recording_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recording_files_recording_id'), ['recording_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('recording_files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recording_files_recording_id'))

    op.drop_table('recording_files')
    with op.batch_alter_table('recordings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recordings_state'))
        batch_op.drop_index(batch_op.f('ix_recordings_lease_until'))

    op.drop_table('recordings')
