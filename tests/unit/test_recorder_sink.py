"""The recorder's rules without IO: RTP time, frame headers, and where each frame goes.

Header parsing runs on frames real encoders produce (PyAV's libvpx, libx264, libopus, in
memory). Segment rules run on a synthetic call: video at 30 fps and audio every 20 ms, on
the same sender clock, with RTP timestamps that wrap 32 bits in the first second.
"""

from __future__ import annotations

import struct
from dataclasses import replace
from fractions import Fraction
from typing import cast

import av
import pytest
from hypothesis import given
from hypothesis import strategies as st

from recorder.actions import CloseSegment, Gap, OpenSegment, WritePacket
from recorder.bitstream import (
    VP8_START_CODE,
    h264_keyframe,
    h264_size,
    ogg_opus_stub,
    opus_head,
    opus_samples,
    vp8_keyframe,
    vp8_size,
)
from recorder.frames import EncodedFrame, SenderReport
from recorder.segmenter import Segmenter
from recorder.timeline import RtpUnwrapper, ntp_to_unix, signed_diff32

# -- RTP time -----------------------------------------------------------------------------------


def test_unwrap_continues_through_the_32_bit_wrap() -> None:
    unwrapper = RtpUnwrapper()
    raw = [0xFFFF_F000, 0xFFFF_FC00, 0x0000_0800, 0x0000_1400]
    assert [unwrapper.unwrap(r) for r in raw] == [
        0xFFFF_F000,
        0xFFFF_FC00,
        0x1_0000_0800,
        0x1_0000_1400,
    ]


def test_unwrap_takes_a_late_frame_for_late_not_for_a_wrap() -> None:
    unwrapper = RtpUnwrapper()
    assert [unwrapper.unwrap(r) for r in (9000, 12000, 6000, 15000)] == [9000, 12000, 6000, 15000]


@given(
    start=st.integers(0, 2**32 - 1),
    steps=st.lists(st.integers(-90_000, 2**31 - 1), max_size=60),
)
def test_unwrap_recovers_the_running_count(start: int, steps: list[int]) -> None:
    unwrapper = RtpUnwrapper()
    assert unwrapper.unwrap(start) == start
    expected = start
    for step in steps:
        expected += step
        assert unwrapper.unwrap(expected % 2**32) == expected


def test_signed_difference_and_ntp_time() -> None:
    assert signed_diff32(5, 2**32 - 5) == 10
    assert signed_diff32(2**32 - 5, 5) == -10
    assert ntp_to_unix((2_208_988_800 + 100) << 32 | 1 << 31) == 100.5


# -- frame headers, on real encoder output ------------------------------------------------------


def encode_video(codec: str, width: int, height: int, count: int, keys: set[int]) -> list[bytes]:
    encoder = cast(av.VideoCodecContext, av.CodecContext.create(codec, "w"))
    encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuv420p"
    encoder.time_base, encoder.gop_size = Fraction(1, 30), 1000
    if codec == "libx264":
        encoder.options = {"tune": "zerolatency", "preset": "ultrafast"}
    out = []
    for index in range(count):
        frame = av.VideoFrame(width, height, "yuv420p")
        for plane in frame.planes:
            plane.update(bytes([(index * 40 + 30) % 256]) * plane.buffer_size)
        frame.pts = index
        if index in keys:
            frame.pict_type = av.video.frame.PictureType.I
        out += [bytes(p) for p in encoder.encode(frame)]
    return out + [bytes(p) for p in encoder.encode(None)]


def test_vp8_key_frames_and_their_size_are_read_from_the_header() -> None:
    frames = encode_video("libvpx", 322, 242, 5, keys={3})
    assert [vp8_keyframe(f) for f in frames] == [True, False, False, True, False]
    assert [vp8_size(f) for f in frames] == [(322, 242), None, None, (322, 242), None]


@pytest.mark.parametrize("size", [(640, 480), (320, 180), (176, 144)])
def test_h264_idr_and_cropped_size_are_read_from_the_sps(size: tuple[int, int]) -> None:
    frames = encode_video("libx264", *size, count=4, keys={2})
    assert [h264_keyframe(f) for f in frames] == [True, False, True, False]
    assert h264_size(frames[0]) == size
    assert h264_size(frames[1]) is None


