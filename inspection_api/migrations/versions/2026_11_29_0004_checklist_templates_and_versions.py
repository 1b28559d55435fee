"""checklist templates and versions

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 02:21:57.964091
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import inspection_api.db


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('checklist_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=True),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('status', sa.Enum('active', 'archived', name='templatestatus', native_enum=False, length=16), nullable=False),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', inspection_api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('archived_at', inspection_api.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['users.id'], name=op.f('fk_checklist_templates_created_by_user_id_users')),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.id'], name=op.f('fk_checklist_templates_org_id_orgs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checklist_templates')),
    sa.UniqueConstraint('org_id', 'code', name='uq_checklist_templates_org_code')
    )
    with op.batch_alter_table('checklist_templates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checklist_templates_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_checklist_templates_status'), ['status'], unique=False)

    op.create_table('checklist_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'published', name='versionstatus', native_enum=False, length=16), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', inspection_api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', inspection_api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('published_at', inspection_api.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('published_by_user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['users.id'], name=op.f('fk_checklist_versions_created_by_user_id_users')),
    sa.ForeignKeyConstraint(['published_by_user_id'], ['users.id'], name=op.f('fk_checklist_versions_published_by_user_id_users')),
    sa.ForeignKeyConstraint(['template_id'], ['checklist_templates.id'], name=op.f('fk_checklist_versions_template_id_checklist_templates')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checklist_versions')),
    sa.UniqueConstraint('template_id', 'number', name='uq_checklist_versions_template_number')
    )
    with op.batch_alter_table('checklist_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checklist_versions_template_id'), ['template_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('checklist_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checklist_versions_template_id'))

    op.drop_table('checklist_versions')
    with op.batch_alter_table('checklist_templates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checklist_templates_status'))
        batch_op.drop_index(batch_op.f('ix_checklist_templates_org_id'))

    op.drop_table('checklist_templates')
