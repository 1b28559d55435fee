"""Rectifications (整改意见): what an enterprise must fix by when, the contact's replies with
photos (through a tokenized link), and the bank's verdict — every step kept."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from inspection_api.db import Base, UTCDateTime, str_enum, utcnow


class RectificationState(StrEnum):
    ISSUED = "issued"  # 已下发
    REPLIED = "replied"  # 已反馈 (the bank verifies)
    CLOSED = "closed"  # 已关闭
    REOPENED = "reopened"  # 重新整改 (the contact replies again)


STATE_LABELS: dict[RectificationState, tuple[str, str]] = {
    RectificationState.ISSUED: ("已下发", "issued"),
    RectificationState.REPLIED: ("已反馈", "replied"),
    RectificationState.CLOSED: ("已关闭", "closed"),
    RectificationState.REOPENED: ("重新整改", "reopened"),
}


class RectificationEventKind(StrEnum):
    ISSUED = "issued"  # 下发
    REPLIED = "replied"  # 企业反馈 (with photos)
    CLOSED = "closed"  # 验证通过，关闭
    REOPENED = "reopened"  # 验证不通过，重新整改
    LINK_RENEWED = "link_renewed"  # 重新生成反馈链接


class Rectification(Base):
    __tablename__ = "rectifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)  # the checkpoint's 支行
    checkpoint_id: Mapped[int] = mapped_column(ForeignKey("checkpoints.id"), index=True)
    anomaly_id: Mapped[int | None] = mapped_column(ForeignKey("anomalies.id"), index=True)
    # A plain integer for now: the foreign key to inspections.id comes with that table.
    inspection_id: Mapped[int | None] = mapped_column(ForeignKey("inspections.id"), index=True)
    text: Mapped[str] = mapped_column(String(2000))  # 整改意见
    due_date: Mapped[date] = mapped_column(Date, index=True)  # 整改期限 (a day in China)
    contact_name: Mapped[str] = mapped_column(String(64))  # 企业联系人
    contact_phone: Mapped[str] = mapped_column(String(32), default="")
    responsible_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    state: Mapped[RectificationState] = mapped_column(str_enum(RectificationState), index=True)
    # SHA-256 of the contact's 256-bit link token: shown once, a leaked table admits nobody.
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    link_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the latest reply
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class RectificationEvent(Base):
    """One step of a rectification's history: who (a bank user, or the contact by name),
    when, and what they wrote."""

    __tablename__ = "rectification_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    rectification_id: Mapped[int] = mapped_column(
        ForeignKey("rectifications.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[RectificationEventKind] = mapped_column(str_enum(RectificationEventKind))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_name: Mapped[str] = mapped_column(String(64), default="")
    comment: Mapped[str] = mapped_column(String(2000), default="")  # the opinion, reply or verdict
    due_date: Mapped[date | None] = mapped_column(Date)  # the due date it set (issue, reopen)


class RectificationPhoto(Base):
    """A photo the contact attached to a reply, in the object store."""

    __tablename__ = "rectification_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    rectification_id: Mapped[int] = mapped_column(
        ForeignKey("rectifications.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[int] = mapped_column(
        ForeignKey("rectification_events.id", ondelete="CASCADE"), index=True
    )
    object_key: Mapped[str] = mapped_column(String(300))  # rectifications/<id>/<sha256>.<ext>
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(32))  # sniffed from the bytes
    filename: Mapped[str] = mapped_column(String(200), default="")  # as the phone named it
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
