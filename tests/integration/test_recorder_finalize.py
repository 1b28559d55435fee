"""finalize_participant on real recordings: RecorderPeer legs from real aiortc senders.

The VP8 recording has two legs, as after a network change: the first RecorderPeer is
closed and a second one answers a new sender. The picture shrinks inside the first leg
and the second leg is sent rotated (portrait). Tests work on copies of the legs, damage
them as a killed recorder or a bad disk would, finalize, and reopen the result with av
(every packet, byte for byte), then play and seek it in Chromium.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import time
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import imageio_ffmpeg
import pytest
from aiohttp import web

from recorder import (
    FinalizeError,
    FinalRecording,
    Manifest,
    finalize_participant,
    find_ffmpeg,
)
from tests.plugins.media import (
    SYNC_GOAL,
    BeepTrack,
    PatternTrack,
    av_offsets,
    record_call,
    segment_clock,
    timeline_clock,
)

CUES, CLUSTER, SEGMENT = 0x1C53BB6B, 0x1F43B675, 0x18538067


@dataclass
class Recording:
    legs: list[Path]
    epoch: float
    flashes: dict[int, float]  # whole second -> content time of its flash frame


@pytest.fixture(scope="module")
def vp8_legs(tmp_path_factory: pytest.TempPathFactory) -> Recording:
    directory = tmp_path_factory.mktemp("vp8-legs")

    async def record() -> Recording:
        epoch = time.time()
        first = PatternTrack(epoch)
        await record_call(
            directory / "leg-1", first, BeepTrack(epoch), seconds=5.0, resize_after=2.5
        )
        second = PatternTrack(epoch, size=(480, 640))  # the phone turned to portrait
        await record_call(directory / "leg-2", second, BeepTrack(epoch), seconds=3.5)
        legs = [directory / "leg-1", directory / "leg-2"]
        return Recording(legs, epoch, {**first.flashes, **second.flashes})

    return in_own_loop(record())


@pytest.fixture(scope="module")
def h264_leg(tmp_path_factory: pytest.TempPathFactory) -> Recording:
    directory = tmp_path_factory.mktemp("h264-leg")

    async def record() -> Recording:
        epoch = time.time()
        video = PatternTrack(epoch)
        await record_call(
            directory / "leg-1",
            video,
            BeepTrack(epoch),
            seconds=3.6,
            resize_after=1.8,
            video_codec="video/H264",
        )
        return Recording([directory / "leg-1"], epoch, video.flashes)

    return in_own_loop(record())


def in_own_loop(call: Coroutine[Any, Any, Recording]) -> Recording:
    """Run a recording in a thread with its own event loop: a test's loop may be running."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, call).result()


def copy_legs(recording: Recording, into: Path) -> list[Path]:
    return [Path(shutil.copytree(leg, into / "legs" / leg.name)) for leg in recording.legs]


