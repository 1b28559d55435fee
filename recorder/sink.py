"""RecordingSink: muxes one participant's encoded frames into segments, in its own thread.

The event loop only enqueues (``submit`` never blocks). Frames wait in a bounded queue;
when it is full the frame is dropped, counted, and the track's next frame is marked as
following a loss, so its video waits for a key frame (the peer asks for one). Segment
decisions are ``segmenter.Segmenter``'s; file IO is ``segment.SegmentFile``'s.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from recorder.actions import CloseSegment, Gap, OpenSegment, WritePacket
from recorder.errors import SegmentWriteError
from recorder.frames import EncodedFrame, SenderReport
from recorder.manifest import Manifest, SegmentEntry
from recorder.segment import SegmentFile, segment_suffix
from recorder.segmenter import Segmenter

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecorderSettings:
    """How a recording is cut and buffered."""

    segment_seconds: float = 10.0  # cut at the first key frame after this long
    queue_frames: int = 600  # frames waiting for the muxer thread (about 7 s of a call)
    sync_wait_seconds: float = 2.0  # first segment waits this long for sender reports
    linger_seconds: float = 1.0  # a cut segment stays open this long for late audio
    gap_seconds: float = 1.0  # a track silent this long gets a "silence" gap


class RecordingSink:
    """One participant's recording: a thread, a bounded queue, segment files and a manifest."""

    def __init__(
        self, directory: Path, *, participant: str = "", settings: RecorderSettings | None = None
    ) -> None:
        self.directory = Path(directory)
        self.settings = settings or RecorderSettings()
        self.manifest = Manifest(participant=participant)
        self._segmenter = Segmenter(
            segment_seconds=self.settings.segment_seconds,
            sync_wait=self.settings.sync_wait_seconds,
            linger=self.settings.linger_seconds,
            gap_seconds=self.settings.gap_seconds,
        )
        self._items: queue.SimpleQueue[tuple[Any, ...] | None] = queue.SimpleQueue()
        self._slots = threading.BoundedSemaphore(self.settings.queue_frames)
        self._thread = threading.Thread(
            target=self._run, name=f"recorder-sink-{participant}", daemon=True
        )
        self._files: dict[int, SegmentFile] = {}
        self._wanted: frozenset[str] = frozenset()
        self._overflowed: set[str] = set()
        self.overflow_drops: dict[str, int] = {}
        self._error: SegmentWriteError | None = None
        self._closing = False

    # -- called from the event loop: never blocks ------------------------------------------

    def start(self) -> None:
        if not self._thread.is_alive() and not self._closing:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._thread.start()

    def add_track(self, track: str, kind: str) -> None:
        self._items.put(("track", track, kind))
        if kind == "video":  # until the thread has a say: a new video track needs a key frame
            self._wanted = self._wanted | {track}

    def end_track(self, track: str) -> None:
        self._items.put(("end", track))

    def report_sender(self, track: str, report: SenderReport) -> None:
        self._items.put(("report", track, report))

    def submit(self, frame: EncodedFrame) -> bool:
        """Queue a frame for muxing; False when it was dropped (queue full, or sink stopped)."""
        if self._closing or self._error is not None:
            return False
        if not self._slots.acquire(blocking=False):
            self._overflowed.add(frame.track)
            self.overflow_drops[frame.track] = self.overflow_drops.get(frame.track, 0) + 1
            if frame.kind == "video":
                self._wanted = self._wanted | {frame.track}
            return False
        if frame.track in self._overflowed:
            self._overflowed.discard(frame.track)
            frame = replace(frame, loss=True)
        self._items.put(("frame", frame))
        return True

    def keyframe_wanted(self, track: str) -> bool:
        return track in self._wanted

    @property
    def error(self) -> SegmentWriteError | None:
        return self._error

    # -- blocking: call through asyncio.to_thread from async code --------------------------

    def close(self) -> Manifest:
        """Flush and close every segment, join the thread, return the final manifest."""
        self._closing = True
        if self._thread.is_alive():
            self._items.put(None)
            self._thread.join()
        if self._error is not None:
            raise self._error
        return self.manifest

    # -- the muxer thread -------------------------------------------------------------------

    def _run(self) -> None:
        segmenter = self._segmenter
        while (item := self._items.get()) is not None:
            if self._error is not None:
                if item[0] == "frame":
                    self._slots.release()
                continue
            try:
                if item[0] == "frame":
                    self._slots.release()
                    self._apply(segmenter.push(item[1]))
                elif item[0] == "report":
                    segmenter.sender_report(item[1], item[2])
                elif item[0] == "track":
                    segmenter.add_track(item[1], item[2])
                elif item[0] == "end":
                    segmenter.end_track(item[1])
                self._wanted = segmenter.keyframe_wanted()
            except Exception as exc:  # IO fails here: stop recording, keep the files
                self._fail(exc)
        if self._error is None:
            try:
                self._apply(segmenter.finish())
                self.manifest.complete = True
                self._write_manifest()
            except Exception as exc:
                self._fail(exc)

    def _apply(self, actions: list[Any]) -> None:
        for action in actions:
            if isinstance(action, WritePacket):
                self._files[action.index].write(
                    action.track, action.pts, action.duration, action.data, action.keyframe
                )
            elif isinstance(action, OpenSegment):
                self._open(action)
            elif isinstance(action, CloseSegment):
                self._close(action)
            elif isinstance(action, Gap):
                self.manifest.gaps.append(
                    {
                        "track": action.track,
                        "start": action.start,
                        "end": action.end,
                        "reason": action.reason,
                    }
                )

    def _open(self, action: OpenSegment) -> None:
        name = f"segment-{action.index:05d}{segment_suffix(action.streams)}"
        streams = []
        for spec in action.streams:
            stream: dict[str, Any] = {"track": spec.track, "kind": spec.kind, "codec": spec.codec}
            if spec.kind == "video":
                stream.update(width=spec.width, height=spec.height)
            else:
                stream.update(sample_rate=spec.clock_rate)
            streams.append(stream)
        entry = SegmentEntry(
            action.index, name, action.start, None, action.reason, action.sync, streams
        )
        self.manifest.segments.append(entry)
        self._files[action.index] = SegmentFile(self.directory / name, action.streams)
        self._write_manifest()

    def _close(self, action: CloseSegment) -> None:
        entry = self.manifest.segment(action.index)
        entry.end = action.end
        entry.size, entry.sha256 = self._files.pop(action.index).close()
        entry.complete = True
        self._write_manifest()

    def _write_manifest(self) -> None:
        stats = self._segmenter.track_stats()
        for track, dropped in dict(self.overflow_drops).items():  # the loop may be adding
            if track in stats:
                stats[track]["dropped"] = {**stats[track]["dropped"], "overflow": dropped}  # type: ignore[dict-item]
        self.manifest.tracks = stats
        self.manifest.write(self.directory)

    def _fail(self, exc: Exception) -> None:
        logger.exception("recorder sink for %r stopped", self.manifest.participant)
        path = next((str(f.path) for f in self._files.values()), str(self.directory))
        self._error = SegmentWriteError(path, str(exc) or type(exc).__name__)
        for file in self._files.values():
            file.abort()
        self._files.clear()
        self.manifest.error = str(self._error)
        try:
            self._write_manifest()
        except OSError:
            logger.exception("cannot write the manifest in %s", self.directory)
