"""anomalies, notifications, rectifications

anomalies.inspection_id and rectifications.inspection_id refer to inspections.id (0007).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 03:01:46.226467
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import inspection_api.db


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('anomalies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('checkpoint_id', sa.Integer(), nullable=False),
    sa.Column('inspection_id', sa.Integer(), nullable=True),
    sa.Column('item_key', sa.String(length=40), nullable=False),
    sa.Column('item_label', sa.String(length=200), nullable=False),
    sa.Column('section', sa.String(length=100), nullable=False),
    sa.Column('indicator', sa.String(length=100), nullable=False),
    sa.Column('severity', sa.Enum('low', 'medium', 'high', name='severity', native_enum=False, length=16), nullable=False),
    sa.Column('answer', sa.JSON(), nullable=True),
    sa.Column('source', sa.Enum('rule', 'inspector', name='anomalysource', native_enum=False, length=16), nullable=False),
    sa.Column('note', sa.String(length=1000), nullable=False),
    sa.Column('state', sa.Enum('open', 'acknowledged', 'resolved', name='anomalystate', native_enum=False, length=16), nullable=False),
    sa.Column('handler_org_id', sa.Integer(), nullable=True),
    sa.Column('deadline', inspection_api.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('escalation_level', sa.Integer(), nullable=False),
    sa.Column('escalated_at', inspection_api.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('raised_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', inspection_api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_at', inspection_api.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by_user_id', sa.Integer(), nullable=True),
    sa.Column('resolved_at', inspection_api.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_by_user_id', sa.Integer(), nullable=True),
    sa.Column('resolution', sa.String(length=2000), nullable=False),
    sa.Column('updated_at', inspection_api.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['acknowledged_by_user_id'], ['users.id'], name=op.f('fk_anomalies_acknowledged_by_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['checkpoint_id'], ['checkpoints.id'], name=op.f('fk_anomalies_checkpoint_id_checkpoints')),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspections.id'], name=op.f('fk_anomalies_inspection_id_inspections')),
    sa.ForeignKeyConstraint(['handler_org_id'], ['orgs.id'], name=op.f('fk_anomalies_handler_org_id_orgs')),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], name=op.f('fk_anomalies_org_id_orgs')),
    sa.ForeignKeyConstraint(['raised_by_user_id'], ['users.id'], name=op.f('fk_anomalies_raised_by_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['resolved_by_user_id'], ['users.id'], name=op.f('fk_anomalies_resolved_by_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_anomalies'))
    )
    with op.batch_alter_table('anomalies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_anomalies_checkpoint_id'), ['checkpoint_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_anomalies_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_anomalies_deadline'), ['deadline'], unique=False)
        batch_op.create_index(batch_op.f('ix_anomalies_handler_org_id'), ['handler_org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_anomalies_inspection_id'), ['inspection_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_anomalies_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_anomalies_severity'), ['severity'], unique=False)
        batch_op.create_index(batch_op.f('ix_anomalies_state'), ['state'], unique=False)

    op.create_table('anomaly_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('anomaly_id', sa.Integer(), nullable=False),
    sa.Column('at', inspection_api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.Enum('raised', 'acknowledged', 'resolved', 'reassigned', 'escalated', 'overdue', name='anomalyeventkind', native_enum=False, length=16), nullable=False),
    sa.Column('actor_user_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.String(length=64), nullable=False),
    sa.Column('from_org_id', sa.Integer(), nullable=True),
    sa.Column('to_org_id', sa.Integer(), nullable=True),
    sa.Column('comment', sa.String(length=2000), nullable=False),
    sa.ForeignKeyConstraint(['actor_user_id'], ['users.id'], name=op.f('fk_anomaly_events_actor_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['anomaly_id'], ['anomalies.id'], name=op.f('fk_anomaly_events_anomaly_id_anomalies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['from_org_id'], ['orgs.id'], name=op.f('fk_anomaly_events_from_org_id_orgs')),
    sa.ForeignKeyConstraint(['to_org_id'], ['orgs.id'], name=op.f('fk_anomaly_events_to_org_id_orgs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_anomaly_events'))
    )
    with op.batch_alter_table('anomaly_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_anomaly_events_anomaly_id'), ['anomaly_id'], unique=False)

    op.create_table('rectifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('checkpoint_id', sa.Integer(), nullable=False),
    sa.Column('anomaly_id', sa.Integer(), nullable=True),
    sa.Column('inspection_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.String(length=2000), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('contact_name', sa.String(length=64), nullable=False),
    sa.Column('contact_phone', sa.String(length=32), nullable=False),
    sa.Column('responsible_user_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('issued', 'replied', 'closed', 'reopened', name='rectificationstate', native_enum=False, length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=True),
    sa.Column('link_expires_at', inspection_api.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('replied_at', inspection_api.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', inspection_api.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', inspection_api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', inspection_api.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['anomaly_id'], ['anomalies.id'], name=op.f('fk_rectifications_anomaly_id_anomalies')),
    sa.ForeignKeyConstraint(['checkpoint_id'], ['checkpoints.id'], name=op.f('fk_rectifications_checkpoint_id_checkpoints')),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspections.id'], name=op.f('fk_rectifications_inspection_id_inspections')),
    sa.ForeignKeyConstraint(['closed_by_user_id'], ['users.id'], name=op.f('fk_rectifications_closed_by_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['users.id'], name=op.f('fk_rectifications_created_by_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], name=op.f('fk_rectifications_org_id_orgs')),
    sa.ForeignKeyConstraint(['responsible_user_id'], ['users.id'], name=op.f('fk_rectifications_responsible_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rectifications')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_rectifications_token_hash'))
    )
    with op.batch_alter_table('rectifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rectifications_anomaly_id'), ['anomaly_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rectifications_checkpoint_id'), ['checkpoint_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rectifications_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_rectifications_due_date'), ['due_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_rectifications_inspection_id'), ['inspection_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rectifications_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rectifications_responsible_user_id'), ['responsible_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rectifications_state'), ['state'], unique=False)

    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('anomaly_raised', 'anomaly_escalated', 'anomaly_reassigned', 'anomaly_overdue', 'rectification_replied', name='notificationkind', native_enum=False, length=32), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.String(length=500), nullable=False),
    sa.Column('anomaly_id', sa.Integer(), nullable=True),
    sa.Column('rectification_id', sa.Integer(), nullable=True),
    sa.Column('created_at', inspection_api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('read_at', inspection_api.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['anomaly_id'], ['anomalies.id'], name=op.f('fk_notifications_anomaly_id_anomalies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['rectification_id'], ['rectifications.id'], name=op.f('fk_notifications_rectification_id_rectifications'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notifications_anomaly_id'), ['anomaly_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notifications_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notifications_rectification_id'), ['rectification_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notifications_user_id'), ['user_id'], unique=False)

    op.create_table('rectification_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rectification_id', sa.Integer(), nullable=False),
    sa.Column('at', inspection_api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.Enum('issued', 'replied', 'closed', 'reopened', 'link_renewed', name='rectificationeventkind', native_enum=False, length=16), nullable=False),
    sa.Column('actor_user_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.String(length=64), nullable=False),
    sa.Column('comment', sa.String(length=2000), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['actor_user_id'], ['users.id'], name=op.f('fk_rectification_events_actor_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['rectification_id'], ['rectifications.id'], name=op.f('fk_rectification_events_rectification_id_rectifications'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rectification_events'))
    )
    with op.batch_alter_table('rectification_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rectification_events_rectification_id'), ['rectification_id'], unique=False)

    op.create_table('rectification_photos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rectification_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('object_key', sa.String(length=300), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('content_type', sa.String(length=32), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('uploaded_at', inspection_api.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['rectification_events.id'], name=op.f('fk_rectification_photos_event_id_rectification_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['rectification_id'], ['rectifications.id'], name=op.f('fk_rectification_photos_rectification_id_rectifications'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rectification_photos'))
    )
    with op.batch_alter_table('rectification_photos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rectification_photos_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rectification_photos_rectification_id'), ['rectification_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('rectification_photos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rectification_photos_rectification_id'))
        batch_op.drop_index(batch_op.f('ix_rectification_photos_event_id'))

    op.drop_table('rectification_photos')
    with op.batch_alter_table('rectification_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rectification_events_rectification_id'))

    op.drop_table('rectification_events')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notifications_user_id'))
        batch_op.drop_index(batch_op.f('ix_notifications_rectification_id'))
        batch_op.drop_index(batch_op.f('ix_notifications_created_at'))
        batch_op.drop_index(batch_op.f('ix_notifications_anomaly_id'))

    op.drop_table('notifications')
    with op.batch_alter_table('rectifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rectifications_state'))
        batch_op.drop_index(batch_op.f('ix_rectifications_responsible_user_id'))
        batch_op.drop_index(batch_op.f('ix_rectifications_org_id'))
        batch_op.drop_index(batch_op.f('ix_rectifications_inspection_id'))
        batch_op.drop_index(batch_op.f('ix_rectifications_due_date'))
        batch_op.drop_index(batch_op.f('ix_rectifications_created_at'))
        batch_op.drop_index(batch_op.f('ix_rectifications_checkpoint_id'))
        batch_op.drop_index(batch_op.f('ix_rectifications_anomaly_id'))

    op.drop_table('rectifications')
    with op.batch_alter_table('anomaly_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_anomaly_events_anomaly_id'))

    op.drop_table('anomaly_events')
    with op.batch_alter_table('anomalies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_anomalies_state'))
        batch_op.drop_index(batch_op.f('ix_anomalies_severity'))
        batch_op.drop_index(batch_op.f('ix_anomalies_org_id'))
        batch_op.drop_index(batch_op.f('ix_anomalies_inspection_id'))
        batch_op.drop_index(batch_op.f('ix_anomalies_handler_org_id'))
        batch_op.drop_index(batch_op.f('ix_anomalies_deadline'))
        batch_op.drop_index(batch_op.f('ix_anomalies_created_at'))
        batch_op.drop_index(batch_op.f('ix_anomalies_checkpoint_id'))

    op.drop_table('anomalies')
