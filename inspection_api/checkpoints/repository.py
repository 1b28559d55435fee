"""Queries on checkpoints. Jurisdiction is a materialized-path prefix on the checkpoint's org."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from inspection_api.checkpoints.models import (
    Checkpoint,
    CheckpointStatus,
    ExitReason,
    LoanClassification,
)
from inspection_api.orgs.models import Org


@dataclass(frozen=True)
class Filters:
    scope_path: str  # an org's path: that org and its descendants
    status: CheckpointStatus | None = None
    exit_reason: ExitReason | None = None
    classification: LoanClassification | None = None
    bound: bool | None = None
    q: str | None = None


async def get_with_org(session: AsyncSession, checkpoint_id: int) -> tuple[Checkpoint, Org] | None:
    row = (
        await session.execute(
            select(Checkpoint, Org)
            .join(Org, Checkpoint.org_id == Org.id)
            .where(Checkpoint.id == checkpoint_id)
        )
    ).first()
    return (row[0], row[1]) if row else None


async def code_taken(session: AsyncSession, code: str, *, other_than: int | None = None) -> bool:
    query = select(Checkpoint.id).where(func.lower(Checkpoint.code) == code.lower())
    if other_than is not None:
        query = query.where(Checkpoint.id != other_than)
    return await session.scalar(query) is not None


def _filtered(query: Select, filters: Filters) -> Select:  # type: ignore[type-arg]
    query = query.where(Org.path.startswith(filters.scope_path, autoescape=True))
    if filters.status == CheckpointStatus.ACTIVE:
        query = query.where(Checkpoint.exit_reason.is_(None))
    elif filters.status == CheckpointStatus.EXITED:
        query = query.where(Checkpoint.exit_reason.is_not(None))
    if filters.exit_reason is not None:
        query = query.where(Checkpoint.exit_reason == filters.exit_reason)
    if filters.classification is not None:
        query = query.where(Checkpoint.classification == filters.classification)
    if filters.bound is True:
        query = query.where(Checkpoint.latitude.is_not(None))
    elif filters.bound is False:
        query = query.where(Checkpoint.latitude.is_(None))
    if filters.q:
        query = query.where(
            or_(
                Checkpoint.name.icontains(filters.q, autoescape=True),
                Checkpoint.code.icontains(filters.q, autoescape=True),
                Checkpoint.customer_name.icontains(filters.q, autoescape=True),
            )
        )
    return query


async def search(
    session: AsyncSession, filters: Filters, *, offset: int, limit: int
) -> tuple[list[tuple[Checkpoint, Org]], int]:
    """One page in code order, and the number of matches."""
    base = select(Checkpoint, Org).join(Org, Checkpoint.org_id == Org.id)
    page = _filtered(base, filters).order_by(Checkpoint.code).offset(offset).limit(limit)
    rows = [(row[0], row[1]) for row in (await session.execute(page)).all()]
    counted = _filtered(
        select(func.count(Checkpoint.id)).join(Org, Checkpoint.org_id == Org.id), filters
    )
    total = await session.scalar(counted)
    return rows, int(total or 0)


async def with_ids(session: AsyncSession, ids: Sequence[int]) -> list[tuple[Checkpoint, Org]]:
    """The checkpoints among ``ids`` that exist, in code order."""
    query = (
        select(Checkpoint, Org)
        .join(Org, Checkpoint.org_id == Org.id)
        .where(Checkpoint.id.in_(ids))
        .order_by(Checkpoint.code)
    )
    return [(row[0], row[1]) for row in (await session.execute(query)).all()]


async def has_records(session: AsyncSession, checkpoint_id: int) -> bool:
    """Whether any row of another table (anomalies, rectifications, …) refers to it: found
    through the foreign keys in the metadata, so a new domain's records count at once."""
    checkpoints = Checkpoint.__table__
    for table in Checkpoint.metadata.sorted_tables:
        for key in table.foreign_keys:
            if key.column.table is checkpoints and table is not checkpoints:
                query = select(key.parent).where(key.parent == checkpoint_id).limit(1)
                if await session.scalar(query) is not None:
                    return True
    return False


async def bind_position(
    session: AsyncSession,
    checkpoint: Checkpoint,
    *,
    latitude: float,
    longitude: float,
    at: datetime,
    user_id: int | None,
) -> bool:
    """Set the position only while there is none: of two first scans racing, one binds and
    the other is verified against it. The row is refreshed either way."""
    result = await session.execute(
        update(Checkpoint)
        .where(Checkpoint.id == checkpoint.id, Checkpoint.latitude.is_(None))
        .values(
            latitude=latitude,
            longitude=longitude,
            bound_at=at,
            bound_by_user_id=user_id,
            last_checked_in_at=at,
        )
        .execution_options(synchronize_session=False)
    )
    await session.refresh(checkpoint)
    return bool(result.rowcount)  # type: ignore[attr-defined]
