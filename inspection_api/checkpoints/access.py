"""Who may touch which checkpoint: the permission, then the jurisdiction (404 outside)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from inspection_api.auth.permissions import Permission, require, require_governs
from inspection_api.auth.principal import Principal
from inspection_api.checkpoints import repository
from inspection_api.checkpoints.models import Checkpoint
from inspection_api.orgs.models import Org


async def in_jurisdiction(
    session: AsyncSession, principal: Principal, checkpoint_id: int, permission: Permission
) -> tuple[Checkpoint, Org]:
    """The checkpoint and its 支行; 403 without the permission, 404 outside the jurisdiction
    (exactly as for a checkpoint that does not exist)."""
    require(principal, permission)
    found = await repository.get_with_org(session, checkpoint_id)
    require_governs(principal, found[1].path if found else "", "checkpoint", checkpoint_id)
    assert found is not None
    return found
