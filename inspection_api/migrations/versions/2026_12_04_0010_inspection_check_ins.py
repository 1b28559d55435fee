"""inspection_check_ins: every check-in of an inspection (start, each rescan, re-binding)

Revision ID: 0010
Revises: 0018
Create Date: 2026-12-04 17:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import inspection_api.db

revision: str = '0010'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('inspection_check_ins',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inspection_id', sa.Integer(), nullable=False),
    sa.Column('at', inspection_api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=False),
    sa.Column('longitude', sa.Float(), nullable=False),
    sa.Column('accuracy_m', sa.Float(), nullable=False),
    sa.Column('distance_m', sa.Float(), nullable=False),
    sa.Column('radius_m', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspections.id'], name=op.f('fk_inspection_check_ins_inspection_id_inspections'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_inspection_check_ins_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspection_check_ins'))
    )
    with op.batch_alter_table('inspection_check_ins', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inspection_check_ins_inspection_id'), ['inspection_id'], unique=False)
    # Inspections that started before this table: their one known check-in becomes its first row.
    op.execute(
        "INSERT INTO inspection_check_ins (inspection_id, at, outcome, latitude, longitude, "
        "accuracy_m, distance_m, radius_m, user_id, actor_name) "
        "SELECT id, checked_in_at, checkin_outcome, checkin_latitude, checkin_longitude, "
        "checkin_accuracy_m, checkin_distance_m, radius_m, inspector_user_id, contact_name "
        "FROM inspections WHERE checked_in_at IS NOT NULL AND checkin_latitude IS NOT NULL "
        "AND checkin_longitude IS NOT NULL AND checkin_accuracy_m IS NOT NULL "
        "AND checkin_distance_m IS NOT NULL AND checkin_outcome IS NOT NULL "
        "AND radius_m IS NOT NULL ORDER BY id"
    )


def downgrade() -> None:
    with op.batch_alter_table('inspection_check_ins', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inspection_check_ins_inspection_id'))
    op.drop_table('inspection_check_ins')
