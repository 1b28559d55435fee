"""Queries on anomalies. Jurisdiction is a materialized-path prefix on the anomaly's 支行."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from inspection_api.anomalies.models import (
    Anomaly,
    AnomalyEvent,
    AnomalySource,
    AnomalyState,
)
from inspection_api.auth.principal import Role
from inspection_api.checklists.content import Severity
from inspection_api.checkpoints.models import Checkpoint
from inspection_api.orgs.models import Org
from inspection_api.users.models import User, UserRole

HandlerOrg = aliased(Org, name="handler_org")


@dataclass(frozen=True)
class Filters:
    scope_path: str  # an org's path: anomalies of that org and its descendants
    state: AnomalyState | None = None
    severity: Severity | None = None
    source: AnomalySource | None = None
    checkpoint_id: int | None = None
    inspection_id: int | None = None
    handler_org_id: int | None = None
    escalated: bool | None = None
    overdue_at: datetime | None = None  # only open ones whose deadline passed at this moment


@dataclass(frozen=True)
class AnomalyRow:
    anomaly: Anomaly
    org: Org  # the 支行
    checkpoint: Checkpoint
    handler_org: Org | None


def _joined(columns: Any) -> Select:  # type: ignore[type-arg]
    return (
        select(*columns)
        .join(Org, Anomaly.org_id == Org.id)
        .join(Checkpoint, Anomaly.checkpoint_id == Checkpoint.id)
        .outerjoin(HandlerOrg, Anomaly.handler_org_id == HandlerOrg.id)
    )


def _filtered(query: Select, filters: Filters) -> Select:  # type: ignore[type-arg]
    query = query.where(Org.path.startswith(filters.scope_path, autoescape=True))
    for column, value in (
        (Anomaly.state, filters.state),
        (Anomaly.severity, filters.severity),
        (Anomaly.source, filters.source),
        (Anomaly.checkpoint_id, filters.checkpoint_id),
        (Anomaly.inspection_id, filters.inspection_id),
        (Anomaly.handler_org_id, filters.handler_org_id),
    ):
        if value is not None:
            query = query.where(column == value)
    if filters.escalated is True:
        query = query.where(Anomaly.escalation_level > 0)
    elif filters.escalated is False:
        query = query.where(Anomaly.escalation_level == 0)
    if filters.overdue_at is not None:
        query = query.where(
            Anomaly.state == AnomalyState.OPEN, Anomaly.deadline <= filters.overdue_at
        )
    return query


async def get_row(session: AsyncSession, anomaly_id: int) -> AnomalyRow | None:
    row = (
        await session.execute(
            _joined((Anomaly, Org, Checkpoint, HandlerOrg)).where(Anomaly.id == anomaly_id)
        )
    ).first()
    return AnomalyRow(*row) if row else None


async def search(
    session: AsyncSession, filters: Filters, *, offset: int, limit: int
) -> tuple[list[AnomalyRow], int]:
    """One page, newest first, and the number of matches."""
    page = (
        _filtered(_joined((Anomaly, Org, Checkpoint, HandlerOrg)), filters)
        .order_by(Anomaly.id.desc())
        .offset(offset)
        .limit(limit)
    )
    rows = [AnomalyRow(*row) for row in (await session.execute(page)).all()]
    total = await session.scalar(_filtered(_joined((func.count(Anomaly.id),)), filters))
    return rows, int(total or 0)


async def unrouted_ids(session: AsyncSession, scope_path: str) -> list[int]:
    """Open anomalies of ``scope_path`` and below routed to nobody (raised where no org up
    the tree had exception handlers)."""
    query = (
        select(Anomaly.id)
        .join(Org, Anomaly.org_id == Org.id)
        .where(
            Anomaly.handler_org_id.is_(None),
            Anomaly.state == AnomalyState.OPEN,
            Org.path.startswith(scope_path, autoescape=True),
        )
        .order_by(Anomaly.id)
    )
    return list((await session.scalars(query)).all())


async def rows_with_ids(session: AsyncSession, ids: Collection[int]) -> list[AnomalyRow]:
    query = _joined((Anomaly, Org, Checkpoint, HandlerOrg)).where(Anomaly.id.in_(ids))
    return [AnomalyRow(*row) for row in (await session.execute(query.order_by(Anomaly.id))).all()]


async def handlers_in(session: AsyncSession, org_ids: Collection[int]) -> dict[int, list[int]]:
    """The active exception handlers (异常处理人) of each of ``org_ids`` that has any."""
    if not org_ids:
        return {}
    rows = await session.execute(
        select(User.org_id, User.id)
        .join(UserRole, UserRole.user_id == User.id)
        .where(
            User.org_id.in_(org_ids),
            User.is_active.is_(True),
            UserRole.role == Role.EXCEPTION_HANDLER.value,
        )
        .order_by(User.id)
    )
    handlers: dict[int, list[int]] = {}
    for org_id, user_id in rows.all():
        handlers.setdefault(org_id, []).append(user_id)
    return handlers


async def orgs_by_id(session: AsyncSession, ids: Collection[int]) -> dict[int, Org]:
    if not ids:
        return {}
    return {org.id: org for org in (await session.scalars(select(Org).where(Org.id.in_(ids))))}


async def events_of(session: AsyncSession, anomaly_id: int) -> list[AnomalyEvent]:
    query = select(AnomalyEvent).where(AnomalyEvent.anomaly_id == anomaly_id)
    return list((await session.scalars(query.order_by(AnomalyEvent.id))).all())


async def move(
    session: AsyncSession,
    anomaly: Anomaly,
    sources: Collection[AnomalyState],
    *,
    expect: dict[str, Any] | None = None,
    **values: Any,
) -> bool:
    """Change the anomaly only while its state is one of ``sources`` (and its columns equal
    ``expect``): of two handlers, or a handler and the escalation run, one wins. The row is
    refreshed either way."""
    conditions = [Anomaly.id == anomaly.id, Anomaly.state.in_(list(sources))]
    conditions += [getattr(Anomaly, name) == value for name, value in (expect or {}).items()]
    result = await session.execute(
        update(Anomaly)
        .where(*conditions)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    await session.refresh(anomaly)
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def overdue_ids(session: AsyncSession, now: datetime, limit: int) -> list[int]:
    """Open anomalies whose deadline has passed, oldest deadline first."""
    query = (
        select(Anomaly.id)
        .where(Anomaly.state == AnomalyState.OPEN, Anomaly.deadline <= now)
        .order_by(Anomaly.deadline, Anomaly.id)
        .limit(limit)
    )
    return list((await session.scalars(query)).all())
