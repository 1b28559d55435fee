"""inspections

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 02:57:51.281426
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import inspection_api.db


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('inspections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('on_site', 'self_check', 'remote', name='inspectionkind', native_enum=False, length=16), nullable=False),
    sa.Column('state', sa.Enum('draft', 'submitted', 'approved', 'returned', name='inspectionstate', native_enum=False, length=16), nullable=False),
    sa.Column('checkpoint_id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('inspector_user_id', sa.Integer(), nullable=True),
    sa.Column('contact_name', sa.String(length=64), nullable=False),
    sa.Column('checklist_version_id', sa.Integer(), nullable=False),
    sa.Column('remote_session_id', sa.Integer(), nullable=True),
    sa.Column('started_at', inspection_api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('checked_in_at', inspection_api.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('checkin_outcome', sa.String(length=16), nullable=True),
    sa.Column('checkin_latitude', sa.Float(), nullable=True),
    sa.Column('checkin_longitude', sa.Float(), nullable=True),
    sa.Column('checkin_accuracy_m', sa.Float(), nullable=True),
    sa.Column('checkin_distance_m', sa.Float(), nullable=True),
    sa.Column('submit_latitude', sa.Float(), nullable=True),
    sa.Column('submit_longitude', sa.Float(), nullable=True),
    sa.Column('submit_accuracy_m', sa.Float(), nullable=True),
    sa.Column('submit_distance_m', sa.Float(), nullable=True),
    sa.Column('radius_m', sa.Integer(), nullable=True),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('flags', sa.JSON(), nullable=False),
    sa.Column('findings', sa.JSON(), nullable=False),
    sa.Column('conclusion', sa.String(length=16), nullable=True),
    sa.Column('rectification_opinion', sa.Text(), nullable=False),
    sa.Column('submitted_at', inspection_api.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('submission_count', sa.Integer(), nullable=False),
    sa.Column('reviewed_at', inspection_api.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reviewed_by_user_id', sa.Integer(), nullable=True),
    sa.Column('review_comment', sa.String(length=1000), nullable=False),
    sa.Column('created_at', inspection_api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', inspection_api.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['checklist_version_id'], ['checklist_versions.id'], name=op.f('fk_inspections_checklist_version_id_checklist_versions')),
    sa.ForeignKeyConstraint(['checkpoint_id'], ['checkpoints.id'], name=op.f('fk_inspections_checkpoint_id_checkpoints')),
    sa.ForeignKeyConstraint(['inspector_user_id'], ['users.id'], name=op.f('fk_inspections_inspector_user_id_users')),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], name=op.f('fk_inspections_org_id_orgs')),
    sa.ForeignKeyConstraint(['remote_session_id'], ['remote_sessions.id'], name=op.f('fk_inspections_remote_session_id_remote_sessions')),
    sa.ForeignKeyConstraint(['reviewed_by_user_id'], ['users.id'], name=op.f('fk_inspections_reviewed_by_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspections')),
    sa.UniqueConstraint('remote_session_id', name=op.f('uq_inspections_remote_session_id'))
    )
    with op.batch_alter_table('inspections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inspections_checkpoint_id'), ['checkpoint_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inspections_conclusion'), ['conclusion'], unique=False)
        batch_op.create_index(batch_op.f('ix_inspections_inspector_user_id'), ['inspector_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inspections_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_inspections_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inspections_started_at'), ['started_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_inspections_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_inspections_submitted_at'), ['submitted_at'], unique=False)

    op.create_table('inspection_evidence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inspection_id', sa.Integer(), nullable=False),
    sa.Column('item_key', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('object_key', sa.String(length=200), nullable=False),
    sa.Column('mime_type', sa.String(length=32), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('captured_at', inspection_api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('accuracy_m', sa.Float(), nullable=True),
    sa.Column('distance_m', sa.Float(), nullable=True),
    sa.Column('recording_offset_seconds', sa.Float(), nullable=True),
    sa.Column('uploaded_by_user_id', sa.Integer(), nullable=True),
    sa.Column('uploader_name', sa.String(length=64), nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('created_at', inspection_api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('removed_at', inspection_api.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspections.id'], name=op.f('fk_inspection_evidence_inspection_id_inspections'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_user_id'], ['users.id'], name=op.f('fk_inspection_evidence_uploaded_by_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspection_evidence')),
    sa.UniqueConstraint('object_key', name=op.f('uq_inspection_evidence_object_key'))
    )
    with op.batch_alter_table('inspection_evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inspection_evidence_inspection_id'), ['inspection_id'], unique=False)

    op.create_table('inspection_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inspection_id', sa.Integer(), nullable=False),
    sa.Column('submission', sa.Integer(), nullable=False),
    sa.Column('decision', sa.Enum('approved', 'returned', name='reviewdecision', native_enum=False, length=16), nullable=False),
    sa.Column('comment', sa.String(length=1000), nullable=False),
    sa.Column('reviewer_user_id', sa.Integer(), nullable=True),
    sa.Column('reviewer_name', sa.String(length=64), nullable=False),
    sa.Column('at', inspection_api.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspections.id'], name=op.f('fk_inspection_reviews_inspection_id_inspections'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reviewer_user_id'], ['users.id'], name=op.f('fk_inspection_reviews_reviewer_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspection_reviews'))
    )
    with op.batch_alter_table('inspection_reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inspection_reviews_inspection_id'), ['inspection_id'], unique=False)

    op.create_table('self_check_invites',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inspection_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('contact_name', sa.String(length=64), nullable=False),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', inspection_api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', inspection_api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', inspection_api.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('device_id', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['users.id'], name=op.f('fk_self_check_invites_created_by_user_id_users')),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspections.id'], name=op.f('fk_self_check_invites_inspection_id_inspections'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_self_check_invites')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_self_check_invites_token_hash'))
    )
    with op.batch_alter_table('self_check_invites', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_self_check_invites_inspection_id'), ['inspection_id'], unique=False)

    # ### end Alembic commands ###


def downgrade() -> None:
    with op.batch_alter_table('self_check_invites', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_self_check_invites_inspection_id'))

    op.drop_table('self_check_invites')
    with op.batch_alter_table('inspection_reviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inspection_reviews_inspection_id'))

    op.drop_table('inspection_reviews')
    with op.batch_alter_table('inspection_evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inspection_evidence_inspection_id'))

    op.drop_table('inspection_evidence')
    with op.batch_alter_table('inspections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inspections_submitted_at'))
        batch_op.drop_index(batch_op.f('ix_inspections_state'))
        batch_op.drop_index(batch_op.f('ix_inspections_started_at'))
        batch_op.drop_index(batch_op.f('ix_inspections_org_id'))
        batch_op.drop_index(batch_op.f('ix_inspections_kind'))
        batch_op.drop_index(batch_op.f('ix_inspections_inspector_user_id'))
        batch_op.drop_index(batch_op.f('ix_inspections_conclusion'))
        batch_op.drop_index(batch_op.f('ix_inspections_checkpoint_id'))

    op.drop_table('inspections')
    # ### end Alembic commands ###
