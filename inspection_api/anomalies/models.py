"""Anomalies (异常): inspection findings that need handling, and what happened to each."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inspection_api.checklists.content import Severity
from inspection_api.db import Base, UTCDateTime, str_enum, utcnow


class AnomalyState(StrEnum):
    OPEN = "open"  # 待处理
    ACKNOWLEDGED = "acknowledged"  # 处理中 (受理)
    RESOLVED = "resolved"  # 已处理


STATE_LABELS: dict[AnomalyState, tuple[str, str]] = {
    AnomalyState.OPEN: ("待处理", "open"),
    AnomalyState.ACKNOWLEDGED: ("处理中", "acknowledged"),
    AnomalyState.RESOLVED: ("已处理", "resolved"),
}


class AnomalySource(StrEnum):
    RULE = "rule"  # a checklist anomaly rule fired at submit (预警指标)
    INSPECTOR = "inspector"  # flagged by the inspector


class AnomalyEventKind(StrEnum):
    RAISED = "raised"  # 发现异常
    ACKNOWLEDGED = "acknowledged"  # 受理
    RESOLVED = "resolved"  # 处理完成
    REASSIGNED = "reassigned"  # 转派
    ESCALATED = "escalated"  # 超期上报 to the handler above
    OVERDUE = "overdue"  # past the deadline with no handler above to escalate to


class Anomaly(Base):
    __tablename__ = "anomalies"
    __table_args__ = (
        Index("ix_anomalies_org_created", "org_id", "created_at"),  # 实时监管: by window
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)  # the checkpoint's 支行
    checkpoint_id: Mapped[int] = mapped_column(ForeignKey("checkpoints.id"), index=True)
    # A plain integer for now: the foreign key to inspections.id comes with that table.
    inspection_id: Mapped[int | None] = mapped_column(ForeignKey("inspections.id"), index=True)
    item_key: Mapped[str] = mapped_column(String(40), default="")  # empty: not about one item
    item_label: Mapped[str] = mapped_column(String(200), default="")
    section: Mapped[str] = mapped_column(String(100), default="")
    indicator: Mapped[str] = mapped_column(String(100))  # 预警指标, e.g. 他行授信逾期
    severity: Mapped[Severity] = mapped_column(str_enum(Severity), index=True)
    answer: Mapped[Any] = mapped_column(JSON, nullable=True)
    source: Mapped[AnomalySource] = mapped_column(str_enum(AnomalySource))
    note: Mapped[str] = mapped_column(String(1000), default="")
    state: Mapped[AnomalyState] = mapped_column(str_enum(AnomalyState), index=True)

    # Whose handlers it is routed to: the nearest org at or above the 支行 with an exception
    # handler (NULL: none anywhere), later the one escalated or reassigned to.
    handler_org_id: Mapped[int | None] = mapped_column(ForeignKey("orgs.id"), index=True)
    # While open: when it is escalated. NULL once nobody above is left to escalate to.
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)  # > 0: 已上报
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    raised_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    resolution: Mapped[str] = mapped_column(String(2000), default="")  # 处理结果
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    events: Mapped[list[AnomalyEvent]] = relationship(lazy="raise", order_by="AnomalyEvent.id")


class AnomalyEvent(Base):
    """One step in an anomaly's history (处理记录): who, when, from which org to which."""

    __tablename__ = "anomaly_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    anomaly_id: Mapped[int] = mapped_column(
        ForeignKey("anomalies.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[AnomalyEventKind] = mapped_column(str_enum(AnomalyEventKind))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_name: Mapped[str] = mapped_column(String(64), default="")  # empty: the platform
    from_org_id: Mapped[int | None] = mapped_column(ForeignKey("orgs.id"))
    to_org_id: Mapped[int | None] = mapped_column(ForeignKey("orgs.id"))
    comment: Mapped[str] = mapped_column(String(2000), default="")
