"""What other domains do when an inspection is submitted: the composition root wires them
into the inspections domain's hook lists (``inspection_api/inspections/hooks.py``), so that
no domain imports another's service to react to it."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from inspection_api.db import utcnow
from inspection_api.inspections.models import Inspection
from inspection_api.inspections.rules import Finding
from inspection_api.plans.tasks import complete_tasks


async def complete_plan_tasks(
    session: AsyncSession, inspection: Inspection, findings: Sequence[Finding]
) -> None:
    """A submitted inspection does the task of its period (and, while valid, later ones)."""
    await complete_tasks(
        session, inspection.checkpoint_id, inspection.submitted_at or utcnow(), inspection.id
    )
