"""RecorderPeer against a real aiortc sender on loopback: real segment files, reopened with av.

The sender's tracks draw a moving pattern with a white flash at each whole second of a
shared clock, and beep for 100 ms from the same instants, so A/V sync can be measured in
the recording. Encoders are spied on to prove the recording holds the sender's own bytes.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import re
import signal
import subprocess
import sys
import time
import tomllib
import types
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import aiortc
import aiortc.rtcrtpreceiver
import av
import pytest
from aiortc import RTCPeerConnection, RTCRtpReceiver
from aiortc.codecs.opus import OpusEncoder
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.jitterbuffer import JitterBuffer
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcrtpparameters import (
    RTCRtpCodecParameters,
    RTCRtpDecodingParameters,
    RTCRtpReceiveParameters,
)
from aiortc.rtcrtpreceiver import RemoteStreamTrack
from aiortc.rtp import RtpPacket

import recorder.peer
from recorder import HookUnavailableError, Manifest, RecorderPeer
from recorder.hook import JITTER_BUFFER, PINNED_AIORTC, ReceiverTap, check_receiver
from tests.plugins.media import (
    FAST,
    SYNC_GOAL,
    BeepTrack,
    PatternTrack,
    beep_onsets,
    flash_times,
    record_call,
)

ROOT = Path(__file__).resolve().parents[2]


# -- sender media -----------------------------------------------------------------------------


class EncoderSpy:
    """Collects every frame aiortc's encoders produce at the sender, byte for byte."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.video: set[bytes] = set()
        self.audio: set[bytes] = set()
        packetize = Vp8Encoder._packetize.__func__  # type: ignore[attr-defined]
        encode_opus = OpusEncoder.encode

        def spy_packetize(cls: type, buffer: bytes, picture_id: int) -> list[bytes]:
            self.video.add(bytes(buffer))
            return packetize(cls, buffer, picture_id)

        def spy_opus(encoder: OpusEncoder, frame: av.AudioFrame, force_keyframe: bool = False):
            payloads, timestamp = encode_opus(encoder, frame, force_keyframe)
            self.audio.update(payloads)
            return payloads, timestamp

        monkeypatch.setattr(Vp8Encoder, "_packetize", classmethod(spy_packetize))
        monkeypatch.setattr(OpusEncoder, "encode", spy_opus)


def packets(path: Path, kind: str) -> Iterator[av.Packet]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0] if kind == "video" else container.streams.audio[0]
        for packet in container.demux(stream):
            if packet.size:
                yield packet


def whole_seconds(manifest: Manifest) -> float:
    return sum(s.end - s.start for s in manifest.segments if s.end is not None)


# -- the recording --------------------------------------------------------------------------


async def test_call_is_recorded_by_stream_copy_in_playable_segments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, decoder_calls: list[str]
) -> None:
    spy = EncoderSpy(monkeypatch)
    video = PatternTrack(time.time())
    recorder, manifest = await record_call(
        tmp_path, video, BeepTrack(video.epoch), seconds=7.0, resize_after=3.5
    )

    # Nothing was decoded, and the files hold the sender's encoded bytes unchanged.
    assert decoder_calls == []
    tapped = {tap.kind: tap.frames for tap in recorder.taps.values()}
    assert tapped["video"] >= video.frames - 3
    recorded_video = set()
    recorded_audio = set()
    for segment in manifest.segments:
        recorded_video |= {bytes(p) for p in packets(tmp_path / segment.file, "video")}
        recorded_audio |= {bytes(p) for p in packets(tmp_path / segment.file, "audio")}
    assert recorded_video and recorded_video <= spy.video
    assert len(recorded_video) >= len(spy.video) - 5
    assert recorded_audio and recorded_audio <= spy.audio

    assert manifest.complete and manifest.error is None
    assert manifest.segments[0].reason == "start"
    assert "rollover" in [s.reason for s in manifest.segments]
    assert "resolution" in [s.reason for s in manifest.segments]
    assert len(manifest.segments) >= 4
    assert abs(whole_seconds(manifest) - video.frames / 30) <= 1.0
    sizes_seen = set()
    for segment in manifest.segments:
        path = tmp_path / segment.file
        assert segment.complete and path.suffix == ".webm"
        assert segment.size == path.stat().st_size
        assert segment.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        with av.open(str(path)) as container:
            assert [s.codec_context.name for s in container.streams] == ["vp8", "opus"]
            opus = container.streams.audio[0].codec_context
            assert opus.extradata is not None and opus.extradata.startswith(b"OpusHead")
            assert container.duration is not None and segment.end is not None
            assert abs(container.duration / 1e6 - (segment.end - segment.start)) < 0.25
        first = next(packets(path, "video"))
        assert first.is_keyframe
        size = next(s for s in segment.streams if s["kind"] == "video")
        with av.open(str(path)) as container:
            frames = [f for _, f in zip(range(5), container.decode(video=0), strict=False)]
        assert len(frames) == 5
        assert {(f.width, f.height) for f in frames} == {(size["width"], size["height"])}
        sizes_seen.add((size["width"], size["height"]))
        with av.open(str(path)) as container:
            assert sum(f.samples for f in container.decode(audio=0)) > 0
    assert sizes_seen == {(640, 480), (320, 240)}
    assert recorder.keyframe_requests >= 2  # one per rollover at least
    assert Manifest.read(tmp_path).to_json() == manifest.to_json()


