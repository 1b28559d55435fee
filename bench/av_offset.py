"""A/V offset in a finalized recording, end to end: sender → RecorderPeer → segments → finalize.

The sender is a real aiortc peer on loopback whose tracks carry sync marks on one clock
(``tests/plugins/media.py``): at each whole second the first video frame is white and a
100 ms beep starts. The call is recorded in two legs, as after a network change: the
first RecorderPeer is closed and a second one answers a new sender. The picture shrinks
halfway through the first leg and the second leg is sent in portrait. Then
``finalize_participant`` makes the participant's one file.

A mark's offset is the time from the beep onset to the flash frame in the file, less the
time the flash frame trails the whole second at the sender (under 1/30 s): positive when
video is late. Marks are found by decoding the file (PyAV). The same marks are measured
in each segment as recorded, which shows what finalizing adds. Prints each summary
(median, max |offset|, count); the last line is the figure, measured in the finalized file.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from recorder import Manifest, RecorderSettings, finalize_participant
from tests.plugins.media import (
    BeepTrack,
    PatternTrack,
    av_offsets,
    record_call,
    segment_clock,
    timeline_clock,
)

GOAL = 0.040  # seconds


async def record(directory: Path, seconds: float, settings: RecorderSettings, codec: str | None):
    epoch = time.time()
    first = PatternTrack(epoch)
    await record_call(
        directory / "leg-1",
        first,
        BeepTrack(epoch),
        seconds=seconds,
        settings=settings,
        resize_after=seconds / 2,
        video_codec=codec,
    )
    second = PatternTrack(epoch, size=(480, 640))
    await record_call(
        directory / "leg-2",
        second,
        BeepTrack(epoch),
        seconds=seconds,
        settings=settings,
        video_codec=codec,
    )
    return epoch, {**first.flashes, **second.flashes}


def summary(offsets: dict[int, float]) -> str:
    values = list(offsets.values())
    if not values:
        return "no marks found"
    return (
        f"median {statistics.median(values) * 1000:+.0f} ms,"
        f" max |offset| {max(abs(v) for v in values) * 1000:.0f} ms over {len(values)} marks"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=9.0, help="length of each of 2 legs")
    parser.add_argument("--segment-seconds", type=float, default=4.0, help="recorder segments")
    parser.add_argument("--codec", choices=["vp8", "h264"], default="vp8", help="video codec")
    args = parser.parse_args()
    settings = RecorderSettings(segment_seconds=args.segment_seconds)
    codec = "video/H264" if args.codec == "h264" else None
    print(
        f"sender: aiortc on loopback, {args.codec.upper()} 640x480 then 320x240 (leg 1),"
        f" 480x640 (leg 2), Opus 20 ms; 2 legs of {args.seconds:.0f} s;"
        f" segments of {args.segment_seconds:.0f} s"
    )
    directory = Path(tempfile.mkdtemp(prefix="av-offset-"))
    try:
        epoch, flashes = asyncio.run(record(directory, args.seconds, settings, codec))
        legs = [directory / "leg-1", directory / "leg-2"]

        recorded: dict[int, float] = {}
        segments = 0
        for leg in legs:
            for segment in Manifest.read(leg).segments:
                clock = segment_clock(segment.start, epoch)
                recorded |= av_offsets(leg / segment.file, flashes, clock)
                segments += 1
        print(f"segments as recorded ({segments} files): {summary(recorded)}")

        started = time.monotonic()
        result = finalize_participant(legs, directory / "final", participant="borrower")
        took = time.monotonic() - started
        final = av_offsets(result.path, flashes, timeline_clock(result.timeline, epoch))
        print(
            f"finalized file ({result.path.name}, {result.duration:.1f} s,"
            f" {result.segments_used} segments, finalize took {took:.2f} s): {summary(final)}"
        )
        both = set(recorded) & set(final)
        if both:
            moved = max(abs(final[s] - recorded[s]) for s in both) * 1000
            print(f"finalize moved a mark by at most {moved:.1f} ms ({len(both)} marks in both)")
        if not final:
            print("A/V offset: no sync mark found in the finalized file")
            return 1
        worst = max(abs(v) for v in final.values())
        print(
            f"A/V offset: max |offset| {worst * 1000:.0f} ms over {len(final)} marks"
            f" (goal ≤ {GOAL * 1000:.0f} ms)"
        )
        return 0
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
