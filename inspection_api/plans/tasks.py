"""Tasks (检查任务): lists for inspectors and managers, assignment, a plan's progress, and the
two calls the inspections domain makes when an inspection starts and when it is done.

``start_task`` and ``complete_tasks`` take no principal: the inspections domain has already
decided who may inspect the checkpoint. They change rows in the caller's session, so the
change commits (or rolls back) with the inspection's own.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inspection_api.audit.service import Origin, record
from inspection_api.auth.permissions import Permission, require, require_governs
from inspection_api.auth.principal import ROLE_LABELS, Principal
from inspection_api.db import utcnow
from inspection_api.errors import InvalidField, NotFound
from inspection_api.orgs.models import Org
from inspection_api.plans import repository
from inspection_api.plans.errors import TaskDone
from inspection_api.plans.generator import Period, covers, local_date
from inspection_api.plans.models import InspectionRecord, Plan, PlanRule, Task, TaskState
from inspection_api.plans.repository import Counts, TaskFilters, TaskRow
from inspection_api.plans.rules import related
from inspection_api.plans.schemas import TaskQuery
from inspection_api.users.models import User


async def list_tasks(
    session: AsyncSession, principal: Principal, query: TaskQuery, *, today: date | None = None
) -> tuple[list[TaskRow], int, date]:
    """A page of the jurisdiction's tasks (or ``org_id``'s subtree, 404 outside), overdue
    first, then by due date; the Beijing day the states hold for."""
    require(principal, Permission.TASK_READ)
    today = today or local_date(utcnow())
    scope = principal.org_path
    if query.org_id is not None:
        org = await session.get(Org, query.org_id)
        require_governs(principal, org.path if org else "", "org", query.org_id)
        assert org is not None
        scope = org.path
    filters = TaskFilters(
        scope_path=scope,
        today=today,
        state=query.state,
        open=query.open,
        plan_id=query.plan_id,
        checkpoint_id=query.checkpoint_id,
        period_from=query.period_from,
        period_to=query.period_to,
        mine_user_id=principal.user_id if query.mine else None,
        mine_roles=principal.roles,
    )
    rows, total = await repository.search(session, filters, offset=query.offset, limit=query.limit)
    return rows, total, today


async def get_task(session: AsyncSession, principal: Principal, task_id: int) -> TaskRow:
    require(principal, Permission.TASK_READ)
    row = await repository.one(session, task_id)
    require_governs(principal, row[3].path if row else "", "task", task_id)
    assert row is not None
    return row


async def assign(
    session: AsyncSession,
    principal: Principal,
    task_id: int,
    assignee_user_id: int | None,
    *,
    origin: Origin,
) -> TaskRow:
    """Give an open task to one user of the plan's role who can see it (their org is the
    task's 支行 or above, inside my jurisdiction), or back to everyone (None)."""
    require(principal, Permission.TASK_ASSIGN)
    task, plan, checkpoint, org, _name = await get_task(session, principal, task_id)
    if task.state == TaskState.DONE:
        raise TaskDone(code=checkpoint.code)
    assignee = None
    if assignee_user_id is not None:
        found = (
            await session.execute(
                select(User, Org)
                .join(Org, User.org_id == Org.id)
                .where(User.id == assignee_user_id)
            )
        ).first()
        if found is None or not principal.governs(found[1].path) or not found[0].is_active:
            raise InvalidField(
                "body.assignee_user_id",
                f"用户 {assignee_user_id} 不存在、已停用或不在您的辖区内",
                f"user {assignee_user_id} does not exist, is inactive or outside your jurisdiction",
            )
        assignee = found[0]
        if not org.path.startswith(found[1].path):
            raise InvalidField(
                "body.assignee_user_id",
                f"「{assignee.display_name}」属于「{found[1].name}」，看不到「{org.name}」的任务",
                f"{assignee.username} belongs to {found[1].name} and cannot see {org.name}'s tasks",
            )
        if plan.executor_role not in assignee.roles:
            label = ROLE_LABELS[plan.executor_role]
            raise InvalidField(
                "body.assignee_user_id",
                f"「{assignee.display_name}」没有此计划要求的角色：{label}",
                f"{assignee.username} lacks the role this plan requires: {plan.executor_role}",
            )
    previous = task.assignee_user_id
    if previous != assignee_user_id:
        task.assignee_user_id = assignee_user_id
        await session.flush()
        record(
            session,
            "task_assigned",
            origin=origin,
            actor=principal,
            org_path=org.path,
            task_id=task.id,
            checkpoint_id=checkpoint.id,
            code=checkpoint.code,
            period_start=str(task.period_start),
            assignee_user_id=assignee_user_id,
            assignee_username=assignee.username if assignee else None,
            previous_user_id=previous,
        )
    return task, plan, checkpoint, org, assignee.display_name if assignee else None


