"""Recording test helpers: what a call page does toward the recorder, done by an aiortc peer.

``RecorderFeed`` watches its participant's ``/call`` client: whenever a recorder is in the
call (in the join ack's peers, or announced by ``peer_joined``, also after a takeover), it
opens a new send-only peer connection to it and offers its tracks, as call.js does.
``recorder_processes``/``start_recorder`` run ``loancheck recorder`` worker processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiortc.rtcrtpreceiver
import pytest
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from loancheck.settings import Settings
from tests.plugins.calls import CallClient, PatternVideoTrack

LOANCHECK = Path(sys.executable).with_name("loancheck")

# A bound on this machine's speed, not on the recorder's: a worker process imports aiortc,
# PyAV and SQLAlchemy before it says it started, 1 to 2 s idle and 11 s seen under load
# (2 cores, three CPU burners and two other test runs).
STARTUP_SECONDS = 30

TrackFactory = Callable[[], list[MediaStreamTrack]]


def camera_and_microphone() -> list[MediaStreamTrack]:
    return [PatternVideoTrack(), AudioStreamTrack()]


class RecorderFeed:
    """Sends one participant's media to the call's recorder, one leg per recorder seen."""

    def __init__(
        self,
        client: CallClient,
        tracks: TrackFactory = camera_and_microphone,
        *,
        reachable: bool = True,
    ) -> None:
        self.client = client
        self.tracks = tracks
        # False: the recorder's answers are never applied, so no packet of this participant
        # ever reaches it (as behind a network that blocks the way to the recorder).
        self.reachable = reachable
        self.pc: RTCPeerConnection | None = None
        self.recorder: int | None = None
        self.offers = 0
        self.answered = asyncio.Event()
        self.errors: list[dict[str, Any]] = []  # the recorder refused a description
        self.refused = asyncio.Event()
        self._pending: asyncio.Task[None] | None = None
        self._watch = asyncio.create_task(self._run(), name="recorder-feed")

    def start(self, join_ack: dict[str, Any]) -> None:
        for peer in join_ack.get("peers", []):
            if peer["kind"] == "recorder":
                self._offer_soon(peer["participant_id"])

    def _offer_soon(self, recorder: int) -> None:
        self.recorder = recorder
        self.answered.clear()
        self._pending = asyncio.create_task(self._offer(recorder))

    async def _offer(self, recorder: int) -> None:
        if self.pc is not None:
            await self.pc.close()
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        for track in self.tracks():
            pc.addTransceiver(track, direction="sendonly")
        self.pc = pc
        await pc.setLocalDescription(await pc.createOffer())  # gathers: no trickle
        self.offers += 1
        ack = await self.client.call(
            "send_signal",
            {
                "to": recorder,
                "description": {"type": "offer", "sdp": pc.localDescription.sdp},
            },
        )
        assert ack == {"ok": True}, ack

    async def _run(self) -> None:
        joined = self.client.events["peer_joined"]
        signals = self.client.events["signal"]
        while True:
            joined_get = asyncio.ensure_future(joined.get())
            signal_get = asyncio.ensure_future(signals.get())
            done, pending = await asyncio.wait(
                {joined_get, signal_get}, return_when=asyncio.FIRST_COMPLETED
            )
            for task in pending:
                task.cancel()
                # A value the cancelled get already took goes back for the next round.
                with contextlib.suppress(asyncio.CancelledError):
                    value = await task
                    (joined if task is joined_get else signals).put_nowait(value)
            if joined_get in done:
                peer = joined_get.result()
                if peer["kind"] == "recorder":
                    self._offer_soon(peer["participant_id"])
            if signal_get in done:
                await self._on_signal(signal_get.result())

    async def _on_signal(self, signal: dict[str, Any]) -> None:
        if signal.get("error") and signal.get("from") == self.recorder:
            self.errors.append(signal["error"])
            self.refused.set()
            return
        description = signal.get("description")
        if signal.get("from") != self.recorder or not description or self.pc is None:
            return
        if self._pending is not None:
            await self._pending  # the offer this answers has been made
        if self.reachable:
            await self.pc.setRemoteDescription(
                RTCSessionDescription(sdp=description["sdp"], type=description["type"])
            )
        self.answered.set()

    async def stop(self) -> None:
        self._watch.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._watch
        if self.pc is not None:
            await self.pc.close()


class SizedPatternTrack(PatternVideoTrack):
    """The calls' pattern track at another picture size (a phone turned, another camera)."""

    def __init__(self, width: int, height: int) -> None:
        super().__init__()
        self.size = (width, height)

    async def recv(self) -> Any:
        frame = await super().recv()
        resized = frame.reformat(width=self.size[0], height=self.size[1])
        resized.pts, resized.time_base = frame.pts, frame.time_base
        return resized


def recorder_env(settings: Settings, signaling_url: str) -> dict[str, str]:
    """The environment of a ``loancheck recorder`` process working for ``settings``' app."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOANCHECK_")}
    env.update(
        LOANCHECK_DATA_DIR=str(settings.data_dir),
        LOANCHECK_DATABASE_URL=settings.database_url,
        LOANCHECK_OBJECT_STORE=settings.object_store,
        LOANCHECK_S3_ENDPOINT=settings.s3_endpoint,
        LOANCHECK_S3_ACCESS_KEY=settings.s3_access_key,
        LOANCHECK_S3_SECRET_KEY=settings.s3_secret_key,
        LOANCHECK_SECRET_KEY=settings.secret_key,
        LOANCHECK_RECORDER="workers",
        LOANCHECK_RECORDER_SIGNALING_URL=signaling_url,
        LOANCHECK_LOG_LEVEL="INFO",
    )
    return env


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


async def start_recorder(settings: Settings, signaling_url: str, log: Path) -> WorkerProcess:
    """A ``loancheck recorder`` process, once it says it started.

    Waited for without blocking: the test's event loop serves the call (signaling, the
    participants' aiortc peers) while the process imports and starts, which takes seconds
    on a loaded machine; a ``time.sleep`` here froze the whole call for that long.
    """
    with log.open("wb") as sink:
        process = await asyncio.to_thread(
            subprocess.Popen,
            [str(LOANCHECK), "recorder"],
            env=recorder_env(settings, signaling_url),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    worker = WorkerProcess(process, log)
    deadline = time.monotonic() + STARTUP_SECONDS
    while "LoanCheck recorder" not in await asyncio.to_thread(worker.output):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the recorder did not start:\n{worker.output()}")
        await asyncio.sleep(0.1)
    return worker


@pytest.fixture
def recorder_processes() -> Iterator[list[WorkerProcess]]:
    """``loancheck recorder`` processes a test started, stopped after it."""
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        if worker.process.poll() is None:
            worker.process.terminate()
            try:
                worker.process.wait(15)
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait()


@pytest.fixture
def decoder_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every decoder aiortc's receivers make in this process during the test (a recorder
    must make none: it stream-copies what was sent)."""
    calls: list[str] = []
    real = aiortc.rtcrtpreceiver.get_decoder

    def counting(codec: RTCRtpCodecParameters):  # type: ignore[no-untyped-def]
        calls.append(codec.mimeType)
        return real(codec)

    monkeypatch.setattr(aiortc.rtcrtpreceiver, "get_decoder", counting)
    return calls
