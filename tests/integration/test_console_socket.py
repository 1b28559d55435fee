"""The /console Socket.IO namespace on a real port, on both backends.

Sockets authenticate with the browser session cookie, refuse foreign origins and oversized
messages, acknowledge every event, and hear at once when their session is revoked.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
import socketio
from sqlalchemy import update

from inspection_api.auth.models import AuthSession
from inspection_api.auth.service import session_cookie_name
from inspection_api.db import create_engine, utcnow
from tests.conftest import REDIS_URL
from tests.plugins.browser import LiveServer, StartServer, start_live_server
from tests.plugins.services import require_service

NAMESPACE = "/console"
WAIT = 5.0
SHUTDOWN_BOUND = 15.0  # the socket close (5 s) and handler grace (5 s), with room to spare


@pytest.fixture
async def server(settings, live_server_factory: StartServer, demo_passwords) -> LiveServer:
    return await live_server_factory(settings)


@pytest.fixture
async def http() -> AsyncIterator[list[aiohttp.ClientSession]]:
    """HTTP sessions opened by a test, closed after it."""
    opened: list[aiohttp.ClientSession] = []
    yield opened
    for session in opened:
        await session.close()


async def login(
    server: LiveServer, opened: list[aiohttp.ClientSession], username: str, password: str
) -> tuple[aiohttp.ClientSession, str]:
    """A fresh browser-like login: its HTTP session and its session cookie value."""
    session = aiohttp.ClientSession(base_url=server.url, cookie_jar=aiohttp.CookieJar(unsafe=True))
    opened.append(session)
    async with session.post(
        "/api/v1/auth/login", json={"username": username, "password": password}
    ) as response:
        assert response.status == 200, await response.text()
        cookie = response.cookies[session_cookie_name(server.settings)].value
    return session, cookie


class Console:
    """A Socket.IO client on /console that records what it receives."""

    def __init__(self) -> None:
        self.client = socketio.AsyncClient(reconnection=False)
        self.received: list[tuple[str, Any]] = []
        self.revoked = asyncio.Event()
        self.disconnected = asyncio.Event()
        self.refusal: Any = None

        @self.client.on("session_revoked", namespace=NAMESPACE)
        async def on_revoked(data: Any) -> None:
            self.received.append(("session_revoked", data))
            self.revoked.set()

        @self.client.on("connect_error", namespace=NAMESPACE)
        async def on_connect_error(data: Any) -> None:
            self.refusal = data

        @self.client.on("disconnect", namespace=NAMESPACE)
        async def on_disconnect(*args: Any) -> None:
            self.disconnected.set()

    async def connect(
        self, server: LiveServer, cookie: str | None, origin: str | None = None
    ) -> None:
        headers = {"Origin": origin or server.origin}
        if cookie is not None:
            headers["Cookie"] = f"{session_cookie_name(server.settings)}={cookie}"
        await self.client.connect(
            server.url,
            headers=headers,
            transports=["websocket"],
            namespaces=[NAMESPACE],
            wait_timeout=WAIT,
        )

    async def call(self, event: str, data: Any = None) -> Any:
        return await self.client.call(event, data, namespace=NAMESPACE, timeout=WAIT)


@pytest.fixture
async def consoles() -> AsyncIterator[list[Console]]:
    opened: list[Console] = []
    yield opened
    for console in opened:
        await console.client.disconnect()
        await console.client.shutdown()


@pytest.fixture
def new_console(consoles: list[Console]):  # type: ignore[no-untyped-def]
    def make() -> Console:
        console = Console()
        consoles.append(console)
        return console

    return make


async def test_logged_in_console_connects_and_gets_acks(server, http, new_console, demo_passwords):
    _, cookie = await login(server, http, "inspector", demo_passwords["inspector"])
    console = new_console()
    await console.connect(server, cookie)

    ack = await console.call("ping_server")
    assert ack["ok"] is True
    assert ack["at"].endswith("+00:00")

    bad = await console.call("ping_server", {"unexpected": 1})
    assert bad["ok"] is False
    assert bad["error"]["code"] == "validation_failed"
    assert bad["error"]["errors"][0]["field"] == "data.unexpected"

    unknown = await console.call("open_vault", {})
    assert unknown == {
        "ok": False,
        "error": {"code": "unknown_event", "detail": "不支持的事件：open_vault"},
    }
    # A client may emit reserved names too; it must not re-run the handshake.
    assert (await console.call("connect", {}))["error"]["code"] == "unknown_event"
    assert (await console.call("ping_server"))["ok"] is True


@pytest.mark.parametrize("cookie", [None, "bogus-session-token"], ids=["no-cookie", "bogus"])
async def test_console_without_a_live_session_is_refused(server, new_console, cookie):
    console = new_console()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await console.connect(server, cookie)
    assert console.refusal is not None
    assert console.refusal["message"] == "unauthenticated"
    assert console.refusal["data"] == {
        "code": "unauthenticated",
        "message": "请先登录",
        "detail": "请先登录",
    }


async def test_logged_out_session_cannot_open_a_console(server, http, new_console, demo_passwords):
    session, cookie = await login(server, http, "inspector", demo_passwords["inspector"])
    async with session.post("/api/v1/auth/logout") as response:
        assert response.status == 204
    console = new_console()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await console.connect(server, cookie)
    assert console.refusal["message"] == "unauthenticated"


async def test_foreign_origin_is_refused_at_the_handshake(server, http, demo_passwords):
    session, _ = await login(server, http, "inspector", demo_passwords["inspector"])
    url = "/socket.io/?EIO=4&transport=websocket"
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await session.ws_connect(url, headers={"Origin": "http://evil.example"})
    assert refused.value.status == 400
    # Same cookie, own origin: accepted (the handshake itself, before Socket.IO auth).
    async with session.ws_connect(url, headers={"Origin": server.origin}) as ws:
        opened = await ws.receive_str(timeout=WAIT)
        assert opened.startswith("0{")  # Engine.IO OPEN


async def test_foreign_origin_is_refused_for_socketio_clients(
    server, http, new_console, demo_passwords
):
    _, cookie = await login(server, http, "inspector", demo_passwords["inspector"])
    console = new_console()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await console.connect(server, cookie, origin="https://phishing.example")


async def test_message_over_64_kib_closes_that_socket_only(
    server, http, new_console, demo_passwords
):
    _, cookie = await login(server, http, "inspector", demo_passwords["inspector"])
    bystander = new_console()
    await bystander.connect(server, cookie)
    sender = new_console()
    await sender.connect(server, cookie)

    await sender.client.emit("ping_server", {"pad": "x" * (65 * 1024)}, namespace=NAMESPACE)
    await asyncio.wait_for(sender.disconnected.wait(), WAIT)

    assert (await bystander.call("ping_server"))["ok"] is True
    again = new_console()
    await again.connect(server, cookie)
    assert (await again.call("ping_server"))["ok"] is True
    # Just under the limit is an ordinary (invalid) message, answered with an error ack.
    answer = await again.call("ping_server", {"pad": "x" * (60 * 1024)})
    assert answer["error"]["code"] == "validation_failed"


async def test_password_change_revokes_the_other_sessions_console(
    server, http, new_console, demo_passwords
):
    password = demo_passwords["inspector"]
    here, here_cookie = await login(server, http, "inspector", password)
    _, other_cookie = await login(server, http, "inspector", password)
    this_console = new_console()
    await this_console.connect(server, here_cookie)
    other_console = new_console()
    await other_console.connect(server, other_cookie)

    async with here.post(
        "/api/v1/auth/password",
        json={"current_password": password, "new_password": "Changed-password-2026"},
    ) as response:
        assert response.status == 204, await response.text()

    await asyncio.wait_for(other_console.revoked.wait(), WAIT)
    assert other_console.received == [("session_revoked", {"reason": "revoked"})]
    # The revoked console is also closed by the server, whatever its page does.
    await asyncio.wait_for(other_console.disconnected.wait(), WAIT)
    # The session that changed the password keeps its console, and was not told anything.
    assert (await this_console.call("ping_server"))["ok"] is True
    assert this_console.received == []
    # And the revoked cookie cannot open a new one.
    retry = new_console()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await retry.connect(server, other_cookie)


@pytest.mark.parametrize("change", ["revoked_elsewhere", "idle"])
async def test_sweep_closes_consoles_whose_session_ended_without_a_push(
    settings, live_server_factory, http, new_console, demo_passwords, change
):
    """A revocation done on another node (no emit reaches this one) or an idle timeout is
    found by the node's periodic sweep, which closes the socket."""
    server = await live_server_factory(replace(settings, console_sweep_seconds=0.2))
    _, cookie = await login(server, http, "reviewer", demo_passwords["reviewer"])
    console = new_console()
    await console.connect(server, cookie)
    assert (await console.call("ping_server"))["ok"] is True
    values = (
        {"revoked_at": utcnow()}
        if change == "revoked_elsewhere"
        else {"last_seen_at": utcnow() - timedelta(minutes=settings.session_idle_minutes + 1)}
    )
    engine = create_engine(settings.database_url)
    async with engine.begin() as conn:
        await conn.execute(update(AuthSession).values(**values))
    await engine.dispose()
    await asyncio.wait_for(console.disconnected.wait(), WAIT)
    assert console.received == [("session_revoked", {"reason": "expired"})]


