"""What the receiver tap hands to the sink: encoded frames and sender reports."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EncodedFrame:
    """One frame as the sender encoded it, reassembled from RTP and never decoded."""

    track: str
    kind: str  # "audio" | "video"
    codec: str  # "opus" | "vp8" | "h264"
    clock_rate: int
    ssrc: int
    timestamp: int  # RTP timestamp as sent: 32 bits, not unwrapped
    data: bytes
    keyframe: bool  # always true for audio
    arrival: float  # receiver wall clock (time.time()) when the frame was complete
    loss: bool = False  # frames of this track were lost just before this one


@dataclass(frozen=True, slots=True)
class SenderReport:
    """The NTP/RTP pair of an RTCP sender report: one instant on both of the sender's clocks."""

    ssrc: int
    ntp_time: float  # sender wall clock, Unix seconds
    timestamp: int  # RTP timestamp (32 bits) of that instant
