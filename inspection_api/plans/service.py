"""Global rules (全局规则) and plans (检查计划) inside a caller's jurisdiction. Every change is
audited and regenerates, in the same transaction, the open tasks of the checkpoints it
touches (``sync.sync_tasks`` under the generator lock).

Who sees what: rules and plans set on the caller's org, on an org above it (they apply to
the caller's checkpoints) or below it; who changes what: ``plan.manage`` on the orgs the
caller governs. Task functions (lists, assignment, and the calls the inspections domain
makes) live in ``tasks`` and are re-exported here.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from inspection_api.audit.service import Origin, record
from inspection_api.auth.permissions import Permission, require, require_governs
from inspection_api.auth.principal import Principal
from inspection_api.db import utcnow
from inspection_api.errors import Conflict, InvalidField, NotFound
from inspection_api.orgs.models import Org
from inspection_api.plans import rules
from inspection_api.plans.errors import PlanInUse, PlanOverlap, RuleInUse
from inspection_api.plans.generator import local_date
from inspection_api.plans.models import Plan, PlanRule, Task, TaskState
from inspection_api.plans.preview import preview as preview
from inspection_api.plans.rules import related
from inspection_api.plans.scheduler import generator_lock
from inspection_api.plans.schemas import PlanCreate, PlanUpdate, RuleCreate, RuleUpdate
from inspection_api.plans.sync import sync_tasks
from inspection_api.plans.tasks import assign as assign
from inspection_api.plans.tasks import complete_tasks as complete_tasks
from inspection_api.plans.tasks import get_task as get_task
from inspection_api.plans.tasks import list_tasks as list_tasks
from inspection_api.plans.tasks import progress as progress
from inspection_api.plans.tasks import start_task as start_task

RULE_FIELDS = tuple(RuleUpdate.model_fields)
PLAN_FIELDS = tuple(PlanUpdate.model_fields)


def today() -> date:
    return local_date(utcnow())


async def regenerate(session: AsyncSession, scope_path: str) -> None:
    """Bring the tasks under ``scope_path`` in line with the plans (waits for a scheduled
    run on another node to finish first). Changes take the generator lock *before* they
    write: a run holding it inserts tasks that reference plans, and would otherwise wait for
    the change's row locks while the change waits for the lock."""
    await session.flush()
    await generator_lock(session, wait=True)
    await sync_tasks(session, today=today(), scope_path=scope_path)


# What a plan's tasks follow from (``sync.spec_of``: the rule's schedule, the plan's dates
# within the rule's). Its name, executor role and checklist template are no part of a task
# (they are read from the plan), so a change of those alone regenerates nothing.
SCHEDULE_FIELDS = frozenset({"rule_id", "start_date", "end_date"})


def _jsonable(value: Any) -> Any:
    return value if value is None or isinstance(value, bool | int | str) else str(value)


# ---- rules ----


async def list_rules(
    session: AsyncSession, principal: Principal
) -> list[tuple[PlanRule, Org, int]]:
    """The rules of my org, of the orgs above it and below it, with their plan counts."""
    require(principal, Permission.PLAN_READ)
    counts = select(Plan.rule_id, func.count(Plan.id).label("n")).group_by(Plan.rule_id).subquery()
    rows = await session.execute(
        select(PlanRule, Org, func.coalesce(counts.c.n, 0))
        .join(Org, PlanRule.org_id == Org.id)
        .outerjoin(counts, counts.c.rule_id == PlanRule.id)
        .order_by(Org.path, PlanRule.name)
    )
    return [(r, o, int(n)) for r, o, n in rows.all() if related(principal, o.path)]


async def get_rule(
    session: AsyncSession, principal: Principal, rule_id: int, *, manage: bool = False
) -> tuple[PlanRule, Org, int]:
    require(principal, Permission.PLAN_MANAGE if manage else Permission.PLAN_READ)
    row = (
        await session.execute(
            select(PlanRule, Org).join(Org, PlanRule.org_id == Org.id).where(PlanRule.id == rule_id)
        )
    ).first()
    visible = row is not None and (
        principal.governs(row[1].path) if manage else related(principal, row[1].path)
    )
    if row is None or not visible:
        raise NotFound(resource="plan_rule", id=rule_id)
    used = await session.scalar(select(func.count(Plan.id)).where(Plan.rule_id == rule_id))
    return row[0], row[1], int(used or 0)


