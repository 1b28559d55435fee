"""Remote video inspection (远程巡检): sessions, invites for enterprise contacts, the people
in a call and what happened to their connections."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inspection_api.db import Base, UTCDateTime, str_enum, utcnow


class SessionState(StrEnum):
    PENDING = "pending"  # 待开始
    ACTIVE = "active"  # 进行中
    ENDED = "ended"  # 已结束
    CANCELLED = "cancelled"  # 已取消


STATE_LABELS: dict[SessionState, tuple[str, str]] = {
    SessionState.PENDING: ("待开始", "pending"),
    SessionState.ACTIVE: ("进行中", "active"),
    SessionState.ENDED: ("已结束", "ended"),
    SessionState.CANCELLED: ("已取消", "cancelled"),
}

CLOSED_STATES = frozenset({SessionState.ENDED, SessionState.CANCELLED})


class ParticipantKind(StrEnum):
    INSPECTOR = "inspector"  # bank staff, joins with their session cookie
    CONTACT = "contact"  # enterprise contact, joins by invite
    RECORDER = "recorder"  # the server's receive-only recording peer


class ParticipantEventKind(StrEnum):
    JOINED = "joined"
    RECONNECTED = "reconnected"
    DISCONNECTED = "disconnected"
    LEFT = "left"
    TIMED_OUT = "timed_out"
    REMOVED = "removed"  # its invite was revoked during the call


class RemoteSession(Base):
    __tablename__ = "remote_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)  # jurisdiction
    title: Mapped[str] = mapped_column(String(100))
    enterprise_name: Mapped[str] = mapped_column(String(100))
    # The inspected site, chosen at creation; null for sessions opened before it was asked.
    checkpoint_id: Mapped[int | None] = mapped_column(ForeignKey("checkpoints.id"), index=True)
    created_by_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    state: Mapped[SessionState] = mapped_column(str_enum(SessionState), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    participants: Mapped[list[RemoteParticipant]] = relationship(
        lazy="raise", order_by="RemoteParticipant.id"
    )
    invites: Mapped[list[RemoteInvite]] = relationship(lazy="raise", order_by="RemoteInvite.id")


class RemoteInvite(Base):
    __tablename__ = "remote_invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("remote_sessions.id", ondelete="CASCADE"), index=True
    )
    # SHA-256 of the 256-bit token: the link is shown once and a leaked table admits nobody.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    contact_name: Mapped[str] = mapped_column(String(64))
    created_by_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Bound at the first join: the invite admits exactly one device (which may rejoin).
    device_id: Mapped[str | None] = mapped_column(String(64))


class RemoteParticipant(Base):
    __tablename__ = "remote_participants"
    # One participant per staff user and per invite in a session: rejoining resumes it.
    __table_args__ = (
        UniqueConstraint("session_id", "user_id", name="uq_remote_participants_session_user"),
        UniqueConstraint("session_id", "invite_id", name="uq_remote_participants_session_invite"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("remote_sessions.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[ParticipantKind] = mapped_column(str_enum(ParticipantKind))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    invite_id: Mapped[int | None] = mapped_column(ForeignKey("remote_invites.id"), index=True)
    display_name: Mapped[str] = mapped_column(String(64))
    device_id: Mapped[str] = mapped_column(String(64), default="")
    # Incremented at every (re)connection; a hold timer only expires the generation it saw.
    generation: Mapped[int] = mapped_column(Integer, default=1)
    connected: Mapped[bool] = mapped_column(Boolean, default=True)
    # What it last said it sends (set_media: audio, video, facing), for joiners on any node.
    media: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    events: Mapped[list[RemoteParticipantEvent]] = relationship(
        lazy="raise", order_by="RemoteParticipantEvent.id"
    )


class RemoteParticipantEvent(Base):
    __tablename__ = "remote_participant_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("remote_participants.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    event: Mapped[ParticipantEventKind] = mapped_column(str_enum(ParticipantEventKind))
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")
