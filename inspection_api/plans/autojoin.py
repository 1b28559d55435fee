"""自动加入: a new org gets a plan from every rule for its kind that says so.

Called by ``orgs.service.create_org`` in the org's own transaction, so the plan exists as
soon as the org does and is audited with the person who created the org. A new org has no
checkpoints yet: no task is generated here.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inspection_api.audit.service import Origin, record
from inspection_api.auth.principal import Principal, Role
from inspection_api.db import utcnow
from inspection_api.orgs.models import Org
from inspection_api.plans.generator import local_date
from inspection_api.plans.models import Plan, PlanRule


async def plans_for_new_org(
    session: AsyncSession, org: Org, *, actor: Principal | None, origin: Origin
) -> list[Plan]:
    """A plan for ``org`` from each auto-join rule of its kind set on an org above it, from
    today (or the rule's start) to the rule's end; none when the rule has ended."""
    today = local_date(utcnow())
    rules = await session.execute(
        select(PlanRule, Org.path)
        .join(Org, PlanRule.org_id == Org.id)
        .where(PlanRule.auto_join.is_(True), PlanRule.org_kind == org.kind)
        .order_by(PlanRule.id)
    )
    created: list[Plan] = []
    for rule, owner_path in rules.all():
        start = max(rule.start_date, today)
        if not org.path.startswith(owner_path) or (rule.end_date and rule.end_date < start):
            continue
        if created:  # one plan per org at a time: the first rule (oldest) wins
            break
        plan = Plan(
            rule_id=rule.id,
            org_id=org.id,
            name=f"{rule.name} · {org.name}",
            start_date=start,
            end_date=rule.end_date,
            checklist_template_id=None,
            executor_role=Role.INSPECTOR,
            auto_created=True,
            created_by_user_id=actor.user_id if actor else None,
        )
        session.add(plan)
        await session.flush()
        record(
            session,
            "plan_created",
            origin=origin,
            actor=actor,
            org_path=org.path,
            plan_id=plan.id,
            name=plan.name,
            rule_id=rule.id,
            rule_name=rule.name,
            start_date=str(start),
            end_date=str(rule.end_date) if rule.end_date else None,
            executor_role=plan.executor_role.value,
            auto_join=True,
        )
        created.append(plan)
    return created
