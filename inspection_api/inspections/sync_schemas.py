"""Request and response shapes of the offline sync (``sync.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field

from inspection_api.checklists.content import KEY_MAX, KEY_PATTERN, EvidenceKind
from inspection_api.checkpoints.schemas import FixIn
from inspection_api.inspections.schemas import FlagIn
from inspection_api.schemas import Input, Output

BATCH_MAX = 20
CAPTURES_MAX = 100


class OfflineCaptureIn(Input):
    client_uuid: UUID = Field(description="the phone's UUID of this capture")
    item_key: str = Field(pattern=KEY_PATTERN, max_length=KEY_MAX)
    kind: EvidenceKind = Field(description="photo 照片 / video 视频 / audio 录音")
    upload_id: str = Field(pattern=r"^[0-9a-f]{32}$", description="its tus upload")
    sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$", description="computed on the phone")
    captured_at: AwareDatetime = Field(description="the phone's clock")
    fix: FixIn = Field(description="the GPS fix at the capture")


class OfflineSubmitIn(Input):
    fix: FixIn
    submitted_at: AwareDatetime = Field(description="when the inspector pressed 提交 (phone)")


class OfflineInspectionIn(Input):
    client_uuid: UUID = Field(description="the phone's UUID of this inspection")
    qr: str = Field(min_length=1, max_length=500, description="the scanned label, unverified")
    scan_fix: FixIn = Field(description="the GPS fix at the scan")
    started_at: AwareDatetime = Field(description="the scan, on the phone's clock")
    template_id: int | None = None
    checklist_version_id: int | None = Field(default=None, description="the form filled in")
    answers: dict[str, Any] = Field(default_factory=dict)
    flags: list[FlagIn] = Field(default_factory=list, max_length=200)
    evidence: list[OfflineCaptureIn] = Field(default_factory=list, max_length=CAPTURES_MAX)
    submit: OfflineSubmitIn | None = Field(default=None, description="absent: not submitted")


class SyncIn(Input):
    sent_at: AwareDatetime = Field(description="the phone's clock when it sent this batch")
    device_id: str = Field(min_length=1, max_length=64)
    inspections: list[OfflineInspectionIn] = Field(min_length=1, max_length=BATCH_MAX)


class SelfCheckInspectionIn(OfflineInspectionIn):
    """A self-check's record: the link fixes the checkpoint and the form
    (``template_id`` and ``checklist_version_id`` are not read); a scanned label is optional
    and, when sent, must be that checkpoint's."""

    qr: str | None = Field(  # type: ignore[assignment]
        default=None, min_length=1, max_length=500, description="the scanned label, if any"
    )


class SelfCheckSyncIn(Input):
    sent_at: AwareDatetime = Field(description="the phone's clock when it sent this record")
    device_id: str = Field(min_length=1, max_length=64)
    inspections: list[SelfCheckInspectionIn] = Field(
        min_length=1, max_length=1, description="the link's one self-check"
    )


class ProblemOut(Output):
    status: int
    code: str
    detail: str
    extra: dict[str, Any] = Field(default_factory=dict)


class CaptureSyncOut(Output):
    client_uuid: str
    status: Literal["attached", "waiting", "refused"] = Field(
        description="attached 已入库 / waiting 文件未传完 / refused 被拒（见 problem）"
    )
    evidence_id: int | None
    problem: ProblemOut | None


class InspectionSyncOut(Output):
    client_uuid: str
    status: Literal["submitted", "saved", "refused"] = Field(
        description="submitted 已提交 / saved 已保存未提交 / refused 被拒（见 problem）"
    )
    inspection_id: int | None
    evidence: list[CaptureSyncOut]
    problem: ProblemOut | None


class SyncOut(Output):
    received_at: datetime
    clock_offset_seconds: float = Field(description="the phone's clock minus the server's")
    clock_flagged: bool = Field(description="off by more than the tolerance (60 s)")
    results: list[InspectionSyncOut]
