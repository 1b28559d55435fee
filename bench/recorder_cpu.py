"""Recorder CPU per recorded call-minute: stream copy (RecorderPeer) vs aiortc's MediaRecorder.

Both run on the same input in one run, the whole recorder peer counted (network receive,
SRTP, jitter buffers, muxing, file IO): the recorder is a process of its own, and its CPU
time (user + system, every thread, from ``resource.getrusage``) is taken from the moment
it gets the offer until its recording is closed. The sender is another process on
loopback that sends media encoded once beforehand (VP8 with a key frame every 2 s, Opus
20 ms), looped, so it encodes nothing during the call and its cost is not counted.
MediaRecorder decodes every frame and encodes it again (libvpx, libopus) into WebM.

``--calls N`` instead records N concurrent calls with RecorderPeer and reports the share
of frames lost (goal: 1 % or less at 20 calls). Prints each figure; the last line is the
ratio (or the loss).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing
import random
import resource
import shutil
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import av
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRecorder

from recorder import RecorderPeer, RecorderSettings

GOAL_RATIO = 0.1
GOAL_LOSS = 0.01
FPS = 30
LOOP_SECONDS = 10  # the pre-encoded clip; a multiple of the key frame interval
KEYFRAME_SECONDS = 2


def cpu_seconds() -> float:
    """CPU time of this process, every thread, user and system."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# -- the sender process ---------------------------------------------------------------------------


def pre_encode(width: int, height: int, bitrate: int) -> tuple[list[bytes], list[bytes]]:
    """A looping clip: VP8 frames of a moving texture and Opus frames of a warbling tone."""
    video = av.VideoCodecContext.create("libvpx", "w")
    video.width, video.height, video.pix_fmt = width, height, "yuv420p"
    video.time_base, video.bit_rate, video.gop_size = Fraction(1, FPS), bitrate, FPS * 2
    video.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    texture = bytes(
        int(128 + 90 * math.sin(i / 9) * math.cos(i / 31)) for i in range(width * 4 + height * 8)
    )
    frames = []
    for index in range(LOOP_SECONDS * FPS):
        frame = av.VideoFrame(width, height, "yuv420p")
        plane = frame.planes[0]
        shift = index * 6
        rows = [
            texture[(y * 7 + shift) % width : (y * 7 + shift) % width + plane.line_size]
            for y in range(height)
        ]
        plane.update(b"".join(rows))
        for chroma in frame.planes[1:]:
            chroma.update(bytes([128]) * chroma.buffer_size)
        frame.pts = index
        frames += [bytes(p) for p in video.encode(frame)]
    frames += [bytes(p) for p in video.encode(None)]

    audio = av.AudioCodecContext.create("libopus", "w")
    audio.sample_rate, audio.layout, audio.format, audio.bit_rate = 48000, "stereo", "s16", 32000
    sounds = []
    for index in range(LOOP_SECONDS * 50):
        sound = av.AudioFrame(format="s16", layout="stereo", samples=960)
        tone = [
            int(6000 * math.sin(2 * math.pi * (440 + index % 50) * (index * 960 + i) / 48000))
            for i in range(960)
        ]
        sound.planes[0].update(b"".join(v.to_bytes(2, "little", signed=True) * 2 for v in tone))
        sound.sample_rate, sound.pts = 48000, index * 960
        sounds += [bytes(p) for p in audio.encode(sound)]
    return frames, sounds


class LoopTrack(MediaStreamTrack):
    """Sends pre-encoded packets in real time; aiortc packetizes them without encoding."""

    def __init__(self, kind: str, payloads: list[bytes], interval: float, clock_rate: int) -> None:
        super().__init__()
        self.kind = kind
        self.sent = 0
        self._payloads = payloads
        self._interval = interval
        self._step = round(interval * clock_rate)
        self._time_base = Fraction(1, clock_rate)
        self._start: float | None = None

    async def recv(self) -> av.Packet:
        if self._start is None:
            self._start = time.time()
        index = self.sent
        await asyncio.sleep(max(0.0, self._start + index * self._interval - time.time()))
        packet = av.Packet(self._payloads[index % len(self._payloads)])
        packet.pts, packet.time_base = index * self._step, self._time_base
        self.sent += 1
        return packet


async def send_calls(
    link: Any, calls: int, seconds: float, clip: tuple[list[bytes], list[bytes]]
) -> None:
    peers, tracks = [], []
    for _ in range(calls):
        pc = RTCPeerConnection()
        video = LoopTrack("video", clip[0], 1 / FPS, 90000)
        audio = LoopTrack("audio", clip[1], 0.02, 48000)
        pc.addTrack(audio)
        pc.addTrack(video)
        await pc.setLocalDescription(await pc.createOffer())
        peers.append(pc)
        tracks.append((video, audio))
    link.send([(pc.localDescription.sdp, pc.localDescription.type) for pc in peers])
    answers = await asyncio.to_thread(link.recv)
    for pc, (sdp, kind) in zip(peers, answers, strict=True):
        await pc.setRemoteDescription(RTCSessionDescription(sdp, kind))
    cpu_start, wall_start = cpu_seconds(), time.monotonic()
    await asyncio.sleep(seconds)
    load = (cpu_seconds() - cpu_start) / (time.monotonic() - wall_start)
    for pc in peers:
        await pc.close()
    link.send(([(video.sent, audio.sent) for video, audio in tracks], load))


def sender_main(link: Any, calls: int, seconds: float, size: tuple[int, int], bitrate: int) -> None:
    clip = pre_encode(*size, bitrate)
    asyncio.run(send_calls(link, calls, seconds, clip))


# -- the recorder process -------------------------------------------------------------------------