def kill_last_segment(leg: Path) -> str:
    """Leave the leg as a recorder SIGKILLed mid-segment would: last file cut short, open."""
    manifest = json.loads((leg / "manifest.json").read_text())
    entry = manifest["segments"][-1]
    path = leg / entry["file"]
    os.truncate(path, path.stat().st_size * 6 // 10)
    entry.update(end=None, size=None, sha256=None, complete=False)
    manifest["complete"] = False
    (leg / "manifest.json").write_text(json.dumps(manifest))
    return str(entry["file"])


def packets(path: Path) -> dict[str, list[tuple[str, int]]]:
    """(SHA-256, time in ms) of each packet of the first video and first audio stream."""
    found: dict[str, list[tuple[str, int]]] = {"video": [], "audio": []}
    with av.open(str(path)) as container:
        firsts = {s.type: s.index for s in reversed(container.streams) if s.type in found}
        for packet in container.demux():
            if packet.size and firsts.get(packet.stream.type) == packet.stream.index:
                at = round(float(packet.pts * packet.time_base) * 1000)
                found[packet.stream.type].append((hashlib.sha256(bytes(packet)).hexdigest(), at))
    return found


def used_packets(result: FinalRecording, legs: list[Path]) -> dict[str, list[tuple[str, int]]]:
    """The packets of the segments the result says it used, at the times it gave them."""
    found: dict[str, list[tuple[str, int]]] = {"video": [], "audio": []}
    for entry in result.timeline:
        shift = round(entry.at * 1000)
        for kind, listed in packets(legs[entry.leg - 1] / entry.file).items():
            found[kind] += [(h, at + shift) for h, at in listed]
    return found


def assert_same_packets(result: FinalRecording, legs: list[Path]) -> None:
    """The output holds the segments' packets byte for byte, in order, where the timeline
    puts each segment (to the millisecond: Matroska's tick), so no stream moved."""
    written, used = packets(result.path), used_packets(result, legs)
    for kind in written:
        assert [h for h, _ in written[kind]] == [h for h, _ in used[kind]], kind
        shifts = {
            at - expected for (_, at), (_, expected) in zip(written[kind], used[kind], strict=True)
        }
        assert shifts <= {-1, 0, 1}, (kind, shifts)


def content_end(path: Path) -> float:
    with av.open(str(path)) as container:
        return max(
            float((p.pts + (p.duration or 0)) * p.time_base)
            for p in container.demux()
            if p.size and p.pts is not None
        )


def segment_children(path: Path) -> list[int]:
    """IDs of the Matroska Segment's children in file order, up to the first Cluster."""
    data = path.read_bytes()[: 1 << 20]

    def vint(at: int, marker: bool) -> tuple[int, int]:
        length = 9 - data[at].bit_length()
        value = int.from_bytes(data[at : at + length], "big")
        return (value if marker else value & ((1 << (7 * length)) - 1)), at + length

    _, at = vint(0, True)  # the EBML header
    size, at = vint(at, False)
    element, at = vint(at + size, True)
    assert element == SEGMENT
    _, at = vint(at, False)
    children = []
    while at < len(data) and CLUSTER not in children:
        element, at = vint(at, True)
        size, at = vint(at, False)
        children.append(element)
        at += size
    return children


def decoded_sizes(path: Path) -> dict[tuple[int, int], int]:
    sizes: dict[tuple[int, int], int] = {}
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            sizes[frame.width, frame.height] = sizes.get((frame.width, frame.height), 0) + 1
    return sizes


def jpeg_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:3] == b"\xff\xd8\xff" and data[-2:] == b"\xff\xd9"
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
        return frame.width, frame.height


def timeline_seconds(manifest: Manifest) -> float:
    """The recorded timeline of a closed leg: its segments' lengths, gaps left out."""
    return sum(s.end - s.start for s in manifest.segments if s.end is not None)


def video_size(manifest: Manifest, file: str | None = None) -> tuple[int, int]:
    """The picture size the manifest gives a segment (the first one by default)."""
    segment = next(s for s in manifest.segments if file in (None, s.file))
    stream = next(s for s in segment.streams if s["kind"] == "video")
    return stream["width"], stream["height"]


# -- the finalized file ---------------------------------------------------------------------


@pytest.mark.parametrize("binary", ["default", "bundled"])
def test_two_legs_become_one_webm_holding_the_recorded_packets(
    binary: str, vp8_legs: Recording, tmp_path: Path
) -> None:
    legs = copy_legs(vp8_legs, tmp_path)
    killed = kill_last_segment(legs[0])
    manifests = [Manifest.read(leg) for leg in legs]
    exe = imageio_ffmpeg.get_ffmpeg_exe() if binary == "bundled" else None

    result = finalize_participant(legs, tmp_path / "final", participant="borrower", ffmpeg_exe=exe)

    assert result.path == tmp_path / "final" / "borrower.webm"
    assert result.poster == tmp_path / "final" / "borrower.jpg"
    assert sorted(p.name for p in (tmp_path / "final").iterdir()) == [
        "borrower.jpg",
        "borrower.webm",
    ]
    assert (result.format, result.media_type, result.codecs) == (
        "webm",
        "video/webm",
        ("vp8", "opus"),
    )
    assert result.size == result.path.stat().st_size
    assert result.sha256 == hashlib.sha256(result.path.read_bytes()).hexdigest()
    listed = sum(len(m.segments) for m in manifests)
    assert result.segments_used == result.segments_listed == listed
    assert {(w.leg, w.file, w.code) for w in result.warnings} == {
        (1, "manifest.json", "leg_not_closed"),
        (1, killed, "incomplete"),
    }

    # Every packet of every segment, byte for byte, in order and in place: no re-encoding.
    assert_same_packets(result, legs)
    assert len(packets(result.path)["video"]) > 200

    # The segments follow each other; the file lasts as long as the manifests say.
    assert [(e.leg, e.file) for e in result.timeline] == [
        (leg, s.file) for leg, m in enumerate(manifests, 1) for s in m.segments
    ]
    assert [e.start for e in result.timeline] == [s.start for m in manifests for s in m.segments]
    for before, after in zip(result.timeline, result.timeline[1:], strict=False):
        assert after.at == pytest.approx(before.at + before.duration, abs=1e-6)
    recorded = sum(timeline_seconds(m) for m in manifests) + content_end(legs[0] / killed)
    assert abs(result.duration - recorded) <= 1.0
    with av.open(str(result.path)) as container:
        assert [s.codec_context.name for s in container.streams] == ["vp8", "opus"]
        assert container.duration is not None
        assert container.duration / 1e6 == pytest.approx(result.duration, abs=0.002)

    # Every picture size decodes, the index comes before the media (seekable at once).
    sizes = decoded_sizes(result.path)
    assert set(sizes) == {(640, 480), (320, 240), (480, 640)}
    assert sum(sizes.values()) == len(packets(result.path)["video"])
    children = segment_children(result.path)
    assert CUES in children and children[-1] == CLUSTER
    assert (result.width, result.height) == (640, 480)
    assert jpeg_size(result.poster) == (640, 480)


