"""The manifest of one participant's recording: segments, gaps, hashes, as JSON.

Rewritten (atomically, through a temporary file) whenever a segment opens or closes, so a
crashed recorder leaves a manifest naming every segment file; a segment still being
written is listed with ``"complete": false`` and no hash.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

FORMAT = "loancheck.recording/1"
FILE_NAME = "manifest.json"


@dataclass
class SegmentEntry:
    index: int
    file: str
    start: float  # Unix seconds, receiver clock
    end: float | None
    reason: str
    sync: str
    streams: list[dict[str, Any]]
    size: int | None = None
    sha256: str | None = None
    complete: bool = False


@dataclass
class Manifest:
    participant: str
    segments: list[SegmentEntry] = field(default_factory=list)
    gaps: list[dict[str, Any]] = field(default_factory=list)
    tracks: dict[str, dict[str, Any]] = field(default_factory=dict)
    complete: bool = False
    error: str | None = None

    def segment(self, index: int) -> SegmentEntry:
        return next(s for s in self.segments if s.index == index)

    @property
    def duration(self) -> float:
        """Seconds of recorded timeline, gaps between segments excluded."""
        return sum((s.end or s.start) - s.start for s in self.segments)

    def to_json(self) -> dict[str, Any]:
        data = {"format": FORMAT, **asdict(self)}
        for entry in data["segments"]:
            entry["duration"] = round((entry["end"] or entry["start"]) - entry["start"], 3)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        if data.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} manifest: format={data.get('format')!r}")
        segments = [
            SegmentEntry(**{k: v for k, v in s.items() if k != "duration"})
            for s in data["segments"]
        ]
        return cls(
            participant=data["participant"],
            segments=segments,
            gaps=data["gaps"],
            tracks=data["tracks"],
            complete=data["complete"],
            error=data["error"],
        )

    def write(self, directory: Path) -> Path:
        path = directory / FILE_NAME
        temporary = path.with_suffix(".json.tmp")
        temporary.write_text(json.dumps(self.to_json(), indent=2, ensure_ascii=False))
        os.replace(temporary, path)
        return path

    @classmethod
    def read(cls, directory: Path) -> Manifest:
        return cls.from_json(json.loads((directory / FILE_NAME).read_text()))
