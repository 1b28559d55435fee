"""Aggregate queries of 实时监管 (SQLAlchemy Core). Every figure is counted by the database:
rows come back per group (an org, a checkpoint, a bucket), never per inspection or task.

Groups: the tasks, inspections and anomalies of a scope are attributed through their
``org_id`` (the 支行) to a group — the child of the scope org it lies under (``CHILD``, the
drill-down), the 支行 itself (``SUB_BRANCH``, the deck's 支行完成率) or the checkpoint
(``CHECKPOINT``). A small org-to-group subquery (orgs × groups on the path prefix) is joined
on ``org_id``, so the big tables are read once, by index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    case,
    distinct,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from inspection_api.anomalies.models import Anomaly, AnomalySource, AnomalyState
from inspection_api.checkpoints.models import Checkpoint
from inspection_api.inspections.models import Inspection, InspectionKind
from inspection_api.orgs.models import Org
from inspection_api.plans.models import InspectionType, Plan, PlanRule, Task, TaskState
from inspection_api.supervision.window import Window
from inspection_api.users.models import User


class GroupBy(StrEnum):
    CHILD = "child"  # the orgs right below the scope (drill-down), plus the scope's own rows
    SUB_BRANCH = "sub_branch"  # every org that holds rows (the 支行), flat
    CHECKPOINT = "checkpoint"  # every checkpoint


@dataclass(frozen=True)
class Scope:
    """The org a report is about (its subtree), already checked against the caller."""

    org_id: int
    path: str


@dataclass(frozen=True)
class Filters:
    kind: InspectionKind | None = None  # 现场检查 / 远程巡检 / 企业自检
    inspection_type: InspectionType | None = None  # 存量 / 新增 (the plan rule's)


@dataclass
class Completion:
    """完成率 and 覆盖率 figures of one group (see docs/supervision.md)."""

    due: int = 0  # 应检任务
    done: int = 0  # 已完成
    covered_by_history: int = 0  # of which done by an earlier, still valid inspection
    overdue: int = 0  # 逾期
    checkpoints_due: int = 0  # 应检检查点
    checkpoints_covered: int = 0  # 已检检查点

    @property
    def completion_rate(self) -> float | None:
        return round(self.done / self.due, 4) if self.due else None

    @property
    def coverage_rate(self) -> float | None:
        return (
            round(self.checkpoints_covered / self.checkpoints_due, 4)
            if self.checkpoints_due
            else None
        )


def _in_subtree(path_column: Any, scope: Scope) -> ColumnElement[bool]:
    return path_column.startswith(scope.path, autoescape=True)


def inline(value: Any, type_: Any) -> Any:
    """A value written into the SQL text at execution time rather than sent as a parameter.

    The completion statements read up to a year of tasks or more: PostgreSQL must plan them
    knowing the window and the scope. asyncpg prepares every statement, and after five
    executions PostgreSQL may keep a generic plan, made without the parameters' values: for
    a province year it estimated a few rows per org and sorted the 120,000 rows on disk
    instead of hashing them in memory (twice the CPU). Inlined, each execution is planned
    with its own values (tests/integration/test_supervision_plan.py)."""
    return bindparam(None, value, type_=type_, literal_execute=True)


def group_map(scope: Scope, group_by: GroupBy) -> Any:
    """Subquery ``(org_id, group_id)``: each org of the scope and the group it counts in."""
    org = aliased(Org)
    if group_by != GroupBy.CHILD:
        return (
            select(org.id.label("org_id"), org.id.label("group_id"))
            .where(org.path.startswith(inline(scope.path, String)))  # digits and slashes
            .subquery("groups")
        )
    group = aliased(Org)
    scope_id = inline(scope.org_id, Integer)
    # Paths are digits and slashes: a prefix LIKE on them needs no escaping.
    under_child = and_(group.parent_id == scope_id, org.path.startswith(group.path))
    own = and_(group.id == scope_id, org.id == scope_id)
    return (
        select(org.id.label("org_id"), group.id.label("group_id"))
        .join(group, or_(under_child, own))
        .subquery("groups")
    )


def _task_window(window: Window, today: date) -> list[ColumnElement[bool]]:
    # Due in the window: its last day (period_end - 1) falls in it, and its period has begun.
    return [
        Task.period_end > inline(window.start, Date),
        Task.period_end <= inline(window.end_exclusive, Date),
        Task.period_start <= inline(today, Date),
    ]


def _typed_plans(inspection_type: InspectionType) -> Any:
    return (
        select(Plan.id)
        .join(PlanRule, Plan.rule_id == PlanRule.id)
        .where(PlanRule.inspection_type == inspection_type)
    )


def _task_rows(
    window: Window, today: date, filters: Filters, cuts: Sequence[Window] | None = None
) -> Select[Any]:
    """The tasks due in the window, one row each with 0/1 flags (and their bucket)."""
    done: ColumnElement[bool] = Task.state == TaskState.DONE
    if filters.kind is not None:
        # Done by an inspection of that kind: the one of its period or the one covering it.
        doer = aliased(Inspection)
        done = and_(done, doer.kind == filters.kind)
    columns: list[Any] = [
        Task.org_id,
        Task.checkpoint_id,
        case((done, 1), else_=0).label("done"),
        case((and_(done, Task.inspection_id.is_(None)), 1), else_=0).label("covered"),
        case(
            (and_(Task.state != TaskState.DONE, Task.period_end <= inline(today, Date)), 1),
            else_=0,
        ).label("overdue"),
    ]
    if cuts is not None:
        columns.append(
            case(
                *[
                    (
                        and_(
                            Task.period_end > inline(b.start, Date),
                            Task.period_end <= inline(b.end_exclusive, Date),
                        ),
                        i,
                    )
                    for i, b in enumerate(cuts)
                ],
                else_=-1,
            ).label("bucket")
        )
    query = select(*columns).select_from(Task)
    if filters.kind is not None:
        query = query.outerjoin(
            doer, doer.id == func.coalesce(Task.inspection_id, Task.covered_by_inspection_id)
        )
    query = query.where(*_task_window(window, today))
    if filters.inspection_type is not None:
        query = query.where(Task.plan_id.in_(_typed_plans(filters.inspection_type)))
    return query


def _per_checkpoint(key: Any, rows: Any, source: Any) -> Any:
    """Figures per (group, checkpoint): the rows of one checkpoint collapse first, so the
    distinct-checkpoint counts are plain counts of these rows."""
    return (
        select(
            key.label("group_id"),
            rows.c.checkpoint_id,
            func.count().label("due"),
            func.sum(rows.c.done).label("done"),
            func.sum(rows.c.covered).label("covered"),
            func.sum(rows.c.overdue).label("overdue"),
            func.max(rows.c.done).label("any_done"),
        )
        .select_from(source)
        .group_by(key, rows.c.checkpoint_id)
        .cte("per_checkpoint")
    )


def _sums(per_cp: Any) -> list[Any]:
    return [
        func.sum(per_cp.c.due).label("due"),
        func.sum(per_cp.c.done).label("done"),
        func.sum(per_cp.c.covered).label("covered"),
        func.sum(per_cp.c.overdue).label("overdue"),
    ]


def _completion_of(row: Any) -> Completion:
    return Completion(
        due=int(row.due or 0),
        done=int(row.done or 0),
        covered_by_history=int(row.covered or 0),
        overdue=int(row.overdue or 0),
        checkpoints_due=int(row.checkpoints_due or 0),
        checkpoints_covered=int(row.checkpoints_covered or 0),
    )


TOTAL = -1  # the group id of the whole scope's row (ids are positive)


async def completion(
    session: AsyncSession,
    scope: Scope,
    window: Window,
    *,
    today: date,
    group_by: GroupBy,
    filters: Filters,
) -> tuple[dict[int, Completion], Completion]:
    """Figures per group id (org or checkpoint), and for the whole scope: one statement."""
    groups = group_map(scope, group_by)
    rows = _task_rows(window, today, filters).subquery("due_tasks")
    key = rows.c.checkpoint_id if group_by == GroupBy.CHECKPOINT else groups.c.group_id
    per_cp = _per_checkpoint(key, rows, rows.join(groups, rows.c.org_id == groups.c.org_id))
    by_group = select(
        per_cp.c.group_id,
        *_sums(per_cp),
        func.count().label("checkpoints_due"),
        func.sum(per_cp.c.any_done).label("checkpoints_covered"),
    ).group_by(per_cp.c.group_id)
    total = select(
        literal(TOTAL).label("group_id"),
        *_sums(per_cp),
        func.count(distinct(per_cp.c.checkpoint_id)).label("checkpoints_due"),
        func.count(distinct(case((per_cp.c.any_done > 0, per_cp.c.checkpoint_id)))).label(
            "checkpoints_covered"
        ),
    )
    result = (await session.execute(union_all(by_group, total))).all()
    figures = {int(row.group_id): _completion_of(row) for row in result}
    return {g: f for g, f in figures.items() if g != TOTAL}, figures.get(TOTAL, Completion())


async def completion_trend(
    session: AsyncSession, scope: Scope, cuts: Sequence[Window], *, today: date, filters: Filters
) -> list[Completion]:
    """完成率/覆盖率 of the whole scope per bucket (the buckets never overlap)."""
    whole = Window(cuts[0].start, cuts[-1].end)
    rows = (
        _task_rows(whole, today, filters, cuts)
        .where(
            Task.org_id.in_(select(Org.id).where(Org.path.startswith(inline(scope.path, String))))
        )
        .subquery("due_tasks")
    )
    per_cp = _per_checkpoint(rows.c.bucket, rows, rows)
    query = select(
        per_cp.c.group_id,
        *_sums(per_cp),
        func.count().label("checkpoints_due"),
        func.sum(per_cp.c.any_done).label("checkpoints_covered"),
    ).group_by(per_cp.c.group_id)
    by_bucket = {int(r.group_id): _completion_of(r) for r in (await session.execute(query)).all()}
    return [by_bucket.get(i, Completion()) for i in range(len(cuts))]


# --- inspections ---------------------------------------------------------------------------


def inspection_type_of() -> Any:
    """检查类型 of an inspection: that of the plan whose task it did in its own period
    (null when it did none — an inspection outside any plan)."""
    return (
        select(func.min(PlanRule.inspection_type))
        .select_from(Task)
        .join(Plan, Task.plan_id == Plan.id)
        .join(PlanRule, Plan.rule_id == PlanRule.id)
        .where(Task.inspection_id == Inspection.id)
        .scalar_subquery()
    )


def _kind_and_type(filters: Filters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.kind is not None:
        conditions.append(Inspection.kind == filters.kind)
    if filters.inspection_type is not None:
        conditions.append(
            Inspection.id.in_(
                select(Task.inspection_id)
                .where(Task.plan_id.in_(_typed_plans(filters.inspection_type)))
                .where(Task.inspection_id.is_not(None))
            )
        )
    return conditions


def _inspection_filters(
    scope: Scope, window: Window, filters: Filters, *, joined: bool = False
) -> list[ColumnElement[bool]]:
    """Submitted in the window (Beijing days), in the scope (unless the query joins the
    group map, which is the scope), of the kind and type asked for."""
    start, end = window.utc_bounds
    conditions: list[ColumnElement[bool]] = [
        Inspection.submitted_at >= start,
        Inspection.submitted_at < end,
        *_kind_and_type(filters),
    ]
    if not joined:
        conditions.append(Inspection.org_id.in_(select(Org.id).where(_in_subtree(Org.path, scope))))
    return conditions


@dataclass(frozen=True)
class DetailFilters:
    checkpoint_id: int | None = None
    state: str | None = None
    conclusion: str | None = None
    org_ids: Sequence[int] | None = None  # resolved from the scope (index on org_id)


def _detail_conditions(
    scope: Scope, window: Window, filters: Filters, extra: DetailFilters
) -> list[ColumnElement[bool]]:
    # Plain conditions (no "id IN (…)"): PostgreSQL then reads the (org_id, submitted_at)
    # index of each org in scope and sorts the few thousand rows of a 分行's year.
    conditions = _inspection_filters(scope, window, filters)
    if extra.checkpoint_id is not None:
        conditions.append(Inspection.checkpoint_id == extra.checkpoint_id)
    if extra.state is not None:
        conditions.append(Inspection.state == extra.state)
    if extra.conclusion is not None:
        conditions.append(Inspection.conclusion == extra.conclusion)
    return conditions


DETAIL_COLUMNS = (
    Inspection.id,
    Inspection.submitted_at,
    Inspection.started_at,
    Inspection.kind,
    Inspection.state,
    Inspection.conclusion,
    Inspection.org_id,
    Org.name.label("org_name"),
    Inspection.checkpoint_id,
    Checkpoint.code.label("checkpoint_code"),
    Checkpoint.name.label("checkpoint_name"),
    Checkpoint.customer_name,
    func.coalesce(User.display_name, Inspection.contact_name).label("inspector_name"),
    Inspection.findings,
)


def details_select(
    scope: Scope, window: Window, filters: Filters, extra: DetailFilters
) -> Select[Any]:
    """检查明细, newest submission first: the page query and the export share it."""
    return (
        select(*DETAIL_COLUMNS, inspection_type_of().label("inspection_type"))
        .join(Org, Inspection.org_id == Org.id)
        .join(Checkpoint, Inspection.checkpoint_id == Checkpoint.id)
        .outerjoin(User, Inspection.inspector_user_id == User.id)
        .where(*_detail_conditions(scope, window, filters, extra))
        .order_by(Inspection.submitted_at.desc(), Inspection.id.desc())
    )


async def details_count(
    session: AsyncSession, scope: Scope, window: Window, filters: Filters, extra: DetailFilters
) -> int:
    query = select(func.count()).where(*_detail_conditions(scope, window, filters, extra))
    return int(await session.scalar(query.select_from(Inspection)) or 0)


async def conclusions(
    session: AsyncSession, scope: Scope, window: Window, *, group_by: GroupBy, filters: Filters
) -> list[tuple[int, str, str | None, int]]:
    """巡检结论统计: ``(group id, inspection kind, conclusion, count)`` of submitted
    inspections."""
    groups = group_map(scope, group_by)
    key = Inspection.checkpoint_id if group_by == GroupBy.CHECKPOINT else groups.c.group_id
    query = (
        select(key, Inspection.kind, Inspection.conclusion, func.count())
        .join(groups, Inspection.org_id == groups.c.org_id)
        .where(*_inspection_filters(scope, window, filters, joined=True))
        .group_by(key, Inspection.kind, Inspection.conclusion)
    )
    return [(int(g), str(k), c, int(n)) for g, k, c, n in (await session.execute(query)).all()]


async def inspection_trend(
    session: AsyncSession, scope: Scope, buckets: Sequence[Window], *, filters: Filters
) -> list[int]:
    """Inspections submitted per bucket."""
    index = case(
        *[
            (
                and_(
                    Inspection.submitted_at >= b.utc_bounds[0],
                    Inspection.submitted_at < b.utc_bounds[1],
                ),
                i,
            )
            for i, b in enumerate(buckets)
        ],
        else_=-1,
    )
    whole = Window(buckets[0].start, buckets[-1].end)
    sub = (
        select(index.label("bucket"))
        .where(*_inspection_filters(scope, whole, filters))
        .subquery("bucketed")
    )
    rows = await session.execute(select(sub.c.bucket, func.count()).group_by(sub.c.bucket))
    counts = {int(b): int(n) for b, n in rows.all()}
    return [counts.get(i, 0) for i in range(len(buckets))]


# --- anomalies -----------------------------------------------------------------------------


def _anomaly_filters(scope: Scope, window: Window, filters: Filters) -> list[ColumnElement[bool]]:
    start, end = window.utc_bounds
    conditions: list[ColumnElement[bool]] = [Anomaly.created_at >= start, Anomaly.created_at < end]
    if filters.kind is not None or filters.inspection_type is not None:
        # Raised by an inspection of that kind and type.
        inspections = select(Inspection.id).where(*_kind_and_type(filters))
        conditions.append(Anomaly.inspection_id.in_(inspections))
    return conditions


@dataclass
class AnomalyCounts:
    total: int = 0
    by_severity: dict[str, int] = field(default_factory=dict)
    by_state: dict[str, int] = field(default_factory=dict)
    overdue: int = 0  # open past its deadline
    escalated: int = 0  # 已上报


async def anomaly_summary(
    session: AsyncSession,
    scope: Scope,
    window: Window,
    *,
    now: datetime,
    group_by: GroupBy,
    filters: Filters,
) -> dict[int, AnomalyCounts]:
    """异常汇总 per group: by severity and state, overdue, escalated."""
    groups = group_map(scope, group_by)
    key = Anomaly.checkpoint_id if group_by == GroupBy.CHECKPOINT else groups.c.group_id
    overdue = and_(
        Anomaly.state == AnomalyState.OPEN, Anomaly.deadline.is_not(None), Anomaly.deadline <= now
    )
    query = (
        select(
            key,
            Anomaly.severity,
            Anomaly.state,
            func.count(),
            func.sum(case((overdue, 1), else_=0)),
            func.sum(case((Anomaly.escalation_level > 0, 1), else_=0)),
        )
        .join(groups, Anomaly.org_id == groups.c.org_id)
        .where(*_anomaly_filters(scope, window, filters))
        .group_by(key, Anomaly.severity, Anomaly.state)
    )
    out: dict[int, AnomalyCounts] = {}
    for group_id, severity, state, n, late, escalated in (await session.execute(query)).all():
        counts = out.setdefault(int(group_id), AnomalyCounts())
        counts.total += int(n)
        counts.by_severity[str(severity)] = counts.by_severity.get(str(severity), 0) + int(n)
        counts.by_state[str(state)] = counts.by_state.get(str(state), 0) + int(n)
        counts.overdue += int(late or 0)
        counts.escalated += int(escalated or 0)
    return out


async def indicators(
    session: AsyncSession, scope: Scope, buckets: Sequence[Window], *, filters: Filters
) -> list[tuple[str, int, int]]:
    """预警指示统计: ``(indicator, bucket index, count)`` of the anomalies checklist rules
    raised (source ``rule``), per bucket (quarters)."""
    index = case(
        *[
            (
                and_(Anomaly.created_at >= b.utc_bounds[0], Anomaly.created_at < b.utc_bounds[1]),
                i,
            )
            for i, b in enumerate(buckets)
        ],
        else_=-1,
    )
    whole = Window(buckets[0].start, buckets[-1].end)
    sub = (
        select(Anomaly.indicator, index.label("bucket"))
        .where(
            Anomaly.source == AnomalySource.RULE,
            Anomaly.org_id.in_(select(Org.id).where(_in_subtree(Org.path, scope))),
            *_anomaly_filters(scope, whole, filters),
        )
        .subquery("bucketed")
    )
    rows = await session.execute(
        select(sub.c.indicator, sub.c.bucket, func.count()).group_by(sub.c.indicator, sub.c.bucket)
    )
    return [(str(i), int(b), int(n)) for i, b, n in rows.all()]


async def anomaly_trend(
    session: AsyncSession, scope: Scope, buckets: Sequence[Window], *, filters: Filters
) -> list[int]:
    """Anomalies raised per bucket."""
    index = case(
        *[
            (
                and_(Anomaly.created_at >= b.utc_bounds[0], Anomaly.created_at < b.utc_bounds[1]),
                i,
            )
            for i, b in enumerate(buckets)
        ],
        else_=-1,
    )
    whole = Window(buckets[0].start, buckets[-1].end)
    sub = (
        select(index.label("bucket"))
        .where(
            Anomaly.org_id.in_(select(Org.id).where(_in_subtree(Org.path, scope))),
            *_anomaly_filters(scope, whole, filters),
        )
        .subquery("bucketed")
    )
    rows = await session.execute(select(sub.c.bucket, func.count()).group_by(sub.c.bucket))
    counts = {int(b): int(n) for b, n in rows.all()}
    return [counts.get(i, 0) for i in range(len(buckets))]


# --- names -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrgRow:
    id: int
    name: str
    kind: str
    parent_id: int | None
    path: str


async def orgs_around(session: AsyncSession, scope: Scope) -> list[OrgRow]:
    """The orgs of the scope's subtree and those above it (its trail), in one query."""
    above = [int(part) for part in scope.path.strip("/").split("/")]
    rows = await session.execute(
        select(Org.id, Org.name, Org.kind, Org.parent_id, Org.path)
        .where(or_(_in_subtree(Org.path, scope), Org.id.in_(above)))
        .order_by(Org.path)
    )
    return [OrgRow(r.id, r.name, str(r.kind.value), r.parent_id, r.path) for r in rows.all()]


async def checkpoint_names(
    session: AsyncSession, ids: Sequence[int]
) -> dict[int, tuple[str, str, str]]:
    if not ids:
        return {}
    rows = await session.execute(
        select(Checkpoint.id, Checkpoint.code, Checkpoint.name, Checkpoint.customer_name).where(
            Checkpoint.id.in_(list(ids))
        )
    )
    return {r.id: (r.code, r.name, r.customer_name) for r in rows.all()}