def test_missing_unreadable_and_altered_segments_are_named_and_the_rest_is_used(
    vp8_legs: Recording, tmp_path: Path
) -> None:
    legs = copy_legs(vp8_legs, tmp_path)
    first, second = Manifest.read(legs[0]), Manifest.read(legs[1])
    missing, unreadable = first.segments[1].file, first.segments[2].file
    (legs[0] / missing).unlink()
    (legs[0] / unreadable).write_bytes(b"no matroska here " * 1000)
    altered = legs[1] / second.segments[0].file
    with av.open(str(altered)) as container:
        payload = bytes(max(container.demux(video=0), key=lambda p: p.size))
    data = bytearray(altered.read_bytes())
    assert data.find(payload) > 0
    at = data.find(payload) + len(payload) // 2
    data[at] ^= 0xFF  # one byte of one picture: still readable, no longer what was recorded
    altered.write_bytes(data)
    no_manifest = tmp_path / "legs" / "leg-3"
    no_manifest.mkdir()

    result = finalize_participant([*legs, no_manifest], tmp_path / "final", participant="borrower")

    assert {(w.leg, w.file, w.code) for w in result.warnings} == {
        (1, missing, "missing"),
        (1, unreadable, "sha256_mismatch"),
        (1, unreadable, "unreadable"),
        (2, altered.name, "sha256_mismatch"),
        (3, "manifest.json", "missing"),
    }
    assert all(w.detail for w in result.warnings)
    listed = len(first.segments) + len(second.segments)
    assert (result.segments_listed, result.segments_used) == (listed, listed - 2)
    assert (2, altered.name) in [(e.leg, e.file) for e in result.timeline]
    assert_same_packets(result, legs)
    assert sum(decoded_sizes(result.path).values()) == len(packets(result.path)["video"])
    assert result.to_json()["warnings"][0] == {
        "leg": 1,
        "file": missing,
        "code": "missing",
        "detail": f"listed in the manifest but not found: {legs[0] / missing}",
    }


def test_no_playable_segment_is_a_finalize_error_and_leaves_nothing(
    vp8_legs: Recording, tmp_path: Path
) -> None:
    legs = copy_legs(vp8_legs, tmp_path)
    listed = 0
    for leg in legs:
        for segment in Manifest.read(leg).segments:
            (leg / segment.file).unlink()
            listed += 1

    with pytest.raises(FinalizeError) as raised:
        finalize_participant(legs, tmp_path / "final", participant="borrower")
    assert raised.value.participant == "borrower"
    assert str(raised.value) == (
        "cannot finalize the recording of 'borrower': "
        f"no playable segment in 2 leg(s), {listed} segment(s) listed"
    )
    assert list((tmp_path / "final").iterdir()) == []

    with pytest.raises(FinalizeError) as raised:
        finalize_participant([], tmp_path / "final", participant="borrower")
    assert raised.value.reason == "no recording legs were given"


