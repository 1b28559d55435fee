"""Remote inspections: opening, inviting, joining, leaving and closing.

Signaling calls the join/leave functions with identities (a principal, or an invite token
and a device id), never with a socket: call state is keyed by participant, not by
connection, and lives in the database so that every node sees the same room. The slot
functions (``participants``) and ``ice_servers`` (``rules``) are re-exported here, so that
signaling calls everything as ``service.<name>``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from inspection_api.audit.service import Origin, record
from inspection_api.auth.permissions import Permission, require, require_governs
from inspection_api.auth.principal import Principal
from inspection_api.checkpoints import repository as checkpoints
from inspection_api.db import utcnow
from inspection_api.errors import (
    InvalidField,
    InviteInUse,
    InviteNotFound,
    NotFound,
    SessionClosed,
    SessionStateConflict,
)
from inspection_api.orgs.models import Org
from inspection_api.remote import participants
from inspection_api.remote.models import (
    CLOSED_STATES,
    STATE_LABELS,
    ParticipantEventKind,
    ParticipantKind,
    RemoteInvite,
    RemoteParticipant,
    RemoteSession,
    SessionState,
)
from inspection_api.remote.participants import call_participants as call_participants
from inspection_api.remote.participants import expire_slot as expire_slot
from inspection_api.remote.participants import leave as leave
from inspection_api.remote.participants import mark_disconnected as mark_disconnected
from inspection_api.remote.participants import orphaned_holds as orphaned_holds
from inspection_api.remote.participants import set_media as set_media
from inspection_api.remote.rules import (
    INVITE_MINUTES_DEFAULT,
    check_device_id,
    check_expiry_minutes,
    check_invite,
)
from inspection_api.remote.rules import ice_servers as ice_servers
from inspection_api.tokens import digest, new_token
from inspection_api.users.models import User

# ---- sessions (REST) ----


async def session_in_jurisdiction(
    session: AsyncSession, principal: Principal, session_id: int, permission: Permission
) -> tuple[RemoteSession, str]:
    """The session and its org path; 403 without the permission, 404 outside the jurisdiction."""
    require(principal, permission)
    row = (
        await session.execute(
            select(RemoteSession, Org.path)
            .join(Org, RemoteSession.org_id == Org.id)
            .where(RemoteSession.id == session_id)
        )
    ).first()
    require_governs(principal, row[1] if row else "", "remote_session", session_id)
    assert row is not None
    return row[0], row[1]


async def _org_path(session: AsyncSession, org_id: int) -> str:
    path = await session.scalar(select(Org.path).where(Org.id == org_id))
    assert path is not None  # a foreign key
    return path


async def create_session(
    session: AsyncSession,
    principal: Principal,
    *,
    title: str,
    enterprise_name: str | None,
    checkpoint_id: int | None = None,
    org_id: int | None = None,
    origin: Origin,
) -> RemoteSession:
    """Open a pending session about the checkpoint ``checkpoint_id`` (its 支行 and borrower
    become the session's org and enterprise), or in ``org_id`` (default: the caller's own
    org) for a named enterprise."""
    require(principal, Permission.REMOTE_RUN)
    if checkpoint_id is not None:
        found = await checkpoints.get_with_org(session, checkpoint_id)
        if found is None or not principal.governs(found[1].path):
            raise InvalidField(
                "body.checkpoint_id",
                f"检查点 {checkpoint_id} 不存在或不在您的辖区内",
                f"checkpoint {checkpoint_id} does not exist or is outside your jurisdiction",
            )
        org_id = found[1].id
        enterprise_name = enterprise_name or found[0].customer_name
    if not enterprise_name:
        raise InvalidField(
            "body.enterprise_name",
            "请选择检查点或填写企业名称",
            "pick a checkpoint or name the enterprise",
        )
    org_id = principal.org_id if org_id is None else org_id
    org = await session.get(Org, org_id)
    if org is None or not principal.governs(org.path):
        raise InvalidField(
            "body.org_id",
            f"机构 {org_id} 不存在或不在您的辖区内",
            f"org {org_id} does not exist or is outside your jurisdiction",
        )
    remote = RemoteSession(
        org_id=org.id,
        title=title,
        enterprise_name=enterprise_name,
        checkpoint_id=checkpoint_id,
        created_by_user_id=principal.user_id,
        state=SessionState.PENDING,
    )
    session.add(remote)
    await session.flush()
    record(
        session,
        "remote_session_created",
        origin=origin,
        actor=principal,
        org_path=org.path,
        session_id=remote.id,
        title=title,
        enterprise_name=enterprise_name,
        checkpoint_id=checkpoint_id,
    )
    return remote


async def list_sessions(
    session: AsyncSession,
    principal: Principal,
    *,
    state: SessionState | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[RemoteSession]:
    """Newest first, inside the caller's jurisdiction (by the session's org)."""
    require(principal, Permission.REMOTE_READ)
    query = (
        select(RemoteSession)
        .join(Org, RemoteSession.org_id == Org.id)
        .where(Org.path.startswith(principal.org_path, autoescape=True))
    )
    if state is not None:
        query = query.where(RemoteSession.state == state)
    if before_id:
        query = query.where(RemoteSession.id < before_id)
    query = query.order_by(RemoteSession.id.desc()).limit(limit)
    return list((await session.scalars(query)).all())


async def get_session(
    session: AsyncSession, principal: Principal, session_id: int
) -> RemoteSession:
    """One session with its invites, participants and their events loaded."""
    await session_in_jurisdiction(session, principal, session_id, Permission.REMOTE_READ)
    query = (
        select(RemoteSession)
        .where(RemoteSession.id == session_id)
        .options(
            selectinload(RemoteSession.participants).selectinload(RemoteParticipant.events),
            selectinload(RemoteSession.invites),
        )
        .execution_options(populate_existing=True)
    )
    remote = await session.scalar(query)
    assert remote is not None
    return remote


async def create_invite(
    session: AsyncSession,
    principal: Principal,
    session_id: int,
    *,
    contact_name: str,
    expires_in_minutes: int = INVITE_MINUTES_DEFAULT,
    origin: Origin,
) -> tuple[str, RemoteInvite]:
    """A new invite link for an enterprise contact; the token is returned here only."""
    check_expiry_minutes(expires_in_minutes, "body.expires_in_minutes")
    remote, org_path = await session_in_jurisdiction(
        session, principal, session_id, Permission.REMOTE_RUN
    )
    if remote.state in CLOSED_STATES:
        raise SessionStateConflict(
            state=STATE_LABELS[remote.state], action=("邀请企业联系人", "invite a contact")
        )
    token = new_token()
    now = utcnow()
    invite = RemoteInvite(
        session_id=remote.id,
        token_hash=digest(token),
        contact_name=contact_name,
        created_by_user_id=principal.user_id,
        created_at=now,
        expires_at=now + timedelta(minutes=expires_in_minutes),
    )
    session.add(invite)
    await session.flush()
    record(
        session,
        "remote_invite_created",
        origin=origin,
        actor=principal,
        org_path=org_path,
        session_id=remote.id,
        invite_id=invite.id,
        contact_name=contact_name,
        expires_at=invite.expires_at.isoformat(),
    )
    return token, invite


async def revoke_invite(
    session: AsyncSession, principal: Principal, session_id: int, invite_id: int, *, origin: Origin
) -> int | None:
    """Stop an invite from admitting anyone (again); revoking twice changes nothing. The
    contact who joined by it and is still in the call is removed (``removed``): returns
    that participant's id, for signaling to drop its connection."""
    remote, org_path = await session_in_jurisdiction(
        session, principal, session_id, Permission.REMOTE_RUN
    )
    invite = await session.get(RemoteInvite, invite_id)
    if invite is None or invite.session_id != remote.id:
        raise NotFound(resource="invite", id=invite_id)
    if invite.revoked_at is None:
        invite.revoked_at = utcnow()
        record(
            session,
            "remote_invite_revoked",
            origin=origin,
            actor=principal,
            org_path=org_path,
            session_id=remote.id,
            invite_id=invite.id,
        )
    in_call = await session.scalar(
        select(RemoteParticipant.id).where(
            RemoteParticipant.invite_id == invite.id, RemoteParticipant.left_at.is_(None)
        )
    )
    if in_call is None:
        return None
    await participants.close_slot(session, in_call, None, ParticipantEventKind.REMOVED)
    return in_call


