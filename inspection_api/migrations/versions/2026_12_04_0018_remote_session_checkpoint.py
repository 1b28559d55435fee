"""remote_sessions.checkpoint_id: the checkpoint a remote inspection is about, chosen at creation

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 17:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('remote_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checkpoint_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_remote_sessions_checkpoint_id'), ['checkpoint_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_remote_sessions_checkpoint_id_checkpoints'), 'checkpoints', ['checkpoint_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('remote_sessions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_remote_sessions_checkpoint_id_checkpoints'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_remote_sessions_checkpoint_id'))
        batch_op.drop_column('checkpoint_id')
