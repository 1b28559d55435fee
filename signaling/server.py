"""Builds the Socket.IO server and attaches it to the aiohttp app."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import socketio
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inspection_api.tokens import derived_key
from inspection_api.web.security import allowed_origin
from loancheck.settings import Settings
from signaling.call import CallNamespace
from signaling.guard import GuardedServer
from signaling.messages import MAX_MESSAGE_BYTES
from signaling.namespace import ConsoleNamespace
from signaling.notifier import Notifier

log = logging.getLogger(__name__)

SHUTDOWN_CLOSE_SECONDS = 5.0
LISTENER_STOP_POLL_SECONDS = 0.5

# The /call namespace, for the composition root (e.g. to tell a call that REST ended it).
CALL = web.AppKey("call", CallNamespace)


class RedisManager(socketio.AsyncRedisManager):
    """python-socketio's Redis manager with a bound on concurrent publishes.

    redis-py's pool refuses a 101st simultaneous connection ("Too many connections"); the
    manager answers a failed publish by reconnecting, which replaces its subscription and
    can lose messages. A burst of emits (a flood, a node's sockets all dropping at once)
    queues here instead.
    """

    MAX_PUBLISHING = 32

    def __init__(self, url: str, channel: str) -> None:
        super().__init__(url, channel=channel)
        self.call: CallNamespace | None = None  # set once registered
        self._publishing = asyncio.Semaphore(self.MAX_PUBLISHING)

    async def _publish(self, data: Any) -> Any:
        async with self._publishing:
            return await super()._publish(data)

    async def _handle_close_room(self, message: Any) -> None:
        """Close a room here (asked here or by another node), then tell the call namespace
        which of its sockets were in it: rooms alone cannot take a socket's slot away."""
        namespace, room = message.get("namespace") or "/", message.get("room")
        sids = list(self.rooms.get(namespace, {}).get(room, {}))
        await super()._handle_close_room(message)
        if self.call is not None and namespace == self.call.namespace and sids:
            await self.call.room_closed(room, sids)


def redis_channel(settings: Settings) -> str:
    """The Pub/Sub channel of this deployment's nodes. Rooms are named by ids (``call-1``),
    which every deployment has: on a channel shared with another deployment (python-socketio
    names it ``socketio``), one call's offers, answers and joins reached the other's call of
    the same id. Derived from the secret key, which every node of a deployment shares."""
    if settings.redis_channel:
        return settings.redis_channel
    return "loancheck-" + derived_key(settings.secret_key, "loancheck socket.io channel").hex()[:16]


def _origin_allowed(origin: str, environ: dict[str, Any]) -> bool:
    """The same rule as state-changing HTTP requests: the public URL, the configured extra
    origins, or the handshake's own scheme://host. Browsers always send Origin on a
    WebSocket handshake, which is what blocks cross-site WebSocket hijacking."""
    request = environ.get("aiohttp.request")
    return isinstance(request, web.Request) and allowed_origin(request, origin)


def setup_signaling(
    app: web.Application,
    settings: Settings,
    sessionmaker_key: web.AppKey[async_sessionmaker[AsyncSession]],
) -> Notifier:
    """Attach Socket.IO (``/socket.io/``, WebSocket only) with the ``/console`` and ``/call``
    namespaces, and return the console notifier."""
    manager = (
        RedisManager(settings.redis_url, redis_channel(settings)) if settings.redis_url else None
    )
    sio = GuardedServer(
        close_socket=_close_socket,
        async_mode="aiohttp",
        client_manager=manager,
        transports=["websocket"],
        max_http_buffer_size=MAX_MESSAGE_BYTES,
        cors_allowed_origins=_origin_allowed,
    )
    sio.attach(app)
    console = ConsoleNamespace(settings, sessionmaker_key)
    sio.register_namespace(console)
    call = CallNamespace(settings, app, sessionmaker_key, hold_seconds=settings.call_hold_seconds)
    sio.register_namespace(call)
    app[CALL] = call
    if manager is not None:
        manager.call = call

    async def close_sockets(app: web.Application) -> None:
        # on_shutdown runs before aiohttp waits for open handlers: a WebSocket left open
        # would hold the shutdown for the whole grace period. Each socket is told (CLOSE,
        # so clients reconnect to another node) without waiting for the packet to leave:
        # Engine.IO's own disconnect() waits for every socket's send queue to drain, for
        # ever when the client closed first and the writer is already gone, and fails on
        # an empty table when the last socket leaves while it is being scheduled.
        sockets = [s for s in sio.eio.sockets.values() if not (s.closed or s.closing)]
        if not sockets:
            return
        try:
            async with asyncio.timeout(SHUTDOWN_CLOSE_SECONDS):  # disconnect handlers run here
                await asyncio.gather(*(_close_socket(s) for s in sockets))
        except TimeoutError:
            log.warning("some sockets did not close within %s s", SHUTDOWN_CLOSE_SECONDS)

    async def sweep_forever() -> None:
        while True:
            await asyncio.sleep(settings.console_sweep_seconds)
            # A failed sweep (database restart) must not end the loop.
            try:
                await console.sweep(app)
            except Exception:
                log.warning("console socket sweep failed", exc_info=True)
            try:
                await call.expire_orphaned_holds()
            except Exception:
                log.warning("expiring orphaned call slots failed", exc_info=True)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        sweeper = asyncio.create_task(sweep_forever(), name="console-sweep")
        yield
        sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeper
        await call.stop()  # hold timers: before the database closes
        await sio.shutdown()
        await _stop_manager(sio.manager)

    app.on_shutdown.append(close_sockets)
    app.cleanup_ctx.append(lifecycle)
    return Notifier(sio, call)


async def _close_socket(socket: Any) -> None:
    """Close an Engine.IO socket and its WebSocket.

    A browser ignores Engine.IO's CLOSE packet on a WebSocket (it only ends a polling
    transport) and waits for the server to close the connection; python-engineio closes it
    only when its writer takes a ``None`` from the send queue, as its own reader does when the
    client leaves. Queued after CLOSE, the writer sends CLOSE, then closes the WebSocket.
    """
    await socket.close(wait=False)
    socket.queue.put_nowait(None)


async def _stop_manager(manager: Any) -> None:
    """End the pub/sub listener task and the Redis connections of a Redis manager.

    python-socketio starts the listener at the first connection and offers no way to stop
    it, so this reaches for its attributes (``thread``, ``pubsub``, ``redis``).
    """
    task = getattr(manager, "thread", None)
    if isinstance(task, asyncio.Future):
        # One cancel() is not always enough: cancelling the listener while redis-py is still
        # connecting and subscribing (a node stopped right after its first socket) can be
        # lost, leaving it blocked on the subscription for ever. Cancel until it ends.
        while not task.done():
            task.cancel()
            await asyncio.wait([task], timeout=LISTENER_STOP_POLL_SECONDS)
        if not task.cancelled() and task.exception() is not None:
            log.warning("the Socket.IO pub/sub listener failed", exc_info=task.exception())
    for name in ("pubsub", "redis"):
        resource = getattr(manager, name, None)
        if resource is not None:
            try:
                await resource.aclose()
            except Exception:  # closing on shutdown must not mask the real outcome
                log.warning("closing the Socket.IO %s connection failed", name, exc_info=True)