async def create_rule(
    session: AsyncSession, principal: Principal, data: RuleCreate, *, origin: Origin
) -> tuple[PlanRule, Org]:
    require(principal, Permission.PLAN_MANAGE)
    org = await rules.governed_org(session, principal, data.org_id or principal.org_id)
    rules.check_rule(data)
    await _check_rule_name(session, org.id, data.name)
    rule = PlanRule(
        org_id=org.id, created_by_user_id=principal.user_id, **data.model_dump(exclude={"org_id"})
    )
    session.add(rule)
    await session.flush()
    record(
        session,
        "plan_rule_created",
        origin=origin,
        actor=principal,
        org_path=org.path,
        rule_id=rule.id,
        **{name: _jsonable(getattr(rule, name)) for name in RULE_FIELDS},
    )
    return rule, org


async def _check_rule_name(
    session: AsyncSession, org_id: int, name: str, other_than: int | None = None
) -> None:
    query = select(PlanRule.id).where(PlanRule.org_id == org_id, PlanRule.name == name)
    if other_than is not None:
        query = query.where(PlanRule.id != other_than)
    if await session.scalar(query) is not None:
        raise Conflict(field="body.name", label=("规则名称", "rule name"), value=name)


async def update_rule(
    session: AsyncSession, principal: Principal, rule_id: int, data: RuleUpdate, *, origin: Origin
) -> tuple[PlanRule, Org, int]:
    """Change the fields sent; every plan using the rule regenerates its open tasks."""
    rule, org, used = await get_rule(session, principal, rule_id, manage=True)
    changes = {name: getattr(data, name) for name in data.model_fields_set}
    for name in RULE_FIELDS:
        if name in changes and changes[name] is None and name != "end_date":
            raise InvalidField(f"body.{name}", "必填，不能清空", "required, cannot be cleared")
    merged = RuleCreate.model_construct(
        **{name: changes.get(name, getattr(rule, name)) for name in RULE_FIELDS}
    )
    rules.check_rule(merged)
    if "name" in changes and changes["name"] != rule.name:
        await _check_rule_name(session, org.id, changes["name"], other_than=rule.id)
    await generator_lock(session, wait=True)  # before any row lock: see regenerate()
    diff = rules.apply(rule, changes)
    if diff:
        record(
            session,
            "plan_rule_updated",
            origin=origin,
            actor=principal,
            org_path=org.path,
            rule_id=rule.id,
            name=rule.name,
            changes={k: [_jsonable(a), _jsonable(b)] for k, (a, b) in diff.items()},
        )
        if used:
            await regenerate(session, org.path)
    return rule, org, used


async def delete_rule(
    session: AsyncSession, principal: Principal, rule_id: int, *, origin: Origin
) -> None:
    rule, org, used = await get_rule(session, principal, rule_id, manage=True)
    if used:
        raise RuleInUse(name=rule.name, count=used)
    await session.delete(rule)
    record(
        session,
        "plan_rule_deleted",
        origin=origin,
        actor=principal,
        org_path=org.path,
        rule_id=rule_id,
        name=rule.name,
    )


# ---- plans ----


async def list_plans(
    session: AsyncSession, principal: Principal, *, org_id: int | None = None
) -> list[tuple[Plan, PlanRule, Org]]:
    """Plans that apply to my checkpoints (set on my org or above) and those below it;
    ``org_id``: those set on that org or below it."""
    require(principal, Permission.PLAN_READ)
    query = (
        select(Plan, PlanRule, Org)
        .join(PlanRule, Plan.rule_id == PlanRule.id)
        .join(Org, Plan.org_id == Org.id)
        .order_by(Org.path, Plan.start_date, Plan.id)
    )
    if org_id is not None:
        scope = await session.get(Org, org_id)
        require_governs(principal, scope.path if scope else "", "org", org_id)
        assert scope is not None
        query = query.where(Org.path.startswith(scope.path, autoescape=True))
    rows = (await session.execute(query)).all()
    return [(p, r, o) for p, r, o in rows if related(principal, o.path)]


async def get_plan(
    session: AsyncSession, principal: Principal, plan_id: int, *, manage: bool = False
) -> tuple[Plan, PlanRule, Org]:
    require(principal, Permission.PLAN_MANAGE if manage else Permission.PLAN_READ)
    row = (
        await session.execute(
            select(Plan, PlanRule, Org)
            .join(PlanRule, Plan.rule_id == PlanRule.id)
            .join(Org, Plan.org_id == Org.id)
            .where(Plan.id == plan_id)
        )
    ).first()
    visible = row is not None and (
        principal.governs(row[2].path) if manage else related(principal, row[2].path)
    )
    if row is None or not visible:
        raise NotFound(resource="plan", id=plan_id)
    return row[0], row[1], row[2]


async def _check_overlap(session: AsyncSession, plan: Plan, org: Org) -> None:
    others = await session.scalars(
        select(Plan).where(Plan.org_id == org.id, Plan.id != (plan.id or 0))
    )
    for other in others:
        if plan.window.intersect(other.window) is not None:
            raise PlanOverlap(
                org=org.name,
                other=other.name,
                other_id=other.id,
                other_start=str(other.start_date),
                other_end=str(other.end_date) if other.end_date else ("长期", "open-ended"),
            )


