"""Inspections (现场检查 / 企业自检 / 远程巡检): a checklist version filled in for one checkpoint,
its evidence (照片/视频/录音), its reviews, and the invite links of self-checks."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from inspection_api.db import Base, UTCDateTime, str_enum, utcnow


class InspectionKind(StrEnum):
    ON_SITE = "on_site"  # 现场检查: bank staff at the site (QR + GPS)
    SELF_CHECK = "self_check"  # 企业自检: the enterprise contact at the site, by invite
    REMOTE = "remote"  # 远程巡检: bank staff over a video call


class InspectionState(StrEnum):
    DRAFT = "draft"  # 进行中
    SUBMITTED = "submitted"  # 已提交 (again after a return: submission_count > 1)
    APPROVED = "approved"  # 已通过
    RETURNED = "returned"  # 已退回: the inspector edits and submits again


class ReviewDecision(StrEnum):
    APPROVED = "approved"
    RETURNED = "returned"


KIND_LABELS: dict[InspectionKind, tuple[str, str]] = {
    InspectionKind.ON_SITE: ("现场检查", "on-site inspection"),
    InspectionKind.SELF_CHECK: ("企业自检", "self-check"),
    InspectionKind.REMOTE: ("远程巡检", "remote inspection"),
}
STATE_LABELS: dict[InspectionState, tuple[str, str]] = {
    InspectionState.DRAFT: ("进行中", "in progress"),
    InspectionState.SUBMITTED: ("已提交", "submitted"),
    InspectionState.APPROVED: ("已通过", "approved"),
    InspectionState.RETURNED: ("已退回", "returned"),
}
# The inspector may change answers and evidence only in these states.
EDITABLE_STATES = frozenset({InspectionState.DRAFT, InspectionState.RETURNED})


class Inspection(Base):
    __tablename__ = "inspections"
    __table_args__ = (
        # 实时监管: inspections submitted in a window, org by org (details, conclusions).
        Index("ix_inspections_org_submitted", "org_id", "submitted_at", "kind", "conclusion"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[InspectionKind] = mapped_column(str_enum(InspectionKind), index=True)
    state: Mapped[InspectionState] = mapped_column(str_enum(InspectionState), index=True)
    checkpoint_id: Mapped[int] = mapped_column(ForeignKey("checkpoints.id"), index=True)
    # The checkpoint's 支行 when the inspection started: the jurisdiction it belongs to.
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)
    # Bank staff who run it; None for a self-check, whose contact is named instead.
    inspector_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    contact_name: Mapped[str] = mapped_column(String(64), default="")
    # The form it is filled against, kept from the start (later versions do not apply).
    checklist_version_id: Mapped[int] = mapped_column(ForeignKey("checklist_versions.id"))
    remote_session_id: Mapped[int | None] = mapped_column(
        ForeignKey("remote_sessions.id"), unique=True
    )
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # The check-in that placed the phone at the checkpoint (on-site and self-check).
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checkin_outcome: Mapped[str | None] = mapped_column(String(16))  # bound | verified
    checkin_latitude: Mapped[float | None] = mapped_column(Float)
    checkin_longitude: Mapped[float | None] = mapped_column(Float)
    checkin_accuracy_m: Mapped[float | None] = mapped_column(Float)
    checkin_distance_m: Mapped[float | None] = mapped_column(Float)
    # The fresh fix sent with the (latest) submission.
    submit_latitude: Mapped[float | None] = mapped_column(Float)
    submit_longitude: Mapped[float | None] = mapped_column(Float)
    submit_accuracy_m: Mapped[float | None] = mapped_column(Float)
    submit_distance_m: Mapped[float | None] = mapped_column(Float)
    radius_m: Mapped[int | None] = mapped_column(Integer)  # the radius that applied
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Anomalies the inspector flagged by hand: [{"item_key": …, "note": …}]
    flags: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Computed at submission: anomaly rules that fired plus the flags (see rules.Finding).
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    conclusion: Mapped[str | None] = mapped_column(String(16), index=True)
    rectification_opinion: Mapped[str] = mapped_column(Text, default="")  # 整改意见
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    submission_count: Mapped[int] = mapped_column(Integer, default=0)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    review_comment: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Offline inspections (离线检查), made on the phone and synced later (inspections/sync.py).
    # The phone's UUID makes every sync of it land on this one row.
    client_uuid: Mapped[str | None] = mapped_column(String(36), unique=True)
    offline: Mapped[bool] = mapped_column(Boolean, default=False)
    device_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # phone's clock
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # first sync, server's
    # The phone's clock minus the server's at the sync; flagged past the tolerance.
    clock_offset_seconds: Mapped[float | None] = mapped_column(Float)
    clock_flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    # From the phone's submission to the server receiving it (离线提交 … later).
    sync_delay_seconds: Mapped[float | None] = mapped_column(Float)


class CheckIn(Base):
    """One check-in of an inspection at its checkpoint: the start, each rescan that resumed
    it (after 重置GPS a rescan binds the position anew), a self-check's contact arriving."""

    __tablename__ = "inspection_check_ins"

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(
        ForeignKey("inspections.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(16))  # bound: this fix became the position
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    accuracy_m: Mapped[float] = mapped_column(Float)
    distance_m: Mapped[float] = mapped_column(Float)  # from the position (0 when it bound it)
    radius_m: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(String(64), default="")  # a self-check's contact


class Evidence(Base):
    """One photo, video or audio clip for an item, with where, when and by whom it was made."""

    __tablename__ = "inspection_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(
        ForeignKey("inspections.id", ondelete="CASCADE"), index=True
    )
    item_key: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(8))  # photo | video | audio
    object_key: Mapped[str] = mapped_column(String(200), unique=True)
    mime_type: Mapped[str] = mapped_column(String(32))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    captured_at: Mapped[datetime] = mapped_column(UTCDateTime)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    distance_m: Mapped[float | None] = mapped_column(Float)
    # Remote snapshots: seconds from the call's start (remote_sessions.started_at).
    recording_offset_seconds: Mapped[float | None] = mapped_column(Float)
    uploaded_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploader_name: Mapped[str] = mapped_column(String(64), default="")
    device_id: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Removed by the inspector while editing: kept (and its object) for the audit trail.
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The phone's UUID of the capture: a file synced twice is one row.
    client_uuid: Mapped[str | None] = mapped_column(String(36), unique=True)


class Review(Base):
    """One decision of a reviewer (审核人) on one submission."""

    __tablename__ = "inspection_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(
        ForeignKey("inspections.id", ondelete="CASCADE"), index=True
    )
    submission: Mapped[int] = mapped_column(Integer)  # which submission it decided (1, 2, …)
    decision: Mapped[ReviewDecision] = mapped_column(str_enum(ReviewDecision))
    comment: Mapped[str] = mapped_column(String(1000), default="")
    reviewer_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewer_name: Mapped[str] = mapped_column(String(64), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SelfCheckInvite(Base):
    """The link an enterprise contact fills a self-check with; one device, until it expires."""

    __tablename__ = "self_check_invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(
        ForeignKey("inspections.id", ondelete="CASCADE"), index=True
    )
    # SHA-256 of the 256-bit token: the link is shown once and a leaked table admits nobody.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    contact_name: Mapped[str] = mapped_column(String(64))
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    device_id: Mapped[str | None] = mapped_column(String(64))  # bound at the first use
