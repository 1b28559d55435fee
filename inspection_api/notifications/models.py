"""The personal inbox (消息): one row per user and event worth telling them about."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from inspection_api.db import Base, UTCDateTime, utcnow


class NotificationKind(StrEnum):
    ANOMALY_RAISED = "anomaly_raised"  # 新异常 (to the handlers it is assigned to)
    ANOMALY_ESCALATED = "anomaly_escalated"  # 异常上报 (to the handlers above)
    ANOMALY_REASSIGNED = "anomaly_reassigned"  # 异常转派
    ANOMALY_OVERDUE = "anomaly_overdue"  # past the deadline, nobody above to escalate to
    RECTIFICATION_REPLIED = "rectification_replied"  # 整改反馈 (to the responsible user)
    SHEET_UNLOCK_REQUESTED = "sheet_unlock_requested"  # 明白纸申请解锁 (to the approvers)
    SHEET_UNLOCK_DECIDED = "sheet_unlock_decided"  # 解锁已同意/已拒绝 (to who asked)


class Notification(Base):
    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[NotificationKind] = mapped_column(
        Enum(
            NotificationKind,
            native_enum=False,
            length=32,
            values_callable=lambda e: [k.value for k in e],
        )
    )
    # Rendered once, in zh-CN (the console's language); `kind` and the ids carry the meaning.
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(String(500), default="")
    anomaly_id: Mapped[int | None] = mapped_column(
        ForeignKey("anomalies.id", ondelete="CASCADE"), index=True
    )
    rectification_id: Mapped[int | None] = mapped_column(
        ForeignKey("rectifications.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
