"""Escalation (超期上报): an anomaly nobody took up (受理) by its deadline goes to the
exception handlers of the nearest org above the one it was routed to, with a new deadline of
the same length, a history entry and a notification. With nobody above, its handlers are
told it is overdue once and the clock stops.

``EscalationScheduler`` runs ``escalate_overdue`` inside the app, every minute. Several
nodes may run it: on PostgreSQL each run takes ``pg_try_advisory_xact_lock`` and a node that
does not get it skips that run; SQLite means a single process. Every change is a conditional
update of an open anomaly at the escalation level and handler org it was read with, so a run
is idempotent and never undoes a handler's 受理 or 转派 made meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inspection_api.anomalies import dispatch, repository
from inspection_api.anomalies.models import Anomaly, AnomalyEvent, AnomalyEventKind, AnomalyState
from inspection_api.anomalies.repository import AnomalyRow
from inspection_api.anomalies.rules import ESCALATION_LOCK_KEY, deadline_after
from inspection_api.audit.service import Origin, record
from inspection_api.db import utcnow
from inspection_api.notifications import outbox
from inspection_api.notifications.models import NotificationKind

log = logging.getLogger(__name__)

BATCH = 200  # anomalies per run; a backlog drains over the next runs


async def _lock(session: AsyncSession) -> bool:
    """Whether this run may go ahead: on PostgreSQL, only the holder of the transaction's
    advisory lock (released at commit or rollback)."""
    connection = await session.connection()
    if connection.dialect.name != "postgresql":
        return True
    return bool(await session.scalar(select(func.pg_try_advisory_xact_lock(ESCALATION_LOCK_KEY))))


async def escalate_overdue(
    session: AsyncSession, *, now: datetime, deadline_hours: int
) -> list[Anomaly]:
    """Escalate the open anomalies whose deadline passed by ``now``; return those changed
    (escalated, or marked overdue with nobody above). The caller commits, then delivers the
    session's pushes (``notifications.outbox.deliver``)."""
    if not await _lock(session):
        return []
    ids = await repository.overdue_ids(session, now, BATCH)
    changed = []
    for row in await repository.rows_with_ids(session, ids):
        if await _escalate(session, row, now=now, deadline_hours=deadline_hours):
            changed.append(row.anomaly)
    return changed


async def _escalate(
    session: AsyncSession, row: AnomalyRow, *, now: datetime, deadline_hours: int
) -> bool:
    anomaly, checkpoint, org = row.anomaly, row.checkpoint, row.org
    current = anomaly.handler_org_id
    expect = {"handler_org_id": current, "escalation_level": anomaly.escalation_level}
    # From the org above the current handlers; when there were none, from the 支行 itself
    # (handlers may have been appointed since it was raised).
    target, handler_ids = await dispatch.handler_org_for(session, org, above=current)
    if target is None:
        if not await repository.move(
            session, anomaly, {AnomalyState.OPEN}, expect=expect, deadline=None, updated_at=now
        ):
            return False
        session.add(AnomalyEvent(anomaly_id=anomaly.id, at=now, kind=AnomalyEventKind.OVERDUE))
        record(
            session,
            "anomaly_overdue",
            origin=Origin(),
            org_path=org.path,
            anomaly_id=anomaly.id,
            checkpoint_id=anomaly.checkpoint_id,
            handler_org_id=current,
        )
        current_handlers = await dispatch.handlers_of(session, [current])
        await dispatch.tell(
            session,
            current_handlers,
            NotificationKind.ANOMALY_OVERDUE,
            anomaly,
            checkpoint,
            org,
            now=now,
        )
        return True
    if not await repository.move(
        session,
        anomaly,
        {AnomalyState.OPEN},
        expect=expect,
        handler_org_id=target,
        deadline=deadline_after(now, deadline_hours),
        escalation_level=anomaly.escalation_level + 1,
        escalated_at=now,
        updated_at=now,
    ):
        return False
    session.add(
        AnomalyEvent(
            anomaly_id=anomaly.id,
            at=now,
            kind=AnomalyEventKind.ESCALATED,
            from_org_id=current,
            to_org_id=target,
        )
    )
    record(
        session,
        "anomaly_escalated",
        origin=Origin(),
        org_path=org.path,
        anomaly_id=anomaly.id,
        checkpoint_id=anomaly.checkpoint_id,
        from_org_id=current,
        to_org_id=target,
        escalation_level=anomaly.escalation_level,
    )
    orgs = await repository.orgs_by_id(session, [i for i in (current, target) if i is not None])
    await dispatch.tell(
        session,
        handler_ids,
        NotificationKind.ANOMALY_ESCALATED,
        anomaly,
        checkpoint,
        org,
        now=now,
        from_org=orgs.get(current) if current is not None else None,
        to_org=orgs[target],
    )
    dispatch.updated(session, anomaly, await dispatch.handlers_of(session, [current]))
    return True


class EscalationScheduler:
    """Runs ``escalate_overdue`` every ``interval`` seconds (first at ``start``) in one
    background task, each run in its own transaction, pushing after its commit."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        deadline_hours: int,
        interval: float,
        target: outbox.PushTarget | None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._deadline_hours = deadline_hours
        self._interval = interval
        self._target = target
        self._clock = clock
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> list[int]:
        """One run now; the ids of the anomalies it changed."""
        async with self._sessionmaker() as session:
            changed = await escalate_overdue(
                session, now=self._clock(), deadline_hours=self._deadline_hours
            )
            ids = [anomaly.id for anomaly in changed]
            await session.commit()
            await outbox.deliver(session, self._target)
        if ids:
            log.info("escalated %d overdue anomalies: %s", len(ids), ids)
        return ids

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:  # a failed run (database restart) must not end the schedule
                log.warning("anomaly escalation run failed", exc_info=True)
            await asyncio.sleep(self._interval)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="anomaly-escalation")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
