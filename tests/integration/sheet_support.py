"""Helpers for the briefing sheet tests: a clock the tests move, an app that reads it, and
a submitted inspection of 张检查 at 华北重工厂区 (CA-0001)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest

from inspection_api.db import utcnow
from inspection_api.web.keys import CLOCK
from loancheck.settings import Settings
from tests.integration.inspection_kit import COMPLETE, URL, capture_all, fix, label, start
from tests.plugins.api import json_of


class MovableClock:
    """Real time until a test sets ``at``; then that instant, until moved again."""

    def __init__(self) -> None:
        self.at: datetime | None = None

    def __call__(self) -> datetime:
        return self.at or utcnow()


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
async def client(
    settings: Settings, aiohttp_client: Any, clock: MovableClock
) -> AsyncIterator[Any]:
    """The app of ``tests/conftest.py``, reading the print window against ``clock``."""
    from loancheck.app import create_app

    app = create_app(settings)
    app[CLOCK] = clock
    yield await aiohttp_client(app)


async def submitted_inspection(inspector: Any, checkpoint_id: int, **answers: Any) -> str:
    """Start, fill in, capture and submit on site; the inspection's URL."""
    inspection = (await start(inspector, await label(inspector, checkpoint_id)))["inspection"]
    one = f"{URL}/{inspection['id']}"
    await json_of(await inspector.patch(one, json={"answers": {**COMPLETE, **answers}}), 200)
    await capture_all(inspector, one)
    await json_of(await inspector.post(f"{one}/submit", json={"fix": fix()}), 200)
    return one
