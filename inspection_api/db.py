"""SQLAlchemy 2.0 async setup: declarative base, engine and session factory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import DateTime, Enum, MetaData, event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    return datetime.now(UTC)


def create_engine(database_url: str) -> AsyncEngine:
    if database_url.startswith("sqlite"):
        engine = create_async_engine(database_url, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_async_engine(database_url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # A flush resolves foreign keys against every mapped table: a command that imported only
    # the models it uses (``loancheck seed-demo``) failed on inspections → remote_sessions.
    import inspection_api.models  # noqa: F401  (every mapper registered; models import db)

    # SQLite takes one writer at a time and lets the others poll for its lock, sleeping 1,
    # 2, 5, … up to 100 ms between tries: a few concurrent writers spent most of their time
    # asleep after the lock was free. Writers of this process queue on an asyncio lock
    # instead (``one_writer``); the busy timeout stays for other processes.
    info = {_WRITER: asyncio.Lock()} if engine.dialect.name == "sqlite" else {}
    return async_sessionmaker(engine, expire_on_commit=False, info=info)


_WRITER = "loancheck.sqlite_writer"


@asynccontextmanager
async def one_writer(session: AsyncSession) -> AsyncIterator[None]:
    """Hold around a write transaction (its writes and its commit): on SQLite, one at a time
    in this process, waiting in line rather than in SQLite's busy loop; elsewhere nothing."""
    lock = session.info.get(_WRITER)
    if lock is None:
        yield
        return
    async with lock:
        yield


def str_enum(kind: type[StrEnum], length: int = 16) -> Enum:
    """A column of a StrEnum's values as VARCHAR(length) (no
    database enum type: adding a value needs no ALTER TYPE)."""
    return Enum(
        kind, native_enum=False, length=length, values_callable=lambda e: [k.value for k in e]
    )
