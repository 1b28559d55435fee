"""Queries on tasks. Jurisdiction is a materialized-path prefix on the task's org (the
checkpoint's 支行); overdue is computed against a Beijing calendar day, never stored."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select

from inspection_api.auth.principal import Role
from inspection_api.checkpoints.models import Checkpoint
from inspection_api.orgs.models import Org
from inspection_api.plans.models import Plan, Task, TaskState
from inspection_api.users.models import User


@dataclass(frozen=True)
class TaskFilters:
    scope_path: str
    today: date
    state: TaskState | None = None
    open: bool = False  # not done
    plan_id: int | None = None
    checkpoint_id: int | None = None
    period_from: date | None = None
    period_to: date | None = None
    # "mine": assigned to this user, or unassigned for one of these roles
    mine_user_id: int | None = None
    mine_roles: frozenset[Role] = frozenset()


def overdue(today: date) -> ColumnElement[bool]:
    return and_(Task.state != TaskState.DONE, Task.period_end <= today)


def state_condition(state: TaskState, today: date) -> ColumnElement[bool]:
    if state == TaskState.OVERDUE:
        return overdue(today)
    if state == TaskState.DONE:
        return Task.state == TaskState.DONE
    return and_(Task.state == state, Task.period_end > today)


def shown_state(task: Task, today: date) -> TaskState:
    if task.state != TaskState.DONE and task.period_end <= today:
        return TaskState.OVERDUE
    return task.state


async def org_ids(session: Any, scope_path: str) -> list[int]:
    """The orgs under a path. Filtering tasks by these ids (not by a join on the path) lets
    both databases walk the (org_id, state, period_end) index of the few orgs in scope."""
    query = select(Org.id).where(Org.path.startswith(scope_path, autoescape=True))
    return list((await session.scalars(query)).all())


def _filtered(query: Any, f: TaskFilters, orgs: list[int]) -> Any:
    query = query.where(Task.org_id.in_(orgs))
    if f.state is not None:
        query = query.where(state_condition(f.state, f.today))
    if f.open:
        query = query.where(Task.state != TaskState.DONE)
    if f.plan_id is not None:
        query = query.where(Task.plan_id == f.plan_id)
    if f.checkpoint_id is not None:
        query = query.where(Task.checkpoint_id == f.checkpoint_id)
    if f.period_from is not None:
        query = query.where(Task.period_end > f.period_from)
    if f.period_to is not None:
        query = query.where(Task.period_start <= f.period_to)
    if f.mine_user_id is not None:
        query = query.where(
            or_(
                Task.assignee_user_id == f.mine_user_id,
                and_(
                    Task.assignee_user_id.is_(None),
                    Plan.executor_role.in_([r.value for r in f.mine_roles]),
                ),
            )
        )
    return query


TaskRow = tuple[Task, Plan, Checkpoint, Org, str | None]


async def search(
    session: Any, f: TaskFilters, *, offset: int, limit: int
) -> tuple[list[TaskRow], int]:
    """One page, overdue first, then open, then done; by due date within each."""
    rank = case((overdue(f.today), 0), (Task.state != TaskState.DONE, 1), else_=2)
    orgs = await org_ids(session, f.scope_path)
    page = (
        _filtered(
            select(Task, Plan, Checkpoint, Org, User.display_name)
            .join(Org, Task.org_id == Org.id)
            .join(Plan, Task.plan_id == Plan.id)
            .join(Checkpoint, Task.checkpoint_id == Checkpoint.id)
            .outerjoin(User, Task.assignee_user_id == User.id),
            f,
            orgs,
        )
        .order_by(rank, Task.period_end, Checkpoint.code, Task.id)
        .offset(offset)
        .limit(limit)
    )
    rows = [(r[0], r[1], r[2], r[3], r[4]) for r in (await session.execute(page)).all()]
    counted = select(func.count(Task.id))
    if f.mine_user_id is not None:
        counted = counted.join(Plan, Task.plan_id == Plan.id)
    total = await session.scalar(_filtered(counted, f, orgs))
    return rows, int(total or 0)


async def one(session: Any, task_id: int) -> TaskRow | None:
    row = (
        await session.execute(
            select(Task, Plan, Checkpoint, Org, User.display_name)
            .join(Org, Task.org_id == Org.id)
            .join(Plan, Task.plan_id == Plan.id)
            .join(Checkpoint, Task.checkpoint_id == Checkpoint.id)
            .outerjoin(User, Task.assignee_user_id == User.id)
            .where(Task.id == task_id)
        )
    ).first()
    return (row[0], row[1], row[2], row[3], row[4]) if row else None


@dataclass
class Counts:
    pending: int = 0
    in_progress: int = 0
    done: int = 0
    overdue: int = 0
    due: int = 0

    @property
    def completion_rate(self) -> float | None:
        return round(self.done / self.due, 4) if self.due else None

    def add(self, other: Counts) -> None:
        for name in ("pending", "in_progress", "done", "overdue", "due"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


async def counts_by_org(
    session: Any, *, plan_id: int, scope_path: str, today: date
) -> list[tuple[int, str, Counts]]:
    """Task counts of a plan per org (支行) under ``scope_path``, by shown state; ``due``
    counts the tasks whose period has begun."""
    late = case((Task.period_end <= today, 1), else_=0)
    begun = case((Task.period_start <= today, 1), else_=0)
    rows = await session.execute(
        select(Org.id, Org.name, Org.path, Task.state, late, begun, func.count(Task.id))
        .join(Org, Task.org_id == Org.id)
        .where(Task.plan_id == plan_id, Org.path.startswith(scope_path, autoescape=True))
        .group_by(Org.id, Org.name, Org.path, Task.state, late, begun)
    )
    by_org: dict[int, tuple[str, str, Counts]] = {}
    for org_id, name, path, state, is_late, is_begun, n in rows.all():
        counts = by_org.setdefault(org_id, (name, path, Counts()))[2]
        if is_begun:
            counts.due += n
        if state == TaskState.DONE:
            counts.done += n
        elif is_late:
            counts.overdue += n
        elif state == TaskState.IN_PROGRESS:
            counts.in_progress += n
        else:
            counts.pending += n
    ordered = sorted(by_org.items(), key=lambda item: item[1][1])
    return [(org_id, name, counts) for org_id, (name, _path, counts) in ordered]


def total(rows: Iterable[tuple[int, str, Counts]]) -> Counts:
    summed = Counts()
    for _, _, counts in rows:
        summed.add(counts)
    return summed
