"""What other domains do when an inspection starts or is submitted: the composition root
wires them into the inspections domain's hook lists (``inspection_api/inspections/hooks.py``),
so that no domain imports another's service to react to it."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inspection_api.anomalies import service as anomalies
from inspection_api.anomalies.models import Anomaly, AnomalySource
from inspection_api.checklists.content import Severity
from inspection_api.db import utcnow
from inspection_api.inspections.hooks import InspectionHook
from inspection_api.inspections.models import Inspection
from inspection_api.inspections.rules import Finding
from inspection_api.notifications import outbox
from inspection_api.orgs.models import Org
from inspection_api.plans.tasks import complete_tasks, start_task
from inspection_api.sheets.service import open_print_window
from inspection_api.supervision.service import supervisors_of
from loancheck.settings import Settings


async def start_plan_tasks(
    session: AsyncSession, inspection: Inspection, findings: Sequence[Finding]
) -> None:
    """A started inspection puts the pending task of its period in progress (进行中)."""
    await start_task(session, inspection.checkpoint_id, inspection.started_at)


async def complete_plan_tasks(
    session: AsyncSession, inspection: Inspection, findings: Sequence[Finding]
) -> None:
    """A submitted inspection does the task of its period (and, while valid, later ones)."""
    await complete_tasks(
        session, inspection.checkpoint_id, inspection.submitted_at or utcnow(), inspection.id
    )


def anomaly_of(finding: Finding) -> anomalies.Finding:
    """An inspection's finding as an anomaly to handle; the inspector's own flags carry no
    rule severity and count as 较重 (medium)."""
    return anomalies.Finding(
        item_key=finding.item_key,
        item_label=finding.item_label,
        section=finding.section,
        indicator=finding.indicator,
        severity=Severity(finding.severity) if finding.severity else Severity.MEDIUM,
        answer=finding.answer,
        source=AnomalySource(finding.source),
        note=finding.note,
    )


def raise_anomalies(settings: Settings) -> InspectionHook:
    """The findings of a submitted inspection go to the exception handlers at once, once
    per inspection (a returned and resubmitted inspection raises nothing new)."""

    async def hook(
        session: AsyncSession, inspection: Inspection, findings: Sequence[Finding]
    ) -> None:
        raised = await session.scalar(
            select(Anomaly.id).where(Anomaly.inspection_id == inspection.id).limit(1)
        )
        if not findings or raised is not None:
            return
        await anomalies.raise_anomalies(
            session,
            checkpoint_id=inspection.checkpoint_id,
            inspection_id=inspection.id,
            findings=[anomaly_of(f) for f in findings],
            actor=None,
            now=utcnow(),
            deadline_hours=settings.anomaly_deadline_hours,
        )

    return hook


async def announce_to_supervisors(
    session: AsyncSession, inspection: Inspection, findings: Sequence[Finding]
) -> None:
    """实时监管 consoles of the managers above the inspection's 支行 refresh (debounced):
    one ``supervision_changed`` push each, sent after the commit."""
    path = await session.scalar(select(Org.path).where(Org.id == inspection.org_id))
    if path is None:
        return
    data = {"org_id": inspection.org_id, "inspection_id": inspection.id}
    for user_id in await supervisors_of(session, path):
        outbox.add(session, outbox.Push(user_id, "supervision_changed", data))


def start_hooks() -> list[InspectionHook]:
    return [start_plan_tasks]


def submission_hooks(settings: Settings) -> list[InspectionHook]:
    return [
        complete_plan_tasks,
        raise_anomalies(settings),
        open_print_window(settings),
        announce_to_supervisors,
    ]


def approval_hooks() -> list[InspectionHook]:
    return [announce_to_supervisors]
