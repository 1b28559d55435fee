"""Task generation against the real databases: idempotent runs, exit points and moves, the
calls the inspections domain makes (start_task, complete_tasks with 历史检查有效期), and on
PostgreSQL one generator at a time across nodes (advisory lock)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inspection_api.audit.service import Origin
from inspection_api.auth.principal import Principal
from inspection_api.checkpoints.models import Checkpoint, ExitReason
from inspection_api.db import create_engine, create_sessionmaker, utcnow
from inspection_api.demo import seed_demo
from inspection_api.orgs.models import Org
from inspection_api.plans import service
from inspection_api.plans.errors import PlanInUse
from inspection_api.plans.generator import (
    SHANGHAI,
    MonthRule,
    ValidityUnit,
    add_months,
    local_date,
)
from inspection_api.plans.models import Plan, PlanRule, Task, TaskState
from inspection_api.plans.repository import shown_state
from inspection_api.plans.scheduler import generate_once, generator_lock
from inspection_api.plans.sync import sync_tasks
from inspection_api.users.models import User

ORIGIN = Origin(ip="127.0.0.1", user_agent="test")


@pytest.fixture
async def sessions(settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    await seed_demo(settings)
    engine = create_engine(settings.database_url)
    yield create_sessionmaker(engine)
    await engine.dispose()


def today() -> date:
    return local_date(utcnow())


def beijing(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=SHANGHAI).astimezone(UTC)


async def admin(session: AsyncSession) -> Principal:
    user, org = (
        await session.execute(
            select(User, Org).join(Org, User.org_id == Org.id).where(User.username == "admin")
        )
    ).one()
    return Principal(user.id, user.username, org.id, org.path, frozenset(user.roles))


async def count_tasks(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count(Task.id))) or 0)


async def checkpoint(session: AsyncSession, code: str) -> Checkpoint:
    found = await session.scalar(select(Checkpoint).where(Checkpoint.code == code))
    assert found is not None
    return found


async def backdate_rule(sessions: async_sessionmaker[AsyncSession], months: int) -> None:
    """Let the demo checkpoints be old and the monthly demo plan run ``months`` back, so that
    past periods exist (as overdue) next to the current one."""
    start = add_months(today().replace(day=1), -months)
    async with sessions() as session:
        for cp in (await session.scalars(select(Checkpoint))).all():
            cp.created_at = beijing(start - timedelta(days=40))
        rule = await session.scalar(select(PlanRule).where(PlanRule.name == "支行月度检查"))
        assert rule is not None
        rule.start_date = start
        for plan in (await session.scalars(select(Plan))).all():
            plan.start_date = start
        await session.flush()
        await sync_tasks(session, today=today())
        await session.commit()


async def test_generation_is_idempotent_and_marks_past_periods_overdue(sessions):
    await backdate_rule(sessions, 2)
    first = await count_tasks(sessions)
    run = await generate_once(sessions)
    assert run.ran and run.result is not None and run.result.created == 0
    assert run.result.removed == 0 and await count_tasks(sessions) == first
    async with sessions() as session:
        ca1 = await checkpoint(session, "CA-0001")
        rows = (
            await session.scalars(
                select(Task).where(Task.checkpoint_id == ca1.id).order_by(Task.period_start)
            )
        ).all()
        assert [t.period_start for t in rows] == [
            add_months(today().replace(day=1), m) for m in (-2, -1, 0)
        ]
        assert [shown_state(t, today()) for t in rows] == [
            TaskState.OVERDUE,
            TaskState.OVERDUE,
            TaskState.PENDING,
        ]


async def test_an_exit_point_loses_its_open_task_and_a_move_follows(sessions):
    async with sessions() as session:
        ca2 = await checkpoint(session, "CA-0002")
        ca2.exit_reason = ExitReason.SETTLED
        ca2.exit_date = today()
        qx = await session.scalar(select(Org).where(Org.code == "HB-SJZ-QX"))
        ca1 = await checkpoint(session, "CA-0001")
        assert qx is not None
        ca1.org_id = qx.id
        await session.flush()
        result = await sync_tasks(session, today=today())
        await session.commit()
        # Province plan: 当月停止, exit checks every 3 months, 2 of them. The open task of
        # this month becomes the first exit check (same period start): reshaped, not added.
        assert (result.created, result.removed, result.updated) == (0, 0, 1)
        exit_tasks = (await session.scalars(select(Task).where(Task.checkpoint_id == ca2.id))).all()
        assert [(t.kind.value, t.period_start) for t in exit_tasks] == [
            ("exit", today().replace(day=1))
        ]
        assert exit_tasks[0].period_end == add_months(today().replace(day=1), 3)
        moved = await session.scalar(select(Task).where(Task.checkpoint_id == ca1.id))
        assert moved is not None and moved.org_id == qx.id


@pytest.mark.parametrize(("rule", "keeps"), [("this_month", False), ("next_month", True)])
async def test_a_quarterly_exit_point_keeps_its_quarter_only_under_next_month(
    sessions, rule, keeps
):
    """保定分行季度检查 (quarterly from 1 January) reaches LC-0001. Exited today: 当月停止 — the
    quarter containing today has no regular task any more (its pending task goes); 次月停止 —
    it keeps that task. The rule has no exit-point checks."""
    quarter = date(today().year, (today().month - 1) // 3 * 3 + 1, 1)
    async with sessions() as session:
        found = await session.scalar(select(PlanRule).where(PlanRule.name == "重点客户季度检查"))
        assert found is not None
        found.exit_rule = MonthRule(rule)
        lc1 = await checkpoint(session, "LC-0001")
        before = (await session.scalars(select(Task).where(Task.checkpoint_id == lc1.id))).all()
        assert [(t.period_start, t.state) for t in before] == [(quarter, TaskState.PENDING)]
        lc1.exit_reason = ExitReason.SETTLED
        lc1.exit_date = today()
        await session.flush()
        result = await sync_tasks(session, today=today())
        await session.commit()
        after = (await session.scalars(select(Task).where(Task.checkpoint_id == lc1.id))).all()
        if keeps:
            assert (result.removed, [t.id for t in after]) == (0, [before[0].id])
            assert after[0].period_end == add_months(quarter, 3)
        else:
            assert (result.removed, after) == (1, [])


async def test_start_and_complete_with_inspection_validity(sessions):
    await backdate_rule(sessions, 1)
    this_month = today().replace(day=1)
    next_month = add_months(this_month, 1)
    async with sessions() as session:
        ca1 = await checkpoint(session, "CA-0001")
        started = await service.start_task(session, ca1.id, beijing(this_month))
        assert [t.period_start for t in started] == [this_month]
        assert started[0].state == TaskState.IN_PROGRESS
        assert await service.start_task(session, ca1.id, beijing(this_month)) == []  # once
        # Inspected on the 1st: its own period is done; valid one month, it lapses on the
        # 1st of next month, so next month is not covered.
        done = await service.complete_tasks(session, ca1.id, beijing(this_month, 11), 501)
        assert [(t.period_start, t.inspection_id) for t in done] == [(this_month, 501)]
        await session.commit()

    async with sessions() as session:
        ca1 = await checkpoint(session, "CA-0001")
        await sync_tasks(session, today=next_month)
        following = await session.scalar(
            select(Task).where(Task.checkpoint_id == ca1.id, Task.period_start == next_month)
        )
        assert following is not None and following.state == TaskState.PENDING
        await session.rollback()

    # Inspected again on the month's last day (its task is done already). It counts for next
    # month only if valid on each of its days, whether next month's task is generated after
    # it or existed before it. Valid 1 month (the demo rule) it lapses before next month
    # ends; in days, N+1 days cover a month of N days, N days do not (its last day is out).
    last_day = next_month - timedelta(days=1)
    length = (add_months(next_month, 1) - next_month).days
    cases = [(1, "month", False), (length, "day", False), (length + 1, "day", True)]
    for validity, unit, covered in cases:
        for task_first in (False, True):
            async with sessions() as session:
                rule = await session.scalar(select(PlanRule).where(PlanRule.name == "支行月度检查"))
                assert rule is not None
                rule.validity, rule.validity_unit = validity, ValidityUnit(unit)
                ca1 = await checkpoint(session, "CA-0001")
                if task_first:
                    await sync_tasks(session, today=next_month)
                done = await service.complete_tasks(session, ca1.id, beijing(last_day), 502)
                assert [t.period_start for t in done] == (
                    [next_month] if task_first and covered else []
                )
                await sync_tasks(session, today=next_month)
                following = await session.scalar(
                    select(Task).where(
                        Task.checkpoint_id == ca1.id, Task.period_start == next_month
                    )
                )
                assert following is not None, (validity, unit)
                assert following.covered_by_inspection_id == (502 if covered else None)
                assert following.state == (TaskState.DONE if covered else TaskState.PENDING)
                await session.rollback()

    async with sessions() as session:
        rule = await session.scalar(select(PlanRule).where(PlanRule.name == "支行月度检查"))
        assert rule is not None
        rule.validity, rule.validity_unit = length + 1, ValidityUnit.DAY
        ca1 = await checkpoint(session, "CA-0001")
        assert await service.complete_tasks(session, ca1.id, beijing(last_day), 502) == []
        await sync_tasks(session, today=next_month)
        rows = (
            await session.scalars(
                select(Task).where(Task.checkpoint_id == ca1.id).order_by(Task.period_start)
            )
        ).all()
        states = [
            (t.period_start, t.state, t.inspection_id, t.covered_by_inspection_id) for t in rows
        ]
        assert states == [
            (add_months(this_month, -1), TaskState.PENDING, None, None),  # overdue stays
            (this_month, TaskState.DONE, 501, None),
            (next_month, TaskState.DONE, None, 502),
        ]
        await session.commit()

    async with sessions() as session:
        plan = await session.scalar(select(Plan).where(Plan.name == "全省支行月度检查"))
        assert plan is not None
        with pytest.raises(PlanInUse):
            await service.delete_plan(session, await admin(session), plan.id, origin=ORIGIN)


async def test_only_one_generator_runs_at_a_time_on_postgresql(sessions, backend):
    if backend != "services":
        pytest.skip("SQLite: one process, no advisory lock (documented)")
    await backdate_rule(sessions, 0)
    async with sessions() as session:
        await session.execute(Task.__table__.delete())
        await session.commit()

    # Another node holds the lock: the scheduled run skips, writing nothing.
    async with sessions() as holder:
        assert await generator_lock(holder, wait=False)
        skipped = await generate_once(sessions)
        assert not skipped.ran and await count_tasks(sessions) == 0
        await holder.rollback()

    # Two nodes at once: exactly the owed tasks, never twice.
    runs = await asyncio.gather(*(generate_once(sessions) for _ in range(4)))
    assert any(run.ran for run in runs)
    async with sessions() as session:
        total = await count_tasks(sessions)
        keys = await session.scalar(
            select(func.count()).select_from(
                select(Task.checkpoint_id, Task.plan_id, Task.period_start).distinct().subquery()
            )
        )
        assert total == keys == 4  # CA-0001, CA-0002, QX-0001, LC-0001
    created = sum(run.result.created for run in runs if run.result)
    assert created == 4


async def test_the_scheduler_runs_at_start_and_on_demand_and_stops_cleanly(sessions):
    from inspection_api.plans.scheduler import TaskScheduler

    async with sessions() as session:
        await session.execute(Task.__table__.delete())
        await session.commit()
    scheduler = TaskScheduler(sessions, interval_seconds=3600)
    scheduler.start()
    for _ in range(200):
        if scheduler.last is not None:
            break
        await asyncio.sleep(0.05)
    assert scheduler.last is not None and scheduler.last.ran
    assert scheduler.last.result is not None and scheduler.last.result.created == 4
    first = scheduler.last
    scheduler.trigger()
    for _ in range(200):
        if scheduler.last is not first:
            break
        await asyncio.sleep(0.05)
    assert scheduler.last is not first and scheduler.last.result is not None
    assert scheduler.last.result.created == 0  # idempotent
    await scheduler.stop()
    assert await count_tasks(sessions) == 4


async def test_an_earlier_inspection_counts_for_a_plan_set_up_later(sessions):
    two_months_ago = add_months(today().replace(day=1), -2)
    async with sessions() as session:
        ca1 = await checkpoint(session, "CA-0001")
        # Inspected before any plan reached that month: nothing to mark, but remembered.
        assert await service.complete_tasks(session, ca1.id, beijing(two_months_ago), 900) == []
        await session.commit()
    await backdate_rule(sessions, 2)  # the plan now starts two months back
    async with sessions() as session:
        ca1 = await checkpoint(session, "CA-0001")
        first = await session.scalar(
            select(Task).where(Task.checkpoint_id == ca1.id, Task.period_start == two_months_ago)
        )
        assert first is not None and first.state == TaskState.DONE
        assert (first.inspection_id, first.covered_by_inspection_id) == (900, None)
