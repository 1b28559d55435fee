"""Recordings: leases that give each active call to exactly one recorder worker, takeover
when a worker stops renewing, and the finished files reviewers replay.

A worker claims calls with conditional writes only (an INSERT that does nothing on a
conflict, an UPDATE guarded by the lease it expects), so workers on any number of hosts
racing for the same call never both get it, on SQLite as on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from inspection_api.auth.permissions import Permission
from inspection_api.auth.principal import Principal
from inspection_api.db import utcnow
from inspection_api.recordings.models import (
    MissingReason,
    Recording,
    RecordingFile,
    RecordingState,
)
from inspection_api.remote.models import (
    ParticipantKind,
    RemoteParticipant,
    RemoteSession,
    SessionState,
)
from inspection_api.remote.service import session_in_jurisdiction

# States a worker holds a recording in (recording the call, or assembling its files).
HELD_STATES = (RecordingState.RECORDING, RecordingState.FINALIZING)


async def claim(
    session: AsyncSession,
    worker: str,
    *,
    lease: timedelta,
    limit: int,
    busy: Collection[int] = (),
    now: datetime | None = None,
) -> list[int]:
    """Session ids this worker now holds: active calls nobody records yet, and calls whose
    holder stopped renewing its lease (taken over: the recording goes on, or its files are
    assembled). ``busy``: the calls this worker records right now; a lease of its own that
    ran out while it was late to renew is no call to take over (``renew`` keeps it, if
    nobody else took it meanwhile). Commits are the caller's."""
    now = now or utcnow()
    until = now + lease
    claimed: list[int] = []
    fresh = (
        await session.scalars(
            select(RemoteSession.id)
            .where(
                RemoteSession.state == SessionState.ACTIVE,
                ~select(Recording.id).where(Recording.session_id == RemoteSession.id).exists(),
            )
            .order_by(RemoteSession.id)
            .limit(limit)
        )
    ).all()
    dialect = (await session.connection()).dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for session_id in fresh:
        result = await session.execute(
            insert(Recording)
            .values(
                session_id=session_id,
                state=RecordingState.RECORDING,
                worker=worker,
                lease_until=until,
                takeovers=0,
                started_at=now,
            )
            .on_conflict_do_nothing(index_elements=["session_id"])
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            claimed.append(session_id)
    lapsed = or_(Recording.worker.is_(None), Recording.lease_until < now)
    if busy:
        lapsed = and_(lapsed, Recording.session_id.not_in(list(busy)))
    expired = (
        await session.execute(
            select(Recording.id, Recording.session_id)
            .where(Recording.state.in_(HELD_STATES), lapsed)
            .order_by(Recording.id)
            .limit(max(0, limit - len(claimed)))
        )
    ).all()
    for recording_id, session_id in expired:
        result = await session.execute(
            update(Recording)
            .where(Recording.id == recording_id, Recording.state.in_(HELD_STATES), lapsed)
            .values(worker=worker, lease_until=until, takeovers=Recording.takeovers + 1)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            claimed.append(session_id)
    return claimed


async def renew(
    session: AsyncSession,
    worker: str,
    session_ids: list[int],
    *,
    lease: timedelta,
    now: datetime | None = None,
) -> set[int]:
    """Extend this worker's leases; returns the ids it still holds (a lease that ran out
    and was taken over elsewhere is not renewed)."""
    if not session_ids:
        return set()
    now = now or utcnow()
    held = Recording.worker == worker
    await session.execute(
        update(Recording)
        .where(held, Recording.session_id.in_(session_ids), Recording.state.in_(HELD_STATES))
        .values(lease_until=now + lease)
        .execution_options(synchronize_session=False)
    )
    rows = await session.scalars(
        select(Recording.session_id).where(
            held, Recording.session_id.in_(session_ids), Recording.state.in_(HELD_STATES)
        )
    )
    return set(rows.all())


async def release(session: AsyncSession, worker: str, session_id: int) -> None:
    """Give a call up (the worker stops): another worker may take it at once."""
    await session.execute(
        update(Recording)
        .where(Recording.session_id == session_id, Recording.worker == worker)
        .values(worker=None, lease_until=None)
        .execution_options(synchronize_session=False)
    )


async def release_worker(session: AsyncSession, worker: str) -> int:
    """Free every call of a worker known to be dead (its process is gone on the caller's
    host): any worker may take them at once instead of after the lease. Returns how many."""
    result = await session.execute(
        update(Recording)
        .where(Recording.worker == worker, Recording.state.in_(HELD_STATES))
        .values(worker=None, lease_until=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def call_state(session: AsyncSession, session_id: int) -> tuple[SessionState, RecordingState]:
    row = (
        await session.execute(
            select(RemoteSession.state, Recording.state)
            .join(Recording, Recording.session_id == RemoteSession.id)
            .where(RemoteSession.id == session_id)
        )
    ).one()
    return row[0], row[1]


async def set_state(
    session: AsyncSession,
    worker: str,
    session_id: int,
    state: RecordingState,
    *,
    error: str | None = None,
) -> bool:
    """Move this worker's recording to ``state``; False when the worker no longer holds it."""
    values: dict[str, Any] = {"state": state}
    if state not in HELD_STATES:
        values.update(worker=None, lease_until=None, finalized_at=utcnow(), error=error)
    result = await session.execute(
        update(Recording)
        .where(Recording.session_id == session_id, Recording.worker == worker)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class FinishedFile:
    participant_id: int
    key: str
    content_type: str
    poster_key: str | None
    duration: float
    codecs: str
    width: int | None
    height: int | None
    size: int
    sha256: str
    segments: int
    legs: int
    warnings: list[str]


@dataclass(frozen=True)
class MissingFile:
    """A participant who has no file, and why (``detail``: the technical cause, English)."""

    participant_id: int
    reason: MissingReason
    detail: str = ""


async def finished(
    session: AsyncSession,
    worker: str,
    session_id: int,
    files: list[FinishedFile],
    missing: list[MissingFile] | None = None,
) -> bool:
    """Store the finished files and mark the recording ready (if this worker still holds
    it); ``missing`` names the participants left without a file."""
    recording = await session.scalar(
        select(Recording).where(Recording.session_id == session_id, Recording.worker == worker)
    )
    if recording is None:
        return False
    existing = {
        f.participant_id: f
        for f in await session.scalars(
            select(RecordingFile).where(RecordingFile.recording_id == recording.id)
        )
    }
    for file in files:
        row = existing.get(file.participant_id) or RecordingFile(
            recording_id=recording.id, participant_id=file.participant_id
        )
        for name, value in vars(file).items():
            setattr(row, name, value)
        session.add(row)
    recording.missing = [
        {"participant_id": m.participant_id, "reason": str(m.reason), "detail": m.detail[:500]}
        for m in missing or []
    ]
    return await set_state(session, worker, session_id, RecordingState.READY)


async def recorded_participants(session: AsyncSession, session_id: int) -> list[int]:
    """The people of a call, each of whom should have a recording (the recorder is not one)."""
    rows = await session.scalars(
        select(RemoteParticipant.id)
        .where(
            RemoteParticipant.session_id == session_id,
            RemoteParticipant.kind != ParticipantKind.RECORDER,
        )
        .order_by(RemoteParticipant.id)
    )
    return list(rows.all())


@dataclass(frozen=True)
class Replay:
    remote: RemoteSession
    recording: Recording | None
    participants: dict[int, RemoteParticipant]


async def for_replay(session: AsyncSession, principal: Principal, session_id: int) -> Replay:
    """A session's recording and its files (remote.read, in jurisdiction; 404 outside)."""
    remote, _ = await session_in_jurisdiction(
        session, principal, session_id, Permission.REMOTE_READ
    )
    recording = await session.scalar(
        select(Recording)
        .where(Recording.session_id == session_id)
        .options(selectinload(Recording.files))
    )
    people = await session.scalars(
        select(RemoteParticipant).where(RemoteParticipant.session_id == session_id)
    )
    return Replay(remote, recording, {p.id: p for p in people})
