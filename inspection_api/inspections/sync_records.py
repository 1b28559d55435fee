"""What an offline sync carries and answers: the phone's inspections and captures as
received, each one's outcome, and the receipt that measures the phone's clock.

Pure data and the clock rule (no IO): ``sync`` (staff) and ``selfcheck_sync`` (a self-check
link) both take these in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from inspection_api.checkpoints import geo
from inspection_api.errors import InspectionError

# A phone clock off by more than this from the server's is flagged on the record.
CLOCK_TOLERANCE = timedelta(seconds=60)
# Phone times are compared with each other with the skew evidence already allows.
SKEW = timedelta(seconds=60)


@dataclass(frozen=True)
class OfflineCapture:
    client_uuid: str
    item_key: str
    kind: Any  # EvidenceKind
    upload_id: str
    sha256: str
    captured_at: datetime
    fix: geo.Fix


@dataclass(frozen=True)
class OfflineInspection:
    client_uuid: str
    qr: str
    scan_fix: geo.Fix
    started_at: datetime  # the phone's clock, at the scan
    template_id: int | None
    checklist_version_id: int | None  # the form the phone filled in
    answers: dict[str, Any]
    flags: list[dict[str, Any]]
    evidence: Sequence[OfflineCapture]
    submit_fix: geo.Fix | None  # present when the inspector submitted on the phone
    submitted_at: datetime | None
    device_id: str


@dataclass
class CaptureOutcome:
    client_uuid: str
    status: Literal["attached", "waiting", "refused"]
    evidence_id: int | None = None
    problem: InspectionError | None = None


@dataclass
class SyncOutcome:
    client_uuid: str
    status: Literal["submitted", "saved", "refused"]
    inspection_id: int | None = None
    evidence: list[CaptureOutcome] = field(default_factory=list)
    problem: InspectionError | None = None


@dataclass(frozen=True)
class Receipt:
    """When and from what clock a sync arrived."""

    sent_at: datetime  # the phone's clock when it sent the batch
    received_at: datetime  # the server's clock when it arrived

    @property
    def offset_seconds(self) -> float:
        return round((self.sent_at - self.received_at).total_seconds(), 3)

    def bounded(self, device_time: datetime) -> datetime:
        """A phone time as stored: never later than the receipt."""
        return min(device_time, self.received_at)


def clock_flagged(receipt: Receipt, item: OfflineInspection) -> bool:
    """The phone's clock is off, or its times are out of order against its own sending."""
    if abs(receipt.sent_at - receipt.received_at) > CLOCK_TOLERANCE:
        return True
    times = [item.started_at, *(c.captured_at for c in item.evidence)]
    if item.submitted_at is not None:
        times.append(item.submitted_at)
    return any(t > receipt.sent_at + SKEW for t in times)