async def progress(
    session: AsyncSession, principal: Principal, plan_id: int, *, today: date | None = None
) -> tuple[list[tuple[int, str, Counts]], Counts, date]:
    """Counts by state per 支行 of my jurisdiction, with the completion rate (done ÷ due)."""
    require(principal, Permission.PLAN_READ)
    row = (
        await session.execute(
            select(Plan, Org.path).join(Org, Plan.org_id == Org.id).where(Plan.id == plan_id)
        )
    ).first()
    if row is None or not related(principal, row[1]):
        raise NotFound(resource="plan", id=plan_id)
    today = today or local_date(utcnow())
    # Of a plan set above me, only my own part.
    scope = row[1] if principal.governs(row[1]) else principal.org_path
    rows = await repository.counts_by_org(session, plan_id=plan_id, scope_path=scope, today=today)
    return rows, repository.total(rows), today


async def start_task(session: AsyncSession, checkpoint_id: int, at: datetime) -> list[Task]:
    """An inspection of the checkpoint began at ``at``: its pending tasks whose period
    contains that (Beijing) day become in progress. Returns them (empty when none)."""
    day = local_date(at)
    tasks = list(
        await session.scalars(
            select(Task).where(
                Task.checkpoint_id == checkpoint_id,
                Task.state == TaskState.PENDING,
                Task.period_start <= day,
                Task.period_end > day,
            )
        )
    )
    for task in tasks:
        task.state = TaskState.IN_PROGRESS
        task.started_at = at
    await session.flush()
    return tasks


async def complete_tasks(
    session: AsyncSession, checkpoint_id: int, completed_at: datetime, inspection_id: int
) -> list[Task]:
    """An inspection of the checkpoint was completed: the open tasks whose period contains
    that day are done by it (``inspection_id``); it also covers open tasks of later periods
    it is valid for on every day (历史检查有效期 of each task's rule,
    ``covered_by_inspection_id``). Overdue tasks of earlier periods stay overdue. Returns
    the tasks it marked done. The inspection is remembered for tasks generated later."""
    day = local_date(completed_at)
    session.add(
        InspectionRecord(
            checkpoint_id=checkpoint_id, inspection_id=inspection_id, completed_at=completed_at
        )
    )
    rows = await session.execute(
        select(Task, PlanRule)
        .join(Plan, Task.plan_id == Plan.id)
        .join(PlanRule, Plan.rule_id == PlanRule.id)
        .where(
            Task.checkpoint_id == checkpoint_id,
            Task.state != TaskState.DONE,
            Task.period_end > day,
        )
    )
    done: list[Task] = []
    for task, rule in rows.all():
        period = Period(task.period_start, task.period_end, task.kind)
        if period.contains(day):
            task.inspection_id = inspection_id
            task.started_at = task.started_at or completed_at
        elif covers(rule.schedule(), day, period):
            task.covered_by_inspection_id = inspection_id
        else:
            continue
        task.state = TaskState.DONE
        task.completed_at = completed_at
        done.append(task)
    await session.flush()
    return done
