"""Queries on inspections, their evidence and reviews (no permission checks: the service does)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from inspection_api.checkpoints.models import Checkpoint
from inspection_api.inspections.models import (
    CheckIn,
    Evidence,
    Inspection,
    InspectionKind,
    InspectionState,
    Review,
)
from inspection_api.orgs.models import Org
from inspection_api.users.models import User


@dataclass
class Row:
    """An inspection with what a list shows beside it."""

    inspection: Inspection
    checkpoint: Checkpoint
    org: Org
    inspector_name: str


def _rows_query() -> Any:
    inspector = aliased(User)
    return (
        select(Inspection, Checkpoint, Org, inspector.display_name)
        .join(Checkpoint, Inspection.checkpoint_id == Checkpoint.id)
        .join(Org, Inspection.org_id == Org.id)
        .outerjoin(inspector, Inspection.inspector_user_id == inspector.id)
    )


def _row(found: Any) -> Row:
    inspection, checkpoint, org, name = found
    return Row(inspection, checkpoint, org, name or inspection.contact_name)


async def get_row(session: AsyncSession, inspection_id: int) -> Row | None:
    found = (
        await session.execute(
            _rows_query()
            .where(Inspection.id == inspection_id)
            .execution_options(populate_existing=True)
        )
    ).first()
    return _row(found) if found else None


async def page(
    session: AsyncSession,
    org_path: str,
    filters: dict[str, Any],
    *,
    offset: int,
    limit: int,
) -> tuple[list[Row], int]:
    """Newest first, inside ``org_path``; filters: state, kind, org_id (its subtree, given as
    ``org_subtree`` path), checkpoint_id, remote_session_id, inspector_user_id."""
    conditions = [Org.path.startswith(org_path, autoescape=True)]
    if filters.get("org_subtree"):
        conditions.append(Org.path.startswith(filters["org_subtree"], autoescape=True))
    for name in ("state", "kind", "checkpoint_id", "remote_session_id", "inspector_user_id"):
        if filters.get(name) is not None:
            conditions.append(getattr(Inspection, name) == filters[name])
    total = await session.scalar(
        select(func.count())
        .select_from(Inspection)
        .join(Org, Inspection.org_id == Org.id)
        .where(*conditions)
    )
    found = await session.execute(
        _rows_query().where(*conditions).order_by(Inspection.id.desc()).offset(offset).limit(limit)
    )
    return [_row(r) for r in found.all()], int(total or 0)


async def check_ins_of(session: AsyncSession, inspection_id: int) -> list[tuple[CheckIn, str]]:
    """Every check-in of the inspection, oldest first, with who made it (the user's name, or
    the self-check's contact)."""
    found = await session.execute(
        select(CheckIn, User.display_name)
        .outerjoin(User, CheckIn.user_id == User.id)
        .where(CheckIn.inspection_id == inspection_id)
        .order_by(CheckIn.id)
    )
    return [(check_in, name or check_in.actor_name) for check_in, name in found.all()]


async def evidence_of(session: AsyncSession, inspection_id: int) -> list[Evidence]:
    """The evidence still attached (not removed), oldest first."""
    found = await session.scalars(
        select(Evidence)
        .where(Evidence.inspection_id == inspection_id, Evidence.removed_at.is_(None))
        .order_by(Evidence.id)
    )
    return list(found.all())


def counts(evidence: Collection[Evidence]) -> dict[str, dict[str, int]]:
    """``{item_key: {"photo": 2, …}}`` as ``checklists.rules.missing_evidence`` takes it."""
    found: dict[str, dict[str, int]] = {}
    for item in evidence:
        per_kind = found.setdefault(item.item_key, {})
        per_kind[item.kind] = per_kind.get(item.kind, 0) + 1
    return found


async def same_evidence(
    session: AsyncSession, inspection_id: int, item_key: str, sha256: str
) -> Evidence | None:
    """The same file already attached to the item (a retried upload)."""
    return await session.scalar(
        select(Evidence).where(
            Evidence.inspection_id == inspection_id,
            Evidence.item_key == item_key,
            Evidence.sha256 == sha256,
            Evidence.removed_at.is_(None),
        )
    )


async def reviews_of(session: AsyncSession, inspection_id: int) -> list[Review]:
    found = await session.scalars(
        select(Review).where(Review.inspection_id == inspection_id).order_by(Review.id)
    )
    return list(found.all())


async def open_on_site(
    session: AsyncSession, checkpoint_id: int, user_id: int
) -> Inspection | None:
    """The user's on-site inspection of the checkpoint still in progress, if any."""
    return await session.scalar(
        select(Inspection)
        .where(
            Inspection.checkpoint_id == checkpoint_id,
            Inspection.inspector_user_id == user_id,
            Inspection.kind == InspectionKind.ON_SITE,
            Inspection.state == InspectionState.DRAFT,
        )
        .order_by(Inspection.id.desc())
        .limit(1)
    )


async def move(
    session: AsyncSession,
    inspection: Inspection,
    sources: Collection[InspectionState],
    **values: Any,
) -> bool:
    """One conditional UPDATE: of two requests racing (two reviewers, a double submit)
    exactly one moves the inspection; false for the other."""
    result = await session.execute(
        update(Inspection)
        .where(Inspection.id == inspection.id, Inspection.state.in_(list(sources)))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    await session.refresh(inspection)
    return bool(getattr(result, "rowcount", 0))
