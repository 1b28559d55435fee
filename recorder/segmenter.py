"""Where each encoded frame goes: which segment, at what timestamp, or nowhere.

Pure decisions, no IO: ``Segmenter.push`` takes frames in arrival order and returns actions
(open a segment, write a packet, close a segment, note a gap) that ``sink.RecordingSink``
carries out with PyAV. The rules:

* Video is dropped until a key frame, so every segment starts decodable.
* The first segment waits (``sync_wait`` at most) for a key frame on each video track and
  an RTCP sender report on every track, so that audio and video are placed by the
  sender's clock (RTP timestamps anchored to the reports' NTP time), not by arrival.
  Without reports it falls back to arrival times (``sync: "arrival"`` in the manifest).
* A segment is cut at a key frame: after ``segment_seconds``, or at once when a track's
  SSRC, codec or picture size changes, or a track joins. Audio frames that belong before
  the cut still go to the old segment, which lingers open briefly for them.
* Inside a segment each track's timestamps follow its RTP clock exactly; the report in
  force when the track's first frame entered the segment fixes where the track starts.

Times in actions are Unix seconds on the receiver's clock.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from recorder.actions import Action, CloseSegment, Gap, OpenSegment, StreamSpec, WritePacket
from recorder.bitstream import opus_samples, video_size
from recorder.frames import EncodedFrame, SenderReport
from recorder.timeline import RtpUnwrapper, signed_diff32

SYNC_REPORTS = "rtcp-sr"
SYNC_ARRIVAL = "arrival"
STALL_SECONDS = 2.0  # a video track silent this long no longer holds back a cut
REPORT_WINDOW = 8  # sender reports a track's anchor is chosen from (5-10 s of them)


class _Track:
    def __init__(self, track_id: str, kind: str) -> None:
        self.id = track_id
        self.kind = kind
        self.ended = False
        self.ssrc: int | None = None
        self.codec = ""
        self.clock_rate = 0
        self.unwrapper = RtpUnwrapper()
        self.reports: dict[int, deque[SenderReport]] = {}
        self.arrival_offset = math.inf  # min(arrival - rtp/clock): the least-delayed frame
        self.size: tuple[int, int] | None = None
        self.change: str | None = None  # cut at this track's next key frame, for this reason
        self.awaiting_keyframe = kind == "video"
        self.wait_reason = "keyframe"
        self.drop_start: float | None = None
        self.drop_reason = ""
        self.last_time: float | None = None
        self.last_arrival = -math.inf
        self.frames = 0
        self.dropped: dict[str, int] = {}

    @property
    def report(self) -> SenderReport | None:
        """The anchor from the recent report with the least delay in it.

        A report pairs an RTP timestamp with the sender's clock when it read it; a busy
        sender reads late, never early, so the earliest pairing is the truest. Eight
        reports span seconds, too short for the sender's clocks to drift apart.
        """
        reports = self.reports.get(self.ssrc) if self.ssrc is not None else None
        if not reports:
            return None
        latest = reports[-1]
        if self.clock_rate == 0:
            return latest
        ntp_time = min(
            r.ntp_time - signed_diff32(r.timestamp, latest.timestamp) / self.clock_rate
            for r in reports
        )
        return SenderReport(latest.ssrc, ntp_time, latest.timestamp)

    def await_keyframe(self, reason: str) -> None:
        if self.kind == "video":
            self.awaiting_keyframe, self.wait_reason = True, reason

    def drop(self, reason: str, at: float) -> None:
        self.dropped[reason] = self.dropped.get(reason, 0) + 1
        if self.drop_start is None:
            self.drop_start, self.drop_reason = at, reason


@dataclass
class _Origin:
    ssrc: int
    rtp: int  # unwrapped
    pts: int


@dataclass
class _Segment:
    index: int
    start: float
    sync: str
    streams: dict[str, StreamSpec]
    origins: dict[str, _Origin] = field(default_factory=dict)
    last_pts: dict[str, int] = field(default_factory=dict)
    end: float = 0.0
    cut_at: float = math.inf  # set when a newer segment took over
    cut_arrival: float = math.inf
    passed_cut: set[str] = field(default_factory=set)

    def time_of(self, track: _Track, rtp: int) -> float | None:
        origin = self.origins.get(track.id)
        if origin is None or origin.ssrc != track.ssrc:
            return None
        return self.start + (origin.pts + rtp - origin.rtp) / track.clock_rate


@dataclass
class _Pending:
    frame: EncodedFrame
    rtp: int
    size: tuple[int, int] | None


class Segmenter:
    """Decides segments and timestamps for one participant's tracks."""

    def __init__(
        self,
        *,
        segment_seconds: float = 10.0,
        sync_wait: float = 2.0,
        linger: float = 1.0,
        gap_seconds: float = 1.0,
    ) -> None:
        self.segment_seconds = segment_seconds
        self.sync_wait = sync_wait
        self.linger = linger
        self.gap_seconds = gap_seconds
        self._tracks: dict[str, _Track] = {}
        self._pending: list[_Pending] = []
        self._current: _Segment | None = None
        self._previous: _Segment | None = None
        self._cut_due: str | None = None
        self._offset: float | None = None  # receiver clock minus sender clock
        self._next_index = 1

    # -- inputs ---------------------------------------------------------------------------

    def add_track(self, track_id: str, kind: str) -> None:
        if track_id not in self._tracks:
            self._tracks[track_id] = _Track(track_id, kind)

    def end_track(self, track_id: str) -> None:
        if track_id in self._tracks:
            self._tracks[track_id].ended = True

    def sender_report(self, track_id: str, report: SenderReport) -> None:
        track = self._tracks.get(track_id)
        if track is not None:
            reports = track.reports.setdefault(report.ssrc, deque(maxlen=REPORT_WINDOW))
            reports.append(report)

    def push(self, frame: EncodedFrame) -> list[Action]:
        self.add_track(frame.track, frame.kind)
        track = self._tracks[frame.track]
        track.last_arrival = frame.arrival
        change = None
        if frame.ssrc != track.ssrc:
            change = "ssrc" if track.ssrc is not None else None
            track.ssrc, track.unwrapper, track.arrival_offset = frame.ssrc, RtpUnwrapper(), math.inf
        if frame.codec != track.codec:
            change = "codec" if track.codec else change
            track.codec, track.clock_rate = frame.codec, frame.clock_rate
        if change is not None:
            track.await_keyframe("keyframe")
            if self._current is None:  # still waiting to start: forget the abandoned stream
                self._pending = [p for p in self._pending if p.frame.track != track.id]
            else:
                track.change = change
        rtp = track.unwrapper.unwrap(frame.timestamp)
        track.arrival_offset = min(track.arrival_offset, frame.arrival - rtp / track.clock_rate)
        if frame.loss:
            track.await_keyframe("loss")
        if track.awaiting_keyframe and not frame.keyframe:
            track.drop(track.wait_reason, self._guess_time(track, frame, rtp))
            return []
        size = video_size(frame.codec, frame.data) if frame.keyframe else None
        if self._current is None:
            if track.kind == "video":
                track.awaiting_keyframe = False
                track.size = size or track.size
            self._pending.append(_Pending(frame, rtp, size))
            return self._open_first(force=False)
        return self._route(track, frame, rtp, size)

    def finish(self) -> list[Action]:
        """Close everything: the recording ends."""
        actions = self._open_first(force=True) if self._current is None else []
        for segment in (self._previous, self._current):
            if segment is not None:
                actions.append(_close(segment))
        self._previous = self._current = None
        return actions

    # -- outputs besides actions ----------------------------------------------------------

    def keyframe_wanted(self) -> frozenset[str]:
        """Video tracks the recorder needs a key frame from now (the peer sends PLI)."""
        wanted = set()
        for track in self._tracks.values():
            if track.kind != "video" or track.ended:
                continue
            in_segment = self._current is not None and track.id in self._current.streams
            if track.awaiting_keyframe or track.change or (self._cut_due and in_segment):
                wanted.add(track.id)
        return frozenset(wanted)

    def track_stats(self) -> dict[str, dict[str, object]]:
        return {
            t.id: {"kind": t.kind, "codec": t.codec, "frames": t.frames, "dropped": dict(t.dropped)}
            for t in self._tracks.values()
        }

    # -- the first segment ----------------------------------------------------------------

    def _open_first(self, force: bool) -> list[Action]:
        if not self._pending:
            return []
        tracks = {p.frame.track: self._tracks[p.frame.track] for p in self._pending}
        waited = self._pending[-1].frame.arrival - self._pending[0].frame.arrival
        everyone = all(t.id in tracks for t in self._tracks.values() if not t.ended)
        reported = all(t.report is not None for t in tracks.values())
        if not (force or waited >= self.sync_wait or (everyone and reported)):
            return []
        sync = SYNC_REPORTS if reported else SYNC_ARRIVAL
        if sync == SYNC_REPORTS and self._offset is None:
            self._offset = min(
                p.frame.arrival - self._sender_time(tracks[p.frame.track], p.frame.timestamp)
                for p in self._pending
            )
        start = min(self._wall(tracks[p.frame.track], p.frame, p.rtp, sync) for p in self._pending)
        specs = []
        for track in tracks.values():
            first = next(p for p in self._pending if p.frame.track == track.id)
            specs.append(self._spec(track, first.size))
        pending, self._pending = self._pending, []
        actions: list[Action] = [self._open(start, sync, specs, "start")]
        for p in pending:
            actions += self._route(self._tracks[p.frame.track], p.frame, p.rtp, p.size)
        return actions

    # -- running --------------------------------------------------------------------------

    def _route(
        self, track: _Track, frame: EncodedFrame, rtp: int, size: tuple[int, int] | None
    ) -> list[Action]:
        actions: list[Action] = []
        previous = self._previous
        if previous is not None:
            at = previous.time_of(track, rtp)
            if at is not None and at < previous.cut_at:
                actions += self._write(previous, track, frame, rtp)
                return actions
            previous.passed_cut.add(track.id)
            waiting = [t for t in previous.streams if t not in previous.passed_cut]
            lingered = frame.arrival - previous.cut_arrival > self.linger
            if lingered or all(self._tracks[t].ended for t in waiting):
                actions.append(_close(previous))
                self._previous = None
        current = self._current
        assert current is not None
        if frame.keyframe:
            spec = current.streams.get(track.id)
            reason = None
            if spec is None:
                reason = "track"
            elif track.change:
                reason = track.change
            elif size is not None and size != (spec.width, spec.height):
                reason = "resolution"
            elif self._cut_due and (track.kind == "video" or not self._live_video(frame.arrival)):
                reason = self._cut_due
            if reason is not None:
                actions += self._cut(reason, track, frame, rtp, size)
                current = self._current
                assert current is not None
        if track.kind == "video" and frame.keyframe:
            track.awaiting_keyframe = False
            track.size = size or track.size
        actions += self._write(current, track, frame, rtp)
        if self._cut_due is None and current.end - current.start >= self.segment_seconds:
            self._cut_due = "rollover"
        return actions

    def _cut(
        self,
        reason: str,
        track: _Track,
        frame: EncodedFrame,
        rtp: int,
        size: tuple[int, int] | None,
    ) -> list[Action]:
        old = self._current
        assert old is not None
        actions: list[Action] = []
        if self._previous is not None:
            actions.append(_close(self._previous))
        sync = SYNC_REPORTS if self._all_reported(old.streams, track) else SYNC_ARRIVAL
        if sync == SYNC_REPORTS and self._offset is None:
            self._offset = frame.arrival - self._sender_time(track, frame.timestamp)
        start = self._wall(track, frame, rtp, sync)
        at = old.time_of(track, rtp)
        old.cut_at = at if at is not None else start
        old.cut_arrival = frame.arrival
        old.passed_cut = {track.id}
        specs = [self._spec(track, size)]
        for spec in old.streams.values():
            other = self._tracks[spec.track]
            if other is track or other.ended:
                continue
            specs.append(spec)
            other.await_keyframe("keyframe")
        track.change = None
        self._cut_due = None
        self._previous = old
        actions.append(self._open(start, sync, specs, reason))
        return actions

    def _open(self, start: float, sync: str, specs: list[StreamSpec], reason: str) -> OpenSegment:
        segment = _Segment(self._next_index, start, sync, {s.track: s for s in specs}, end=start)
        self._next_index += 1
        self._current = segment
        return OpenSegment(segment.index, tuple(specs), start, reason, sync)

    def _write(
        self, segment: _Segment, track: _Track, frame: EncodedFrame, rtp: int
    ) -> list[Action]:
        actions: list[Action] = []
        origin = segment.origins.get(track.id)
        if origin is None or origin.ssrc != track.ssrc:
            wall = self._wall(track, frame, rtp, segment.sync)
            pts = round((wall - segment.start) * track.clock_rate)
            if origin is not None and pts <= segment.last_pts.get(track.id, -1):
                pts = segment.last_pts[track.id] + 1
            origin = segment.origins[track.id] = _Origin(track.ssrc or 0, rtp, pts)
        pts = origin.pts + rtp - origin.rtp
        last = segment.last_pts.get(track.id)
        if pts < 0 or (last is not None and pts <= last):
            track.drop("late", segment.start + pts / track.clock_rate)
            return actions
        at = segment.start + pts / track.clock_rate
        if track.drop_start is not None:
            actions.append(Gap(track.id, track.drop_start, at, track.drop_reason))
            track.drop_start = None
        elif track.last_time is not None and at - track.last_time > self.gap_seconds:
            actions.append(Gap(track.id, track.last_time, at, "silence"))
        duration = opus_samples(frame.data) if frame.codec == "opus" else 0
        segment.last_pts[track.id] = pts
        segment.end = max(segment.end, at + duration / track.clock_rate)
        track.last_time = at
        track.frames += 1
        actions.append(
            WritePacket(segment.index, track.id, pts, duration, frame.data, frame.keyframe)
        )
        return actions

    # -- clocks ---------------------------------------------------------------------------

    def _sender_time(self, track: _Track, timestamp: int) -> float:
        report = track.report
        assert report is not None
        return report.ntp_time + signed_diff32(timestamp, report.timestamp) / track.clock_rate

    def _wall(self, track: _Track, frame: EncodedFrame, rtp: int, sync: str) -> float:
        if sync == SYNC_REPORTS and track.report is not None and self._offset is not None:
            return self._sender_time(track, frame.timestamp) + self._offset
        return track.arrival_offset + rtp / track.clock_rate

    def _guess_time(self, track: _Track, frame: EncodedFrame, rtp: int) -> float:
        current = self._current
        at = current.time_of(track, rtp) if current is not None else None
        return at if at is not None else self._wall(track, frame, rtp, SYNC_ARRIVAL)

    def _all_reported(self, streams: dict[str, StreamSpec], track: _Track) -> bool:
        live = [self._tracks[t] for t in streams if not self._tracks[t].ended] + [track]
        return all(t.report is not None for t in live)

    def _live_video(self, now: float) -> bool:
        current = self._current
        return current is not None and any(
            self._tracks[t].kind == "video" and now - self._tracks[t].last_arrival < STALL_SECONDS
            for t in current.streams
        )

    def _spec(self, track: _Track, size: tuple[int, int] | None) -> StreamSpec:
        width, height = size or track.size or (0, 0)
        return StreamSpec(track.id, track.kind, track.codec, track.clock_rate, width, height)


def _close(segment: _Segment) -> CloseSegment:
    # A segment that was cut ends where the next one starts, whatever lingered into it.
    return CloseSegment(segment.index, max(segment.start, min(segment.end, segment.cut_at)))