async def create_plans(
    session: AsyncSession, principal: Principal, data: PlanCreate, *, origin: Origin
) -> list[tuple[Plan, PlanRule, Org]]:
    """One plan per org of ``org_ids`` (all or none), then their tasks due by today."""
    require(principal, Permission.PLAN_MANAGE)
    rule, rule_org = await rules.usable_rule(session, principal, data.rule_id)
    orgs = [
        await rules.governed_org(session, principal, org_id, field="body.org_ids")
        for org_id in dict.fromkeys(data.org_ids)
    ]
    start = data.start_date or rule.start_date
    end = data.end_date if "end_date" in data.model_fields_set else rule.end_date
    rules.check_dates(start, end, "body.end_date")
    await generator_lock(session, wait=True)
    created = []
    for org in orgs:
        rules.check_rule_reaches(rule_org, org)
        plan = Plan(
            rule_id=rule.id,
            org_id=org.id,
            name=data.name or f"{rule.name} · {org.name}",
            start_date=start,
            end_date=end,
            checklist_template_id=data.checklist_template_id,
            executor_role=data.executor_role,
            auto_created=False,
            created_by_user_id=principal.user_id,
        )
        await _check_overlap(session, plan, org)
        session.add(plan)
        await session.flush()
        record(
            session,
            "plan_created",
            origin=origin,
            actor=principal,
            org_path=org.path,
            plan_id=plan.id,
            name=plan.name,
            rule_id=rule.id,
            rule_name=rule.name,
            start_date=str(start),
            end_date=str(end) if end else None,
            executor_role=plan.executor_role.value,
            checklist_template_id=plan.checklist_template_id,
        )
        created.append((plan, rule, org))
    for scope in _outermost(org.path for org in orgs):
        await regenerate(session, scope)
    return created


def _outermost(paths: Any) -> list[str]:
    """The paths not below another of them (one regeneration per subtree)."""
    unique = sorted(set(paths))
    return [p for p in unique if not any(p != q and p.startswith(q) for q in unique)]


async def update_plan(
    session: AsyncSession, principal: Principal, plan_id: int, data: PlanUpdate, *, origin: Origin
) -> tuple[Plan, PlanRule, Org]:
    plan, rule, org = await get_plan(session, principal, plan_id, manage=True)
    changes = {name: getattr(data, name) for name in data.model_fields_set}
    for name in ("rule_id", "name", "start_date", "executor_role"):
        if name in changes and changes[name] is None:
            raise InvalidField(f"body.{name}", "必填，不能清空", "required, cannot be cleared")
    if "rule_id" in changes and changes["rule_id"] != plan.rule_id:
        rule, rule_org = await rules.usable_rule(
            session, principal, changes["rule_id"], field="body.rule_id"
        )
        rules.check_rule_reaches(rule_org, org)
    rules.check_dates(
        changes.get("start_date", plan.start_date),
        changes.get("end_date", plan.end_date),
        "body.end_date",
    )
    await generator_lock(session, wait=True)
    diff = rules.apply(plan, changes)
    if diff:
        await _check_overlap(session, plan, org)
        record(
            session,
            "plan_updated",
            origin=origin,
            actor=principal,
            org_path=org.path,
            plan_id=plan.id,
            name=plan.name,
            changes={k: [_jsonable(a), _jsonable(b)] for k, (a, b) in diff.items()},
        )
        if diff.keys() & SCHEDULE_FIELDS:
            await regenerate(session, org.path)
    return plan, rule, org


async def delete_plan(
    session: AsyncSession, principal: Principal, plan_id: int, *, origin: Origin
) -> None:
    """Only while none of its tasks was started or done: its open tasks go with it, and a
    broader plan takes over the checkpoints (PlanInUse, 409, otherwise)."""
    plan, _rule, org = await get_plan(session, principal, plan_id, manage=True)
    worked = await session.scalar(
        select(func.count(Task.id)).where(
            Task.plan_id == plan.id,
            (Task.state != TaskState.PENDING) | Task.started_at.is_not(None),
        )
    )
    if worked:
        raise PlanInUse(name=plan.name, count=worked)
    await generator_lock(session, wait=True)
    await session.execute(delete(Task).where(Task.plan_id == plan.id))
    await session.delete(plan)
    record(
        session,
        "plan_deleted",
        origin=origin,
        actor=principal,
        org_path=org.path,
        plan_id=plan_id,
        name=plan.name,
    )
    await regenerate(session, org.path)