def test_audio_and_video_stay_in_sync_across_legs_in_the_finalized_file(
    vp8_legs: Recording, tmp_path: Path
) -> None:
    legs = copy_legs(vp8_legs, tmp_path)
    result = finalize_participant(legs, tmp_path / "final", participant="borrower")

    clock = timeline_clock(result.timeline, vp8_legs.epoch)
    final = av_offsets(result.path, vp8_legs.flashes, clock)
    legs_with_marks = {
        e.leg
        for second in final
        for e in result.timeline
        if e.start <= vp8_legs.epoch + second < e.start + e.duration
    }
    assert len(final) >= 6 and legs_with_marks == {1, 2}
    assert max(abs(o) for o in final.values()) <= SYNC_GOAL, final
    # Finalizing adds nothing: each mark is where it was in its segment, to the millisecond.
    recorded: dict[int, float] = {}
    for leg in legs:
        for segment in Manifest.read(leg).segments:
            clock = segment_clock(segment.start, vp8_legs.epoch)
            recorded |= av_offsets(leg / segment.file, vp8_legs.flashes, clock)
    assert set(recorded) <= set(final)
    for second, offset in recorded.items():
        assert abs(final[second] - offset) <= 0.002, (second, final[second], offset)


def test_h264_becomes_matroska_with_its_resolution_change(
    h264_leg: Recording, tmp_path: Path
) -> None:
    legs = copy_legs(h264_leg, tmp_path)
    manifest = Manifest.read(legs[0])

    result = finalize_participant(legs, tmp_path / "final", participant="borrower")

    assert result.path.name == "borrower.mkv"
    assert (result.format, result.media_type) == ("matroska", "video/x-matroska")
    assert result.codecs == ("h264", "opus") and result.warnings == ()
    assert_same_packets(result, legs)
    assert set(decoded_sizes(result.path)) == {(640, 480), (320, 240)}
    assert abs(result.duration - timeline_seconds(manifest)) <= 1.0
    assert CUES in segment_children(result.path)
    assert result.poster is not None and jpeg_size(result.poster) == video_size(manifest)


def test_a_codec_change_across_legs_keeps_each_codec_in_a_stream_of_its_own(
    vp8_legs: Recording, h264_leg: Recording, tmp_path: Path
) -> None:
    vp8 = copy_legs(vp8_legs, tmp_path)[0]
    h264 = copy_legs(h264_leg, tmp_path / "h264")[0]

    result = finalize_participant([vp8, h264], tmp_path / "final", participant="borrower")

    assert result.path.suffix == ".mkv" and result.codecs == ("vp8", "h264", "opus")
    assert [(w.leg, w.code) for w in result.warnings] == [(None, "codec_change")]
    assert result.warnings[0].detail == (
        "video is vp8 then h264: one video stream per codec, and players show only the first"
    )
    with av.open(str(result.path)) as container:
        second = [
            (hashlib.sha256(bytes(p)).hexdigest(), float(p.pts * p.time_base))
            for p in container.demux(video=1)
            if p.size and p.pts is not None
        ]
    recorded_segments = [e for e in result.timeline if e.leg == 2]
    recorded = [
        (h, at / 1000 + entry.at)
        for entry in recorded_segments
        for h, at in packets(h264 / entry.file)["video"]
    ]
    assert [h for h, _ in second] == [h for h, _ in recorded]
    assert all(abs(a - b) <= 0.0015 for (_, a), (_, b) in zip(second, recorded, strict=True))
    written, used = packets(result.path), used_packets(result, [vp8, h264])
    assert [h for h, _ in written["audio"]] == [h for h, _ in used["audio"]]
    first_leg = dataclasses.replace(result, timeline=result.timeline[: -len(recorded_segments)])
    assert [h for h, _ in written["video"]] == [
        h for h, _ in used_packets(first_leg, [vp8])["video"]
    ]


async def test_audio_only_leg_has_no_poster_and_video_joining_later_starts_in_place(
    vp8_legs: Recording, tmp_path: Path
) -> None:
    audio_only = tmp_path / "legs" / "leg-0"
    _, manifest = await record_call(audio_only, None, BeepTrack(time.time()), seconds=2.5)

    alone = await asyncio.to_thread(
        finalize_participant, [audio_only], tmp_path / "alone", participant="borrower"
    )

    assert alone.codecs == ("opus",) and alone.format == "webm" and alone.warnings == ()
    assert alone.poster is None and (alone.width, alone.height) == (None, None)
    assert_same_packets(alone, [audio_only])
    assert abs(alone.duration - timeline_seconds(manifest)) <= 1.0
    assert [p.name for p in (tmp_path / "alone").iterdir()] == ["borrower.webm"]
    assert alone.to_json()["poster"] is None

    # The camera comes with the next leg: video starts there, not at 0.
    legs = [audio_only, *copy_legs(vp8_legs, tmp_path)[1:]]
    joined = await asyncio.to_thread(
        finalize_participant, legs, tmp_path / "joined", participant="borrower"
    )

    assert joined.codecs == ("vp8", "opus")
    assert_same_packets(joined, legs)
    with av.open(str(joined.path)) as container:
        video = next(p for p in container.demux(video=0) if p.size)
        assert video.pts is not None
        assert float(video.pts * video.time_base) >= joined.timeline[len(manifest.segments)].at
    assert joined.poster is not None and jpeg_size(joined.poster) == (480, 640)


