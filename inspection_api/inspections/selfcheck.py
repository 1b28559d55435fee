"""企业自检 (self-check): the enterprise contact fills the checklist in on site, by invite.

Staff (``inspection.run``) open a self-check for a located checkpoint and get a link (shown
once; only its SHA-256 is kept). The first phone that uses the link is the only one it admits
until it expires or is revoked. The contact checks in with GPS (never binding a position: the
bank's first scan does that), answers, captures evidence and submits, under the same rules
as an on-site inspection.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from inspection_api.audit.service import Origin
from inspection_api.auth.permissions import Permission, require
from inspection_api.auth.principal import Principal
from inspection_api.checkpoints import geo
from inspection_api.checkpoints import service as checkpoints
from inspection_api.checkpoints.checkin import CheckInResult
from inspection_api.db import utcnow
from inspection_api.errors import (
    InvalidField,
    InviteExpired,
    InviteInUse,
    InviteNotFound,
    InviteRevoked,
)
from inspection_api.inspections import repository
from inspection_api.inspections.errors import CheckpointNotLocated
from inspection_api.inspections.hooks import InspectionHook
from inspection_api.inspections.models import InspectionKind, SelfCheckInvite
from inspection_api.inspections.repository import Row
from inspection_api.inspections.service import (
    Actor,
    audit_event,
    checklist_for,
    create_inspection,
    record_check_in,
    visible,
)
from inspection_api.tokens import digest, new_token
from loancheck.settings import Settings

INVITE_MINUTES_MIN = 5
INVITE_MINUTES_DEFAULT = 1440  # a day
INVITE_MINUTES_MAX = 7 * 1440
DEVICE_ID_MAX = 64
NOT_LOCATED = (
    "须由客户经理到现场扫码设定位置后才能开展企业自检",
    "a bank inspector must scan its label on site first",
)


def self_check_url(settings: Settings, token: str) -> str:
    return f"{settings.public_url}/self-check/{token}"


async def start_self_check(
    session: AsyncSession,
    principal: Principal,
    *,
    checkpoint_id: int,
    contact_name: str,
    expires_in_minutes: int,
    template_id: int | None,
    origin: Origin,
    hooks: Sequence[InspectionHook],
) -> tuple[Row, str, SelfCheckInvite]:
    """A self-check of a located checkpoint and its invite link (the token, once)."""
    require(principal, Permission.INSPECTION_RUN)
    checkpoint, org = await checkpoints.in_jurisdiction(
        session, principal, checkpoint_id, Permission.CHECKPOINT_READ
    )
    if not checkpoint.is_bound:
        raise CheckpointNotLocated(name=checkpoint.name, hint=NOT_LOCATED)
    version = await checklist_for(session, principal, org, template_id)
    row = await create_inspection(
        session,
        checkpoint,
        org,
        version,
        InspectionKind.SELF_CHECK,
        hooks=hooks,
        contact_name=contact_name,
    )
    token = new_token()
    now = utcnow()
    invite = SelfCheckInvite(
        inspection_id=row.inspection.id,
        token_hash=digest(token),
        contact_name=contact_name,
        created_by_user_id=principal.user_id,
        created_at=now,
        expires_at=now + timedelta(minutes=expires_in_minutes),
    )
    session.add(invite)
    await session.flush()
    audit_event(
        session,
        "self_check_invited",
        row,
        Actor(principal),
        origin,
        invite_id=invite.id,
        contact_name=contact_name,
        expires_at=invite.expires_at.isoformat(),
        checklist_version_id=version.id,
    )
    return row, token, invite


async def invites_of(session: AsyncSession, inspection_id: int) -> list[SelfCheckInvite]:
    found = await session.scalars(
        select(SelfCheckInvite)
        .where(SelfCheckInvite.inspection_id == inspection_id)
        .order_by(SelfCheckInvite.id)
    )
    return list(found.all())


async def revoke_invites(
    session: AsyncSession, principal: Principal, inspection_id: int, *, origin: Origin
) -> Row:
    """The self-check's links stop working at once; revoking twice is harmless."""
    row = await visible(session, principal, inspection_id, Permission.INSPECTION_RUN)
    now = utcnow()
    for invite in await invites_of(session, inspection_id):
        if invite.revoked_at is None:
            invite.revoked_at = now
            audit_event(
                session,
                "self_check_invite_revoked",
                row,
                Actor(principal),
                origin,
                invite_id=invite.id,
            )
    await session.flush()
    return row


def check_device_id(device_id: str) -> None:
    if not isinstance(device_id, str) or not 1 <= len(device_id) <= DEVICE_ID_MAX:
        raise InvalidField(
            "header.X-Device-Id",
            f"设备标识应为 1 到 {DEVICE_ID_MAX} 个字符",
            f"must be 1 to {DEVICE_ID_MAX} characters",
        )


async def find_invite(session: AsyncSession, token: str) -> SelfCheckInvite:
    """The invite a link's token stands for: InviteNotFound (404) for any other text."""
    invite = await session.scalar(
        select(SelfCheckInvite).where(SelfCheckInvite.token_hash == digest(token))
    )
    if invite is None:
        raise InviteNotFound()
    return invite


async def bind_device(session: AsyncSession, invite: SelfCheckInvite, device_id: str) -> None:
    """The first phone to use a link is the only one it admits: InviteInUse (409) after."""
    if invite.device_id is None:
        await session.execute(
            update(SelfCheckInvite)
            .where(SelfCheckInvite.id == invite.id, SelfCheckInvite.device_id.is_(None))
            .values(device_id=device_id)
            .execution_options(synchronize_session=False)
        )
        await session.refresh(invite)
    if invite.device_id != device_id:
        raise InviteInUse()


async def resolve(
    session: AsyncSession, token: str, device_id: str, *, now: datetime | None = None
) -> tuple[Row, Actor]:
    """The self-check a link stands for, on the one device it admits: InviteNotFound (404),
    InviteRevoked / InviteExpired (410), InviteInUse (409) for a second phone."""
    check_device_id(device_id)
    invite = await find_invite(session, token)
    if invite.revoked_at is not None:
        raise InviteRevoked()
    if (now or utcnow()) >= invite.expires_at:
        raise InviteExpired()
    await bind_device(session, invite, device_id)
    row = await repository.get_row(session, invite.inspection_id)
    assert row is not None  # a foreign key
    return row, Actor(None, contact_name=invite.contact_name, device_id=device_id)


async def check_in(
    session: AsyncSession,
    settings: Settings,
    row: Row,
    actor: Actor,
    fix: geo.Fix,
    *,
    now: datetime,
    origin: Origin,
) -> CheckInResult:
    """The contact's phone at the checkpoint: verified against the bound position."""
    checkpoint = row.checkpoint
    if not checkpoint.is_bound:  # reset since the invite: the contact may not bind it
        raise CheckpointNotLocated(name=checkpoint.name, hint=NOT_LOCATED)
    result = await checkpoints.check_in(
        session,
        settings,
        checkpoint,
        fix,
        actor=None,
        actor_name=actor.contact_name,
        now=now,
        origin=origin,
    )
    record_check_in(
        session, row.inspection, result, fix, now, user_id=None, actor_name=actor.contact_name
    )
    await session.flush()
    return result
