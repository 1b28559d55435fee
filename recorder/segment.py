"""One segment file: encoded packets stream-copied into Matroska/WebM with PyAV.

Matroska because a recorder killed mid-segment leaves a file that still plays up to its
last cluster (an MP4 without its index does not); clusters are closed every second, so
a crash loses about a second. WebM when every stream is a WebM codec, else Matroska.
Called from the sink's thread only: every method here blocks on file IO.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import av.container

from recorder.actions import StreamSpec
from recorder.bitstream import ogg_opus_stub

WEBM_CODECS = frozenset({"vp8", "vp9", "av1", "opus"})
CLUSTER_MILLISECONDS = 1000
OPUS_CHANNELS = 2  # WebRTC always signals opus/48000/2; the decoder upmixes mono frames


def segment_suffix(streams: Sequence[StreamSpec]) -> str:
    return ".webm" if all(s.codec in WEBM_CODECS for s in streams) else ".mkv"


class SegmentFile:
    """An open segment: write packets, then close to get its size and SHA-256."""

    def __init__(self, path: Path, streams: Sequence[StreamSpec]) -> None:
        self.path = path
        fmt = "webm" if path.suffix == ".webm" else "matroska"
        self._container: av.container.OutputContainer = av.open(
            str(path),
            "w",
            format=fmt,
            # The muxer holds a cluster in memory until it closes; flush_packets then puts
            # it on disk at once instead of when a 32 KB IO buffer fills (seconds of audio).
            container_options={
                "cluster_time_limit": str(CLUSTER_MILLISECONDS),
                "flush_packets": "1",
            },
        )
        self._streams = {}
        self._time_bases = {}
        try:
            for spec in streams:
                self._streams[spec.track] = self._add_stream(spec)
                self._time_bases[spec.track] = Fraction(1, spec.clock_rate)
        except Exception:
            self._container.close()
            raise

    def _add_stream(self, spec: StreamSpec) -> av.stream.Stream:
        container = self._container
        stream: av.stream.Stream
        if spec.codec == "opus":
            # Browsers refuse Opus without its OpusHead (Matroska CodecPrivate); PyAV sets
            # stream parameters only from a template stream, so demux one from a stub.
            with av.open(io.BytesIO(ogg_opus_stub(OPUS_CHANNELS)), format="ogg") as stub:
                stream = container.add_stream_from_template(stub.streams.audio[0], opaque=False)
        else:
            # H.264 parameter sets are taken from the first (key frame) packet by PyAV.
            stream = container.add_mux_stream(spec.codec, width=spec.width, height=spec.height)
        stream.time_base = Fraction(1, spec.clock_rate)
        stream.metadata["title"] = spec.track
        return stream

    def write(self, track: str, pts: int, duration: int, data: bytes, keyframe: bool) -> None:
        packet = av.Packet(data)
        packet.stream = self._streams[track]
        packet.time_base = self._time_bases[track]
        packet.pts = packet.dts = pts
        packet.duration = duration
        packet.is_keyframe = keyframe
        self._container.mux(packet)

    def close(self) -> tuple[int, str]:
        """Finish the file; returns (size in bytes, SHA-256 hex digest)."""
        self._container.close()
        digest = hashlib.sha256()
        with self.path.open("rb") as file:
            while chunk := file.read(1 << 20):
                digest.update(chunk)
        return self.path.stat().st_size, digest.hexdigest()

    def abort(self) -> None:
        """Close without raising: the file keeps what was written."""
        with contextlib.suppress(Exception):  # already failing; the file keeps what it has
            self._container.close()
