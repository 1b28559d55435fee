"""Participant slots: who is in a call, on which connection generation, and what happened
to the connection. Every change is one conditional UPDATE, so that nodes racing on a slot
(a hold timer on one, a reconnection on another) never both act."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from inspection_api.audit.service import Origin, record
from inspection_api.auth.principal import Principal
from inspection_api.db import utcnow
from inspection_api.remote.models import (
    ParticipantEventKind,
    RemoteParticipant,
    RemoteParticipantEvent,
)


def add_event(
    session: AsyncSession,
    participant_id: int,
    kind: ParticipantEventKind,
    ip: str = "",
    user_agent: str = "",
    now: datetime | None = None,
) -> None:
    session.add(
        RemoteParticipantEvent(
            participant_id=participant_id,
            at=now or utcnow(),
            event=kind,
            ip=ip[:64],
            user_agent=user_agent[:300],
        )
    )


async def resume(
    session: AsyncSession, participant: RemoteParticipant, device_id: str, ip: str, user_agent: str
) -> RemoteParticipant:
    """The same participant again, with a new generation: older hold timers become void."""
    rejoined_after_leaving = participant.left_at is not None
    await session.execute(
        update(RemoteParticipant)
        .where(RemoteParticipant.id == participant.id)
        .values(
            generation=RemoteParticipant.generation + 1,
            connected=True,
            left_at=None,
            device_id=device_id,
        )
        .execution_options(synchronize_session=False)
    )
    await session.refresh(participant)
    kind = (
        ParticipantEventKind.JOINED if rejoined_after_leaving else ParticipantEventKind.RECONNECTED
    )
    add_event(session, participant.id, kind, ip, user_agent)
    return participant


async def add_participant(
    session: AsyncSession,
    participant: RemoteParticipant,
    org_path: str,
    origin: Origin,
    *,
    actor: Principal | None = None,
    actor_username: str = "",
) -> RemoteParticipant:
    session.add(participant)
    await session.flush()
    add_event(session, participant.id, ParticipantEventKind.JOINED, origin.ip, origin.user_agent)
    record(
        session,
        "remote_participant_joined",
        origin=origin,
        actor=actor,
        actor_username=actor_username[:64],
        org_path=org_path,
        session_id=participant.session_id,
        participant_id=participant.id,
        kind=participant.kind.value,
    )
    return participant


async def close_slot(
    session: AsyncSession,
    participant_id: int,
    generation: int | None,
    kind: ParticipantEventKind,
    *,
    ip: str = "",
    user_agent: str = "",
    now: datetime | None = None,
) -> bool:
    """One conditional UPDATE, so that of two nodes racing on a slot exactly one acts.

    ``disconnected`` needs a connected slot and keeps it (held); ``timed_out`` needs a held
    one and frees it; ``left`` and ``removed`` free any open slot. ``generation`` None
    matches any.
    """
    now = now or utcnow()
    conditions = [RemoteParticipant.id == participant_id, RemoteParticipant.left_at.is_(None)]
    if generation is not None:
        conditions.append(RemoteParticipant.generation == generation)
    values: dict[str, object] = {"connected": False, "left_at": now}
    if kind == ParticipantEventKind.DISCONNECTED:
        conditions.append(RemoteParticipant.connected.is_(True))
        del values["left_at"]
    elif kind == ParticipantEventKind.TIMED_OUT:
        conditions.append(RemoteParticipant.connected.is_(False))
    result = await session.execute(
        update(RemoteParticipant)
        .where(*conditions)
        .values(**values)
        .execution_options(synchronize_session="fetch")
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    add_event(session, participant_id, kind, ip, user_agent, now=now)
    return True


async def mark_disconnected(
    session: AsyncSession, participant_id: int, generation: int, ip: str = "", user_agent: str = ""
) -> bool:
    """The connection of ``generation`` dropped: hold the slot. False when a newer
    connection already took over (or the participant left): then nothing is held."""
    return await close_slot(
        session,
        participant_id,
        generation,
        ParticipantEventKind.DISCONNECTED,
        ip=ip,
        user_agent=user_agent,
    )


async def expire_slot(session: AsyncSession, participant_id: int, generation: int) -> bool:
    """The hold timer of ``generation`` ran out: true (``timed_out``) only if nobody
    reconnected meanwhile, on any node. The session is not ended: the inspector ends it."""
    return await close_slot(session, participant_id, generation, ParticipantEventKind.TIMED_OUT)


async def leave(
    session: AsyncSession,
    participant_id: int,
    generation: int | None = None,
    ip: str = "",
    user_agent: str = "",
) -> bool:
    """The participant hung up (``left``). Pass the connection's ``generation`` so that a
    stale connection cannot remove a newer one. The session stays as it is."""
    return await close_slot(
        session, participant_id, generation, ParticipantEventKind.LEFT, ip=ip, user_agent=user_agent
    )


async def orphaned_holds(session: AsyncSession, held_before: datetime) -> list[RemoteParticipant]:
    """Slots still held (disconnected, not left) whose connection dropped before
    ``held_before``: their hold timer was lost with its node (stopped or killed)."""
    dropped = (
        select(
            RemoteParticipantEvent.participant_id,
            func.max(RemoteParticipantEvent.at).label("at"),
        )
        .where(RemoteParticipantEvent.event == ParticipantEventKind.DISCONNECTED)
        .group_by(RemoteParticipantEvent.participant_id)
        .subquery()
    )
    rows = await session.scalars(
        select(RemoteParticipant)
        .join(dropped, dropped.c.participant_id == RemoteParticipant.id)
        .where(
            RemoteParticipant.connected.is_(False),
            RemoteParticipant.left_at.is_(None),
            dropped.c.at < held_before,
        )
        .order_by(RemoteParticipant.id)
    )
    return list(rows.all())


async def set_media(session: AsyncSession, participant_id: int, state: dict[str, Any]) -> None:
    """Remember what the participant sends (announced to the call by signaling)."""
    await session.execute(
        update(RemoteParticipant)
        .where(RemoteParticipant.id == participant_id)
        .values(media=state)
        .execution_options(synchronize_session=False)
    )


async def call_participants(session: AsyncSession, session_id: int) -> list[RemoteParticipant]:
    """Every participant a session ever had, in joining order (no permission check: for
    signaling, which has already admitted the caller to the call)."""
    rows = await session.scalars(
        select(RemoteParticipant)
        .where(RemoteParticipant.session_id == session_id)
        .order_by(RemoteParticipant.id)
    )
    return list(rows.all())
