"""What other domains hear from inspections, without inspections importing them.

The composition root puts async callables in the lists under ``web.keys.INSPECTION_STARTED``,
``INSPECTION_SUBMITTED`` and ``INSPECTION_APPROVED`` (empty by default). Each is awaited, in
list order, as::

    await hook(session, inspection, findings)

inside the request's transaction, after the inspection was created or changed state (a start
has no findings): whatever a hook writes commits with it, and a hook that raises undoes it
all. A resumed on-site inspection is not started again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from inspection_api.inspections.models import Inspection
from inspection_api.inspections.rules import Finding

InspectionHook = Callable[[AsyncSession, Inspection, Sequence[Finding]], Awaitable[None]]


async def run_hooks(
    hooks: Sequence[InspectionHook],
    session: AsyncSession,
    inspection: Inspection,
    findings: Sequence[Finding],
) -> None:
    for hook in hooks:
        await hook(session, inspection, tuple(findings))
