"""The briefing sheet (明白纸) of an inspection: its print window and lock, the opinions of
the managers above (上级管理条线意见) and the unlock requests (申请解锁 / 解锁审批)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from inspection_api.db import Base, UTCDateTime, str_enum, utcnow


class UnlockState(StrEnum):
    PENDING = "pending"  # 待审批
    APPROVED = "approved"  # 已同意: the print window is open again
    REFUSED = "refused"  # 已拒绝


UNLOCK_STATE_LABELS: dict[UnlockState, tuple[str, str]] = {
    UnlockState.PENDING: ("待审批", "pending"),
    UnlockState.APPROVED: ("已同意", "approved"),
    UnlockState.REFUSED: ("已拒绝", "refused"),
}


class BriefingSheet(Base):
    """One per submitted inspection: when its sheet must be printed by, and what happened.

    The lock is not a stored flag: the sheet is locked while it has not been printed in its
    current window and the clock is past ``print_deadline`` (``rules.is_locked``)."""

    __tablename__ = "briefing_sheets"

    inspection_id: Mapped[int] = mapped_column(
        ForeignKey("inspections.id", ondelete="CASCADE"), primary_key=True
    )
    # End of the current print window (the first submission + LOANCHECK_SHEET_PRINT_HOURS,
    # or an approved unlock + LOANCHECK_SHEET_UNLOCK_HOURS); inclusive.
    print_deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    # Printed inside the current window: the sheet never locks after that.
    printed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_printed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    print_count: Mapped[int] = mapped_column(Integer, default=0)
    unlock_count: Mapped[int] = mapped_column(Integer, default=0)
    last_unlocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_unlocked_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SupervisorOpinion(Base):
    """上级管理条线意见: written by a manager above the inspector, never by the inspector.
    Rows are never changed: a new opinion is a new row."""

    __tablename__ = "supervisor_opinions"

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(
        ForeignKey("inspections.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(Text)
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    author_name: Mapped[str] = mapped_column(String(64))
    author_org_id: Mapped[int | None] = mapped_column(ForeignKey("orgs.id"))
    author_org_name: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UnlockRequest(Base):
    """申请解锁: the reason, who asked, the org whose administrators decide, the decision."""

    __tablename__ = "sheet_unlock_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(
        ForeignKey("inspections.id", ondelete="CASCADE"), index=True
    )
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)  # the inspection's
    approver_org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)
    state: Mapped[UnlockState] = mapped_column(str_enum(UnlockState), index=True)
    reason: Mapped[str] = mapped_column(String(500))
    requested_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    requester_name: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    decider_name: Mapped[str] = mapped_column(String(64), default="")
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    comment: Mapped[str] = mapped_column(String(500), default="")
    # For an approval: the end of the print window it opened.
    reopened_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
