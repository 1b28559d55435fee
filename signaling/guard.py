"""The Socket.IO server, refusing at the packet level what our protocol never sends.

No ``/call`` or ``/console`` event carries binary data (``signaling/messages.py``), and the
server never asks a client for an acknowledgement. python-socketio, left alone, keeps a
binary event's attachments (``AsyncServer._binary_packet``) until as many have come as its
header announces — up to 9,999,999,999, each up to the 64 KiB message limit — and frees
them only at disconnect: a socket holding nothing but an invite link could make the server
buffer 121 MB in 4.5 s. A frame it cannot place (an attachment nobody announced, a binary
event for a namespace the socket did not join, an event without a name) raises in a
background task and is logged with a traceback, once per frame.

Here the first such frame closes the socket with one log line; whatever the socket still
sends while it closes is dropped unread. Frames that reach no event handler (CONNECT,
DISCONNECT, an event for a namespace the socket did not join) spend a per-socket token bucket
of the same size as the namespaces' (``ratelimit.py``), whose events are limited there.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import socketio
from aiohttp import web
from socketio import packet

from inspection_api.web.security import client_ip
from signaling.ratelimit import ABUSE_DROPS, BURST, RATE_PER_SECOND, SocketLimiter, Verdict

log = logging.getLogger(__name__)

# Packet types a client of ours sends; BINARY_EVENT, ACK and BINARY_ACK are never among them.
_ACCEPTED = frozenset({packet.CONNECT, packet.DISCONNECT, packet.EVENT})


class BadFrame(Exception):
    """A frame our protocol never sends: its socket is closed."""


class GuardedServer(socketio.AsyncServer):
    """``socketio.AsyncServer`` that closes a socket at its first frame outside the
    protocol and rate-limits the frames that reach no event handler."""

    def __init__(
        self,
        *args: Any,
        close_socket: Callable[[Any], Any],
        clock: Callable[[], float] = time.monotonic,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._close_socket = close_socket
        self._clock = clock
        # Per Engine.IO socket, dropped with it.
        self.frame_limiters: dict[str, SocketLimiter] = {}

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        socket = self.eio.sockets.get(eio_sid)
        if socket is None or socket.closing or socket.closed:
            return  # refused (or gone): what it still sends is not read
        try:
            pkt = _decode(self.packet_class, data)
        except BadFrame as exc:
            await self._refuse(eio_sid, socket, str(exc))
            return
        namespace = pkt.namespace or "/"
        joined = self.manager.sid_from_eio_sid(eio_sid, namespace) is not None
        if pkt.packet_type == packet.EVENT and joined:
            # The namespace limits its own events (and answers rate_limited).
            await self._handle_event(eio_sid, pkt.namespace, pkt.id, pkt.data)
            return
        limiter = self.frame_limiters.setdefault(
            eio_sid, SocketLimiter(RATE_PER_SECOND, BURST, ABUSE_DROPS)
        )
        verdict = limiter.admit(self._clock())
        if verdict is Verdict.DISCONNECT:
            await self._refuse(eio_sid, socket, "sustained flood of frames outside any event")
        elif verdict is Verdict.DROP or pkt.packet_type == packet.EVENT:
            return  # an event for a namespace it did not join: nobody to hand it to
        elif pkt.packet_type == packet.CONNECT:
            await self._handle_connect(eio_sid, pkt.namespace, pkt.data)
        else:
            await self._handle_disconnect(eio_sid, pkt.namespace, self.reason.CLIENT_DISCONNECT)

    async def _handle_eio_disconnect(self, eio_sid: str, reason: Any) -> None:
        self.frame_limiters.pop(eio_sid, None)
        await super()._handle_eio_disconnect(eio_sid, reason)

    async def _refuse(self, eio_sid: str, socket: Any, why: str) -> None:
        """Close the socket; one log line (later frames find it closing and say nothing)."""
        request = self.environ.get(eio_sid, {}).get("aiohttp.request")
        ip = client_ip(request) if isinstance(request, web.Request) else "?"
        log.warning("closing socket %s from %s: %s", eio_sid, ip, why)
        self._binary_packet.pop(eio_sid, None)  # never filled here; no leftover either way
        await self._close_socket(socket)


def _decode(packet_class: type[packet.Packet], data: Any) -> packet.Packet:
    """The Socket.IO packet in ``data``, or ``BadFrame`` saying why it is none of ours."""
    if not isinstance(data, str):
        raise BadFrame("binary frame (the protocol sends no binary data)")
    try:
        pkt = packet_class(encoded_packet=data)
    except (ValueError, TypeError, IndexError):  # JSONDecodeError is a ValueError
        raise BadFrame("undecodable packet") from None
    if pkt.packet_type in (packet.BINARY_EVENT, packet.BINARY_ACK):
        raise BadFrame("binary event (the protocol sends no binary data)")
    if pkt.packet_type not in _ACCEPTED:
        raise BadFrame(f"unexpected packet type {pkt.packet_type}")
    if pkt.packet_type == packet.EVENT and not (isinstance(pkt.data, list) and pkt.data):
        raise BadFrame("event without a name")
    return pkt
