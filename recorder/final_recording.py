"""FinalRecording: what a participant's finalized recording is, for storage and the UI."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

MEDIA_TYPES = {"webm": "video/webm", "matroska": "video/x-matroska"}


@dataclass(frozen=True)
class FinalizeWarning:
    """Something left out of, or doubtful in, a finalized recording."""

    leg: int | None  # 1-based position in ``leg_dirs``; None: about the final file
    file: str  # the segment file, "manifest.json", or the final file's name
    code: str  # missing | unreadable | sha256_mismatch | incomplete | empty | extra_stream
    #            | codec_change | leg_not_closed | leg_error | poster
    detail: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TimelineEntry:
    """Where one segment landed in the final file, and when it was recorded."""

    at: float  # seconds into the final file
    duration: float
    start: float  # Unix seconds (recorder clock) of the instant at ``at``
    leg: int
    file: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class FinalRecording:
    """The one file a participant's recording became, and what is known about it."""

    participant: str
    path: Path
    poster: Path | None  # None when there is no video
    format: str  # "webm" | "matroska"
    duration: float  # seconds, as the file's index says
    codecs: tuple[str, ...]  # per output stream, video first: ("vp8", "opus")
    width: int | None  # picture size of the first video segment
    height: int | None
    size: int
    sha256: str
    segments_used: int
    segments_listed: int
    timeline: tuple[TimelineEntry, ...]
    warnings: tuple[FinalizeWarning, ...]

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.format]

    def to_json(self) -> dict[str, Any]:
        return {
            "participant": self.participant,
            "file": self.path.name,
            "poster": self.poster.name if self.poster is not None else None,
            "format": self.format,
            "media_type": self.media_type,
            "duration": round(self.duration, 3),
            "codecs": list(self.codecs),
            "width": self.width,
            "height": self.height,
            "size": self.size,
            "sha256": self.sha256,
            "segments_used": self.segments_used,
            "segments_listed": self.segments_listed,
            "timeline": [t.to_json() for t in self.timeline],
            "warnings": [w.to_json() for w in self.warnings],
        }