async def record_calls(link: Any, mode: str, directory: Path) -> dict[str, Any]:
    offers = await asyncio.to_thread(link.recv)
    cpu_start, wall_start = cpu_seconds(), time.monotonic()
    answers, closers = [], []
    for index, (sdp, kind) in enumerate(offers):
        offer = RTCSessionDescription(sdp, kind)
        if mode == "passthrough":
            peer = RecorderPeer(directory / f"call-{index}", settings=RecorderSettings())
            answer = await peer.answer(offer)
            closers.append(peer.close)
        else:
            pc = RTCPeerConnection()
            media = MediaRecorder(str(directory / f"call-{index}.webm"))
            pc.on("track", media.addTrack)
            await pc.setRemoteDescription(offer)
            await pc.setLocalDescription(await pc.createAnswer())
            await media.start()
            answer = pc.localDescription
            closers.append(_closer(pc, media))
        answers.append((answer.sdp, answer.type))
    link.send(answers)
    sent, sender_load = await asyncio.to_thread(link.recv)
    wall = time.monotonic() - wall_start
    results = [await close() for close in closers]
    cpu = cpu_seconds() - cpu_start
    return {"cpu": cpu, "wall": wall, "sent": sent, "recorded": results, "sender": sender_load}


def _closer(pc: RTCPeerConnection, media: MediaRecorder) -> Any:
    async def close() -> None:
        await media.stop()
        await pc.close()

    return close


def recorder_main(link: Any, results: Any, mode: str, directory: str) -> None:
    outcome = asyncio.run(record_calls(link, mode, Path(directory)))
    recorded = []
    for manifest in outcome["recorded"]:
        frames = {t["kind"]: t["frames"] for t in manifest.tracks.values()} if manifest else {}
        recorded.append((frames.get("video", 0), frames.get("audio", 0)))
    outcome["recorded"] = recorded
    results.send(outcome)


# -- the run --------------------------------------------------------------------------------------


def run(
    mode: str, calls: int, seconds: float, size: tuple[int, int], bitrate: int
) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    sender_link, recorder_link = context.Pipe()
    results_in, results_out = context.Pipe(duplex=False)
    directory = tempfile.mkdtemp(prefix=f"recorder-cpu-{mode}-")
    try:
        recorder = context.Process(
            target=recorder_main, args=(recorder_link, results_out, mode, directory)
        )
        sender = context.Process(
            target=sender_main, args=(sender_link, calls, seconds, size, bitrate)
        )
        recorder.start()
        sender.start()
        outcome = results_in.recv()
        sender.join()
        recorder.join()
        outcome["bytes"] = sum(p.stat().st_size for p in Path(directory).rglob("*") if p.is_file())
        if mode == "mediarecorder":  # what it managed to encode before the call ended
            outcome["recorded"] = [
                frames_in(Path(directory) / f"call-{i}.webm") for i in range(calls)
            ]
        return outcome
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def frames_in(path: Path) -> tuple[int, int]:
    with av.open(str(path)) as container:
        counts = {"video": 0, "audio": 0}
        for packet in container.demux():
            if packet.size:
                counts[packet.stream.type] += 1
    return counts["video"], counts["audio"]


def per_minute(outcome: dict[str, Any]) -> float:
    return outcome["cpu"] / (outcome["wall"] / 60) / len(outcome["sent"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each call")
    parser.add_argument("--size", default="640x480", help="video size, e.g. 1280x720")
    parser.add_argument("--bitrate", type=int, default=1_000_000, help="video bits per second")
    parser.add_argument("--calls", type=int, default=0, help="concurrent calls to record instead")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    size = (width, height)
    random.seed(1)
    print(
        f"input: {size[0]}x{size[1]} VP8 {FPS} fps at {args.bitrate / 1e6:.1f} Mbit/s + Opus 20 ms,"
        f" {args.seconds:.0f} s calls, sender pre-encoded in its own process, loopback"
    )

    if args.calls:
        outcome = run("passthrough", args.calls, args.seconds, size, args.bitrate)
        sent = [v + a for v, a in outcome["sent"]]
        recorded = [v + a for v, a in outcome["recorded"]]
        losses = [1 - r / s for s, r in zip(sent, recorded, strict=True)]
        print(
            f"recorder CPU: {per_minute(outcome):.2f} CPU-s per call-minute, {args.calls} calls"
            f" ({outcome['cpu'] / outcome['wall']:.2f} cores; sender {outcome['sender']:.2f} cores)"
        )
        print(
            f"frames sent {sum(sent)}, recorded {sum(recorded)}; worst call lost {max(losses):.2%}"
        )
        mean = sum(losses) / len(losses)
        print(f"{args.calls} concurrent calls: {mean:.2%} of frames lost (goal <= {GOAL_LOSS:.0%})")
        return 0

    figures = {}
    for mode, label in (
        ("passthrough", "stream copy (RecorderPeer)"),
        ("mediarecorder", "decode + re-encode (MediaRecorder)"),
    ):
        outcome = run(mode, 1, args.seconds, size, args.bitrate)
        figures[mode] = per_minute(outcome)
        (video, audio), (got_video, got_audio) = outcome["sent"][0], outcome["recorded"][0]
        print(
            f"{label}: {outcome['cpu']:.2f} CPU-s over {outcome['wall']:.1f} s"
            f" = {figures[mode]:.2f} CPU-s per call-minute; wrote {outcome['bytes'] / 1e6:.1f} MB,"
            f" {got_video}/{video} video and {got_audio}/{audio} audio frames"
        )
    ratio = figures["passthrough"] / figures["mediarecorder"]
    print(f"recorder CPU ratio, stream copy / MediaRecorder: {ratio:.3f} (goal <= {GOAL_RATIO})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
