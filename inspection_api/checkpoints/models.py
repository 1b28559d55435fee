"""Checkpoints (检查点): the inspected sites of a 支行, with their QR label and GPS position."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Date, Float, ForeignKey, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from inspection_api.db import Base, UTCDateTime, str_enum, utcnow


class LoanClassification(StrEnum):
    """五级分类, the regulatory five-tier loan grade."""

    PASS = "pass"  # 正常
    SPECIAL_MENTION = "special_mention"  # 关注
    SUBSTANDARD = "substandard"  # 次级
    DOUBTFUL = "doubtful"  # 可疑
    LOSS = "loss"  # 损失


CLASSIFICATION_LABELS: dict[LoanClassification, str] = {
    LoanClassification.PASS: "正常",
    LoanClassification.SPECIAL_MENTION: "关注",
    LoanClassification.SUBSTANDARD: "次级",
    LoanClassification.DOUBTFUL: "可疑",
    LoanClassification.LOSS: "损失",
}


class ExitReason(StrEnum):
    """Why a checkpoint is an exit point (退出点), no longer under regular inspection."""

    EXITED = "exited"  # 已退出
    WRITTEN_OFF = "written_off"  # 已核销
    SETTLED = "settled"  # 已结清
    DISCOUNT_ONLY = "discount_only"  # 纯贴现用户


EXIT_REASON_LABELS: dict[ExitReason, tuple[str, str]] = {
    ExitReason.EXITED: ("已退出", "exited"),
    ExitReason.WRITTEN_OFF: ("已核销", "written off"),
    ExitReason.SETTLED: ("已结清", "settled"),
    ExitReason.DISCOUNT_ONLY: ("纯贴现用户", "discount only"),
}


class CheckpointStatus(StrEnum):
    ACTIVE = "active"  # 在检
    EXITED = "exited"  # 退出点 (any exit reason)


class Checkpoint(Base):
    __tablename__ = "checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)  # a 支行
    name: Mapped[str] = mapped_column(String(100))
    # Printed on the label next to the QR code; unique bank-wide.
    code: Mapped[str] = mapped_column(String(32), unique=True)
    customer_name: Mapped[str] = mapped_column(String(100), index=True)  # enterprise / borrower
    loan_amount: Mapped[Decimal | None] = mapped_column(Numeric(15, 2))  # yuan
    loan_date: Mapped[date | None] = mapped_column(Date)  # 放款日期
    maturity_date: Mapped[date | None] = mapped_column(Date)  # 到期日
    classification: Mapped[LoanClassification | None] = mapped_column(str_enum(LoanClassification))
    address: Mapped[str] = mapped_column(String(200), default="")
    contact_name: Mapped[str] = mapped_column(String(64), default="")
    contact_phone: Mapped[str] = mapped_column(String(32), default="")

    # GPS默认位置 (WGS-84): bound by the first on-site check-in, cleared by 重置GPS.
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    bound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    bound_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    # 误差范围 in metres; NULL = the global default (LOANCHECK_CHECKPOINT_RADIUS_METERS).
    radius_m: Mapped[int | None] = mapped_column(Integer)
    last_checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # 退出点: set while the checkpoint is exited; reinstating clears all four.
    exit_reason: Mapped[ExitReason | None] = mapped_column(str_enum(ExitReason), index=True)
    exit_date: Mapped[date | None] = mapped_column(Date)
    exit_note: Mapped[str] = mapped_column(String(500), default="")
    exited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Labels carry this number: regenerating the QR code increments it, retiring old labels.
    qr_generation: Mapped[int] = mapped_column(Integer, default=1)

    created_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def status(self) -> CheckpointStatus:
        return CheckpointStatus.ACTIVE if self.exit_reason is None else CheckpointStatus.EXITED

    @property
    def is_bound(self) -> bool:
        return self.latitude is not None and self.longitude is not None
