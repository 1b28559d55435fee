"""Demo plans for ``loancheck seed-demo``: the province's monthly rule for 支行 (自动加入)
with a province-wide plan, a quarterly rule with a plan for 保定分行 that overrides it there,
and the tasks due today."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inspection_api.auth.principal import Role
from inspection_api.db import utcnow
from inspection_api.orgs.models import Org, OrgKind
from inspection_api.plans.generator import ExitUnit, Frequency, MonthRule, ValidityUnit, local_date
from inspection_api.plans.models import InspectionType, Plan, PlanRule
from inspection_api.plans.scheduler import generator_lock
from inspection_api.plans.sync import sync_tasks

# (owner org, name, frequency, interval, exit checks (every N months, count))
DEMO_RULES = (
    ("HB", "支行月度检查", Frequency.MONTH, 1, (3, 2)),
    ("HB", "重点客户季度检查", Frequency.MONTH, 3, (0, 0)),
)
# (org, rule name, plan name)
DEMO_PLANS = (
    ("HB", "支行月度检查", "全省支行月度检查"),
    ("HB-BD", "重点客户季度检查", "保定分行季度检查"),
)


async def seed_demo_plans(session: AsyncSession) -> None:
    """Add the missing demo rules and plans (by name) and generate today's tasks."""
    year_start = date(local_date(utcnow()).year, 1, 1)
    orgs = dict((await session.execute(select(Org.code, Org.id))).all())
    for org_code, name, frequency, interval, (exit_every, exit_count) in DEMO_RULES:
        if await session.scalar(select(PlanRule.id).where(PlanRule.name == name)):
            continue
        session.add(
            PlanRule(
                org_id=orgs[org_code],
                name=name,
                org_kind=OrgKind.SUB_BRANCH,
                auto_join=frequency == Frequency.MONTH and interval == 1,
                frequency=frequency,
                interval=interval,
                inspection_type=InspectionType.EXISTING,
                validity=1,
                validity_unit=ValidityUnit.MONTH,
                start_date=year_start,
                end_date=None,
                exit_rule=MonthRule.THIS_MONTH,
                exit_interval=exit_every,
                exit_unit=ExitUnit.MONTH,
                exit_count=exit_count,
                first_rule=MonthRule.THIS_MONTH,
            )
        )
    await session.flush()
    rules = dict((await session.execute(select(PlanRule.name, PlanRule.id))).all())
    for org_code, rule_name, name in DEMO_PLANS:
        if await session.scalar(select(Plan.id).where(Plan.name == name)):
            continue
        session.add(
            Plan(
                rule_id=rules[rule_name],
                org_id=orgs[org_code],
                name=name,
                start_date=year_start,
                end_date=None,
                checklist_template_id=None,
                executor_role=Role.INSPECTOR,
                auto_created=False,
            )
        )
    await session.flush()
    await generator_lock(session, wait=True)  # a running app may be generating too
    await sync_tasks(session, today=local_date(utcnow()))
