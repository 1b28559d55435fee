"""API test helpers: the demo bank and logged-in clients, one per user."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import CookieJar
from aiohttp.test_utils import TestClient

from inspection_api.demo import seed_demo
from loancheck.settings import Settings

LoginAs = Callable[[str], Awaitable[TestClient]]


@pytest.fixture
async def demo_passwords(settings: Settings) -> dict[str, str]:
    """Seed the demo bank (the real ``seed-demo`` code) and return username → password."""
    return {username: password for username, password, _ in await seed_demo(settings)}


@pytest.fixture
async def login_as(client: TestClient, demo_passwords: dict[str, str]) -> AsyncIterator[LoginAs]:
    """``await login_as("inspector")`` → a new client on the same server with that session."""
    opened: list[TestClient] = []

    async def login(username: str, password: str | None = None) -> TestClient:
        other: TestClient = TestClient(client.server, cookie_jar=CookieJar(unsafe=True))
        await other.start_server()
        opened.append(other)
        response = await other.post(
            "/api/v1/auth/login",
            json={"username": username, "password": password or demo_passwords[username]},
        )
        assert response.status == 200, await response.text()
        return other

    yield login
    for other in opened:
        await other.session.close()  # not other.close(): that would stop the shared server


async def json_of(response: Any, status: int) -> Any:
    """The JSON body, after checking the status (the body is shown when it differs)."""
    body = await response.text()
    assert response.status == status, f"{response.status} != {status}: {body}"
    return await response.json(content_type=None)
