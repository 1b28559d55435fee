"""Two ``loancheck serve`` processes behind one PostgreSQL and one Redis behave as one platform:
a password change handled by node 2 reaches a console connected to node 1."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
import socketio

from inspection_api.demo import seed_demo
from tests.plugins.nodes import WAIT, Node

pytestmark = pytest.mark.services


async def login(node: Node, username: str, password: str) -> tuple[aiohttp.ClientSession, str]:
    session = aiohttp.ClientSession(base_url=node.url, cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with session.post(
        "/api/v1/auth/login", json={"username": username, "password": password}
    ) as response:
        assert response.status == 200, await response.text()
        return session, response.cookies["loancheck_session"].value


async def test_password_change_on_node2_reaches_console_on_node1(nodes):
    node1, node2, settings = nodes
    password = {u: p for u, p, _ in await seed_demo(settings)}["inspector"]

    console_http, console_cookie = await login(node1, "inspector", password)
    changer, _ = await login(node2, "inspector", password)
    revoked: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    client = socketio.AsyncClient(reconnection=False)
    client.on("session_revoked", revoked.put, namespace="/console")
    try:
        await client.connect(
            node1.url,
            headers={"Cookie": f"loancheck_session={console_cookie}", "Origin": node1.url},
            transports=["websocket"],
            namespaces=["/console"],
            wait_timeout=WAIT,
        )
        ack = await client.call("ping_server", namespace="/console", timeout=WAIT)
        assert ack["ok"] is True

        async with changer.post(
            "/api/v1/auth/password",
            json={"current_password": password, "new_password": "Two-nodes-password-7"},
        ) as response:
            assert response.status == 204, await response.text()

        try:
            event = await asyncio.wait_for(revoked.get(), WAIT)
        except TimeoutError:
            pytest.fail(
                "node1's console heard nothing\n"
                f"--- node1 ---\n{node1.output()}\n--- node2 ---\n{node2.output()}"
            )
        assert event == {"reason": "revoked"}
        # The session is gone for node 1's HTTP API too: state lives in the shared database.
        async with console_http.get("/api/v1/auth/me") as response:
            assert response.status == 401
    finally:
        await client.disconnect()
        await client.shutdown()
        await console_http.close()
        await changer.close()
