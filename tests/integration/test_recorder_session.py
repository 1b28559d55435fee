"""CallRecording against a real aiortc sender on loopback: legs, and offers it refuses."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import av
import pytest
from aiortc import AudioStreamTrack, RTCPeerConnection, RTCSessionDescription

from recorder import finalize_participant
from recorder.session import CallRecording, SignalRejected
from tests.plugins.calls import PatternVideoTrack
from tests.plugins.media import FAST

# Offers that reach the recorder through signaling (they start with v=0) and that it
# cannot use. aiortc answers the first one (no m-line) with an empty answer.
GARBAGE_OFFERS = [
    "v=0\r\nthis is no session description\r\n",
    "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n",  # no ICE credentials, no fingerprint
    "v=0 this is not SDP at all",
]


def seconds_in(path: Path) -> float:
    with av.open(str(path)) as container:
        return float(container.duration or 0) / 1_000_000


async def test_a_garbage_offer_is_refused_and_the_recording_leg_goes_on(tmp_path: Path) -> None:
    """A participant's good leg records; offers it then sends that cannot be answered are
    refused one by one, leave nothing behind, and the good leg keeps recording: one leg,
    one file covering the whole time."""
    recording = CallRecording(tmp_path / "call", settings=FAST)
    sender = RTCPeerConnection()
    for track in (PatternVideoTrack(), AudioStreamTrack()):
        sender.addTransceiver(track, direction="sendonly")
    try:
        await sender.setLocalDescription(await sender.createOffer())
        answer = await recording.offer(7, {"type": "offer", "sdp": sender.localDescription.sdp})
        await sender.setRemoteDescription(RTCSessionDescription(**answer))
        started = time.monotonic()
        await asyncio.sleep(3)
        for sdp in GARBAGE_OFFERS:
            with pytest.raises(SignalRejected):
                await recording.offer(7, {"type": "offer", "sdp": sdp})
        await asyncio.sleep(3)
        legs = await recording.close()
        length = time.monotonic() - started
    finally:
        await sender.close()

    assert list(legs) == [7] and len(legs[7]) == 1, legs
    # The refused offers left no leg directory behind.
    assert [d.name for d in (tmp_path / "call" / "participant-7").iterdir()] == [legs[7][0].name]
    result = await asyncio.to_thread(
        finalize_participant, legs[7], tmp_path / "final", participant="7"
    )
    covered = seconds_in(result.path)
    # The first key frame comes a little after the answer; a refusal costs nothing.
    assert covered >= length - 1.0, (covered, length)
    assert not result.warnings, result.warnings
