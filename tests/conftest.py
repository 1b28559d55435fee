"""Shared fixtures.

Integration tests take ``settings`` (or ``client``), which is parametrized over the two
deployments: ``embedded`` (SQLite + local files + in-memory pub/sub) and ``services``
(this machine's PostgreSQL + Redis + a SeaweedFS S3 server on loopback). A missing service
skips its variant with a loud reason; with ``LOANCHECK_TEST_STRICT=1`` (CI) it fails instead.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from inspection_api.auth import service as auth_service
from inspection_api.db import Base
from inspection_api.migrate import upgrade
from loancheck.settings import Settings
from tests.plugins.services import require_service

pytest_plugins = [
    "tests.plugins.services",
    "tests.plugins.s3",
    "tests.plugins.api",
    "tests.plugins.browser",
    "tests.plugins.phone",
    "tests.plugins.calls",
    "tests.plugins.nodes",
    "tests.plugins.recording",
]

PG_ADMIN_URL = os.environ.get(
    "LOANCHECK_TEST_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("LOANCHECK_TEST_REDIS", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashes() -> Iterator[None]:
    """Argon2id with a low cost in this process. RFC 9106's profile costs about 70 ms a
    hash by design, and seeding the demo bank's users for each test made it a third of the
    suite's time. Servers the tests start as processes hash as in production, and
    tests/unit/test_password_hashing.py checks production's profile."""
    with pytest.MonkeyPatch.context() as patch:
        cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        patch.setattr(auth_service, "_hasher", cheap)
        yield


def base_settings(data_dir: Path, **overrides: Any) -> Settings:
    env = {"LOANCHECK_DATA_DIR": str(data_dir), "LOANCHECK_SECRET_KEY": "test-secret-" + "x" * 32}
    settings = Settings.from_env(env)
    # No recorder unless a test is about recording: calls stay two-party and cheap.
    overrides = {"recorder_mode": "workers", **overrides}
    return replace(settings, login_backoff_base_seconds=1.0, **overrides)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once is much faster)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "loancheck.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


async def pg_execute(url: str, *statements: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session, dropped at the end."""
    require_service("postgresql", "127.0.0.1", 5432)
    name = f"loancheck_test_{uuid.uuid4().hex[:10]}"
    asyncio.run(pg_execute(PG_ADMIN_URL, f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        upgrade(url)
        yield url
    finally:
        asyncio.run(pg_execute(PG_ADMIN_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def truncate_all_statement() -> str:
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    return f"TRUNCATE {tables} RESTART IDENTITY CASCADE"


@pytest.fixture(params=["embedded", "services"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(
    backend: str, tmp_path: Path, sqlite_template: Path, request: pytest.FixtureRequest
) -> Settings:
    """Settings for one test on the chosen backend, with empty tables and an empty store."""
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    if backend == "embedded":
        shutil.copy(sqlite_template, data_dir / "loancheck.db")
        return base_settings(data_dir)
    pg_url = request.getfixturevalue("pg_database_url")
    asyncio.run(pg_execute(pg_url, truncate_all_statement()))
    require_service("redis", "127.0.0.1", 6379)
    s3 = request.getfixturevalue("s3_server")
    return base_settings(
        data_dir,
        database_url=pg_url,
        redis_url=REDIS_URL,
        # Every test's ids start at 1 and every test shares the secret key, so every test
        # would share one channel: another test run on this machine (a second suite, a
        # helper's) then had its call-1 signals delivered into this test's call-1.
        redis_channel=f"loancheck-test-{uuid.uuid4().hex[:12]}",
        object_store=f"s3://{s3.new_bucket()}",
        s3_endpoint=s3.endpoint,
        s3_access_key=s3.access_key,
        s3_secret_key=s3.secret_key,
    )


@pytest.fixture
def embedded_settings(tmp_path: Path, sqlite_template: Path) -> Settings:
    """Embedded-default settings, for tests whose subject does not vary by backend."""
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    shutil.copy(sqlite_template, data_dir / "loancheck.db")
    return base_settings(data_dir)


@pytest.fixture
async def client(settings: Settings, aiohttp_client: Any) -> AsyncIterator[Any]:
    from loancheck.app import create_app

    yield await aiohttp_client(create_app(settings))
