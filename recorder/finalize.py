"""Finalize: one playable file per participant from every leg of its recording.

A leg is what one ``RecorderPeer`` wrote: a directory with ``manifest.json`` and segment
files. ``finalize_participant`` lays the segments of all legs end to end and has ffmpeg
(driven through ffmpeg-python) stream-copy them into one WebM (VP8/Opus) or Matroska
(H.264) file with its index at the front, plus a JPEG poster. Nothing is re-encoded: the
output's packets are the recorded packets, byte for byte. PyAV only lists streams and
packet times here; it decodes nothing.

The steps, in a temporary directory beside the output:

1. Each listed segment is checked: present, SHA-256 as in the manifest, readable. A bad
   one is skipped and named in ``warnings``; it never fails the whole participant.
2. ffmpeg copies each segment's video and audio stream into a file of its own, timestamps
   kept, so streams are matched by kind whatever their order in a segment.
3. Segments follow each other without the gaps between them (README, "Finalize"). Each
   output stream is an ffconcat list of its pieces, whose ``duration`` lines put every
   piece exactly where its segment starts.
4. One ffmpeg run muxes the lists; the result is checked (every packet, nothing else).

It blocks for seconds: async callers run it with ``asyncio.to_thread``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import ffmpeg

from recorder.errors import FinalizeError
from recorder.final_recording import FinalizeWarning, FinalRecording, TimelineEntry
from recorder.manifest import FILE_NAME as MANIFEST
from recorder.manifest import Manifest, SegmentEntry
from recorder.segment import WEBM_CODECS

logger = logging.getLogger(__name__)

POSTER_AFTER = 1.0  # seconds: the poster is the first video key frame from here on
SPLIT_BATCH = 32  # segments per ffmpeg run when splitting (one run costs ~0.1 s to start)
KINDS = ("video", "audio")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_US = 1_000_000


def find_ffmpeg() -> str:
    """The ffmpeg on PATH, else the one shipped in the imageio-ffmpeg wheel (never a download)."""
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except (ImportError, RuntimeError) as exc:
        raise FinalizeError(
            None, f"no ffmpeg on PATH and none from imageio-ffmpeg ({exc})"
        ) from exc


def finalize_participant(
    leg_dirs: Sequence[Path],
    output_dir: Path,
    *,
    participant: str,
    ffmpeg_exe: str | None = None,
) -> FinalRecording:
    """Join every leg's segments (in the given order) into one file in ``output_dir``.

    Writes ``<participant>.webm`` (or ``.mkv``) and ``<participant>.jpg``, replacing
    earlier ones atomically. Blocking: from async code, ``await asyncio.to_thread(...)``.
    Raises ``FinalizeError`` when nothing playable is left or ffmpeg fails.
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".finalize-", dir=output_dir))
    try:
        job = _Job(participant, ffmpeg_exe or find_ffmpeg(), work)
        return job.run([Path(d) for d in leg_dirs], output_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)


# -- the job ------------------------------------------------------------------------------


@dataclass
class _Piece:
    """One stream of one segment, copied by ffmpeg into a file of its own."""

    path: Path
    key: tuple[str, str]  # (kind, codec): the output stream it joins
    last: int  # microseconds, as in the segment: the last packet's time
    end: int  # the last packet's time plus its duration
    packets: int
    size: tuple[int, int] | None


@dataclass
class _Segment:
    leg: int
    entry: SegmentEntry
    path: Path
    streams: list[tuple[int, str, str]] = field(default_factory=list)  # index, kind, codec
    pieces: list[_Piece] = field(default_factory=list)
    usable: bool = True
    at: int = 0  # microseconds into the output
    span: int = 0


