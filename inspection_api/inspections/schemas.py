from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, Field, model_validator

from inspection_api.checklists.content import KEY_MAX, KEY_PATTERN, EvidenceKind
from inspection_api.checklists.schemas import ChecklistVersionOut
from inspection_api.checkpoints.schemas import CheckInResultOut, FixIn
from inspection_api.inspections.models import InspectionKind, InspectionState, ReviewDecision
from inspection_api.inspections.rules import FLAG_NOTE_MAX
from inspection_api.inspections.selfcheck import (
    INVITE_MINUTES_DEFAULT,
    INVITE_MINUTES_MAX,
    INVITE_MINUTES_MIN,
)
from inspection_api.schemas import Input, Output, Page, PagedQuery

KIND_HELP = "on_site 现场检查 / self_check 企业自检 / remote 远程巡检"
STATE_HELP = "draft 进行中 / submitted 已提交 / approved 已通过 / returned 已退回"
OPINION_MAX = 5000


# ---- requests ----


class OnSiteStartIn(Input):
    qr: str = Field(min_length=1, max_length=500, description="label URL or its payload")
    fix: FixIn
    template_id: int | None = Field(default=None, description="default: the 明白纸 of the province")


class RemoteStartIn(Input):
    remote_session_id: int
    checkpoint_id: int | None = Field(
        default=None,
        description="the enterprise's checkpoint (default: the one the session was opened for)",
    )
    template_id: int | None = None


class SelfCheckCreate(Input):
    checkpoint_id: int
    contact_name: str = Field(min_length=1, max_length=64, description="企业联系人姓名")
    expires_in_minutes: int = Field(
        default=INVITE_MINUTES_DEFAULT,
        ge=INVITE_MINUTES_MIN,
        le=INVITE_MINUTES_MAX,
        description="链接有效期（分钟）",
    )
    template_id: int | None = None


class FlagIn(Input):
    """An anomaly the inspector flags on an item by hand (检查人员标记)."""

    item_key: str = Field(pattern=KEY_PATTERN, max_length=KEY_MAX)
    note: str = Field(min_length=1, max_length=FLAG_NOTE_MAX, description="what is wrong")


class InspectionUpdate(Input):
    """Only the fields sent change. ``answers`` is merged item by item: each key sent
    replaces that item's answer, ``null`` clears it, keys not sent stay. Answers may be
    incomplete (submitting checks them fully); an invalid one is refused on its own while
    the valid ones are stored. ``flags`` replaces the list."""

    answers: dict[str, Any] | None = Field(
        default=None,
        description="by item key; each key sent replaces that answer, null clears it",
    )
    flags: list[FlagIn] | None = Field(default=None, max_length=200)
    rectification_opinion: str | None = Field(
        default=None, max_length=OPINION_MAX, description="整改意见 (remote inspections)"
    )

    def changes(self) -> dict[str, Any]:
        changed: dict[str, Any] = {}
        for name in self.model_fields_set:
            value = getattr(self, name)
            if name == "flags":
                value = [flag.model_dump() for flag in value or []]
            elif name == "answers":
                value = value or {}
            elif name == "rectification_opinion":
                value = value or ""
            changed[name] = value
        return changed


class ContactUpdate(InspectionUpdate):
    """What an enterprise contact may change of a self-check (not the 整改意见)."""

    @model_validator(mode="after")
    def _no_opinion(self) -> ContactUpdate:
        if "rectification_opinion" in self.model_fields_set:
            raise ValueError("整改意见由银行填写 (rectification_opinion is the bank's)")
        return self


class SubmitIn(Input):
    fix: FixIn | None = Field(
        default=None, description="a current fix; required on site and for self-checks"
    )


class FixOnlyIn(Input):
    fix: FixIn


class ApproveIn(Input):
    comment: str = Field(default="", max_length=1000, description="审核意见")


class ReturnIn(Input):
    comment: str = Field(min_length=1, max_length=1000, description="退回原因（必填）")


class InspectionQuery(PagedQuery):
    state: InspectionState | None = Field(default=None, description=STATE_HELP)
    kind: InspectionKind | None = Field(default=None, description=KIND_HELP)
    org_id: int | None = Field(default=None, description="this org and its descendants")
    checkpoint_id: int | None = None
    remote_session_id: int | None = None
    inspector_user_id: int | None = None


class EvidenceQuery(Input):
    """What the phone says about the file in the request body (raw bytes, its MIME type in
    Content-Type). The fix fields come together: on site and for self-checks they are
    required."""

    item_key: str = Field(pattern=KEY_PATTERN, max_length=KEY_MAX)
    kind: EvidenceKind = Field(description="photo 照片 / video 视频 / audio 录音")
    sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$", description="SHA-256 of the body, hex")
    captured_at: AwareDatetime = Field(description="when it was captured, ISO 8601 with zone")
    device_id: str = Field(min_length=1, max_length=64)
    latitude: float | None = Field(default=None, ge=-90, le=90, allow_inf_nan=False)
    longitude: float | None = Field(default=None, ge=-180, le=180, allow_inf_nan=False)
    accuracy: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    fix_captured_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _whole_fix(self) -> EvidenceQuery:
        parts = (self.latitude, self.longitude, self.accuracy, self.fix_captured_at)
        if any(p is not None for p in parts) and any(p is None for p in parts):
            raise ValueError(
                "纬度、经度、定位精度、定位时间须同时提供 (send all four fix fields or none)"
            )
        return self


