"""The offline package over REST."""

from __future__ import annotations

from datetime import timedelta

from inspection_api.checkpoints.checkin import effective_radius
from inspection_api.checkpoints.schemas import NavigationOut
from inspection_api.db import utcnow
from inspection_api.offline import service
from inspection_api.offline.schemas import PackageCheckpointOut, PackageOut, PackageTaskOut
from inspection_api.plans.generator import local_date
from inspection_api.plans.repository import shown_state
from inspection_api.web.keys import SETTINGS
from inspection_api.web.problems import request_lang
from inspection_api.web.routing import ApiRoutes, Ctx

api = ApiRoutes(tag="offline")


@api.route(
    "GET",
    "/api/v1/offline/package",
    summary="离线包 My tasks prepared for offline",
    response=PackageOut,
)
async def offline_package(ctx: Ctx) -> PackageOut:
    """我的任务 for the phone to keep (`inspection.run`): my open tasks, overdue first, at
    most 200 (`truncated`, `total`), each with its checkpoint (position, radius, label
    code, map links) and the id of the form it is filled in with; each form once."""
    generated_at = utcnow()
    settings = ctx.app[SETTINGS]
    lang = request_lang(ctx.request)
    limit = service.PACKAGE_MAX_TASKS
    package = await service.offline_package(
        ctx.session, ctx.user, today=local_date(generated_at), limit=limit
    )
    tasks = []
    forms = {}
    for entry in package.tasks:
        task, plan, checkpoint, org, _assignee = entry.row
        if entry.version is not None:
            forms[entry.version.id] = entry.version
        tasks.append(
            PackageTaskOut(
                id=task.id,
                plan_id=plan.id,
                plan_name=plan.name,
                state=shown_state(task, package.today),
                period_start=task.period_start,
                period_end=task.period_end,
                due_date=task.period_end - timedelta(days=1),
                checkpoint=PackageCheckpointOut(
                    id=checkpoint.id,
                    name=checkpoint.name,
                    code=checkpoint.code,
                    customer_name=checkpoint.customer_name,
                    org_name=org.name,
                    address=checkpoint.address,
                    latitude=checkpoint.latitude,
                    longitude=checkpoint.longitude,
                    radius_m=effective_radius(settings, checkpoint),
                    navigation=NavigationOut.of(checkpoint),
                ),
                checklist_version_id=entry.version.id if entry.version else None,
                checklist_problem=entry.problem.message(lang) if entry.problem else None,
            )
        )
    return PackageOut(
        generated_at=generated_at,
        today=package.today,
        total=package.total,
        truncated=package.total > len(tasks),
        limit=limit,
        tasks=tasks,
        checklists=list(forms.values()),
    )
