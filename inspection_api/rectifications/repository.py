"""Queries on rectifications. Jurisdiction is a materialized-path prefix on their 支行."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from inspection_api.anomalies.models import Anomaly
from inspection_api.checkpoints.models import Checkpoint
from inspection_api.orgs.models import Org
from inspection_api.rectifications.models import (
    Rectification,
    RectificationEvent,
    RectificationPhoto,
    RectificationState,
)
from inspection_api.rectifications.rules import AWAITING_CONTACT
from inspection_api.users.models import User

Responsible = aliased(User, name="responsible")


@dataclass(frozen=True)
class Filters:
    scope_path: str  # an org's path: rectifications of that org and its descendants
    state: RectificationState | None = None
    checkpoint_id: int | None = None
    anomaly_id: int | None = None
    inspection_id: int | None = None
    responsible_user_id: int | None = None
    overdue_on: date | None = None  # only those awaiting the enterprise, due before this day


@dataclass(frozen=True)
class RectificationRow:
    rectification: Rectification
    org: Org  # the 支行
    checkpoint: Checkpoint
    responsible: User
    anomaly: Anomaly | None


_COLUMNS = (Rectification, Org, Checkpoint, Responsible, Anomaly)


def _joined(columns: Any) -> Select:  # type: ignore[type-arg]
    return (
        select(*columns)
        .join(Org, Rectification.org_id == Org.id)
        .join(Checkpoint, Rectification.checkpoint_id == Checkpoint.id)
        .join(Responsible, Rectification.responsible_user_id == Responsible.id)
        .outerjoin(Anomaly, Rectification.anomaly_id == Anomaly.id)
    )


def _filtered(query: Select, filters: Filters) -> Select:  # type: ignore[type-arg]
    query = query.where(Org.path.startswith(filters.scope_path, autoescape=True))
    for column, value in (
        (Rectification.state, filters.state),
        (Rectification.checkpoint_id, filters.checkpoint_id),
        (Rectification.anomaly_id, filters.anomaly_id),
        (Rectification.inspection_id, filters.inspection_id),
        (Rectification.responsible_user_id, filters.responsible_user_id),
    ):
        if value is not None:
            query = query.where(column == value)
    if filters.overdue_on is not None:
        query = query.where(
            Rectification.state.in_(list(AWAITING_CONTACT)),
            Rectification.due_date < filters.overdue_on,
        )
    return query


async def get_row(session: AsyncSession, rectification_id: int) -> RectificationRow | None:
    query = _joined(_COLUMNS).where(Rectification.id == rectification_id)
    row = (await session.execute(query)).first()
    return RectificationRow(*row) if row else None


async def by_token_hash(session: AsyncSession, token_hash: str) -> RectificationRow | None:
    query = _joined(_COLUMNS).where(Rectification.token_hash == token_hash)
    row = (await session.execute(query)).first()
    return RectificationRow(*row) if row else None


async def search(
    session: AsyncSession, filters: Filters, *, offset: int, limit: int
) -> tuple[list[RectificationRow], int]:
    """One page, newest first, and the number of matches."""
    page = (
        _filtered(_joined(_COLUMNS), filters)
        .order_by(Rectification.id.desc())
        .offset(offset)
        .limit(limit)
    )
    rows = [RectificationRow(*row) for row in (await session.execute(page)).all()]
    total = await session.scalar(_filtered(_joined((func.count(Rectification.id),)), filters))
    return rows, int(total or 0)


async def events_of(session: AsyncSession, rectification_id: int) -> list[RectificationEvent]:
    query = select(RectificationEvent).where(
        RectificationEvent.rectification_id == rectification_id
    )
    return list((await session.scalars(query.order_by(RectificationEvent.id))).all())


async def photos_of(session: AsyncSession, rectification_id: int) -> list[RectificationPhoto]:
    query = select(RectificationPhoto).where(
        RectificationPhoto.rectification_id == rectification_id
    )
    return list((await session.scalars(query.order_by(RectificationPhoto.id))).all())


async def move(
    session: AsyncSession,
    rectification: Rectification,
    sources: Collection[RectificationState],
    **values: Any,
) -> bool:
    """Change it only while its state is one of ``sources``: of two people acting at once
    (the contact replying while the bank closes), one wins. Refreshed either way."""
    result = await session.execute(
        update(Rectification)
        .where(Rectification.id == rectification.id, Rectification.state.in_(list(sources)))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    await session.refresh(rectification)
    return bool(result.rowcount)  # type: ignore[attr-defined]
