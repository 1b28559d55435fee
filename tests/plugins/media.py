"""Sender media with sync marks, recorded calls, and what a recording shows of the marks.

The senders' tracks share a clock (``epoch``): ``PatternTrack`` draws a moving pattern
with a white flash frame at each whole second, and ``BeepTrack`` beeps for 100 ms from
the same instants, so A/V sync can be measured in a recording. ``record_call`` sends them
from a real aiortc peer to a ``RecorderPeer`` on loopback. Used by the recorder tests and
by ``bench/av_offset.py``; nothing here is a fixture.
"""

from __future__ import annotations

import asyncio
import math
from array import array
from collections.abc import Callable, Sequence
from pathlib import Path

import av
from aiortc import (
    AudioStreamTrack,
    MediaStreamTrack,
    RTCPeerConnection,
    RTCRtpSender,
    VideoStreamTrack,
)

from recorder import Manifest, RecorderPeer, RecorderSettings, TimelineEntry

FAST = RecorderSettings(segment_seconds=2.0, sync_wait_seconds=3.0)
FLASH_LUMA = 235
SYNC_GOAL = 0.040  # seconds: the A/V offset goal of the recording requirement


class PatternTrack(VideoStreamTrack):
    """A moving gradient; the first frame at or after each whole second of ``epoch`` is white."""

    def __init__(self, epoch: float, size: tuple[int, int] = (640, 480)) -> None:
        super().__init__()
        self.epoch = epoch
        self.size = size
        self.frames = 0
        self.flashes: dict[int, float] = {}  # whole second -> content time of its flash frame

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        content = self._start + pts * time_base - self.epoch
        width, height = self.size
        frame = av.VideoFrame(width, height, "yuv420p")
        second = math.floor(content)
        if second not in self.flashes and content - second < 1 / 30:
            self.flashes[second] = float(content)
            frame.planes[0].update(bytes([FLASH_LUMA]) * frame.planes[0].buffer_size)
        else:
            line = frame.planes[0].line_size
            row = bytes(16 + (x + 4 * self.frames) % 160 for x in range(line))
            frame.planes[0].update(row * height)
        for plane in frame.planes[1:]:
            plane.update(bytes([128]) * plane.buffer_size)
        frame.pts, frame.time_base = pts, time_base
        self.frames += 1
        return frame


class BeepTrack(AudioStreamTrack):
    """Silence with a 1 kHz beep during the first 100 ms of each whole second of ``epoch``."""

    def __init__(self, epoch: float) -> None:
        super().__init__()
        self.epoch = epoch

    async def recv(self) -> av.AudioFrame:
        frame = await super().recv()  # paced, mono s16, 20 ms
        assert isinstance(frame, av.AudioFrame)
        rate = frame.sample_rate
        first = self._start + (frame.pts or 0) / rate - self.epoch
        samples = array("h", bytes(frame.planes[0]))
        for i in range(frame.samples):
            content = first + i / rate
            if content - math.floor(content) < 0.1:
                samples[i] = int(12000 * math.sin(2 * math.pi * 1000 * content))
        frame.planes[0].update(samples.tobytes())
        return frame


async def record_call(
    directory: Path,
    video: PatternTrack | None,
    audio: MediaStreamTrack | None,
    *,
    seconds: float,
    settings: RecorderSettings = FAST,
    resize_after: float | None = None,
    video_codec: str | None = None,
) -> tuple[RecorderPeer, Manifest]:
    """One call leg: a fresh aiortc sender and a fresh RecorderPeer writing to ``directory``."""
    sender = RTCPeerConnection()
    if audio is not None:
        sender.addTrack(audio)
    if video is not None:
        video_sender = sender.addTrack(video)
        if video_codec is not None:
            transceiver = next(t for t in sender.getTransceivers() if t.sender is video_sender)
            codecs = RTCRtpSender.getCapabilities("video").codecs
            transceiver.setCodecPreferences([c for c in codecs if c.mimeType == video_codec])
    await sender.setLocalDescription(await sender.createOffer())
    recorder = RecorderPeer(directory, participant="borrower", settings=settings)
    await sender.setRemoteDescription(await recorder.answer(sender.localDescription))
    try:
        if resize_after is not None:
            assert video is not None
            await asyncio.sleep(resize_after)
            video.size = (320, 240)
            seconds -= resize_after
        await asyncio.sleep(seconds)
    finally:
        await sender.close()
        manifest = await recorder.close()
    return recorder, manifest


def luma(frame: av.VideoFrame) -> float:
    """Mean luma of a sample of the picture (the plane's row padding left out)."""
    plane = frame.planes[0]
    data = bytes(plane)
    line = plane.line_size
    rows = [data[y * line : y * line + frame.width : 7] for y in range(0, frame.height, 7)]
    sample = b"".join(rows)
    return sum(sample) / len(sample)


def flash_times(path: Path) -> list[float]:
    with av.open(str(path)) as container:
        return [
            float(frame.time or 0.0)
            for frame in container.decode(video=0)
            if luma(frame) > FLASH_LUMA - 20
        ]


def beep_onsets(path: Path) -> list[float]:
    """Times where sound starts after at least half a second of recorded silence."""
    onsets: list[float] = []
    quiet_since: float | None = None
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            samples = array("f", bytes(frame.planes[0]))[: frame.samples]
            for i, value in enumerate(samples):
                at = (frame.time or 0.0) + i / frame.sample_rate
                if quiet_since is None:
                    quiet_since = at
                if abs(value) > 0.05:
                    if at - quiet_since > 0.5:
                        onsets.append(at)
                    quiet_since = math.inf
                elif quiet_since == math.inf:
                    quiet_since = at
    return onsets


def av_offsets(
    path: Path,
    flashes: dict[int, float],
    content_time: Callable[[float], tuple[float, object]],
) -> dict[int, float]:
    """A/V offset at each sync mark in a recording, by whole second; positive: video is late.

    ``content_time(t)`` maps a time in the file to (seconds since the senders' epoch, the
    stretch of file it lies in). A mark counts when its beep onset lies within 100 ms of a
    whole second and its flash in the same stretch (a mark cut by a gap proves nothing).
    The flash frame is the first frame at or after the whole second, so it trails the
    beep by ``flashes[second] - second`` when in sync.
    """
    beeps = [(t, *content_time(t)) for t in beep_onsets(path)]
    offsets = {}
    for flash in flash_times(path):
        _, stretch = content_time(flash)
        near = [(t, at) for t, at, where in beeps if where == stretch and abs(t - flash) < 0.5]
        if not near:
            continue
        beep, beep_at = min(near, key=lambda b: abs(b[0] - flash))
        second = round(beep_at)
        if abs(beep_at - second) > 0.1 or second not in flashes:
            continue
        offsets[second] = (flash - beep) - (flashes[second] - second)
    return offsets


def segment_clock(start: float, epoch: float) -> Callable[[float], tuple[float, object]]:
    """``content_time`` for one segment file, which starts at ``start`` (manifest time)."""
    return lambda at: (start + at - epoch, start)


def timeline_clock(
    timeline: Sequence[TimelineEntry], epoch: float
) -> Callable[[float], tuple[float, object]]:
    """``content_time`` for a finalized file: its timeline maps file time to recorder time.

    The stretch is the leg: segments of one leg follow each other without gaps.
    """

    def content_time(at: float) -> tuple[float, object]:
        entry = next((e for e in reversed(timeline) if e.at <= at), timeline[0])
        return entry.start + (at - entry.at) - epoch, entry.leg

    return content_time
