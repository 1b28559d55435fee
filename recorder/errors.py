"""Recorder errors: one base, subclasses that carry the fields a caller needs."""

from __future__ import annotations


class RecorderError(Exception):
    """Base of every error the recorder raises."""


class HookUnavailableError(RecorderError):
    """The installed aiortc lacks an internal the receiver tap needs (an upgrade broke the hook)."""

    def __init__(self, missing: str, aiortc_version: str, pinned: str) -> None:
        self.missing = missing
        self.aiortc_version = aiortc_version
        self.pinned = pinned
        super().__init__(
            f"aiortc {aiortc_version} has no usable {missing}; the recorder's receiver tap "
            f"was written against aiortc {pinned} (see recorder/README.md)"
        )


class SegmentWriteError(RecorderError):
    """A segment or the manifest could not be written; the recording stopped there."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"recording stopped: cannot write {path}: {reason}")


class FinalizeError(RecorderError):
    """A participant's recording could not be made into one file; ``reason`` says why."""

    def __init__(self, participant: str | None, reason: str) -> None:
        self.participant = participant
        self.reason = reason
        whose = f"the recording of {participant!r}" if participant is not None else "recordings"
        super().__init__(f"cannot finalize {whose}: {reason}")
