"""What the segmenter decides and the sink carries out: open, write, close, note a gap.

Times are Unix seconds on the receiver's clock; ``pts`` and ``duration`` count ticks of
the track's RTP clock (90 kHz video, 48 kHz Opus) from the start of the segment.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StreamSpec:
    track: str
    kind: str
    codec: str
    clock_rate: int
    width: int = 0
    height: int = 0


@dataclass(frozen=True)
class OpenSegment:
    index: int
    streams: tuple[StreamSpec, ...]
    start: float
    reason: str  # "start" | "rollover" | "resolution" | "ssrc" | "codec" | "track"
    sync: str


@dataclass(frozen=True)
class WritePacket:
    index: int
    track: str
    pts: int  # in 1/clock_rate of the track, from the segment start
    duration: int
    data: bytes
    keyframe: bool


@dataclass(frozen=True)
class CloseSegment:
    index: int
    end: float


@dataclass(frozen=True)
class Gap:
    track: str
    start: float
    end: float
    reason: str  # "keyframe" (waiting for one) | "loss" | "silence"


Action = OpenSegment | WritePacket | CloseSegment | Gap
