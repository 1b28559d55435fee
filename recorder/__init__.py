"""Server-side call recording without transcoding: encoded frames stream-copied to WebM.

May import aiortc, PyAV, ffmpeg-python and the standard library; never the database,
aiohttp or Socket.IO (the composition root wires a finished recording to storage and
services).
"""

from recorder.errors import (
    FinalizeError,
    HookUnavailableError,
    RecorderError,
    SegmentWriteError,
)
from recorder.final_recording import FinalizeWarning, FinalRecording, TimelineEntry
from recorder.finalize import finalize_participant, find_ffmpeg
from recorder.frames import EncodedFrame, SenderReport
from recorder.hook import ReceiverTap, check_receiver
from recorder.manifest import Manifest, SegmentEntry
from recorder.peer import RecorderPeer
from recorder.sink import RecorderSettings, RecordingSink

__all__ = [
    "EncodedFrame",
    "FinalRecording",
    "FinalizeError",
    "FinalizeWarning",
    "HookUnavailableError",
    "Manifest",
    "ReceiverTap",
    "RecorderError",
    "RecorderPeer",
    "RecorderSettings",
    "RecordingSink",
    "SegmentEntry",
    "SegmentWriteError",
    "SenderReport",
    "TimelineEntry",
    "check_receiver",
    "finalize_participant",
    "find_ffmpeg",
]