@contextlib.asynccontextmanager
async def engineio_websocket(server: LiveServer) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    """A bare Engine.IO WebSocket to ``server``, past its OPEN packet (no namespace)."""
    async with (
        aiohttp.ClientSession(base_url=server.url) as session,
        session.ws_connect(
            "/socket.io/?EIO=4&transport=websocket", headers={"Origin": server.origin}
        ) as ws,
    ):
        assert (await ws.receive_str(timeout=WAIT)).startswith("0{")
        yield ws


async def test_node_stopped_right_after_its_first_socket_stops_promptly(embedded_settings):
    """The Redis pub/sub listener starts with a node's first socket; stopping the node while
    it is still subscribing once lost the cancellation and hung shutdown for ever (about 1
    stop in 12 here), so this stops such a node many times, each within a bound."""
    require_service("redis", "127.0.0.1", 6379)
    settings = replace(embedded_settings, redis_url=REDIS_URL)
    for _ in range(100):
        server, runner = await start_live_server(settings)
        try:
            async with engineio_websocket(server):
                pass
        finally:
            async with asyncio.timeout(SHUTDOWN_BOUND):
                await runner.cleanup()


async def test_stopping_a_node_closes_the_websockets_it_holds(embedded_settings):
    """Browsers ignore Engine.IO's CLOSE packet on a WebSocket (it only ends a polling
    transport) and wait for the server to close the connection: a node stopping with
    consoles open held its shutdown for aiohttp's whole grace period twice over (10 s)."""
    server, runner = await start_live_server(embedded_settings)
    async with engineio_websocket(server) as ws:
        loop = asyncio.get_running_loop()
        began = loop.time()
        stopping = asyncio.create_task(runner.cleanup())
        # Like a browser: read on, answer nothing, never close first.
        received = [message async for message in ws]
        closed_after = loop.time() - began
        async with asyncio.timeout(SHUTDOWN_BOUND):
            await stopping
        stopped_after = loop.time() - began
    assert [m.data for m in received] == ["1"]  # Engine.IO CLOSE, then the WebSocket close
    assert ws.close_code == aiohttp.WSCloseCode.OK
    assert closed_after < 2.0 and stopped_after < 2.0, (closed_after, stopped_after)
