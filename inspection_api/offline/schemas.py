"""The offline package (离线包) as the phone stores it."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from inspection_api.checklists.schemas import ChecklistVersionOut
from inspection_api.checkpoints.schemas import NavigationOut
from inspection_api.plans.models import TaskState
from inspection_api.schemas import Output


class PackageCheckpointOut(Output):
    id: int
    name: str
    code: str = Field(description="printed on the QR label next to the code")
    customer_name: str = Field(description="the enterprise")
    org_name: str
    address: str
    latitude: float | None = Field(description="GPS默认位置, WGS-84; null until bound")
    longitude: float | None
    radius_m: int = Field(description="the tolerance radius that applies (误差范围)")
    navigation: NavigationOut | None = Field(description="map links; null until bound")


class PackageTaskOut(Output):
    id: int
    plan_id: int
    plan_name: str
    state: TaskState = Field(description="pending / in_progress / overdue (done are left out)")
    period_start: date
    period_end: date = Field(description="exclusive")
    due_date: date = Field(description="the last day of the period")
    checkpoint: PackageCheckpointOut
    checklist_version_id: int | None = Field(
        description="the form an on-site inspection of this task is filled in with (one of "
        "`checklists`); null when none can be started (see `checklist_problem`)"
    )
    checklist_problem: str | None = Field(description="why no form is available, in Chinese")


class PackageOut(Output):
    generated_at: datetime
    today: date = Field(description="the Beijing day the task states hold for")
    total: int = Field(description="all my open tasks; more than `tasks` when truncated")
    truncated: bool = Field(description="true when only the first `limit` tasks are here")
    limit: int
    tasks: list[PackageTaskOut] = Field(description="overdue first, then by due date")
    checklists: list[ChecklistVersionOut] = Field(
        description="each form once, as the inspector fills it in (without 上级管理条线意见)"
    )