@pytest.mark.parametrize(("milliseconds", "samples"), [("10", 480), ("20", 960), ("60", 2880)])
def test_opus_packet_duration_is_read_from_its_toc(milliseconds: str, samples: int) -> None:
    encoder = av.AudioCodecContext.create("libopus", "w")
    encoder.sample_rate, encoder.layout, encoder.format = 48000, "stereo", "s16"
    encoder.options = {"frame_duration": milliseconds}
    frame = av.AudioFrame(format="s16", layout="stereo", samples=2880)
    frame.planes[0].update(bytes(frame.planes[0].buffer_size))
    frame.sample_rate, frame.pts = 48000, 0
    packets = [bytes(p) for p in encoder.encode(frame)] + [bytes(p) for p in encoder.encode(None)]
    assert packets and {opus_samples(p) for p in packets} == {samples}


def test_opus_head_and_the_ogg_stub_carry_stereo_48k_without_pre_skip() -> None:
    head = opus_head(2)
    assert head[:8] == b"OpusHead" and struct.unpack("<BBHIhB", head[8:]) == (1, 2, 0, 48000, 0, 0)
    stub = ogg_opus_stub(2)
    assert stub.startswith(b"OggS") and head in stub and stub.count(b"OggS") == 3


# -- where frames go ----------------------------------------------------------------------------

SENDER_T0 = 1_700_000_000.0  # sender wall clock at content time 0
VIDEO_SSRC, AUDIO_SSRC = 1111, 2222
VIDEO_RTP0 = 2**32 - 45_000  # wraps half a second in
AUDIO_RTP0 = 0x1234_5678
OPUS_20MS = bytes([0xFC]) + bytes(40)


def vp8(size: tuple[int, int], key: bool) -> bytes:
    if not key:
        return bytes([0x11, 0, 0]) + bytes(30)
    return bytes([0x10, 0, 0]) + VP8_START_CODE + struct.pack("<HH", *size) + bytes(30)


def video(
    t: float,
    key: bool = False,
    size: tuple[int, int] = (640, 480),
    ssrc: int = VIDEO_SSRC,
    delay: float = 0.03,
    loss: bool = False,
    rtp0: int = VIDEO_RTP0,
) -> EncodedFrame:
    timestamp = (rtp0 + round(t * 90000)) % 2**32
    data = vp8(size, key)
    return EncodedFrame(
        "video-1", "video", "vp8", 90000, ssrc, timestamp, data, key, SENDER_T0 + t + delay, loss
    )


def audio(t: float, delay: float = 0.03) -> EncodedFrame:
    timestamp = (AUDIO_RTP0 + round(t * 48000)) % 2**32
    return EncodedFrame(
        "audio-0",
        "audio",
        "opus",
        48000,
        AUDIO_SSRC,
        timestamp,
        OPUS_20MS,
        True,
        SENDER_T0 + t + delay,
    )


def call(
    seconds: float,
    keys: frozenset[int] | set[int] = frozenset({0}),
    audio_delay: float = 0.03,
    change_at: int | None = None,
    **changed: object,
) -> list[EncodedFrame]:
    """A call's frames in arrival order. ``keys`` are the numbers of the video key frames;
    from video frame ``change_at`` on, ``changed`` (size, ssrc, loss) applies."""
    frames = []
    for n in range(round(seconds * 30)):
        after = change_at is not None and n >= change_at
        frames.append(video(n / 30, key=n in keys, **(changed if after else {})))  # type: ignore[arg-type]
    frames += [audio(n / 50, delay=audio_delay) for n in range(round(seconds * 50))]
    return sorted(frames, key=lambda f: f.arrival)


def until(
    frames: list[EncodedFrame], seconds: float
) -> tuple[list[EncodedFrame], list[EncodedFrame]]:
    """The frames that arrived by ``seconds`` of content time, and the rest."""
    cut = SENDER_T0 + seconds + 0.03 + 1e-6
    return [f for f in frames if f.arrival < cut], [f for f in frames if f.arrival >= cut]


def segmenter(reports: bool = True, **settings: float) -> Segmenter:
    segments = Segmenter(**{"segment_seconds": 2.0, "sync_wait": 2.0, **settings})
    segments.add_track("audio-0", "audio")
    segments.add_track("video-1", "video")
    if reports:
        segments.sender_report("video-1", SenderReport(VIDEO_SSRC, SENDER_T0, VIDEO_RTP0))
        segments.sender_report("audio-0", SenderReport(AUDIO_SSRC, SENDER_T0, AUDIO_RTP0))
    return segments