async def _move(
    session: AsyncSession, remote: RemoteSession, source: SessionState, **values: object
) -> bool:
    """Change the state only if it still is ``source``: two nodes never both win."""
    result = await session.execute(
        update(RemoteSession)
        .where(RemoteSession.id == remote.id, RemoteSession.state == source)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    await session.refresh(remote)
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def _close(
    session: AsyncSession,
    principal: Principal,
    session_id: int,
    *,
    source: SessionState,
    target: SessionState,
    refusal: tuple[str, str],
    event: str,
    origin: Origin,
) -> RemoteSession:
    """Move a session from ``source`` to the closed state ``target``, audited; refuse with
    ``refusal`` (what cannot be done, zh/en) when it is in another state."""
    remote, org_path = await session_in_jurisdiction(
        session, principal, session_id, Permission.REMOTE_RUN
    )
    if not await _move(session, remote, source, state=target, ended_at=utcnow()):
        raise SessionStateConflict(state=STATE_LABELS[remote.state], action=refusal)
    record(session, event, origin=origin, actor=principal, org_path=org_path, session_id=remote.id)
    return remote


async def cancel_session(
    session: AsyncSession, principal: Principal, session_id: int, *, origin: Origin
) -> RemoteSession:
    """pending → cancelled; its invites stop working."""
    return await _close(
        session,
        principal,
        session_id,
        source=SessionState.PENDING,
        target=SessionState.CANCELLED,
        refusal=(
            "取消（只有待开始的远程巡检可以取消，进行中的请结束通话）",
            "cancel it (only pending ones can be cancelled; end an active one)",
        ),
        event="remote_session_cancelled",
        origin=origin,
    )


async def end_session(
    session: AsyncSession, principal: Principal, session_id: int, *, origin: Origin
) -> RemoteSession:
    """active → ended (结束通话); every participant still in the call leaves."""
    remote = await _close(
        session,
        principal,
        session_id,
        source=SessionState.ACTIVE,
        target=SessionState.ENDED,
        refusal=(
            "结束（只有进行中的远程巡检可以结束，待开始的请取消）",
            "end it (only active ones can be ended; cancel a pending one)",
        ),
        event="remote_session_ended",
        origin=origin,
    )
    open_ids = (
        await session.scalars(
            select(RemoteParticipant.id).where(
                RemoteParticipant.session_id == remote.id, RemoteParticipant.left_at.is_(None)
            )
        )
    ).all()
    for participant_id in open_ids:
        await participants.close_slot(
            session, participant_id, None, ParticipantEventKind.LEFT, now=remote.ended_at
        )
    return remote


# ---- invites and participants (called by signaling) ----


async def resolve_invite(
    session: AsyncSession, token: str, *, now: datetime | None = None
) -> tuple[RemoteSession, RemoteInvite]:
    """The session and invite a link stands for, or InviteNotFound (404), InviteRevoked,
    SessionClosed or InviteExpired (410)."""
    row = (
        await session.execute(
            select(RemoteInvite, RemoteSession)
            .join(RemoteSession, RemoteInvite.session_id == RemoteSession.id)
            .where(RemoteInvite.token_hash == digest(token))
            .execution_options(populate_existing=True)
        )
    ).first()
    if row is None:
        raise InviteNotFound()
    invite, remote = row
    check_invite(invite, remote.state, now or utcnow())
    return remote, invite


async def _lock_call(session: AsyncSession, session_id: int) -> RemoteSession | None:
    """The session row, locked until the transaction ends (``SELECT … FOR UPDATE``; on
    SQLite the caller's ``one_writer`` does it) and read afresh. Joins of one session, and
    its ending, go one at a time: each join reads who is in the call after the previous
    one committed, and no join slips in while ``end_session`` closes the slots."""
    return await session.scalar(
        select(RemoteSession)
        .where(RemoteSession.id == session_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def _open(session: AsyncSession, remote: RemoteSession) -> None:
    """Admit into a session that is not closed; the first join makes it active."""
    if remote.state == SessionState.PENDING:
        await _move(
            session, remote, SessionState.PENDING, state=SessionState.ACTIVE, started_at=utcnow()
        )
    if remote.state in CLOSED_STATES:  # also when cancelled meanwhile by another node
        raise SessionClosed(state=STATE_LABELS[remote.state])


async def join_as_staff(
    session: AsyncSession,
    principal: Principal,
    session_id: int,
    device_id: str,
    ip: str = "",
    user_agent: str = "",
) -> RemoteParticipant:
    """Bank staff (remote.run, in jurisdiction) enter the call; rejoining resumes them."""
    check_device_id(device_id)
    remote, org_path = await session_in_jurisdiction(
        session, principal, session_id, Permission.REMOTE_RUN
    )
    await _lock_call(session, remote.id)
    await _open(session, remote)
    existing = await session.scalar(
        select(RemoteParticipant).where(
            RemoteParticipant.session_id == remote.id,
            RemoteParticipant.user_id == principal.user_id,
        )
    )
    if existing is not None:
        return await participants.resume(session, existing, device_id, ip, user_agent)
    user = await session.get(User, principal.user_id)
    participant = RemoteParticipant(
        session_id=remote.id,
        kind=ParticipantKind.INSPECTOR,
        user_id=principal.user_id,
        display_name=user.display_name if user else principal.username,
        device_id=device_id,
        generation=1,
        connected=True,
    )
    origin = Origin(ip=ip[:64], user_agent=user_agent[:300])
    return await participants.add_participant(
        session, participant, org_path, origin, actor=principal
    )


async def join_as_contact(
    session: AsyncSession, token: str, device_id: str, ip: str = "", user_agent: str = ""
) -> RemoteParticipant:
    """An enterprise contact enters by invite; the first device to join is the only one
    the invite admits from then on (InviteInUse, 409, for any other)."""
    check_device_id(device_id)
    remote, _ = await resolve_invite(session, token)
    await _lock_call(session, remote.id)
    remote, invite = await resolve_invite(session, token)  # revoked or ended meanwhile?
    if invite.device_id is None:
        await session.execute(
            update(RemoteInvite)
            .where(RemoteInvite.id == invite.id, RemoteInvite.device_id.is_(None))
            .values(device_id=device_id)
            .execution_options(synchronize_session=False)
        )
        await session.refresh(invite)
    if invite.device_id != device_id:
        raise InviteInUse()
    await _open(session, remote)
    existing = await session.scalar(
        select(RemoteParticipant).where(
            RemoteParticipant.session_id == remote.id, RemoteParticipant.invite_id == invite.id
        )
    )
    if existing is not None:
        return await participants.resume(session, existing, device_id, ip, user_agent)
    participant = RemoteParticipant(
        session_id=remote.id,
        kind=ParticipantKind.CONTACT,
        invite_id=invite.id,
        display_name=invite.contact_name,
        device_id=device_id,
        generation=1,
        connected=True,
    )
    origin = Origin(ip=ip[:64], user_agent=user_agent[:300])
    org_path = await _org_path(session, remote.org_id)
    return await participants.add_participant(
        session, participant, org_path, origin, actor_username=invite.contact_name
    )


RECORDER_NAME = "录制服务"


async def join_as_recorder(
    session: AsyncSession, session_id: int, worker: str, ip: str = ""
) -> RemoteParticipant:
    """The server's recorder enters an active call: one recorder participant per session,
    resumed by whichever worker holds the recording (a takeover is a reconnection)."""
    remote = await _lock_call(session, session_id)
    if remote is None:
        raise NotFound(resource="remote_session", id=session_id)
    if remote.state != SessionState.ACTIVE:  # never opens a call by itself
        raise SessionClosed(state=STATE_LABELS[remote.state])
    existing = await session.scalar(
        select(RemoteParticipant).where(
            RemoteParticipant.session_id == remote.id,
            RemoteParticipant.kind == ParticipantKind.RECORDER,
        )
    )
    agent = f"loancheck-recorder {worker}"[:300]
    if existing is not None:
        return await participants.resume(session, existing, worker[:64], ip, agent)
    participant = RemoteParticipant(
        session_id=remote.id,
        kind=ParticipantKind.RECORDER,
        display_name=RECORDER_NAME,
        device_id=worker[:64],
        generation=1,
        connected=True,
    )
    origin = Origin(ip=ip[:64], user_agent=agent)
    org_path = await _org_path(session, remote.org_id)
    return await participants.add_participant(
        session, participant, org_path, origin, actor_username=RECORDER_NAME
    )
