"""Call test helpers: remote sessions and invites made through the REST API, Socket.IO
clients on ``/call`` (staff with a session cookie, contacts with an invite), and aiortc
peers whose only signaling path is such a client.

``calls`` (fixture) is a ``CallKit`` that closes whatever it opened; ``call_server`` is the
real app on a TCP port with the demo bank and a 1 s slot hold.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any

import aiohttp
import pytest
import socketio
from aiortc import RTCPeerConnection, RTCSessionDescription, VideoStreamTrack
from aiortc.mediastreams import AudioStreamTrack, MediaStreamTrack
from av import VideoFrame

from loancheck.settings import Settings
from tests.plugins.browser import LiveServer, StartServer

NAMESPACE = "/call"
WAIT = 5.0
HOLD_SECONDS = 1.0
SERVER_EVENTS = (
    "peer_joined",
    "peer_reconnecting",
    "peer_left",
    "signal",
    "media",
    "call_ended",
    "removed",
    "error",
)


class CallClient:
    """A python-socketio client on ``/call`` that queues every server event by name."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: dict[str, asyncio.Queue[Any]] = defaultdict(asyncio.Queue)
        self.refusal: Any = None
        self.disconnected = asyncio.Event()
        for name in SERVER_EVENTS:
            self.sio.on(name, self._recorder(name), namespace=NAMESPACE)
        self.sio.on("connect_error", self._on_refused, namespace=NAMESPACE)
        self.sio.on("disconnect", self._on_disconnect, namespace=NAMESPACE)

    def _recorder(self, name: str) -> Any:
        async def record(data: Any = None) -> None:
            self.events[name].put_nowait(data)

        return record

    async def _on_refused(self, data: Any) -> None:
        self.refusal = data

    async def _on_disconnect(self, *args: Any) -> None:
        self.disconnected.set()

    async def connect(
        self,
        url: str,
        *,
        cookie: str | None = None,
        auth: dict[str, Any] | None = None,
        origin: str | None = None,
    ) -> None:
        headers = {"Origin": origin or url}
        if cookie is not None:
            headers["Cookie"] = f"loancheck_session={cookie}"
        await self.sio.connect(
            url,
            headers=headers,
            auth=auth,
            transports=["websocket"],
            namespaces=[NAMESPACE],
            wait_timeout=WAIT,
        )

    async def call(self, event: str, data: Any = None, wait: float = WAIT) -> Any:
        return await self.sio.call(event, data, namespace=NAMESPACE, timeout=wait)

    async def emit(self, event: str, data: Any = None, callback: Any = None) -> None:
        await self.sio.emit(event, data, namespace=NAMESPACE, callback=callback)

    async def next(self, event: str, wait: float = WAIT) -> Any:
        """The next ``event`` received (waiting up to ``wait`` seconds)."""
        return await asyncio.wait_for(self.events[event].get(), wait)

    def pending(self, event: str) -> list[Any]:
        """Events of that name received and not yet taken."""
        queue = self.events[event]
        return [queue.get_nowait() for _ in range(queue.qsize())]

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.sio.disconnect()
        await self.sio.shutdown()


@dataclass
class RemoteCall:
    """A session opened through the REST API, with one invite."""

    url: str
    session_id: int
    invite_id: int
    token: str
    staff: aiohttp.ClientSession  # the inspector's logged-in HTTP session
    cookie: str


@dataclass
class CallKit:
    passwords: dict[str, str] = field(default_factory=dict)
    _http: list[aiohttp.ClientSession] = field(default_factory=list)
    _clients: list[CallClient] = field(default_factory=list)
    _peers: list[MediaPeer] = field(default_factory=list)

    async def login(self, url: str, username: str) -> tuple[aiohttp.ClientSession, str]:
        """A browser-like login: its HTTP session and its session cookie value."""
        http = aiohttp.ClientSession(base_url=url, cookie_jar=aiohttp.CookieJar(unsafe=True))
        self._http.append(http)
        body = {"username": username, "password": self.passwords[username]}
        async with http.post("/api/v1/auth/login", json=body) as response:
            assert response.status == 200, await response.text()
            return http, response.cookies["loancheck_session"].value

    async def open_call(
        self, url: str, username: str = "inspector", contact_name: str = "刘联系"
    ) -> RemoteCall:
        staff, cookie = await self.login(url, username)
        body = {"title": "华北机械远程巡检", "enterprise_name": "华北机械"}
        async with staff.post("/api/v1/remote-sessions", json=body) as response:
            assert response.status == 201, await response.text()
            session_id = (await response.json())["id"]
        call = RemoteCall(url, session_id, 0, "", staff, cookie)
        call.invite_id, call.token = await self.invite(call, contact_name)
        return call

    async def invite(self, call: RemoteCall, contact_name: str = "刘联系") -> tuple[int, str]:
        async with call.staff.post(
            f"/api/v1/remote-sessions/{call.session_id}/invites",
            json={"contact_name": contact_name},
        ) as response:
            assert response.status == 201, await response.text()
            invite = await response.json()
        return invite["id"], invite["token"]

    def client(self) -> CallClient:
        client = CallClient()
        self._clients.append(client)
        return client

    async def staff_socket(self, url: str, cookie: str) -> CallClient:
        client = self.client()
        await client.connect(url, cookie=cookie)
        return client

    async def contact_socket(self, url: str, token: str, device_id: str = "phone-1") -> CallClient:
        client = self.client()
        await client.connect(url, auth={"invite": token, "device_id": device_id})
        return client

    async def joined_pair(
        self, call: RemoteCall, contact_url: str | None = None
    ) -> tuple[CallClient, dict[str, Any], CallClient, dict[str, Any]]:
        """The inspector and the contact in the call: (socket, join ack) of each."""
        inspector = await self.staff_socket(call.url, call.cookie)
        inspector_ack = await inspector.call(
            "join_call", {"session_id": call.session_id, "device_id": "pc-1"}
        )
        assert inspector_ack["ok"] is True, inspector_ack
        contact = await self.contact_socket(contact_url or call.url, call.token)
        contact_ack = await contact.call("join_call", {})
        assert contact_ack["ok"] is True, contact_ack
        return inspector, inspector_ack, contact, contact_ack

    def peer(self, client: CallClient) -> MediaPeer:
        peer = MediaPeer(client)
        self._peers.append(peer)
        return peer

    async def close(self) -> None:
        for peer in self._peers:
            await peer.close()
        for client in self._clients:
            await client.close()
        for http in self._http:
            await http.close()


