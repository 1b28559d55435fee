"""实时监管: completion, coverage, details, trends, anomalies, indicators and conclusions of
an org of the caller's jurisdiction over a window of days. Definitions: docs/supervision.md.

Every function takes the session and the principal explicitly; the figures come from
``repository`` (aggregate SQL); this module only checks access, names the groups and
shapes the aggregates.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inspection_api.auth.permissions import ROLE_PERMISSIONS, Permission, require
from inspection_api.auth.principal import Principal
from inspection_api.errors import FieldError, OutsideJurisdiction, ValidationFailed
from inspection_api.orgs.models import Org
from inspection_api.supervision import repository as repo
from inspection_api.supervision.repository import (
    AnomalyCounts,
    Completion,
    DetailFilters,
    Filters,
    GroupBy,
    OrgRow,
    Scope,
)
from inspection_api.supervision.window import (
    MAX_DAYS,
    Granularity,
    Window,
    buckets,
    parse_period,
    trend_window,
)
from inspection_api.users.models import User, UserRole

SUPERVISOR_ROLES = frozenset(
    r for r, p in ROLE_PERMISSIONS.items() if Permission.SUPERVISION_READ in p
)


def window_of(
    period: str | None, date_from: date | None, date_to: date | None, today: date
) -> Window:
    """The report's days: a period, a custom range, or this month."""
    if date_from is not None or date_to is not None:
        if period is not None:
            raise ValidationFailed(
                [
                    FieldError(
                        "query.period",
                        "统计期间与自定义日期范围只能选一种",
                        "give either period or date_from/date_to, not both",
                    )
                ]
            )
        missing = "query.date_to" if date_to is None else "query.date_from"
        if date_from is None or date_to is None:
            raise ValidationFailed(
                [FieldError(missing, "自定义日期范围须同时给出开始和结束日期", "both dates needed")]
            )
        if date_to < date_from:
            raise ValidationFailed(
                [
                    FieldError(
                        "query.date_to", "结束日期不能早于开始日期", "must not be before date_from"
                    )
                ]
            )
        if (date_to - date_from).days + 1 > MAX_DAYS:
            raise ValidationFailed(
                [
                    FieldError(
                        "query.date_to",
                        f"日期范围最长 {MAX_DAYS} 天",
                        f"a range spans at most {MAX_DAYS} days",
                    )
                ]
            )
        return Window(date_from, date_to)
    return parse_period(period or f"{today.year}-{today.month:02d}")


@dataclass(frozen=True)
class Context:
    """The org a report is about, its subtree's orgs, and how to name them."""

    scope: Scope
    org: OrgRow
    orgs: dict[int, OrgRow]
    trail: list[OrgRow]  # from the caller's org down to the scope org

    def children(self) -> list[OrgRow]:
        return [o for o in self.orgs.values() if o.parent_id == self.org.id]


async def context(session: AsyncSession, principal: Principal, org_id: int | None) -> Context:
    """Refuse (404, as a record that does not exist) any org outside the jurisdiction."""
    require(principal, Permission.SUPERVISION_READ)
    org_id = principal.org_id if org_id is None else org_id
    path = await session.scalar(select(Org.path).where(Org.id == org_id))
    if path is None or not principal.governs(path):
        raise OutsideJurisdiction(resource="org", id=org_id)
    scope = Scope(org_id=org_id, path=path)
    around = await repo.orgs_around(session, scope)
    orgs = {o.id: o for o in around if o.path.startswith(path)}
    # From the caller's own org down to this one: the breadcrumb.
    trail = sorted(
        (o for o in around if path.startswith(o.path) and principal.governs(o.path)),
        key=lambda o: len(o.path),
    )
    return Context(scope=scope, org=orgs[org_id], orgs=orgs, trail=trail)


@dataclass(frozen=True)
class Group:
    id: int
    name: str
    kind: str
    code: str
    drill: str  # org | checkpoint | inspections


def _drill(ctx: Context, org: OrgRow) -> str:
    has_children = any(o.parent_id == org.id for o in ctx.orgs.values())
    return "org" if has_children and org.id != ctx.org.id else "checkpoint"


