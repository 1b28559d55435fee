"""RecorderPeer: a receive-only aiortc peer that records what one participant sends.

It answers the participant's offer, taps every incoming track (``hook.ReceiverTap``) into
one ``sink.RecordingSink``, and asks for key frames (RTCP PLI, at most one a second per
track) while the sink needs one: when a video track starts, after loss, and when a
segment is due to be cut. Signaling, storage and the database are the caller's.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpCodecCapability,
    RTCRtpReceiver,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError
from aiortc.sdp import SessionDescription

from recorder.hook import RECORDED_CODECS, ReceiverTap
from recorder.manifest import Manifest
from recorder.sink import RecorderSettings, RecordingSink

logger = logging.getLogger(__name__)

PLI_INTERVAL = 1.0  # seconds between key frame requests for one track
KEYFRAME_POLL = 0.1  # how often a track's need for a key frame is checked
TRACK_END_TIMEOUT = 5.0  # seconds to wait for tracks to end once the connection is closed


class RecorderPeer:
    """Records one remote participant; ``answer`` an offer, later ``close`` for the manifest."""

    def __init__(
        self,
        directory: Path,
        *,
        participant: str = "",
        settings: RecorderSettings | None = None,
        configuration: RTCConfiguration | None = None,
    ) -> None:
        self.sink = RecordingSink(directory, participant=participant, settings=settings)
        self.connection = RTCPeerConnection(configuration)
        self.taps: dict[str, ReceiverTap] = {}
        self.keyframe_requests = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._manifest: Manifest | None = None
        self._connected = False
        self.connection.on("track", self._on_track)
        self.connection.on("connectionstatechange", self._on_state)

    async def answer(self, offer: RTCSessionDescription) -> RTCSessionDescription:
        """Accept the participant's offer (every m-line received only) and return the answer.
        Raises ``ValueError`` for an offer that is no SDP or has nothing to record (aiortc
        would answer one without m-lines)."""
        lines = [m for m in SessionDescription.parse(offer.sdp).media if m.kind != "application"]
        if not any(m.kind in ("audio", "video") for m in lines):
            raise ValueError("the offer has no audio or video to record")
        self.sink.start()
        # Transceivers made before the offer is applied get its m-lines in order, so the
        # answer offers only codecs the recorder can mux without transcoding.
        for media in lines[len(self.connection.getTransceivers()) :]:
            transceiver = self.connection.addTransceiver(media.kind, direction="recvonly")
            transceiver.setCodecPreferences(recordable_codecs(media.kind))
        await self.connection.setRemoteDescription(offer)
        await self.connection.setLocalDescription(await self.connection.createAnswer())
        return self.connection.localDescription

    async def close(self) -> Manifest:
        """Hang up, let every track end, flush the last segments; returns the manifest."""
        if self._manifest is not None:
            return self._manifest
        await self.connection.close()
        tasks = list(self._tasks)
        if tasks and self._connected:
            _, pending = await asyncio.wait(tasks, timeout=TRACK_END_TIMEOUT)
            for task in pending:
                task.cancel()
        else:
            # aiortc starts a receiver (and ends its track on close) only once the
            # connection is up: a leg that never connected has tracks nothing will end.
            for task in tasks:
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for tap in self.taps.values():
            tap.uninstall()
        self._manifest = await asyncio.to_thread(self.sink.close)
        return self._manifest

    # -- aiortc callbacks -----------------------------------------------------------------

    def _on_state(self) -> None:
        if self.connection.connectionState == "connected":
            self._connected = True

    def _on_track(self, track: MediaStreamTrack) -> None:
        transceiver = next(
            t for t in self.connection.getTransceivers() if t.receiver.track is track
        )
        track_id = f"{track.kind}-{transceiver.mid}"
        tap = ReceiverTap(
            transceiver.receiver,
            track=track_id,
            kind=track.kind,
            on_frame=self.sink.submit,
            on_sender_report=self.sink.report_sender,
        )
        tap.install()
        self.taps[track_id] = tap
        self.sink.add_track(track_id, track.kind)
        keyframes = None
        if track.kind == "video":
            keyframes = self._spawn(self._request_keyframes(track_id, tap))
        self._spawn(self._await_end(track, track_id, keyframes))

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _await_end(
        self, track: MediaStreamTrack, track_id: str, keyframes: asyncio.Task[None] | None
    ) -> None:
        # The tap gives the track no frames, so recv() returns only when the track ends;
        # anything it did return is dropped here rather than left to pile up.
        try:
            while True:
                await track.recv()
        except MediaStreamError:
            pass
        finally:
            if keyframes is not None:
                keyframes.cancel()
            self.sink.end_track(track_id)

    async def _request_keyframes(self, track_id: str, tap: ReceiverTap) -> None:
        loop = asyncio.get_running_loop()
        last_sent = -math.inf
        while True:
            await asyncio.sleep(KEYFRAME_POLL)
            if not self.sink.keyframe_wanted(track_id) or loop.time() - last_sent < PLI_INTERVAL:
                continue
            if await tap.request_keyframe():
                last_sent = loop.time()
                self.keyframe_requests += 1


def recordable_codecs(kind: str) -> list[RTCRtpCodecCapability]:
    """The receiver's codecs the recorder muxes as they are, with their RTX."""
    capabilities = RTCRtpReceiver.getCapabilities(kind)
    assert capabilities is not None
    keep = set(RECORDED_CODECS) | {f"{kind}/rtx"}
    return [c for c in capabilities.codecs if c.mimeType.lower() in keep]
