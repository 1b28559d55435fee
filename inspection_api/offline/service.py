"""The offline package: my open tasks, their checkpoints and the forms to fill in there."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from inspection_api.auth.permissions import Permission, require
from inspection_api.auth.principal import Principal
from inspection_api.checklists.schemas import ChecklistVersionOut
from inspection_api.errors import InspectionError
from inspection_api.inspections.rules import inspector_form
from inspection_api.inspections.service import checklist_for
from inspection_api.plans.repository import TaskFilters, TaskRow, search

# A phone keeps the package in its browser's storage and lists it on one page: a cap keeps
# both small (a task is 0.5–1 KB of JSON, the default 明白纸 11 KB once: a full package is
# about 200–250 KB). An inspector has a few dozen open tasks; past the cap the package says
# it was truncated and how many exist.
PACKAGE_MAX_TASKS = 200


@dataclass(frozen=True)
class PackageTask:
    row: TaskRow
    version: ChecklistVersionOut | None
    problem: InspectionError | None


@dataclass(frozen=True)
class Package:
    tasks: list[PackageTask]
    total: int
    today: date


async def offline_package(
    session: AsyncSession, principal: Principal, *, today: date, limit: int = PACKAGE_MAX_TASKS
) -> Package:
    """My open tasks (assigned to me, or unassigned for a role of mine, in my jurisdiction),
    overdue first, each with the form an on-site inspection there starts with: the plan's
    checklist template, else the default 明白纸 of the checkpoint's province bank."""
    require(principal, Permission.INSPECTION_RUN)
    filters = TaskFilters(
        scope_path=principal.org_path,
        today=today,
        open=True,
        mine_user_id=principal.user_id,
        mine_roles=principal.roles,
    )
    rows, total = await search(session, filters, offset=0, limit=limit)
    forms: dict[tuple[int | None, str], ChecklistVersionOut | InspectionError] = {}
    tasks = []
    for row in rows:
        _task, plan, _checkpoint, org, _assignee = row
        key = (plan.checklist_template_id, org.path)
        if key not in forms:
            try:
                version = await checklist_for(session, principal, org, plan.checklist_template_id)
                forms[key] = inspector_form(version)
            except InspectionError as exc:  # archived, unpublished, none here: said per task
                forms[key] = exc
        form = forms[key]
        if isinstance(form, InspectionError):
            tasks.append(PackageTask(row, None, form))
        else:
            tasks.append(PackageTask(row, form, None))
    return Package(tasks=tasks, total=total, today=today)