async def groups_of(
    session: AsyncSession, ctx: Context, group_by: GroupBy, ids_with_rows: Sequence[int]
) -> list[Group]:
    """The rows of a grouped table, in order: every child org (or every 支行) even without
    figures, the scope's own rows when it has some; checkpoints only with figures."""
    if group_by == GroupBy.CHECKPOINT:
        names = await repo.checkpoint_names(session, ids_with_rows)
        ordered = sorted(names.items(), key=lambda item: item[1][0])
        return [Group(i, name, "checkpoint", code, "inspections") for i, (code, name, _) in ordered]
    own = ""
    if group_by == GroupBy.CHILD:
        chosen = ctx.children()
        own = "（本级）" if chosen else ""  # its own rows, beside those of the orgs below
        if ctx.org.id in ids_with_rows or not chosen:
            chosen = [*chosen, ctx.org]
    else:
        chosen = [
            o for o in ctx.orgs.values() if o.kind == "sub_branch" or o.id in set(ids_with_rows)
        ]
    return [
        Group(
            o.id,
            f"{o.name}{own}" if o.id == ctx.org.id else o.name,
            o.kind,
            "",
            _drill(ctx, o) if group_by == GroupBy.CHILD else "checkpoint",
        )
        for o in sorted(chosen, key=lambda o: o.path)
    ]


@dataclass(frozen=True)
class CompletionResult:
    ctx: Context
    window: Window
    rows: list[tuple[Group, Completion]]
    total: Completion


async def completion_report(
    session: AsyncSession,
    principal: Principal,
    *,
    org_id: int | None,
    window: Window,
    group_by: GroupBy,
    filters: Filters,
    today: date,
) -> CompletionResult:
    """分行完成率 / 支行完成率: 完成率 and 覆盖率 per group and for the whole org."""
    ctx = await context(session, principal, org_id)
    return await completion_for(
        session, ctx, window=window, group_by=group_by, filters=filters, today=today
    )


async def completion_for(
    session: AsyncSession,
    ctx: Context,
    *,
    window: Window,
    group_by: GroupBy,
    filters: Filters,
    today: date,
) -> CompletionResult:
    """``completion_report`` of a context already checked."""
    per_group, total = await repo.completion(
        session, ctx.scope, window, today=today, group_by=group_by, filters=filters
    )
    groups = await groups_of(session, ctx, group_by, list(per_group))
    rows = [(g, per_group.get(g.id, Completion())) for g in groups]
    return CompletionResult(ctx, window, rows, total)


@dataclass(frozen=True)
class TrendResult:
    ctx: Context
    window: Window
    points: list[tuple[Window, Completion, int, int]]  # bucket, figures, inspections, anomalies


async def trend(
    session: AsyncSession,
    principal: Principal,
    *,
    org_id: int | None,
    window: Window,
    granularity: Granularity,
    filters: Filters,
    today: date,
) -> TrendResult:
    """报表曲线: per month, quarter or year of the window."""
    ctx = await context(session, principal, org_id)
    return await trend_for(
        session, ctx, window=window, granularity=granularity, filters=filters, today=today
    )


async def trend_for(
    session: AsyncSession,
    ctx: Context,
    *,
    window: Window,
    granularity: Granularity,
    filters: Filters,
    today: date,
) -> TrendResult:
    """``trend`` of a context already checked."""
    cuts = buckets(window, granularity)
    figures = await repo.completion_trend(session, ctx.scope, cuts, today=today, filters=filters)
    inspections = await repo.inspection_trend(session, ctx.scope, cuts, filters=filters)
    anomalies = await repo.anomaly_trend(session, ctx.scope, cuts, filters=filters)
    return TrendResult(ctx, window, list(zip(cuts, figures, inspections, anomalies, strict=True)))


CONCLUSION_KEYS = ("normal", "watch", "close_watch", "exit")


@dataclass(frozen=True)
class ConclusionResult:
    ctx: Context
    window: Window
    rows: list[tuple[Group, dict[str, int]]]
    by_kind: dict[str, dict[str, int]]
    total: dict[str, int]


def _count_into(target: dict[str, int], conclusion: str | None, n: int) -> None:
    key = conclusion if conclusion in CONCLUSION_KEYS else "none"
    target[key] = target.get(key, 0) + n
    target["total"] = target.get("total", 0) + n