class _Job:
    def __init__(self, participant: str, exe: str, work: Path) -> None:
        self.participant = participant
        self.exe = exe
        self.work = work
        self.warnings: list[FinalizeWarning] = []
        self.listed = 0

    def fail(self, reason: str) -> FinalizeError:
        return FinalizeError(self.participant, reason)

    def warn(self, leg: int | None, file: str, code: str, detail: str) -> None:
        logger.warning("finalize %r: leg %s %s: %s", self.participant, leg, file, detail)
        self.warnings.append(FinalizeWarning(leg, file, code, detail))

    def run(self, leg_dirs: list[Path], output_dir: Path) -> FinalRecording:
        if not leg_dirs:
            raise self.fail("no recording legs were given")
        segments = [s for leg, d in enumerate(leg_dirs, 1) for s in self.read_leg(leg, d)]
        if not segments:
            raise self.fail(
                f"no playable segment in {len(leg_dirs)} leg(s), {self.listed} segment(s) listed"
            )
        keys = _lay_out(segments)
        fmt = "webm" if all(codec in WEBM_CODECS for _, codec in keys) else "matroska"
        stem = _UNSAFE.sub("_", self.participant).strip("._") or "recording"
        muxed = self.work / f"final.{'webm' if fmt == 'webm' else 'mkv'}"
        for kind in KINDS:
            codecs = [codec for k, codec in keys if k == kind]
            if len(codecs) > 1:  # another device joined: its stream cannot continue ours
                self.warn(
                    None,
                    muxed.name,
                    "codec_change",
                    f"{kind} is {' then '.join(codecs)}: one {kind} stream per codec,"
                    f" and players show only the first",
                )
        try:
            self.mux(segments, keys, muxed, fmt)
        except ffmpeg.Error as exc:
            raise self.fail(f"ffmpeg could not join the segments: {_tail(exc)}") from exc
        duration, poster_at = self.check(muxed, segments, keys)
        poster = None
        if poster_at is not None:
            poster = self.poster(muxed, poster_at)
        path = output_dir / f"{stem}{muxed.suffix}"
        os.replace(muxed, path)
        for stale in {".webm", ".mkv", ".jpg"} - {path.suffix}:  # an earlier run's outputs
            (output_dir / f"{stem}{stale}").unlink(missing_ok=True)
        if poster is not None:
            poster = Path(shutil.move(poster, output_dir / f"{stem}.jpg"))
        sizes = [p.size for s in segments for p in s.pieces if p.size is not None]
        return FinalRecording(
            participant=self.participant,
            path=path,
            poster=poster,
            format=fmt,
            duration=duration,
            codecs=tuple(codec for _, codec in keys),
            width=sizes[0][0] if sizes else None,
            height=sizes[0][1] if sizes else None,
            size=path.stat().st_size,
            sha256=_sha256(path),
            segments_used=len(segments),
            segments_listed=self.listed,
            timeline=tuple(
                TimelineEntry(s.at / _US, s.span / _US, s.entry.start, s.leg, s.entry.file)
                for s in segments
            ),
            warnings=tuple(self.warnings),
        )

    # -- 1 and 2: each leg's segments, checked and split into pieces ------------------------

    def read_leg(self, leg: int, directory: Path) -> list[_Segment]:
        if not (directory / MANIFEST).is_file():
            self.warn(leg, MANIFEST, "missing", f"no {MANIFEST} in {directory}")
            return []
        try:
            manifest = Manifest.read(directory)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self.warn(leg, MANIFEST, "unreadable", f"{directory / MANIFEST}: {exc}")
            return []
        if manifest.error:
            self.warn(leg, MANIFEST, "leg_error", manifest.error)
        elif not manifest.complete:
            self.warn(
                leg,
                MANIFEST,
                "leg_not_closed",
                "the recorder of this leg did not close (killed?); what it wrote is used",
            )
        candidates = []
        for entry in sorted(manifest.segments, key=lambda e: e.index):
            self.listed += 1
            segment = self.check_segment(leg, directory, entry)
            if segment is not None:
                candidates.append(segment)
        for start in range(0, len(candidates), SPLIT_BATCH):
            self.split(candidates[start : start + SPLIT_BATCH])
        segments = []
        for segment in candidates:
            if segment.usable and not segment.pieces:
                self.warn(leg, segment.entry.file, "empty", "no audio or video packet in it")
            elif segment.usable:
                segments.append(segment)
        return segments

    def check_segment(self, leg: int, directory: Path, entry: SegmentEntry) -> _Segment | None:
        path = directory / entry.file
        if not path.is_file():
            self.warn(leg, entry.file, "missing", f"listed in the manifest but not found: {path}")
            return None
        if entry.complete and entry.sha256 and _sha256(path) != entry.sha256:
            self.warn(
                leg,
                entry.file,
                "sha256_mismatch",
                "the file's SHA-256 differs from the manifest's: changed after recording",
            )
        elif not entry.complete:
            self.warn(
                leg,
                entry.file,
                "incomplete",
                "the recorder stopped while writing it; used up to its last whole cluster",
            )
        try:
            with av.open(str(path)) as container:
                streams = [(s.index, str(s.type), s.codec_context.name) for s in container.streams]
        except (av.error.FFmpegError, OSError) as exc:
            self.warn(leg, entry.file, "unreadable", f"not a readable Matroska/WebM file: {exc}")
            return None
        segment = _Segment(leg, entry, path)
        for kind in KINDS:
            of_kind = [s for s in streams if s[1] == kind]
            if len(of_kind) > 1:
                self.warn(
                    leg,
                    entry.file,
                    "extra_stream",
                    f"{len(of_kind)} {kind} streams; only the first is kept",
                )
            segment.streams += of_kind[:1]
        return segment

    def split(self, batch: list[_Segment]) -> None:
        """Copy each segment's streams into pieces, one ffmpeg run for the whole batch.

        If the run fails, each segment is tried alone, to name the one at fault.
        """
        outputs, targets = [], []
        for segment in batch:
            source = ffmpeg.input(str(segment.path))
            for index, kind, codec in segment.streams:
                name = f"piece-{segment.leg:03d}-{segment.entry.index:05d}-{index}.mkv"
                outputs.append(source[str(index)].output(str(self.work / name), c="copy"))
                targets.append((segment, self.work / name, (kind, codec)))
        if not outputs:
            return
        try:
            self.ffmpeg(ffmpeg.merge_outputs(*outputs).global_args("-copyts"))
        except ffmpeg.Error as exc:
            if len(batch) > 1:
                for segment in batch:
                    self.split([segment])
                return
            [segment] = batch
            segment.usable = False
            self.warn(
                segment.leg,
                segment.entry.file,
                "unreadable",
                f"ffmpeg could not copy it: {_tail(exc)}",
            )
            return
        for segment, target, key in targets:
            piece = _probe_piece(target, key)
            if piece is not None:
                segment.pieces.append(piece)

    # -- 3 and 4: the timeline, the mux, the check ------------------------------------------

    def mux(
        self, segments: list[_Segment], keys: list[tuple[str, str]], target: Path, fmt: str
    ) -> None:
        inputs = []
        for number, key in enumerate(keys):
            listing = self.work / f"stream-{number}.ffconcat"
            first, text = _ffconcat(segments, key)
            listing.write_text(text)
            # The concat demuxer starts its first piece at 0; a stream that starts in a
            # later segment (a camera turned on) is moved there.
            offset = {"itsoffset": f"{first / _US:.6f}"} if first else {}
            inputs.append(ffmpeg.input(str(listing), f="concat", **offset)["0"])
        options = {
            "c": "copy",
            "f": fmt,
            "cues_to_front": 1,  # browsers can seek without reading the end of the file
            "max_interleave_delta": 0,  # interleave exactly, however long a stream pauses
            "map_metadata": -1,
            "metadata": f"title={self.participant}",
        }
        self.ffmpeg(ffmpeg.output(*inputs, str(target), **options).global_args("-copyts"))

    def check(
        self, path: Path, segments: list[_Segment], keys: list[tuple[str, str]]
    ) -> tuple[float, float | None]:
        expected = [sum(p.packets for s in segments for p in s.pieces if p.key == k) for k in keys]
        counts = [0] * len(keys)
        poster_at: float | None = None
        first_key: float | None = None
        with av.open(str(path)) as container:
            found = [(s.type, s.codec_context.name) for s in container.streams]
            if found != keys:
                raise self.fail(f"ffmpeg wrote streams {found}, expected {keys}")
            duration = (container.duration or 0) / _US
            for packet in container.demux():
                if not packet.size:
                    continue
                counts[packet.stream.index] += 1
                if packet.stream.index == 0 and keys[0][0] == "video" and packet.is_keyframe:
                    at = float(packet.pts * packet.time_base) if packet.pts is not None else 0.0
                    first_key = at if first_key is None else first_key
                    if poster_at is None and at >= POSTER_AFTER:
                        poster_at = at
        if counts != expected:
            raise self.fail(f"ffmpeg wrote {counts} packets per stream, expected {expected}")
        return duration, poster_at if poster_at is not None else first_key

    def poster(self, path: Path, at: float) -> Path | None:
        target = self.work / "poster.jpg"
        command = ffmpeg.input(str(path), ss=f"{at:.3f}")["v:0"].output(
            str(target), f="image2", update=1, **{"frames:v": 1, "q:v": 3}
        )
        try:
            self.ffmpeg(command)
        except ffmpeg.Error as exc:
            self.warn(None, path.name, "poster", f"no poster: {_tail(exc)}")
            return None
        if not target.is_file() or target.stat().st_size == 0:
            self.warn(None, path.name, "poster", f"no poster: no frame decoded at {at:.3f} s")
            return None
        return target

    def ffmpeg(self, command: Any) -> None:
        command = command.global_args("-nostdin", "-hide_banner", "-loglevel", "error")
        try:
            command.overwrite_output().run(cmd=self.exe, capture_stdout=True, capture_stderr=True)
        except OSError as exc:
            raise self.fail(f"cannot run ffmpeg ({self.exe}): {exc}") from exc