def test_ffmpeg_is_the_one_on_path_else_the_bundled_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_path = shutil.which("ffmpeg")
    if on_path is not None:
        assert find_ffmpeg() == on_path
    monkeypatch.setenv("PATH", str(tmp_path))
    bundled = find_ffmpeg()
    assert bundled == imageio_ffmpeg.get_ffmpeg_exe()
    assert Path(bundled).is_file() and "site-packages" in bundled


# -- in the browser -------------------------------------------------------------------------

PLAY_AND_SEEK = """async (seeks) => {
  const video = document.querySelector('video');
  const wait = (event) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event}: ${video.error?.message}`)), 5000);
    video.addEventListener(event, () => { clearTimeout(timer); resolve(); }, {once: true});
  });
  if (video.readyState < 1) await wait('loadedmetadata');
  const seen = {duration: video.duration, seekable: video.seekable.end(0), frames: []};
  video.muted = true;
  await video.play();
  await new Promise((resolve) => setTimeout(resolve, 1200));
  seen.played = video.currentTime;
  video.pause();
  for (const at of seeks) {
    video.currentTime = at;
    await wait('seeked');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const canvas = document.createElement('canvas');
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    const context = canvas.getContext('2d');
    context.drawImage(video, 0, 0);
    const pixel = context.getImageData(canvas.width / 2, canvas.height / 2, 1, 1).data;
    seen.frames.push([video.currentTime, video.videoWidth, video.videoHeight, pixel[0]]);
  }
  seen.error = video.error ? video.error.message : null;
  return seen;
}"""


@pytest.mark.browser
@pytest.mark.parametrize("recording", ["vp8_legs", "h264_leg"])
async def test_chromium_plays_the_file_from_the_start_and_seeks_into_every_segment(
    recording: str, request: pytest.FixtureRequest, browser: Any, tmp_path: Path
) -> None:
    legs = copy_legs(request.getfixturevalue(recording), tmp_path)
    result = await asyncio.to_thread(
        finalize_participant, legs, tmp_path / "final", participant="borrower"
    )
    manifests = [Manifest.read(leg) for leg in legs]
    sizes = [video_size(manifests[e.leg - 1], e.file) for e in result.timeline]
    seeks = [round(e.at + min(0.5, e.duration / 2), 3) for e in result.timeline]

    async with serve(result.path, result.media_type) as url:
        page = await browser.new_page()
        await page.goto(url)
        seen = await page.evaluate(PLAY_AND_SEEK, seeks)

    assert seen["error"] is None
    assert seen["duration"] == pytest.approx(result.duration, abs=0.05)
    assert seen["seekable"] == pytest.approx(result.duration, abs=0.05)
    assert seen["played"] > 0.5  # it played from the start
    for (at, width, height, luma), seek, size in zip(seen["frames"], seeks, sizes, strict=True):
        assert at == pytest.approx(seek, abs=0.01)
        assert (width, height) == size
        assert luma > 0  # a decoded picture, not a black box


@contextlib.asynccontextmanager
async def serve(path: Path, media_type: str) -> AsyncIterator[str]:
    """The file over HTTP with range requests, as the app serves media, on a free port."""

    async def index(_: web.Request) -> web.Response:
        page = '<video src="/media" preload="auto"></video>'
        return web.Response(text=page, content_type="text/html")

    async def media(_: web.Request) -> web.FileResponse:
        return web.FileResponse(path, headers={"Content-Type": media_type})

    app = web.Application()
    app.router.add_get("/", index)
    app.router.add_get("/media", media)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/"
    finally:
        await runner.cleanup()


def test_a_stream_with_no_packet_in_a_segment_is_skipped_not_fatal(tmp_path: Path) -> None:
    """A track that sent nothing in a segment (a leg's last segment holding only late
    audio) is split out by ffmpeg as an empty file: no piece, and finalizing goes on."""
    from recorder.finalize import _probe_piece

    empty = tmp_path / "piece-001-00003-1.mkv"
    empty.write_bytes(b"")
    assert _probe_piece(empty, ("video", "vp8")) is None
