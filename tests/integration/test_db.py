"""The database setup: on SQLite, writers of one process take turns on an asyncio lock
instead of polling SQLite's busy lock."""

from __future__ import annotations

import asyncio
from pathlib import Path

from inspection_api.db import create_engine, create_sessionmaker, one_writer


async def test_sqlite_writers_of_one_process_take_turns(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'turns.db'}")
    sessions = create_sessionmaker(engine)
    order: list[str] = []
    first_in = asyncio.Event()
    try:

        async def writer(name: str, hold: float) -> None:
            async with sessions() as session, one_writer(session):
                order.append(f"{name} in")
                first_in.set()
                await asyncio.sleep(hold)
                order.append(f"{name} out")

        first = asyncio.create_task(writer("a", 0.2))
        await first_in.wait()
        await asyncio.gather(first, writer("b", 0))
    finally:
        await engine.dispose()
    assert order == ["a in", "a out", "b in", "b out"]


async def test_other_databases_do_not_queue_writers() -> None:
    # PostgreSQL takes concurrent writers itself: nothing to wait for here.
    engine = create_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    sessions = create_sessionmaker(engine)
    try:
        async with sessions() as one, one_writer(one), sessions() as two, one_writer(two):
            pass  # entered while the first is held: no lock
    finally:
        await engine.dispose()
