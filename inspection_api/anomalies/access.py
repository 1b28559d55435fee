"""Who may touch which anomaly: the permission, then the jurisdiction (404 outside)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from inspection_api.anomalies import repository
from inspection_api.anomalies.repository import AnomalyRow
from inspection_api.auth.permissions import Permission, require, require_governs
from inspection_api.auth.principal import Principal
from inspection_api.users.models import User


async def in_jurisdiction(
    session: AsyncSession, principal: Principal, anomaly_id: int, permission: Permission
) -> AnomalyRow:
    """403 without the permission, 404 outside the jurisdiction (as for no such anomaly)."""
    require(principal, permission)
    row = await repository.get_row(session, anomaly_id)
    require_governs(principal, row.org.path if row else "", "anomaly", anomaly_id)
    assert row is not None
    return row


async def actor_name(session: AsyncSession, actor: Principal | None) -> str:
    """How the history names a person: their display name ("" for the platform)."""
    if actor is None:
        return ""
    user = await session.get(User, actor.user_id)
    return user.display_name if user else actor.username
