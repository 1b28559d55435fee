"""On site: the QR label names the checkpoint, the GPS fix places the phone there.

The first accepted check-in of a checkpoint without a position binds it (GPS默认位置);
later ones must fall inside its tolerance radius. 重置GPS clears the position and the next
check-in binds it again. Binding, resetting and every check-in are audited.

For other domains (on-site inspections, self-checks):

- ``verify_qr(settings, session, principal, text, permission)`` → the ``Checkpoint`` and
  ``Org`` a label names, or QrInvalid (404, forged/damaged/not ours, and any label of a
  checkpoint outside the caller's jurisdiction) or QrRetired (410, regenerated since).
- ``check_in(session, settings, checkpoint, fix, actor=…, now=…)`` → ``CheckInResult``, or a
  ``LocationRefused`` (422: out of range, inaccurate, mocked, stale, from the future) or
  InvalidField (422) for impossible coordinates. The caller has authorised the actor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from inspection_api.audit.service import Origin, record
from inspection_api.auth.permissions import Permission, require
from inspection_api.auth.principal import Principal
from inspection_api.checkpoints import geo, qr, repository
from inspection_api.checkpoints.access import in_jurisdiction
from inspection_api.checkpoints.errors import QrInvalid, QrRetired
from inspection_api.checkpoints.models import Checkpoint
from inspection_api.orgs.models import Org
from loancheck.settings import Settings


@dataclass(frozen=True)
class CheckInResult:
    outcome: Literal["bound", "verified"]  # bound: this fix became the position
    distance_m: float  # from the bound position (0 when this fix bound it)
    radius_m: int  # the tolerance radius that applied
    accuracy_m: float  # as the phone reported it


def effective_radius(settings: Settings, checkpoint: Checkpoint) -> int:
    """The checkpoint's own 误差范围, else the global default."""
    return checkpoint.radius_m or settings.checkpoint_radius_m


def fix_limits(settings: Settings) -> geo.FixLimits:
    return geo.FixLimits(
        max_accuracy_m=settings.gps_max_accuracy_m,
        max_age=timedelta(seconds=settings.gps_max_age_seconds),
    )


def label_url(settings: Settings, checkpoint: Checkpoint) -> str:
    """What the current QR label of ``checkpoint`` encodes."""
    payload = qr.sign(settings.secret_key, checkpoint.id, checkpoint.qr_generation)
    return qr.label_url(settings.public_url, payload)


async def verify_qr(
    settings: Settings,
    session: AsyncSession,
    principal: Principal,
    text: str,
    permission: Permission,
) -> tuple[Checkpoint, Org]:
    """The checkpoint a scanned label names (the label URL or its payload), and its 支行.

    Outside the caller's jurisdiction every label answers exactly as a forged one (404
    ``qr_invalid``, no id): a scanner must not learn which labels are genuine, nor which
    were retired. Only inside it does a retired label say so (410)."""
    require(principal, permission)
    ref = qr.verify(settings.secret_key, text)
    found = await repository.get_with_org(session, ref.checkpoint_id)
    # Deleted since it was signed, or someone else's: the same answer as a forgery.
    if found is None or not principal.governs(found[1].path):
        raise QrInvalid()
    checkpoint, org = found
    if ref.generation != checkpoint.qr_generation:
        raise QrRetired()
    return checkpoint, org


async def _org_path(session: AsyncSession, checkpoint: Checkpoint) -> str:
    org = await session.get(Org, checkpoint.org_id)
    assert org is not None  # a foreign key
    return org.path


async def check_in(
    session: AsyncSession,
    settings: Settings,
    checkpoint: Checkpoint,
    fix: geo.Fix,
    *,
    actor: Principal | None,
    now: datetime,
    origin: Origin | None = None,
    actor_name: str = "",
) -> CheckInResult:
    """Place the phone at the checkpoint: bind the position if there is none, else verify
    the fix is inside the tolerance radius (boundary included). ``actor`` None is someone
    without a bank account (an enterprise contact's self-check): name them in ``actor_name``.
    """
    geo.check_fix(fix, now, fix_limits(settings))
    radius = effective_radius(settings, checkpoint)
    org_path = await _org_path(session, checkpoint)

    def audit(action: str, **detail: object) -> None:
        record(
            session,
            action,
            origin=origin or Origin(),
            actor=actor,
            actor_username=actor_name,
            org_path=org_path,
            checkpoint_id=checkpoint.id,
            code=checkpoint.code,
            accuracy_m=fix.accuracy_m,
            **detail,
        )

    if not checkpoint.is_bound:
        bound = await repository.bind_position(
            session,
            checkpoint,
            latitude=fix.latitude,
            longitude=fix.longitude,
            at=now,
            user_id=actor.user_id if actor else None,
        )
        if bound:
            audit("checkpoint_position_bound", latitude=fix.latitude, longitude=fix.longitude)
            return CheckInResult("bound", 0.0, radius, fix.accuracy_m)
    assert checkpoint.latitude is not None and checkpoint.longitude is not None
    position = geo.Point(checkpoint.latitude, checkpoint.longitude)
    distance = geo.check_within(fix.point, position, radius)
    checkpoint.last_checked_in_at = now
    audit("checkpoint_checked_in", distance_m=round(distance, 1), radius_m=radius)
    return CheckInResult("verified", distance, radius, fix.accuracy_m)


async def check_in_by_qr(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    text: str,
    fix: geo.Fix,
    *,
    now: datetime,
    origin: Origin,
) -> tuple[Checkpoint, Org, CheckInResult]:
    """A staff member scanned a label on site: checkpoint.check_in, in the jurisdiction."""
    checkpoint, org = await verify_qr(
        settings, session, principal, text, Permission.CHECKPOINT_CHECK_IN
    )
    result = await check_in(
        session, settings, checkpoint, fix, actor=principal, now=now, origin=origin
    )
    return checkpoint, org, result


async def reset_position(
    session: AsyncSession, principal: Principal, checkpoint_id: int, *, origin: Origin
) -> tuple[Checkpoint, Org]:
    """重置GPS: forget the bound position; the next on-site check-in binds a new one."""
    checkpoint, org = await in_jurisdiction(
        session, principal, checkpoint_id, Permission.CHECKPOINT_MANAGE
    )
    if not checkpoint.is_bound:
        return checkpoint, org
    old = (checkpoint.latitude, checkpoint.longitude, checkpoint.bound_at)
    checkpoint.latitude = checkpoint.longitude = None
    checkpoint.bound_at = None
    checkpoint.bound_by_user_id = None
    await session.flush()
    record(
        session,
        "checkpoint_position_reset",
        origin=origin,
        actor=principal,
        org_path=org.path,
        checkpoint_id=checkpoint.id,
        code=checkpoint.code,
        old_latitude=old[0],
        old_longitude=old[1],
        old_bound_at=old[2].isoformat() if old[2] else None,
    )
    return checkpoint, org