async def conclusion_report(
    session: AsyncSession,
    principal: Principal,
    *,
    org_id: int | None,
    window: Window,
    group_by: GroupBy,
    filters: Filters,
) -> ConclusionResult:
    """巡检结论统计表: submitted inspections by conclusion, per group and per kind."""
    ctx = await context(session, principal, org_id)
    return await conclusions_for(session, ctx, window=window, group_by=group_by, filters=filters)


async def conclusions_for(
    session: AsyncSession, ctx: Context, *, window: Window, group_by: GroupBy, filters: Filters
) -> ConclusionResult:
    """``conclusion_report`` of a context already checked."""
    counted = await repo.conclusions(session, ctx.scope, window, group_by=group_by, filters=filters)
    per_group: dict[int, dict[str, int]] = {}
    by_kind: dict[str, dict[str, int]] = {}
    total: dict[str, int] = {}
    for group_id, kind, conclusion, n in counted:  # aggregates: one per group, kind, conclusion
        _count_into(per_group.setdefault(group_id, {}), conclusion, n)
        _count_into(by_kind.setdefault(kind, {}), conclusion, n)
        _count_into(total, conclusion, n)
    groups = await groups_of(session, ctx, group_by, list(per_group))
    return ConclusionResult(
        ctx, window, [(g, per_group.get(g.id, {})) for g in groups], by_kind, total
    )


@dataclass(frozen=True)
class AnomalyResult:
    ctx: Context
    window: Window
    rows: list[tuple[Group, AnomalyCounts]]
    total: AnomalyCounts


async def anomaly_report(
    session: AsyncSession,
    principal: Principal,
    *,
    org_id: int | None,
    window: Window,
    group_by: GroupBy,
    filters: Filters,
    now: datetime,
) -> AnomalyResult:
    """异常汇总: anomalies raised in the window, by severity, state, overdue and escalated."""
    ctx = await context(session, principal, org_id)
    return await anomalies_for(
        session, ctx, window=window, group_by=group_by, filters=filters, now=now
    )


async def anomalies_for(
    session: AsyncSession,
    ctx: Context,
    *,
    window: Window,
    group_by: GroupBy,
    filters: Filters,
    now: datetime,
) -> AnomalyResult:
    """``anomaly_report`` of a context already checked."""
    per_group = await repo.anomaly_summary(
        session, ctx.scope, window, now=now, group_by=group_by, filters=filters
    )
    total = AnomalyCounts()
    for counts in per_group.values():  # each anomaly is in exactly one group
        total.total += counts.total
        total.overdue += counts.overdue
        total.escalated += counts.escalated
        for name, n in counts.by_severity.items():
            total.by_severity[name] = total.by_severity.get(name, 0) + n
        for name, n in counts.by_state.items():
            total.by_state[name] = total.by_state.get(name, 0) + n
    groups = await groups_of(session, ctx, group_by, list(per_group))
    return AnomalyResult(
        ctx, window, [(g, per_group.get(g.id, AnomalyCounts())) for g in groups], total
    )


@dataclass(frozen=True)
class IndicatorResult:
    ctx: Context
    window: Window
    columns: list[Window]
    rows: list[tuple[str, list[int]]]  # indicator, count per column


async def indicator_report(
    session: AsyncSession,
    principal: Principal,
    *,
    org_id: int | None,
    window: Window,
    filters: Filters,
) -> IndicatorResult:
    """预警指示统计表: each warning indicator raised by a checklist rule, per quarter."""
    ctx = await context(session, principal, org_id)
    return await indicators_for(session, ctx, window=window, filters=filters)


async def indicators_for(
    session: AsyncSession, ctx: Context, *, window: Window, filters: Filters
) -> IndicatorResult:
    """``indicator_report`` of a context already checked."""
    columns = buckets(window, Granularity.QUARTER)
    counted = await repo.indicators(session, ctx.scope, columns, filters=filters)
    table: dict[str, list[int]] = {}
    for indicator, column, n in counted:
        table.setdefault(indicator, [0] * len(columns))[column] += n
    rows = sorted(table.items(), key=lambda item: (-sum(item[1]), item[0]))
    return IndicatorResult(ctx, window, columns, rows)