class EvidenceFromUploadIn(Input):
    """A live capture already sent by resumable upload (``/api/v1/uploads``), to attach to
    an item: what the phone says about it, as for a raw upload."""

    upload_id: str = Field(pattern=r"^[0-9a-f]{32}$", description="the tus upload's id")
    item_key: str = Field(pattern=KEY_PATTERN, max_length=KEY_MAX)
    kind: EvidenceKind = Field(description="photo 照片 / video 视频 / audio 录音")
    sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$", description="SHA-256 of the file, hex")
    captured_at: AwareDatetime = Field(description="when it was captured, ISO 8601 with zone")
    device_id: str = Field(min_length=1, max_length=64)
    fix: FixIn | None = Field(default=None, description="the fix of the capture (on site)")


# ---- responses ----


class InspectionOut(Output):
    id: int
    kind: InspectionKind = Field(description=KIND_HELP)
    state: InspectionState = Field(description=STATE_HELP)
    checkpoint_id: int
    checkpoint_name: str
    checkpoint_code: str
    customer_name: str
    org_id: int
    org_name: str
    inspector_user_id: int | None
    inspector_name: str = Field(description="the inspector, or the contact of a self-check")
    contact_name: str
    checklist_version_id: int
    remote_session_id: int | None
    started_at: datetime
    submitted_at: datetime | None
    submission_count: int = Field(description="submissions so far (2+: resubmitted)")
    conclusion: str | None = Field(description="normal / watch / close_watch / exit")
    findings_count: int
    reviewed_at: datetime | None
    updated_at: datetime
    offline: bool = Field(description="made on the phone without network (离线检查), synced later")
    device_started_at: datetime | None = Field(description="the scan, on the phone's clock")
    received_at: datetime | None = Field(description="when the server first received it")
    clock_offset_seconds: float | None = Field(
        description="the phone's clock minus the server's at the sync"
    )
    clock_flagged: bool = Field(description="the phone's clock was off by more than 60 s")
    sync_delay_seconds: float | None = Field(
        description="from the phone's submission to its sync (离线提交)"
    )


class InspectionPage(Page[InspectionOut]):
    """A page of inspections."""


class FlagOut(Output):
    item_key: str
    note: str


class FindingOut(Output):
    item_key: str
    item_label: str
    section: str
    source: Literal["rule", "inspector"]
    indicator: str
    severity: str | None
    answer: Any
    note: str


class PlaceOut(Output):
    """Where the phone was: a fix and its distance from the checkpoint's position."""

    at: datetime | None
    latitude: float
    longitude: float
    accuracy_m: float | None
    distance_m: float | None
    outcome: str | None = Field(default=None, description="check-in: bound / verified")


class CheckInOut(Output):
    """One check-in of the inspection at its checkpoint (签到记录)."""

    at: datetime
    outcome: str = Field(
        description="bound: the fix became the position (GPS默认位置); verified: within radius"
    )
    bound_position: bool = Field(description="this check-in (re-)bound the checkpoint's position")
    latitude: float
    longitude: float
    accuracy_m: float
    distance_m: float = Field(
        description="from the checkpoint's position then, whole metres (0 when it bound it)"
    )
    radius_m: int
    by_name: str = Field(description="who checked in: the inspector or the self-check's contact")


class CheckpointBriefOut(Output):
    id: int
    name: str
    code: str
    customer_name: str
    address: str
    latitude: float | None
    longitude: float | None
    effective_radius_m: int


class EvidenceOut(Output):
    id: int
    item_key: str
    kind: EvidenceKind
    mime_type: str
    size_bytes: int
    sha256: str
    captured_at: datetime
    latitude: float | None
    longitude: float | None
    accuracy_m: float | None
    distance_m: float | None
    recording_offset_seconds: float | None
    uploader_name: str
    device_id: str
    created_at: datetime
    url: str = Field(description="signed URL, valid for an hour")


class MissingOut(Output):
    item_key: str
    item_label: str
    kind: EvidenceKind
    required: int
    present: int
    missing: int


class ReviewOut(Output):
    id: int
    submission: int
    decision: ReviewDecision
    comment: str
    reviewer_user_id: int | None
    reviewer_name: str
    at: datetime


class RemoteBriefOut(Output):
    id: int
    title: str
    state: str
    started_at: datetime | None
    ended_at: datetime | None
    replay_url: str = Field(description="the call's recording (回放)")


class InviteOut(Output):
    id: int
    contact_name: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    status: Literal["valid", "expired", "revoked"]
    device_bound: bool


class InspectionDetailOut(InspectionOut):
    answers: dict[str, Any]
    flags: list[FlagOut]
    findings: list[FindingOut] = Field(description="stored at the latest submission")
    rectification_opinion: str
    review_comment: str
    radius_m: int | None
    check_in: PlaceOut | None
    check_ins: list[CheckInOut] = Field(
        description="every check-in, oldest first: the start, each rescan (after 重置GPS "
        "one re-binds the position)"
    )
    submit_fix: PlaceOut | None
    checkpoint: CheckpointBriefOut
    checklist: ChecklistVersionOut
    evidence: list[EvidenceOut]
    missing_evidence: list[MissingOut] = Field(description="what submitting would still need")
    reviews: list[ReviewOut]
    remote_session: RemoteBriefOut | None
    invites: list[InviteOut]
    can_edit: bool
    can_review: bool
    link_expires_at: datetime | None = Field(
        default=None,
        description="to a self-check's contact only: when the link stops admitting anything "
        "(a self-check made offline must be synced before it)",
    )


class OnSiteStartOut(Output):
    inspection: InspectionDetailOut
    check_in: CheckInResultOut
    resumed: bool = Field(description="an inspection in progress here was resumed")


class SelfCheckCreatedOut(Output):
    inspection: InspectionOut
    url: str = Field(description="the self-check link; shown once, only its digest is stored")
    token: str
    qr_svg: str
    expires_at: datetime
