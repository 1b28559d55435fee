from __future__ import annotations

from datetime import datetime

from pydantic import Field

from inspection_api.recordings.models import MissingReason, RecordingState
from inspection_api.remote.models import ParticipantKind
from inspection_api.schemas import Output


class RecordingFileOut(Output):
    participant_id: int
    display_name: str
    kind: ParticipantKind
    url: str = Field(description="Signed, short-lived URL of the file (Range requests work)")
    download_url: str = Field(description="The same file as an attachment")
    poster_url: str | None
    content_type: str
    duration: float = Field(description="Seconds")
    codecs: str
    width: int | None
    height: int | None
    size: int
    sha256: str
    segments: int
    legs: int = Field(description="Connections the participant's recording was made of")
    warnings: list[str]


class MissingRecordingOut(Output):
    participant_id: int
    display_name: str
    kind: ParticipantKind
    reason: MissingReason = Field(
        description="no_media 媒体未到达录制服务器 / offer_refused 录制连接请求无效 / "
        "unplayable 录制的片段无法播放"
    )
    detail: str = Field(description="The technical cause, for support (English)")


class RecordingOut(Output):
    session_id: int
    state: RecordingState | None = Field(
        description="recording 录制中 / finalizing 处理中 / ready 可回放 / failed 处理失败; "
        "null: nobody joined the call, so nothing was recorded"
    )
    started_at: datetime | None
    finalized_at: datetime | None
    error: str | None
    takeovers: int = Field(description="Times another recorder took the call over")
    url_expires_at: datetime
    files: list[RecordingFileOut]
    missing: list[MissingRecordingOut] = Field(
        description="Participants without a file, and why; the others' files play all the same"
    )
