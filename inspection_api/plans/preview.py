"""The tasks a plan would generate, before it is saved: the same rules as the generator,
with the unsaved plan added to the plans already in force (a more specific plan still
overrides it), over the coming months. Nothing is written."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inspection_api.auth.permissions import Permission, require
from inspection_api.auth.principal import Principal
from inspection_api.checkpoints.models import Checkpoint
from inspection_api.db import utcnow
from inspection_api.errors import InvalidField
from inspection_api.orgs.models import Org
from inspection_api.plans import rules
from inspection_api.plans.generator import (
    Period,
    PlanSpec,
    Window,
    local_date,
    month_start,
    periods,
)
from inspection_api.plans.schemas import PreviewIn, PreviewOut, PreviewPeriod, PreviewTask
from inspection_api.plans.sync import (
    CheckpointRow,
    PlanChains,
    depth,
    existing_tasks,
    load_chains,
    load_checkpoints,
    owed,
    replaceable,
)

SAMPLE = 20


async def preview(session: AsyncSession, principal: Principal, data: PreviewIn) -> PreviewOut:
    require(principal, Permission.PLAN_MANAGE)
    if (data.rule_id is None) == (data.rule is None):
        raise InvalidField(
            "body.rule_id",
            "请选择检查规则（rule_id），或填写规则（rule），二者选一",
            "give either rule_id or rule",
        )
    if data.rule is not None:
        rules.check_rule(data.rule)
        schedule, rule_window = (
            rules.schedule_of(data.rule),
            Window(data.rule.start_date, data.rule.end_date),
        )
        rule_org = None
    else:
        assert data.rule_id is not None
        rule, rule_org = await rules.usable_rule(session, principal, data.rule_id)
        schedule, rule_window = rule.schedule(), rule.window
    start = data.start_date or rule_window.start
    end = data.end_date if "end_date" in data.model_fields_set else rule_window.end
    rules.check_dates(start, end, "body.end_date")
    orgs = [
        await rules.governed_org(session, principal, org_id, field="body.org_ids")
        for org_id in dict.fromkeys(data.org_ids)
    ]
    if rule_org is not None:
        for org in orgs:
            rules.check_rule_reaches(rule_org, org)

    today = local_date(utcnow())
    # This month and the next ``months - 1``, whole.
    until = month_start(max(today, start), data.months) - timedelta(days=1)
    window = Window(start, end).intersect(rule_window)
    chains = await load_chains(session, skip_plan=data.plan_id)
    candidates: dict[int, PlanSpec] = {}
    checkpoints: dict[int, CheckpointRow] = {}
    for index, org in enumerate(orgs):
        if window is not None:
            spec = PlanSpec(-(index + 1), depth(org.path), schedule, window)
            candidates[spec.plan_id] = spec
            chains.by_path.setdefault(org.path, []).append(spec)
        for row in await load_checkpoints(session, org.path):
            checkpoints[row.id] = row
    if window is not None:
        until = min(until, window.end or until)

    wanted = owed(chains, list(checkpoints.values()), until)
    found = sorted(
        (period, cp_id)
        for (cp_id, plan_id, _), (_, period) in wanted.items()
        if plan_id in candidates
    )
    reached = {cp_id for _, cp_id in found}
    overridden = 0
    for row in checkpoints.values():
        alone = any(
            periods(spec.schedule, spec.window, row.dates, until)
            for spec in candidates.values()
            if row.org_path.startswith(_path_of(orgs, spec.plan_id))
        )
        if alone and row.id not in reached:
            overridden += 1
    counts = Counter(period for period, _ in found)
    removed = await _removed(session, chains, orgs, list(checkpoints.values()), today, data)
    return PreviewOut(
        today=today,
        until=until,
        checkpoints=len(checkpoints),
        overridden=overridden,
        total=len(found),
        due_now=sum(n for period, n in counts.items() if period.start <= today),
        removed=removed,
        periods=[
            PreviewPeriod(
                period_start=p.start,
                period_end=p.end,
                kind=p.kind,
                count=n,
                due_now=p.start <= today,
            )
            for p, n in sorted(counts.items())
        ],
        sample=await _sample(session, found[:SAMPLE]),
    )


async def _removed(
    session: AsyncSession,
    chains: PlanChains,
    orgs: list[Org],
    checkpoints: list[CheckpointRow],
    today: date,
    data: PreviewIn,
) -> int:
    """How many tasks saving would delete, as the generator decides (``sync.sync_tasks``):
    open ones of the chosen orgs' checkpoints that no plan, the unsaved one included,
    requires any more. An edited plan keeps its id, so its tasks that stay do not count."""
    wanted = owed(chains, checkpoints, today)
    if data.plan_id is not None:
        wanted = {
            (cp, data.plan_id if plan < 0 else plan, start): value
            for (cp, plan, start), value in wanted.items()
        }
    removed: set[int] = set()  # task ids: nested orgs list a task twice
    for org in orgs:
        for ident, cp, plan, start, end, _kind, state, started, _org in await existing_tasks(
            session, org.path
        ):
            if (cp, plan, start) not in wanted and replaceable(state, started, end, today):
                removed.add(ident)
    return len(removed)


def _path_of(orgs: list[Org], candidate_id: int) -> str:
    return orgs[-candidate_id - 1].path


async def _sample(session: AsyncSession, found: list[tuple[Period, int]]) -> list[PreviewTask]:
    ids = {cp_id for _, cp_id in found}
    if not ids:
        return []
    rows = await session.execute(
        select(Checkpoint.id, Checkpoint.code, Checkpoint.name, Org.name)
        .join(Org, Checkpoint.org_id == Org.id)
        .where(Checkpoint.id.in_(ids))
    )
    facts = {ident: (code, name, org) for ident, code, name, org in rows.all()}
    sample = []
    for period, cp_id in found:
        code, name, org = facts[cp_id]
        sample.append(
            PreviewTask(
                checkpoint_id=cp_id,
                checkpoint_code=code,
                checkpoint_name=name,
                org_name=org,
                period_start=period.start,
                period_end=period.end,
                kind=period.kind,
            )
        )
    return sample