@dataclass(frozen=True)
class DetailResult:
    ctx: Context
    window: Window
    rows: list[Any]
    total: int


async def details(
    session: AsyncSession,
    principal: Principal,
    *,
    org_id: int | None,
    window: Window,
    filters: Filters,
    extra: DetailFilters,
    offset: int,
    limit: int,
) -> DetailResult:
    """检查明细: one page of submitted inspections, newest first."""
    ctx = await context(session, principal, org_id)
    return await details_for(
        session, ctx, window=window, filters=filters, extra=extra, offset=offset, limit=limit
    )


async def details_for(
    session: AsyncSession,
    ctx: Context,
    *,
    window: Window,
    filters: Filters,
    extra: DetailFilters,
    offset: int,
    limit: int,
) -> DetailResult:
    """``details`` of a context already checked."""
    query = repo.details_select(ctx.scope, window, filters, extra).offset(offset).limit(limit)
    rows = list((await session.execute(query)).all())
    total = await repo.details_count(session, ctx.scope, window, filters, extra)
    return DetailResult(ctx, window, rows, total)


@dataclass(frozen=True)
class OverviewResult:
    """Everything 实时监管 shows at first paint, from one context (one jurisdiction check)."""

    ctx: Context
    window: Window
    group: GroupBy  # the completion table's rows: as asked, checkpoints for a 支行
    completion: CompletionResult
    trend: TrendResult
    anomalies: AnomalyResult
    indicators: IndicatorResult
    conclusions: ConclusionResult
    details: DetailResult


async def overview(
    session: AsyncSession,
    principal: Principal,
    *,
    org_id: int | None,
    window: Window,
    group_by: GroupBy,
    filters: Filters,
    extra: DetailFilters,
    limit: int,
    today: date,
    now: datetime,
) -> OverviewResult:
    """The console's landing: the completion table (per checkpoint for an org with no org
    below it), the trend over ``trend_window``, the anomaly, indicator and conclusion tables
    (grouped as asked) and the first page of details; each as its own report answers it."""
    ctx = await context(session, principal, org_id)
    table = GroupBy.CHECKPOINT if group_by == GroupBy.CHILD and not ctx.children() else group_by
    completion = await completion_for(
        session, ctx, window=window, group_by=table, filters=filters, today=today
    )
    trend = await trend_for(
        session,
        ctx,
        window=trend_window(window),
        granularity=Granularity.MONTH,
        filters=filters,
        today=today,
    )
    anomalies = await anomalies_for(
        session, ctx, window=window, group_by=group_by, filters=filters, now=now
    )
    indicators = await indicators_for(session, ctx, window=window, filters=filters)
    conclusions = await conclusions_for(
        session, ctx, window=window, group_by=group_by, filters=filters
    )
    details = await details_for(
        session, ctx, window=window, filters=filters, extra=extra, offset=0, limit=limit
    )
    return OverviewResult(
        ctx, window, table, completion, trend, anomalies, indicators, conclusions, details
    )


async def stream_details(
    session: AsyncSession, ctx: Context, window: Window, filters: Filters, extra: DetailFilters
) -> AsyncIterator[Sequence[Any]]:
    """Every matching inspection, in chunks read from a cursor (exports)."""
    result = await session.stream(
        repo.details_select(ctx.scope, window, filters, extra).execution_options(yield_per=2000)
    )
    async for chunk in result.partitions(2000):
        yield chunk


async def supervisors_of(session: AsyncSession, org_path: str) -> list[int]:
    """Active users who supervise the org at ``org_path`` (their org is it or above it):
    they are told when an inspection there lands."""
    ancestors = [
        f"/{'/'.join(org_path.strip('/').split('/')[:n])}/" for n in range(1, org_path.count("/"))
    ]
    rows = await session.scalars(
        select(User.id)
        .distinct()
        .join(Org, User.org_id == Org.id)
        .join(UserRole, UserRole.user_id == User.id)
        .where(
            User.is_active.is_(True),
            Org.path.in_(ancestors),
            UserRole.role.in_([r.value for r in SUPERVISOR_ROLES]),
        )
    )
    return list(rows.all())
