"""offline inspections: client UUIDs (unique), device times and clock offset; tus uploads

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 17:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import inspection_api.db


revision: str = "0017"
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inspections", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_uuid", sa.String(length=36), nullable=True))
        batch_op.add_column(
            sa.Column("offline", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("device_started_at", inspection_api.db.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("received_at", inspection_api.db.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(sa.Column("clock_offset_seconds", sa.Float(), nullable=True))
        batch_op.add_column(
            sa.Column("clock_flagged", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("sync_delay_seconds", sa.Float(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_inspections_client_uuid"), ["client_uuid"])
    with op.batch_alter_table("inspection_evidence", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_uuid", sa.String(length=36), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_inspection_evidence_client_uuid"), ["client_uuid"]
        )
    op.create_table(
        "uploads",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("client_uuid", sa.String(length=36), nullable=False),
        sa.Column("length", sa.BigInteger(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("object_key", sa.String(length=200), nullable=False),
        sa.Column("store_state", sa.JSON(), nullable=False),
        sa.Column("stored_sha256", sa.String(length=64), nullable=True),
        sa.Column("head_hex", sa.String(length=128), nullable=False),
        sa.Column("created_at", inspection_api.db.UTCDateTime(), nullable=False),
        sa.Column("completed_at", inspection_api.db.UTCDateTime(), nullable=True),
        sa.Column("evidence_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["evidence_id"],
            ["inspection_evidence.id"],
            name=op.f("fk_uploads_evidence_id_inspection_evidence"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_uploads_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_uploads")),
        sa.UniqueConstraint("object_key", name=op.f("uq_uploads_object_key")),
        sa.UniqueConstraint("user_id", "client_uuid", name=op.f("uq_uploads_user_id_client_uuid")),
    )
    with op.batch_alter_table("uploads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_uploads_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("uploads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_uploads_user_id"))
    op.drop_table("uploads")
    with op.batch_alter_table("inspection_evidence", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_inspection_evidence_client_uuid"), type_="unique")
        batch_op.drop_column("client_uuid")
    with op.batch_alter_table("inspections", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_inspections_client_uuid"), type_="unique")
        for name in (
            "sync_delay_seconds",
            "clock_flagged",
            "clock_offset_seconds",
            "received_at",
            "device_started_at",
            "offline",
            "client_uuid",
        ):
            batch_op.drop_column(name)
