"""Live pushes of anomalies to the handlers' consoles (Socket.IO ``/console``), on a real
port and on both backends (in-memory, and Redis pub/sub): a push leaves only after its
transaction committed, whether the service was called by an inspection (here: directly) or
through the REST API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import socketio

from inspection_api.anomalies.service import raise_anomalies
from inspection_api.auth.service import session_cookie_name
from inspection_api.db import create_engine, create_sessionmaker, utcnow
from inspection_api.notifications import outbox
from inspection_api.web.keys import NOTIFIER
from tests.integration.anomaly_support import FINDING, PASSWORD, Db, add_handler, ids
from tests.plugins.browser import LiveServer, StartServer

NAMESPACE = "/console"
WAIT = 5.0


class Console:
    """A logged-in console socket that records every push it gets."""

    def __init__(self) -> None:
        self.client = socketio.AsyncClient(reconnection=False)
        self.received: list[tuple[str, Any]] = []
        self.arrived = asyncio.Event()

        @self.client.on("*", namespace=NAMESPACE)
        async def on_any(event: str, data: Any = None) -> None:
            self.received.append((event, data))
            self.arrived.set()

    async def connect(self, server: LiveServer, username: str, password: str) -> None:
        login = {"username": username, "password": password}
        async with (
            aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http,
            http.post(f"{server.url}/api/v1/auth/login", json=login) as response,
        ):
            assert response.status == 200, await response.text()
            cookie = response.cookies[session_cookie_name(server.settings)].value
        await self.client.connect(
            server.url,
            headers={
                "Origin": server.origin,
                "Cookie": f"{session_cookie_name(server.settings)}={cookie}",
            },
            transports=["websocket"],
            namespaces=[NAMESPACE],
            wait_timeout=WAIT,
        )

    async def next(self, event: str) -> Any:
        """The next push named ``event`` (waiting up to WAIT seconds)."""
        async with asyncio.timeout(WAIT):
            while True:
                for index, (name, data) in enumerate(self.received):
                    if name == event:
                        del self.received[index]
                        return data
                self.arrived.clear()
                await self.arrived.wait()


@pytest.fixture
async def server(settings, live_server_factory: StartServer, demo_passwords) -> LiveServer:
    return await live_server_factory(settings)


@pytest.fixture
async def db(settings, demo_passwords) -> AsyncIterator[Db]:
    engine = create_engine(settings.database_url)
    yield create_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
async def consoles() -> AsyncIterator[list[Console]]:
    opened: list[Console] = []
    yield opened
    for console in opened:
        await console.client.disconnect()
        await console.client.shutdown()


async def open_console(
    consoles: list[Console], server: LiveServer, username: str, password: str
) -> Console:
    console = Console()
    consoles.append(console)
    await console.connect(server, username, password)
    return console


async def test_a_raised_anomaly_reaches_the_handler_console_after_commit(
    server, db, consoles, demo_passwords
):
    known = await ids(db)
    handler = await open_console(consoles, server, "handler", demo_passwords["handler"])
    bystander = await open_console(consoles, server, "inspector", demo_passwords["inspector"])
    notifier = server.app[NOTIFIER]

    async with db() as session:  # an inspection submit that fails later: rolled back
        await raise_anomalies(
            session,
            checkpoint_id=known["CA-0001"],
            inspection_id=None,
            findings=[FINDING],
            actor=None,
            now=utcnow(),
        )
        assert await outbox.deliver(session, notifier) == 0  # not committed: nothing leaves
        await session.rollback()
        assert await outbox.deliver(session, notifier) == 0  # and never will

    async with db() as session:  # the submit that commits
        (anomaly,) = await raise_anomalies(
            session,
            checkpoint_id=known["CA-0001"],
            inspection_id=None,
            findings=[FINDING],
            actor=None,
            now=utcnow(),
        )
        await session.commit()
        assert await outbox.deliver(session, notifier) == 1

    pushed = await handler.next("notification_created")
    assert (pushed["kind"], pushed["anomaly_id"], pushed["title"]) == (
        "anomaly_raised",
        anomaly.id,
        "新异常：他行授信逾期",
    )
    assert pushed["read_at"] is None
    assert [name for name, _ in handler.received] == []  # the rolled-back one never came
    await asyncio.sleep(0.3)
    assert bystander.received == []  # an inspector is no exception handler


async def test_rest_actions_push_after_the_route_commits(server, db, consoles, demo_passwords):
    known = await ids(db)
    await add_handler(db, "HB-SJZ-CA", "ca_handler")
    async with db() as session:
        (anomaly,) = await raise_anomalies(
            session,
            checkpoint_id=known["CA-0001"],
            inspection_id=None,
            findings=[FINDING],
            actor=None,
            now=utcnow(),
        )
        await session.commit()
    # Routed to 长安支行 (it has a handler now); its handler and 石家庄分行's admin act.
    ca = await open_console(consoles, server, "ca_handler", PASSWORD)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        login = {"username": "sjz_admin", "password": demo_passwords["sjz_admin"]}
        async with http.post(f"{server.url}/api/v1/auth/login", json=login) as response:
            assert response.status == 200
        url = f"{server.url}/api/v1/anomalies/{anomaly.id}/reassign"
        headers = {"Origin": server.origin}
        body = {"handler_org_id": known["HB-SJZ"], "comment": "请分行处理"}
        handler = await open_console(consoles, server, "handler", demo_passwords["handler"])
        async with http.post(url, json=body, headers=headers) as response:
            assert response.status == 200, await response.text()

    told = await handler.next("notification_created")
    assert (told["kind"], told["anomaly_id"]) == ("anomaly_reassigned", anomaly.id)
    for console in (ca, handler):  # both lists refresh: where it was and where it went
        changed = await console.next("anomaly_updated")
        assert changed == {"id": anomaly.id, "state": "open", "handler_org_id": known["HB-SJZ"]}

    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        login = {"username": "handler", "password": demo_passwords["handler"]}
        async with http.post(f"{server.url}/api/v1/auth/login", json=login) as response:
            assert response.status == 200
        async with http.post(
            f"{server.url}/api/v1/notifications/read-all", headers={"Origin": server.origin}
        ) as response:
            assert response.status == 200
    assert await handler.next("notifications_changed") == {}  # other tabs refetch the badge
