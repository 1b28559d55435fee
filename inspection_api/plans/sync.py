"""Bring the task table in line with the plans: the tasks every checkpoint owes by today are
created, open tasks that no plan requires any more are removed, open tasks follow a
checkpoint that moved to another 支行. Running it again changes nothing (idempotent).

What is never touched: done tasks, started tasks, and overdue ones (a missed period stays on
record even if the plan changes later). A replaced task is one still pending whose period has
not ended. The caller holds the generator lock (``scheduler.generator_lock``).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import String, delete, select, type_coerce, update
from sqlalchemy.ext.asyncio import AsyncSession

from inspection_api.checkpoints.models import Checkpoint
from inspection_api.db import utcnow
from inspection_api.orgs.models import Org
from inspection_api.plans.bulk import insert_tasks
from inspection_api.plans.generator import (
    CheckpointDates,
    Period,
    PlanSpec,
    Schedule,
    covers,
    local_date,
    resolve,
)
from inspection_api.plans.models import InspectionRecord, Plan, PlanRule, Task, TaskState

Key = tuple[int, int, date]  # checkpoint, plan, period start


@dataclass
class PlanChains:
    """Every plan, as ``PlanSpec``s by the path of the org it is set on."""

    by_path: dict[str, list[PlanSpec]] = field(default_factory=dict)
    schedules: dict[int, Schedule] = field(default_factory=dict)

    def chain(self, org_path: str) -> list[PlanSpec]:
        """The plans of an org and of the orgs above it."""
        return [
            spec
            for path, specs in self.by_path.items()
            if org_path.startswith(path)
            for spec in specs
        ]


@dataclass(frozen=True)
class SyncResult:
    checkpoints: int
    created: int
    removed: int
    updated: int


def depth(path: str) -> int:
    return path.count("/") - 1


def spec_of(plan: Plan, rule: PlanRule, org_path: str) -> PlanSpec | None:
    """The plan with its effective window (plan dates within the rule's), None when empty."""
    window = plan.window.intersect(rule.window)
    if window is None:
        return None
    return PlanSpec(plan.id, depth(org_path), rule.schedule(), window)


async def load_chains(session: AsyncSession, *, skip_plan: int | None = None) -> PlanChains:
    rows = await session.execute(
        select(Plan, PlanRule, Org.path)
        .join(PlanRule, Plan.rule_id == PlanRule.id)
        .join(Org, Plan.org_id == Org.id)
    )
    chains = PlanChains()
    for plan, rule, path in rows.all():
        chains.schedules[plan.id] = rule.schedule()
        spec = spec_of(plan, rule, path)
        if spec is not None and plan.id != skip_plan:
            chains.by_path.setdefault(path, []).append(spec)
    return chains


@dataclass(frozen=True)
class CheckpointRow:
    id: int
    org_id: int
    org_path: str
    dates: CheckpointDates


async def load_checkpoints(session: AsyncSession, scope_path: str | None) -> list[CheckpointRow]:
    query = select(
        Checkpoint.id, Checkpoint.org_id, Org.path, Checkpoint.created_at, Checkpoint.exit_date
    ).join(Org, Checkpoint.org_id == Org.id)
    if scope_path is not None:
        query = query.where(Org.path.startswith(scope_path, autoescape=True))
    rows = (await session.execute(query)).all()
    return [
        CheckpointRow(ident, org_id, path, CheckpointDates(_day(created), exit_on))
        for ident, org_id, path, created, exit_on in rows
    ]


def _day(moment: datetime) -> date:
    return local_date(moment)


def owed(
    chains: PlanChains, checkpoints: list[CheckpointRow], until: date
) -> dict[Key, tuple[CheckpointRow, Period]]:
    """What every checkpoint owes by ``until``, by (checkpoint, plan, period start)."""
    by_org: dict[str, tuple[list[PlanSpec], tuple[int, ...]]] = {}
    # The rules are pure: checkpoints under the same plans with the same dates (registered
    # the same day, not exited) owe the same periods, computed once.
    same: dict[tuple[tuple[int, ...], CheckpointDates], list[tuple[int, Period]]] = {}
    wanted: dict[Key, tuple[CheckpointRow, Period]] = {}
    for row in checkpoints:
        found = by_org.get(row.org_path)
        if found is None:
            chain = chains.chain(row.org_path)
            found = by_org[row.org_path] = (chain, tuple(spec.plan_id for spec in chain))
        chain, plan_ids = found
        if not chain:
            continue
        pairs = same.get((plan_ids, row.dates))
        if pairs is None:
            pairs = same[(plan_ids, row.dates)] = resolve(chain, row.dates, until)
        for plan_id, period in pairs:
            wanted[(row.id, plan_id, period.start)] = (row, period)
    return wanted


@dataclass(frozen=True)
class Inspected:
    """An inspection the plans were told of (``InspectionRecord``), by Beijing day."""

    day: date
    at: datetime
    inspection_id: int


async def _inspections(session: AsyncSession, checkpoint_ids: set[int]) -> dict[int, list[Any]]:
    """The recorded inspections of these checkpoints, oldest first."""
    found: dict[int, list[Inspected]] = defaultdict(list)
    ids = sorted(checkpoint_ids)
    for chunk in _chunks(ids):
        rows = await session.execute(
            select(
                InspectionRecord.checkpoint_id,
                InspectionRecord.completed_at,
                InspectionRecord.inspection_id,
            )
            .where(InspectionRecord.checkpoint_id.in_(chunk))
            .order_by(InspectionRecord.completed_at, InspectionRecord.id)
        )
        for checkpoint_id, at, inspection_id in rows.all():
            found[checkpoint_id].append(Inspected(local_date(at), at, inspection_id))
    return found


def done_by(
    schedule: Schedule, period: Period, inspected: list[Inspected]
) -> tuple[Inspected, bool] | None:
    """For a task created after the fact: the inspection that did it (the last one inside
    its period, ``True``) or that covers it (the last one before it, if valid on every day
    of the period, ``False``; a later inspection never lapses sooner, so the last one is the
    one to ask); None when neither."""
    starts = [i.day for i in inspected]
    within = bisect_left(starts, period.end) - 1
    if within >= 0 and inspected[within].day >= period.start:
        return inspected[within], True
    before = bisect_left(starts, period.start) - 1
    if before >= 0 and covers(schedule, inspected[before].day, period):
        return inspected[before], False
    return None


def replaceable(state: str, started: bool, period_end: date, today: date) -> bool:
    """A task the plans may replace or remove: still pending, never started, its period not
    ended. Started, done and overdue tasks stay whatever the plans become."""
    return state == TaskState.PENDING and not started and period_end > today


async def existing_tasks(session: AsyncSession, scope_path: str | None) -> list[Any]:
    """The tasks of the checkpoints in scope, as plain rows (Core, no ORM objects)."""
    query = select(
        Task.id,
        Task.checkpoint_id,
        Task.plan_id,
        Task.period_start,
        Task.period_end,
        type_coerce(Task.kind, String),
        type_coerce(Task.state, String),
        Task.started_at.is_not(None),
        Task.org_id,
    )
    if scope_path is not None:
        query = query.join(Checkpoint, Task.checkpoint_id == Checkpoint.id).join(
            Org, Checkpoint.org_id == Org.id
        )
        query = query.where(Org.path.startswith(scope_path, autoescape=True))
    connection = await session.connection()
    return list((await connection.execute(query)).all())


async def sync_tasks(
    session: AsyncSession, *, today: date, scope_path: str | None = None
) -> SyncResult:
    """Create, replace and move tasks for the checkpoints under ``scope_path`` (all when
    None) so that they match the plans in force, for every period begun by ``today``."""
    chains = await load_chains(session)
    checkpoints = await load_checkpoints(session, scope_path)
    wanted = owed(chains, checkpoints, today)
    org_of = {row.id: row.org_id for row in checkpoints}

    remove: list[int] = []
    reshape: list[dict[str, Any]] = []
    moves: dict[int, list[int]] = defaultdict(list)
    have: set[Key] = set()
    for ident, cp, plan, start, end, kind, state, started, org_id in await existing_tasks(
        session, scope_path
    ):
        key = (cp, plan, start)
        have.add(key)
        open_task = replaceable(state, started, end, today)
        target = wanted.get(key)
        if target is None:
            if open_task:
                remove.append(ident)
            continue
        period = target[1]
        if open_task and (period.end != end or period.kind != kind):
            reshape.append({"ident": ident, "period_end": period.end, "kind": period.kind})
        if state != TaskState.DONE and org_id != org_of[cp]:
            moves[org_of[cp]].append(ident)

    for chunk in _chunks(remove):
        await session.execute(delete(Task).where(Task.id.in_(chunk)))
    for change in reshape:
        await session.execute(
            update(Task)
            .where(Task.id == change["ident"])
            .values(period_end=change["period_end"], kind=change["kind"])
        )
    for org_id, idents in moves.items():
        for chunk in _chunks(idents):
            await session.execute(update(Task).where(Task.id.in_(chunk)).values(org_id=org_id))

    missing = [key for key in wanted if key not in have]
    inspections = await _inspections(session, {key[0] for key in missing}) if missing else {}
    now = utcnow()

    def rows() -> Iterator[tuple[Any, ...]]:
        """In bulk.COLUMNS order, built as the insert consumes them (see bulk)."""
        for key in missing:
            row, period = wanted[key]
            state, completed, by, covered = TaskState.PENDING, None, None, None
            # Inspected before its task existed (a past period of a new plan, just after
            # midnight) or earlier and still valid (历史检查有效期): created done.
            history = inspections.get(row.id)
            found = done_by(chains.schedules[key[1]], period, history) if history else None
            if found is not None:
                state, completed = TaskState.DONE, found[0].at
                by, covered = (
                    (found[0].inspection_id, None) if found[1] else (None, found[0].inspection_id)
                )
            yield (
                key[1],
                row.id,
                row.org_id,
                period.kind,
                period.start,
                period.end,
                state,
                completed,
                by,
                covered,
                now,
            )

    await insert_tasks(await session.connection(), rows())
    return SyncResult(len(checkpoints), len(missing), len(remove), len(reshape))


def _chunks(idents: list[int], size: int = 500) -> list[list[int]]:
    return [idents[i : i + size] for i in range(0, len(idents), size)]