async def test_audio_and_video_stay_in_sync_by_sender_reports(tmp_path: Path) -> None:
    epoch = time.time()
    video = PatternTrack(epoch)
    _, manifest = await record_call(tmp_path, video, BeepTrack(epoch), seconds=6.5)

    assert {s.sync for s in manifest.segments} == {"rtcp-sr"}
    flashes: list[float] = []
    beeps: list[float] = []
    for segment in manifest.segments:
        path = tmp_path / segment.file
        flashes += [segment.start + t - epoch for t in flash_times(path)]
        beeps += [segment.start + t - epoch for t in beep_onsets(path)]
    errors = []
    for flash in flashes:
        second = math.floor(flash)
        if second < 1:  # the call may start mid-beep
            continue
        beep = min(beeps, key=lambda b: abs(b - flash))
        # The flash frame is the first at or after the beep: it should trail it by as much.
        expected = video.flashes[second] - second
        errors.append((flash - beep) - expected)
    assert len(errors) >= 4
    assert max(abs(e) for e in errors) <= SYNC_GOAL, errors


async def test_h264_is_recorded_as_sent_into_matroska(
    tmp_path: Path, decoder_calls: list[str]
) -> None:
    video = PatternTrack(time.time(), size=(320, 180))
    _, manifest = await record_call(
        tmp_path, video, BeepTrack(video.epoch), seconds=3.0, video_codec="video/H264"
    )

    assert decoder_calls == []
    assert manifest.segments
    for segment in manifest.segments:
        path = tmp_path / segment.file
        assert path.suffix == ".mkv"
        assert next(packets(path, "video")).is_keyframe
        with av.open(str(path)) as container:
            assert [s.codec_context.name for s in container.streams] == ["h264", "opus"]
            frames = [f for _, f in zip(range(5), container.decode(video=0), strict=False)]
        assert [(f.width, f.height) for f in frames] == [(320, 180)] * 5


# -- the hook, against the pinned aiortc ----------------------------------------------------


class StubTransport:
    """What an RTCRtpReceiver needs from its DTLS transport, minus the network."""

    state = "connected"
    _stats_id = "stub"

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def _register_rtp_receiver(self, receiver: object, parameters: object) -> None:
        pass

    def _unregister_rtp_receiver(self, receiver: object) -> None:
        pass

    async def _send_rtp(self, data: bytes) -> None:
        self.sent.append(data)


async def test_a_leg_that_never_connected_closes_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The participant's offer is answered but its media never arrives (the answer never
    # reaches it): nothing ends the recorder's tracks, so close must not wait for them.
    # With the wait made endless, a close that waits hangs and wait_for fails the test.
    monkeypatch.setattr(recorder.peer, "TRACK_END_TIMEOUT", 3600.0)
    sender = RTCPeerConnection()
    video = PatternTrack(time.time())
    sender.addTrack(BeepTrack(video.epoch))
    sender.addTrack(video)
    await sender.setLocalDescription(await sender.createOffer())
    peer = RecorderPeer(tmp_path, participant="borrower", settings=FAST)
    await peer.answer(sender.localDescription)
    assert len(peer.taps) == 2  # both tracks are there, waiting for media
    try:
        manifest = await asyncio.wait_for(peer.close(), timeout=60)
    finally:
        await sender.close()
    assert manifest.segments == [] and manifest.complete


def test_aiortc_is_the_pinned_version_and_has_what_the_hook_needs() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    pins = [d for d in pyproject["project"]["dependencies"] if d.startswith("aiortc")]
    assert pins == [f"aiortc=={PINNED_AIORTC}"]
    assert aiortc.__version__ == PINNED_AIORTC
    receiver = RTCRtpReceiver("video", StubTransport())  # type: ignore[arg-type]
    check_receiver(receiver)
    assert isinstance(getattr(receiver, JITTER_BUFFER), JitterBuffer)
    # The receiver's decoder thread still asks this function for its decoder: the tap
    # exists so that it never gets to.
    assert "get_decoder(codec)" in _source(aiortc.rtcrtpreceiver.decoder_worker)
    handle_rtp = _source(RTCRtpReceiver._handle_rtp_packet)
    assert "self.__jitter_buffer.add(packet)" in handle_rtp
    assert "self.__decoder_queue.put((codec, encoded_frame))" in handle_rtp


def test_a_missing_internal_is_named_in_the_error() -> None:
    receiver = RTCRtpReceiver("video", StubTransport())  # type: ignore[arg-type]
    setattr(receiver, JITTER_BUFFER, types.SimpleNamespace())
    with pytest.raises(HookUnavailableError) as raised:
        check_receiver(receiver)
    assert raised.value.missing == f"RTCRtpReceiver.{JITTER_BUFFER}.add(packet)"
    assert raised.value.pinned == PINNED_AIORTC
    assert str(raised.value) == (
        f"aiortc {aiortc.__version__} has no usable RTCRtpReceiver.{JITTER_BUFFER}.add(packet);"
        f" the recorder's receiver tap was written against aiortc {PINNED_AIORTC}"
        " (see recorder/README.md)"
    )