def _probe_piece(path: Path, key: tuple[str, str]) -> _Piece | None:
    """The stream ffmpeg split out of a segment, or None when it holds no packet: a track
    that sent nothing in that segment comes out as an empty file, which PyAV cannot open."""
    try:
        return _read_piece(path, key)
    except av.error.FFmpegError:
        return None


def _read_piece(path: Path, key: tuple[str, str]) -> _Piece | None:
    last = end = None
    packets = 0
    with av.open(str(path)) as container:
        stream = container.streams[0]
        size = None
        if isinstance(stream, av.video.stream.VideoStream):
            size = (stream.codec_context.width, stream.codec_context.height)
        for packet in container.demux(stream):
            if not packet.size or packet.pts is None:
                continue
            at = int(packet.pts * packet.time_base * _US)
            last = at
            end = max(end or 0, at + int((packet.duration or 0) * packet.time_base * _US))
            packets += 1
    if last is None or end is None:
        return None
    return _Piece(path, key, last, end, packets, size)


def _lay_out(segments: list[_Segment]) -> list[tuple[str, str]]:
    """Place segments end to end; return the output streams, video first."""
    at = 0
    for segment in segments:
        entry = segment.entry
        last = max(p.last for p in segment.pieces)
        if entry.complete and entry.end is not None:
            span = round((entry.end - entry.start) * _US)
        else:
            span = max(p.end for p in segment.pieces)
        # Never let the next segment's first packet land on or before this one's last.
        segment.at, segment.span = at, max(span, last + 1000)
        at += segment.span
    keys: list[tuple[str, str]] = []
    for kind in KINDS:
        for segment in segments:
            for piece in segment.pieces:
                if piece.key[0] == kind and piece.key not in keys:
                    keys.append(piece.key)
    return keys


def _ffconcat(segments: list[_Segment], key: tuple[str, str]) -> tuple[int, str]:
    """An ffconcat list that puts each piece's time 0 where its segment starts.

    The concat demuxer adds to a piece's timestamps the sum of the earlier ``duration``
    lines, minus its ``inpoint`` (0 here, so that a stream starting after its segment
    keeps that offset). A segment without this stream lengthens the previous duration.
    Returns where the first piece belongs (microseconds) and the list.
    """
    pieces = [(s.at, p) for s in segments for p in s.pieces if p.key == key]
    lines = ["ffconcat version 1.0"]
    for number, (at, piece) in enumerate(pieces):
        lines += [f"file {piece.path.name}", "inpoint 0"]
        if number + 1 < len(pieces):
            lines.append(f"duration {(pieces[number + 1][0] - at) / _US:.6f}")
    return pieces[0][0], "\n".join(lines) + "\n"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _tail(error: ffmpeg.Error) -> str:
    lines = (error.stderr or b"").decode("utf-8", "replace").strip().splitlines()
    return " / ".join(lines[-3:]) or "ffmpeg failed"
