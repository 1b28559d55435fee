"""ReceiverTap: takes the encoded frames an aiortc receiver reassembles, before any decoder.

aiortc has no public API for encoded frames. ``RTCRtpReceiver._handle_rtp_packet`` feeds
each depayloaded RTP packet to the receiver's jitter buffer (``self.__jitter_buffer.add``),
which returns ``(pli_flag, JitterFrame | None)``: a complete encoded frame (its bytes and
its RTP timestamp) once all its packets are in. The receiver then queues that frame for
its decoder thread, where ``get_decoder(codec)`` makes a VP8/H.264/Opus decoder.

The tap replaces that one receiver's jitter buffer with a stand-in that reassembles with
the real one, hands every complete frame to the recorder, and returns no frame: nothing
reaches the decoder thread, so no decoder is ever made and the track's ``recv()`` only
ends when the receiver stops. It passes ``pli_flag`` (packet loss) through, so aiortc
still asks the sender for a key frame after loss. It also wraps the receiver's
``_handle_rtcp_packet`` to read sender reports (aiortc keeps only the middle 32 bits of
the NTP time, not the RTP timestamp paired with it).

Installed per receiver, explicitly, and removable; nothing global is patched. Everything
named here is private to aiortc, hence the exact pin in pyproject.toml and
``check_receiver``, which ``install`` runs and the tests run against the pinned aiortc.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from typing import Any

import aiortc
from aiortc.rtcrtpreceiver import RTCRtpReceiver
from aiortc.rtp import RtcpSrPacket, RtpPacket

from recorder.bitstream import is_keyframe
from recorder.errors import HookUnavailableError
from recorder.frames import EncodedFrame, SenderReport
from recorder.timeline import ntp_to_unix

PINNED_AIORTC = "1.16.0"
JITTER_BUFFER = "_RTCRtpReceiver__jitter_buffer"
CODECS = "_RTCRtpReceiver__codecs"
RECORDED_CODECS = {"audio/opus": "opus", "video/vp8": "vp8", "video/h264": "h264"}
_PACKET_MEMORY = 256  # RTP timestamps remembered while their frame is being reassembled


def check_receiver(receiver: RTCRtpReceiver) -> None:
    """Raise HookUnavailableError naming the first aiortc internal the tap cannot use."""
    jitter_buffer = getattr(receiver, JITTER_BUFFER, None)
    add = getattr(type(jitter_buffer), "add", None)
    checks: list[tuple[str, bool]] = [
        (
            f"RTCRtpReceiver.{JITTER_BUFFER}.add(packet)",
            callable(add) and list(inspect.signature(add).parameters) == ["self", "packet"],
        ),
        (f"RTCRtpReceiver.{CODECS}", isinstance(getattr(receiver, CODECS, None), dict)),
        (
            "RTCRtpReceiver._handle_rtcp_packet(packet)",
            inspect.iscoroutinefunction(getattr(receiver, "_handle_rtcp_packet", None)),
        ),
        (
            "RTCRtpReceiver._send_rtcp_pli(media_ssrc)",
            inspect.iscoroutinefunction(getattr(receiver, "_send_rtcp_pli", None)),
        ),
    ]
    for name, ok in checks:
        if not ok:
            raise HookUnavailableError(name, aiortc.__version__, PINNED_AIORTC)


class _TappedJitterBuffer:
    """Stands in for a receiver's jitter buffer: reassembles, records, never decodes."""

    def __init__(self, inner: Any, tap: ReceiverTap) -> None:
        self.inner = inner
        self._tap = tap

    def add(self, packet: RtpPacket) -> tuple[bool, None]:
        self._tap._saw_packet(packet)
        pli_flag, frame = self.inner.add(packet)
        if pli_flag:
            self._tap._loss = True
        if frame is not None:
            self._tap._deliver(frame.data, frame.timestamp)
        return pli_flag, None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class ReceiverTap:
    """Records one RTCRtpReceiver's encoded frames through ``on_frame``, in place of decoding.

    ``on_frame`` and ``on_sender_report`` run on the event loop and must not block.
    """

    def __init__(
        self,
        receiver: RTCRtpReceiver,
        *,
        track: str,
        kind: str,
        on_frame: Callable[[EncodedFrame], bool],
        on_sender_report: Callable[[str, SenderReport], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.receiver = receiver
        self.track = track
        self.kind = kind
        self.ssrc: int | None = None
        self.frames = 0  # complete frames taken from the receiver
        self.unrecorded = 0  # frames in a codec the recorder does not mux
        self._on_frame = on_frame
        self._on_sender_report = on_sender_report
        self._clock = clock
        self._loss = False
        self._packets: dict[int, tuple[int, int]] = {}  # RTP timestamp -> (ssrc, payload type)
        self._installed: _TappedJitterBuffer | None = None

    def install(self) -> None:
        """Take over the receiver's frames; call before it starts receiving RTP."""
        if self._installed is not None:
            return
        check_receiver(self.receiver)
        tapped = _TappedJitterBuffer(getattr(self.receiver, JITTER_BUFFER), self)
        setattr(self.receiver, JITTER_BUFFER, tapped)
        handle_rtcp = self.receiver._handle_rtcp_packet

        async def _handle_rtcp_packet(packet: Any) -> None:
            if isinstance(packet, RtcpSrPacket):
                self._saw_report(packet)
            await handle_rtcp(packet)

        self.receiver._handle_rtcp_packet = _handle_rtcp_packet  # type: ignore[method-assign]
        self._installed = tapped

    def uninstall(self) -> None:
        """Give the receiver its own jitter buffer and RTCP handler back."""
        if self._installed is None:
            return
        setattr(self.receiver, JITTER_BUFFER, self._installed.inner)
        vars(self.receiver).pop("_handle_rtcp_packet", None)
        self._installed = None

    async def request_keyframe(self) -> bool:
        """Send a PLI for the stream being received; False before its first packet."""
        if self.ssrc is None:
            return False
        await self.receiver._send_rtcp_pli(self.ssrc)
        return True

    def _saw_packet(self, packet: RtpPacket) -> None:
        self.ssrc = packet.ssrc
        self._packets[packet.timestamp] = (packet.ssrc, packet.payload_type)
        if len(self._packets) > _PACKET_MEMORY:  # timestamps of frames that never completed
            del self._packets[next(iter(self._packets))]

    def _saw_report(self, packet: RtcpSrPacket) -> None:
        info = packet.sender_info
        if info.ntp_timestamp == 0:  # aiortc reports before its first RTP packet
            return
        report = SenderReport(packet.ssrc, ntp_to_unix(info.ntp_timestamp), info.rtp_timestamp)
        self._on_sender_report(self.track, report)

    def _deliver(self, data: bytes, timestamp: int) -> None:
        self.frames += 1
        ssrc, payload_type = self._packets.pop(timestamp, (self.ssrc or 0, -1))
        codec = getattr(self.receiver, CODECS).get(payload_type)
        name = RECORDED_CODECS.get(codec.mimeType.lower()) if codec is not None else None
        if name is None:
            self.unrecorded += 1
            return
        frame = EncodedFrame(
            track=self.track,
            kind=self.kind,
            codec=name,
            clock_rate=codec.clockRate,
            ssrc=ssrc,
            timestamp=timestamp,
            data=data,
            keyframe=is_keyframe(name, data),
            arrival=self._clock(),
            loss=self._loss,
        )
        self._loss = False
        self._on_frame(frame)