class Recording:
    """The actions of a segmenter, read back as segments and timed packets."""

    def __init__(self, segments: Segmenter) -> None:
        self.segmenter = segments
        self.actions: list[object] = []

    def push(self, frames: list[EncodedFrame]) -> Recording:
        for frame in frames:
            self.actions += self.segmenter.push(frame)
        return self

    def finish(self) -> Recording:
        self.actions += self.segmenter.finish()
        return self

    @property
    def opened(self) -> list[OpenSegment]:
        return [a for a in self.actions if isinstance(a, OpenSegment)]

    @property
    def closed(self) -> dict[int, float]:
        return {a.index: a.end for a in self.actions if isinstance(a, CloseSegment)}

    def packets(self, track: str) -> list[tuple[int, float, bool]]:
        """(segment, content time, key) of each packet written for ``track``."""
        starts = {o.index: o.start for o in self.opened}
        rate = 90000 if track.startswith("video") else 48000
        return [
            (a.index, starts[a.index] + a.pts / rate - SENDER_T0 - 0.03, a.keyframe)
            for a in self.actions
            if isinstance(a, WritePacket) and a.track == track
        ]

    @property
    def gaps(self) -> list[Gap]:
        return [a for a in self.actions if isinstance(a, Gap)]


def test_video_waits_for_a_key_frame_and_the_first_segment_starts_with_it() -> None:
    segments = segmenter()
    recording = Recording(segments).push(call(0.5, keys={6}))
    assert segments.keyframe_wanted() == frozenset()
    assert recording.opened[0].reason == "start"
    video_packets = recording.packets("video-1")
    assert video_packets[0][1] == pytest.approx(6 / 30) and video_packets[0][2]
    assert recording.gaps[0].track == "video-1" and recording.gaps[0].reason == "keyframe"
    assert segments.track_stats()["video-1"]["dropped"] == {"keyframe": 6}
    # audio from before the first key frame is kept
    assert recording.packets("audio-0")[0][1] == pytest.approx(0, abs=1e-6)


def test_sender_reports_place_audio_and_video_on_the_sender_clock() -> None:
    # Audio reaches the recorder 80 ms later than video (a deeper jitter buffer):
    # arrival times would put it 80 ms late, the sender reports put it where it belongs.
    recording = Recording(segmenter()).push(call(1.0, audio_delay=0.11))
    assert recording.opened[0].sync == "rtcp-sr"
    video_times = [at for _, at, _ in recording.packets("video-1")]
    audio_times = [at for _, at, _ in recording.packets("audio-0")]
    assert video_times[:30] == pytest.approx([n / 30 for n in range(30)], abs=1e-4)
    assert audio_times[:50] == pytest.approx([n / 50 for n in range(50)], abs=1e-4)


def test_a_report_read_late_by_a_busy_sender_does_not_move_the_track() -> None:
    segments = segmenter()
    late = SenderReport(AUDIO_SSRC, SENDER_T0 + 1.0 + 0.04, AUDIO_RTP0 + 48000)
    segments.sender_report("audio-0", late)
    recording = Recording(segments).push(call(1.0))
    audio_times = [at for _, at, _ in recording.packets("audio-0")]
    assert audio_times[:50] == pytest.approx([n / 50 for n in range(50)], abs=1e-4)


def test_without_reports_the_first_segment_falls_back_to_arrival_times() -> None:
    before, after = until(call(1.0, audio_delay=0.11), 0.45)
    recording = Recording(segmenter(reports=False, sync_wait=0.5)).push(before)
    assert recording.opened == []  # waiting for reports
    recording.push(after)
    assert [o.sync for o in recording.opened] == ["arrival"]
    video_times = [at for _, at, _ in recording.packets("video-1")]
    audio_times = [at for _, at, _ in recording.packets("audio-0")]
    # the documented limit of the fallback: the difference in delay becomes A/V offset
    assert audio_times[0] - video_times[0] == pytest.approx(0.08, abs=1e-4)