@pytest.fixture
async def calls() -> AsyncIterator[CallKit]:
    kit = CallKit()
    yield kit
    await kit.close()


@pytest.fixture
async def call_server(
    settings: Settings,
    live_server_factory: StartServer,
    demo_passwords: dict[str, str],
    calls: CallKit,
) -> LiveServer:
    """The app on a real port (both backends), demo bank seeded, slots held 1 s."""
    calls.passwords.update(demo_passwords)
    return await live_server_factory(replace(settings, call_hold_seconds=HOLD_SECONDS))


# ---- aiortc peers ----


class PatternVideoTrack(VideoStreamTrack):
    """320×240 frames whose brightness changes every frame (no camera, no file)."""

    def __init__(self) -> None:
        super().__init__()
        self._count = 0

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = VideoFrame(width=320, height=240, format="yuv420p")
        luma = 16 + (self._count * 7) % 220
        for plane, value in zip(frame.planes, (luma, 128, 128), strict=True):
            plane.update(bytes([value]) * plane.buffer_size)
        self._count += 1
        frame.pts, frame.time_base = pts, time_base
        return frame


class MediaPeer:
    """An aiortc peer (camera-like video plus audio) signaling only through ``client``.

    The impolite side calls ``offer_to``; the polite side answers whatever offer arrives.
    aiortc gathers candidates before ``setLocalDescription`` returns, so descriptions carry
    them (no trickle).
    """

    def __init__(self, client: CallClient) -> None:
        self.client = client
        self.pc = RTCPeerConnection()
        self.pc.addTrack(PatternVideoTrack())
        self.pc.addTrack(AudioStreamTrack())
        loop = asyncio.get_running_loop()
        self.video: asyncio.Future[MediaStreamTrack] = loop.create_future()
        self.audio: asyncio.Future[MediaStreamTrack] = loop.create_future()
        self.pc.on("track", self._on_track)
        self._signals = asyncio.create_task(self._answer_signals(), name="media-peer-signals")
        self._signals.add_done_callback(self._signals_failed)

    def _signals_failed(self, task: asyncio.Task[None]) -> None:
        # A failed negotiation must fail the waiting test, not leave it to time out.
        if not task.cancelled() and task.exception() is not None:
            for future in (self.video, self.audio):
                if not future.done():
                    future.set_exception(task.exception())  # type: ignore[arg-type]

    def _on_track(self, track: MediaStreamTrack) -> None:
        future = self.video if track.kind == "video" else self.audio
        if not future.done():
            future.set_result(track)

    async def offer_to(self, participant_id: int) -> None:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        await self._send(participant_id)

    async def _send(self, participant_id: int) -> None:
        local = self.pc.localDescription
        ack = await self.client.call(
            "send_signal",
            {"to": participant_id, "description": {"type": local.type, "sdp": local.sdp}},
        )
        assert ack == {"ok": True}, ack

    async def _answer_signals(self) -> None:
        while True:
            signal = await self.client.events["signal"].get()
            description = signal.get("description")
            if description is None:
                continue  # aiortc does not trickle; nothing to add
            await self.pc.setRemoteDescription(
                RTCSessionDescription(sdp=description["sdp"], type=description["type"])
            )
            if description["type"] == "offer":
                await self.pc.setLocalDescription(await self.pc.createAnswer())
                await self._send(signal["from"])

    async def frames(self, kind: str, count: int, wait: float) -> list[Any]:
        """``count`` decoded frames of the remote ``kind`` track, within ``wait`` seconds."""

        async def read() -> list[Any]:
            track = await (self.video if kind == "video" else self.audio)
            return [await track.recv() for _ in range(count)]

        return await asyncio.wait_for(read(), wait)

    async def close(self) -> None:
        self._signals.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._signals
        await self.pc.close()


def device_id() -> str:
    return f"dev-{uuid.uuid4().hex[:12]}"
