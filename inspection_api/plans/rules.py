"""Checks shared by rules and plans: which orgs and rules a caller may use, the form's
cross-field rules, and applying a partial change with its audit diff."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inspection_api.auth.principal import Principal
from inspection_api.errors import InvalidField
from inspection_api.orgs.models import Org
from inspection_api.plans.generator import ExitUnit, Frequency, MonthRule, Schedule, ValidityUnit
from inspection_api.plans.models import PlanRule
from inspection_api.plans.schemas import RuleFields


def related(principal: Principal, org_path: str) -> bool:
    """An org whose plans concern the caller: theirs, one above (its plans reach the
    caller's checkpoints) or one below (in the jurisdiction)."""
    return principal.governs(org_path) or principal.org_path.startswith(org_path)


async def governed_org(
    session: AsyncSession, principal: Principal, org_id: int, *, field: str = "body.org_id"
) -> Org:
    org = await session.get(Org, org_id)
    if org is None or not principal.governs(org.path):
        raise InvalidField(
            field,
            f"机构 {org_id} 不存在或不在您的辖区内",
            f"org {org_id} does not exist or is outside your jurisdiction",
        )
    return org


async def usable_rule(
    session: AsyncSession, principal: Principal, rule_id: int, *, field: str = "body.rule_id"
) -> tuple[PlanRule, Org]:
    """A rule the caller can see (their org's, one above or below)."""
    row = (
        await session.execute(
            select(PlanRule, Org).join(Org, PlanRule.org_id == Org.id).where(PlanRule.id == rule_id)
        )
    ).first()
    if row is None or not related(principal, row[1].path):
        raise InvalidField(
            field,
            f"检查规则 {rule_id} 不存在或不可用",
            f"rule {rule_id} does not exist or is not available to you",
        )
    return row[0], row[1]


def check_rule_reaches(rule_org: Org, org: Org) -> None:
    """A plan uses a rule of its own org or of one above it."""
    if not org.path.startswith(rule_org.path):
        raise InvalidField(
            "body.rule_id",
            f"规则属于「{rule_org.name}」，不能用于「{org.name}」的计划",
            f"the rule belongs to {rule_org.name} and cannot be used for {org.name}",
        )


def check_dates(start: date, end: date | None, field: str) -> None:
    if end is not None and end < start:
        raise InvalidField(
            field, "结束时间不能早于开始时间", "the end date is before the start date"
        )


def check_rule(data: RuleFields) -> None:
    """The form's rules that span fields."""
    check_dates(data.start_date, data.end_date, "body.end_date")
    if data.exit_count > 0 and data.exit_interval == 0:
        raise InvalidField(
            "body.exit_interval",
            "退出点检查次数大于 0 时，退出点检查频率应至少为 1",
            "with exit-point checks, their frequency must be at least 1",
        )


def schedule_of(data: RuleFields) -> Schedule:
    return Schedule(
        frequency=Frequency(data.frequency),
        interval=data.interval,
        validity=data.validity,
        validity_unit=ValidityUnit(data.validity_unit),
        exit_rule=MonthRule(data.exit_rule),
        exit_interval=data.exit_interval,
        exit_unit=ExitUnit(data.exit_unit),
        exit_count=data.exit_count,
        first_rule=MonthRule(data.first_rule),
    )


def apply(target: Any, changes: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Set the changed attributes; the (old, new) pairs of those that differ."""
    diff: dict[str, tuple[Any, Any]] = {}
    for name, new in changes.items():
        old = getattr(target, name)
        if old != new:
            diff[name] = (old, new)
            setattr(target, name, new)
    return diff
