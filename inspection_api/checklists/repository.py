"""Queries on checklist templates and versions (no permission checks: the service does them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from inspection_api.checklists.models import (
    ChecklistTemplate,
    ChecklistVersion,
    TemplateStatus,
    VersionStatus,
)
from inspection_api.orgs.models import Org


def ancestor_paths(org_path: str) -> list[str]:
    """ "/1/4/9/" → ["/1/", "/1/4/", "/1/4/9/"]: the org and every org above it."""
    ids = [part for part in org_path.split("/") if part]
    return ["/" + "/".join(ids[: n + 1]) + "/" for n in range(len(ids))]


def visible_from(org_path: str) -> Any:
    """Templates of the org, of the orgs above it (a province's template reaches every
    sub-branch) and of the orgs below it (its jurisdiction)."""
    return or_(
        Org.path.in_(ancestor_paths(org_path)), Org.path.startswith(org_path, autoescape=True)
    )


async def list_visible(
    session: AsyncSession, org_path: str, *, include_archived: bool
) -> list[tuple[ChecklistTemplate, Org]]:
    query = (
        select(ChecklistTemplate, Org)
        .join(Org, ChecklistTemplate.org_id == Org.id)
        .where(visible_from(org_path))
        .order_by(Org.path, ChecklistTemplate.name, ChecklistTemplate.id)
    )
    if not include_archived:
        query = query.where(ChecklistTemplate.status == TemplateStatus.ACTIVE)
    return [(t, o) for t, o in (await session.execute(query)).all()]


async def template_with_org(
    session: AsyncSession, template_id: int
) -> tuple[ChecklistTemplate, Org] | None:
    row = (
        await session.execute(
            select(ChecklistTemplate, Org)
            .join(Org, ChecklistTemplate.org_id == Org.id)
            .where(ChecklistTemplate.id == template_id)
        )
    ).first()
    return (row[0], row[1]) if row else None


async def version_summaries(
    session: AsyncSession, template_ids: Sequence[int]
) -> dict[int, list[ChecklistVersion]]:
    """Versions by template, oldest first, without their forms (reading one raises)."""
    found: dict[int, list[ChecklistVersion]] = {tid: [] for tid in template_ids}
    if not template_ids:
        return found
    rows = await session.scalars(
        select(ChecklistVersion)
        .where(ChecklistVersion.template_id.in_(template_ids))
        .options(defer(ChecklistVersion.content, raiseload=True))
        .order_by(ChecklistVersion.template_id, ChecklistVersion.number)
    )
    for version in rows:
        found[version.template_id].append(version)
    return found


async def draft_of(session: AsyncSession, template_id: int) -> ChecklistVersion | None:
    return await session.scalar(
        select(ChecklistVersion)
        .where(
            ChecklistVersion.template_id == template_id,
            ChecklistVersion.status == VersionStatus.DRAFT,
        )
        .execution_options(populate_existing=True)
    )


async def latest_published(session: AsyncSession, template_id: int) -> ChecklistVersion | None:
    return await session.scalar(
        select(ChecklistVersion)
        .where(
            ChecklistVersion.template_id == template_id,
            ChecklistVersion.status == VersionStatus.PUBLISHED,
        )
        .order_by(ChecklistVersion.number.desc())
        .limit(1)
        .execution_options(populate_existing=True)
    )


async def version_by_number(
    session: AsyncSession, template_id: int, number: int
) -> ChecklistVersion | None:
    return await session.scalar(
        select(ChecklistVersion)
        .where(ChecklistVersion.template_id == template_id, ChecklistVersion.number == number)
        .execution_options(populate_existing=True)  # summaries may have left the form unloaded
    )


async def next_number(session: AsyncSession, template_id: int) -> int:
    highest = await session.scalar(
        select(func.max(ChecklistVersion.number)).where(ChecklistVersion.template_id == template_id)
    )
    return (highest or 0) + 1


async def update_draft(
    session: AsyncSession, version_id: int, expected_revision: int, **values: Any
) -> bool:
    """Change a draft only if it is still a draft at ``expected_revision``: of two concurrent saves
    (or a save and a publish) exactly one wins."""
    result = await session.execute(
        update(ChecklistVersion)
        .where(
            ChecklistVersion.id == version_id,
            ChecklistVersion.status == VersionStatus.DRAFT,
            ChecklistVersion.revision == expected_revision,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def by_code(session: AsyncSession, org_id: int, code: str) -> ChecklistTemplate | None:
    return await session.scalar(
        select(ChecklistTemplate).where(
            ChecklistTemplate.org_id == org_id, ChecklistTemplate.code == code
        )
    )


async def root_orgs(session: AsyncSession) -> list[Org]:
    """The province banks (省行): the orgs without a parent."""
    return list((await session.scalars(select(Org).where(Org.parent_id.is_(None)))).all())