async def test_tap_hands_over_the_encoded_bytes_and_the_decoder_gets_nothing(
    decoder_calls: list[str],
) -> None:
    vp8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=100)
    receiver = RTCRtpReceiver("video", StubTransport())  # type: ignore[arg-type]
    receiver._track = RemoteStreamTrack(kind="video")
    frames = []
    tap = ReceiverTap(
        receiver,
        track="video-0",
        kind="video",
        on_frame=lambda frame: bool(frames.append(frame) or True),  # type: ignore[func-returns-value]
        on_sender_report=lambda track, report: None,
    )
    tap.install()
    await receiver.receive(
        RTCRtpReceiveParameters(
            codecs=[vp8], encodings=[RTCRtpDecodingParameters(ssrc=1234, payloadType=100)]
        )
    )
    encoder = Vp8Encoder()
    sent = []
    sequence = 0
    for index in range(10):
        frame = av.VideoFrame(320, 240, "yuv420p")
        for plane in frame.planes:
            plane.update(bytes([(index * 20) % 256]) * plane.buffer_size)
        frame.pts, frame.time_base = index * 3000, Fraction(1, 90000)
        payloads, timestamp = encoder.encode(frame)
        sent.append((timestamp, b"".join(p[4:] for p in payloads)))  # descriptor: 4 bytes
        for payload in payloads:
            packet = RtpPacket(payload_type=100, sequence_number=sequence, timestamp=timestamp)
            packet.ssrc, packet.payload = 1234, payload
            sequence += 1
            await receiver._handle_rtp_packet(packet, arrival_time_ms=0)

    # A frame is complete when the next one starts, so the last one is still buffered.
    assert [(f.timestamp, f.data) for f in frames] == sent[:-1]
    assert [f.keyframe for f in frames] == [True] + [False] * 8
    assert {(f.codec, f.clock_rate, f.ssrc) for f in frames} == {("vp8", 90000, 1234)}
    assert tap.frames == 9 and tap.ssrc == 1234
    await receiver.stop()
    assert decoder_calls == []  # the decoder thread never received a frame
    with pytest.raises(MediaStreamError):
        await receiver.track.recv()  # ended, with nothing queued before the end
    tap.uninstall()
    assert type(getattr(receiver, JITTER_BUFFER)) is JitterBuffer
    assert "_handle_rtcp_packet" not in vars(receiver)


def _source(function: object) -> str:
    import inspect

    return re.sub(r"\s+", " ", inspect.getsource(function))  # type: ignore[arg-type]


def test_the_recorder_imports_no_database_web_or_storage_code() -> None:
    listing = subprocess.run(
        [sys.executable, "-c", "import sys, recorder; print(*sys.modules)"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    forbidden = {"sqlalchemy", "aiohttp", "socketio", "redis", "asyncpg", "minio"}
    forbidden |= {"inspection_api", "signaling", "storage", "loancheck", "web_client"}
    assert {name.split(".")[0] for name in listing} & forbidden == set()


# -- crash safety ------------------------------------------------------------------------------

KILLED_RECORDER = """
import sys, time
from fractions import Fraction
from pathlib import Path
import av
from recorder.frames import EncodedFrame
from recorder.sink import RecorderSettings, RecordingSink

settings = RecorderSettings(segment_seconds=60, sync_wait_seconds=0.2)
sink = RecordingSink(Path(sys.argv[1]), settings=settings)
sink.start()
sink.add_track("video-0", "video")
encoder = av.CodecContext.create("libvpx", "w")
encoder.width, encoder.height, encoder.pix_fmt = 320, 240, "yuv420p"
encoder.time_base, encoder.bit_rate = Fraction(1, 30), 800_000
for index in range(100_000):
    frame = av.VideoFrame(320, 240, "yuv420p")
    for plane in frame.planes:
        plane.update(bytes([(index * 7) % 256]) * plane.buffer_size)
    frame.pts = index
    for packet in encoder.encode(frame):
        data = bytes(packet)
        sink.submit(EncodedFrame("video-0", "video", "vp8", 90000, 1, index * 3000, data,
                                 packet.is_keyframe, time.time()))
    if index == 90:
        print("recording", flush=True)
    time.sleep(1 / 30)
"""


def test_a_killed_recorder_leaves_a_playable_segment_and_its_manifest(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_RECORDER, str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "recording"  # 3 s in
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()

    manifest = Manifest.read(tmp_path)
    assert not manifest.complete
    [segment] = manifest.segments
    assert not segment.complete and segment.sha256 is None
    with av.open(str(tmp_path / segment.file)) as container:
        decoded = sum(1 for _ in container.decode(video=0))
    # Clusters close (and reach the disk) every second: at most about a second is lost.
    assert decoded >= 45
