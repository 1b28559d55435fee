"""Recordings (录制) of remote inspection calls: which recorder worker holds a session (a
lease it renews), and the finished files a reviewer replays."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inspection_api.db import Base, UTCDateTime, str_enum, utcnow


class MissingReason(StrEnum):
    """Why a participant of a finished call has no recording file."""

    NO_MEDIA = "no_media"  # no frame of theirs reached the recorder
    OFFER_REFUSED = "offer_refused"  # their only offers to the recorder could not be answered
    UNPLAYABLE = "unplayable"  # segments arrived, but none could be made into a file


class RecordingState(StrEnum):
    RECORDING = "recording"  # 录制中: a worker records the call (or will take it over)
    FINALIZING = "finalizing"  # 处理中: the call ended, the files are being assembled
    READY = "ready"  # 可回放
    FAILED = "failed"  # 处理失败: the error names why; the segments stay in the store


RECORDING_STATE_LABELS: dict[RecordingState, tuple[str, str]] = {
    RecordingState.RECORDING: ("录制中", "recording"),
    RecordingState.FINALIZING: ("处理中", "finalizing"),
    RecordingState.READY: ("可回放", "ready"),
    RecordingState.FAILED: ("处理失败", "failed"),
}


class Recording(Base):
    __tablename__ = "recordings"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("remote_sessions.id", ondelete="CASCADE"), unique=True
    )
    state: Mapped[RecordingState] = mapped_column(str_enum(RecordingState), index=True)
    # The worker holding the session, until lease_until; an expired lease may be taken over.
    worker: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    takeovers: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finalized_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(String(500))
    # Participants of a finished call who have no file: [{participant_id, reason, detail}]
    # (reason: a MissingReason). The others' files are ready all the same.
    missing: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, default=list, server_default=text("'[]'")
    )

    files: Mapped[list[RecordingFile]] = relationship(lazy="raise", order_by="RecordingFile.id")


class RecordingFile(Base):
    """One participant's whole call as one playable file (stream copy of its segments)."""

    __tablename__ = "recording_files"
    __table_args__ = (
        UniqueConstraint("recording_id", "participant_id", name="uq_recording_files_participant"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[int] = mapped_column(
        ForeignKey("recordings.id", ondelete="CASCADE"), index=True
    )
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("remote_participants.id", ondelete="CASCADE")
    )
    key: Mapped[str] = mapped_column(String(300))
    content_type: Mapped[str] = mapped_column(String(50))
    poster_key: Mapped[str | None] = mapped_column(String(300))
    duration: Mapped[float] = mapped_column(Float)
    codecs: Mapped[str] = mapped_column(String(100))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    segments: Mapped[int] = mapped_column(Integer)
    legs: Mapped[int] = mapped_column(Integer)
    warnings: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
