"""Task generation inside the app: one run at start, then every
``LOANCHECK_TASK_GENERATION_MINUTES`` and just after each Beijing midnight (new periods
begin then), and on demand (``trigger``). The composition root starts and stops it.

With several app nodes exactly one generates at a time: on PostgreSQL a run holds a
transaction-level advisory lock; the scheduled run only *tries* it (another node is already
generating: skip, the next run catches up), a plan change waits for it. On SQLite the
platform runs as one process: runs of that process are serialised by ``TaskScheduler``,
and the inserts skip rows that exist, so a plan change racing a scheduled run is harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inspection_api.db import utcnow
from inspection_api.plans.generator import SHANGHAI, local_date
from inspection_api.plans.sync import SyncResult, sync_tasks

log = logging.getLogger(__name__)

# pg advisory lock key for "the task generator" (ASCII "LCtg"); one key for the whole bank.
LOCK_KEY = 0x4C437467
AFTER_MIDNIGHT = timedelta(minutes=1)
STOP_SECONDS = 10.0


async def generator_lock(session: AsyncSession, *, wait: bool) -> bool:
    """Take the generator lock for the session's transaction (released at commit or
    rollback). ``wait=False`` answers False when another transaction holds it. Always True
    on SQLite (one process)."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    function = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
    result = await session.scalar(text(f"SELECT {function}(:key)"), {"key": LOCK_KEY})
    return True if wait else bool(result)


@dataclass(frozen=True)
class RunResult:
    ran: bool  # False: another node held the lock
    result: SyncResult | None
    seconds: float


async def generate_once(
    sessionmaker: async_sessionmaker[AsyncSession], *, now: datetime | None = None
) -> RunResult:
    """One generation run over every checkpoint, in its own transaction."""
    started = time.perf_counter()
    async with sessionmaker() as session:
        if not await generator_lock(session, wait=False):
            return RunResult(False, None, time.perf_counter() - started)
        result = await sync_tasks(session, today=local_date(now or utcnow()))
        await session.commit()
    return RunResult(True, result, time.perf_counter() - started)


def seconds_to_next_run(now: datetime, interval: float) -> float:
    """The interval, or less when a Beijing midnight comes first (plus a minute's margin)."""
    local = now.astimezone(SHANGHAI)
    midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1.0, min(interval, (midnight + AFTER_MIDNIGHT - local).total_seconds()))


class TaskScheduler:
    """The background generation loop; its task is kept and awaited on ``stop``."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        interval_seconds: float,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._interval = interval_seconds
        self._clock = clock
        self._wake = asyncio.Event()
        self._running = asyncio.Lock()  # one run at a time in this process
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.last: RunResult | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="task-generator")

    def trigger(self) -> None:
        """Run soon (e.g. after a change of plans made outside a request)."""
        self._wake.set()

    async def run(self) -> RunResult:
        async with self._running:
            self.last = await generate_once(self._sessionmaker, now=self._clock())
        if self.last.ran and self.last.result and self.last.result.created:
            log.info(
                "task generation: %s created, %s removed in %.2f s",
                self.last.result.created,
                self.last.result.removed,
                self.last.seconds,
            )
        return self.last

    async def _loop(self) -> None:
        while not self._stopping:
            try:
                await self.run()
            except Exception:  # a failed run (database restart) must not end the loop
                log.warning("task generation failed", exc_info=True)
            delay = seconds_to_next_run(self._clock(), self._interval)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)
            self._wake.clear()

    async def stop(self) -> None:
        """Let a run in progress finish (its transaction commits or rolls back cleanly
        before the database closes); cancel it only after ``STOP_SECONDS``."""
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), STOP_SECONDS)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None