def test_a_segment_is_cut_at_the_first_key_frame_after_segment_seconds() -> None:
    segments = segmenter()
    before, after = until(call(3.0, keys={0, 45, 75}), 2.1)  # key frames at 1.5 s and 2.5 s
    recording = Recording(segments).push(before)
    assert len(recording.opened) == 1  # 1.5 s was too early to cut
    assert segments.keyframe_wanted() == {"video-1"}  # 2 s are up: ask for a key frame
    recording.push(after)
    assert [(o.index, o.reason) for o in recording.opened] == [(1, "start"), (2, "rollover")]
    assert recording.opened[1].start - SENDER_T0 - 0.03 == pytest.approx(2.5)
    in_second = [p for p in recording.packets("video-1") if p[0] == 2]
    assert in_second[0][1:] == (pytest.approx(2.5), True)
    assert segments.keyframe_wanted() == frozenset()


def test_audio_from_before_the_cut_still_goes_to_the_old_segment() -> None:
    # audio arrives 60 ms after video, so frames from before the cut come in after it
    recording = Recording(segmenter()).push(call(3.0, keys={0, 75}, audio_delay=0.09)).finish()
    audio_packets = recording.packets("audio-0")
    assert [at for segment, at, _ in audio_packets if segment == 1][-1] == pytest.approx(2.48)
    assert next(at for segment, at, _ in audio_packets if segment == 2) == pytest.approx(2.5)
    assert len(audio_packets) == 150  # none lost at the cut
    assert recording.closed[1] == pytest.approx(recording.opened[1].start)


def test_a_new_picture_size_starts_a_new_segment_at_once() -> None:
    frames = call(1.0, keys={0, 15}, change_at=15, size=(320, 240))
    recording = Recording(segmenter()).push(frames)
    assert [o.reason for o in recording.opened] == ["start", "resolution"]
    sizes = [(s.width, s.height) for o in recording.opened for s in o.streams if s.kind == "video"]
    assert sizes == [(640, 480), (320, 240)]


def test_a_new_ssrc_waits_for_its_key_frame_then_starts_a_new_segment() -> None:
    segments = segmenter()
    # a new SSRC comes with a new random RTP timestamp origin
    frames = call(1.0, keys={0, 20}, change_at=15, ssrc=3333, rtp0=0xF000_0000)
    recording = Recording(segments).push(frames)
    assert [o.reason for o in recording.opened] == ["start", "ssrc"]
    assert segments.track_stats()["video-1"]["dropped"] == {"keyframe": 5}
    # no report for the new SSRC yet: this segment is placed by arrival time
    assert recording.opened[1].sync == "arrival"
    second = [p for p in recording.packets("video-1") if p[0] == 2]
    assert second[0][2] and second[0][1] == pytest.approx(20 / 30)


def test_timestamps_run_on_through_the_rtp_wrap() -> None:
    recording = Recording(segmenter(segment_seconds=10.0)).push(call(1.5))
    times = [at for _, at, _ in recording.packets("video-1")]
    assert times == pytest.approx([n / 30 for n in range(45)], abs=1e-4)  # wraps at 0.5 s


def test_loss_drops_video_until_the_next_key_frame_and_records_a_gap() -> None:
    # frame 15 never arrives; the jitter buffer marks frame 16 as following a loss
    frames = [f for f in call(2.0, keys={0, 30}) if f != video(15 / 30)]
    frames = [replace(f, loss=True) if f == video(16 / 30) else f for f in frames]
    segments = segmenter(segment_seconds=10.0)
    before, after = until(frames, 0.6)
    recording = Recording(segments).push(before)
    assert segments.keyframe_wanted() == {"video-1"}
    recording.push(after)
    times = [at for _, at, _ in recording.packets("video-1")]
    assert times[14] == pytest.approx(14 / 30) and times[15] == pytest.approx(1.0)
    [gap] = recording.gaps
    assert (gap.reason, gap.start - SENDER_T0 - 0.03, gap.end - SENDER_T0 - 0.03) == (
        "loss",
        pytest.approx(16 / 30),
        pytest.approx(1.0),
    )
    assert len(recording.opened) == 1


def test_a_call_shorter_than_the_sync_wait_is_still_recorded() -> None:
    recording = Recording(segmenter(reports=False)).push(call(0.5))
    assert recording.opened == []
    recording.finish()
    assert [o.sync for o in recording.opened] == ["arrival"]
    assert len(recording.packets("video-1")) == 15 and len(recording.packets("audio-0")) == 25
    assert list(recording.closed) == [1]
