"""Resumable uploads (tus): a file sent in chunks over as many requests as the network
allows, assembled in the object store, then attached as evidence by its id."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from inspection_api.db import Base, UTCDateTime, utcnow


class ResumableUpload(Base):
    __tablename__ = "uploads"
    # A phone that crashed after creating an upload creates it again with the same UUID and
    # gets the same upload back, so a file is never stored twice.
    # Its owner is a staff member or, for an enterprise contact's offline self-check, the
    # invite link (the contact has no account): exactly one of the two.
    __table_args__ = (
        UniqueConstraint("user_id", "client_uuid", name="uq_uploads_user_id_client_uuid"),
        UniqueConstraint("invite_id", "client_uuid", name="uq_uploads_invite_id_client_uuid"),
        CheckConstraint("(user_id IS NULL) <> (invite_id IS NULL)", name="one_owner"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # uuid4 hex, in the URL
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    invite_id: Mapped[int | None] = mapped_column(
        ForeignKey("self_check_invites.id", ondelete="CASCADE"), index=True
    )
    client_uuid: Mapped[str] = mapped_column(String(36))
    length: Mapped[int] = mapped_column(BigInteger)  # Upload-Length
    offset: Mapped[int] = mapped_column(BigInteger, default=0)  # bytes acknowledged
    content_type: Mapped[str] = mapped_column(String(100), default="")
    sha256: Mapped[str] = mapped_column(String(64), default="")  # declared by the phone
    object_key: Mapped[str] = mapped_column(String(200), unique=True)
    # The store's own state between chunks (S3: multipart upload id, parts, tail size).
    store_state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Computed over the assembled object when the last byte arrived.
    stored_sha256: Mapped[str | None] = mapped_column(String(64))
    head_hex: Mapped[str] = mapped_column(String(128), default="")  # its first 64 bytes
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The evidence it became: an upload is attached once.
    evidence_id: Mapped[int | None] = mapped_column(
        ForeignKey("inspection_evidence.id", ondelete="SET NULL")
    )
