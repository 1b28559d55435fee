"""self-check offline: an upload is owned by a user or by a self-check invite link

Revision ID: 0019
Revises: 0014 (the head: 0010 and 0014 came after 0018)
Create Date: 2026-12-05 08:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("uploads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("invite_id", sa.Integer(), nullable=True))
        batch_op.alter_column("user_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_foreign_key(
            batch_op.f("fk_uploads_invite_id_self_check_invites"),
            "self_check_invites",
            ["invite_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_index(batch_op.f("ix_uploads_invite_id"), ["invite_id"], unique=False)
        batch_op.create_unique_constraint(
            batch_op.f("uq_uploads_invite_id_client_uuid"), ["invite_id", "client_uuid"]
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_uploads_one_owner"), "(user_id IS NULL) <> (invite_id IS NULL)"
        )


def downgrade() -> None:
    op.execute("DELETE FROM uploads WHERE user_id IS NULL")
    with op.batch_alter_table("uploads", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_uploads_one_owner"), type_="check")
        batch_op.drop_constraint(batch_op.f("uq_uploads_invite_id_client_uuid"), type_="unique")
        batch_op.drop_index(batch_op.f("ix_uploads_invite_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_uploads_invite_id_self_check_invites"), type_="foreignkey"
        )
        batch_op.drop_column("invite_id")
        batch_op.alter_column("user_id", existing_type=sa.Integer(), nullable=False)
