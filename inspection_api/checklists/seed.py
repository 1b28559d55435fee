"""The default checklist template (the 明白纸) for every province bank, idempotently.

Why at start and not in a migration: a template belongs to an org, and province banks are
created after ``loancheck migrate`` (by ``seed-demo`` or by the operator), so the one moment
every installation passes with its provinces in place is the app's start. ``seed-demo`` calls
the same function, so a demo bank seeded while the app runs has it at once.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inspection_api.audit.service import Origin, record
from inspection_api.checklists import repository
from inspection_api.checklists.defaults import (
    DEFAULT_TEMPLATE_CODE,
    DEFAULT_TEMPLATE_DESCRIPTION,
    DEFAULT_TEMPLATE_NAME,
    default_checklist,
)
from inspection_api.checklists.models import (
    ChecklistTemplate,
    ChecklistVersion,
    TemplateStatus,
    VersionStatus,
)
from inspection_api.db import utcnow

log = logging.getLogger(__name__)


async def ensure_default_templates(session: AsyncSession) -> list[ChecklistTemplate]:
    """Give every province bank (org without parent) the default template, published as
    version 1, unless it has it already (archived counts: an archive is a decision).
    Idempotent; the caller commits."""
    created: list[ChecklistTemplate] = []
    for org in await repository.root_orgs(session):
        if await repository.by_code(session, org.id, DEFAULT_TEMPLATE_CODE) is not None:
            continue
        template = ChecklistTemplate(
            org_id=org.id,
            code=DEFAULT_TEMPLATE_CODE,
            name=DEFAULT_TEMPLATE_NAME,
            description=DEFAULT_TEMPLATE_DESCRIPTION,
            status=TemplateStatus.ACTIVE,
        )
        session.add(template)
        await session.flush()
        now = utcnow()
        session.add(
            ChecklistVersion(
                template_id=template.id,
                number=1,
                status=VersionStatus.PUBLISHED,
                content=default_checklist().model_dump(mode="json"),
                revision=1,
                created_at=now,
                updated_at=now,
                published_at=now,
            )
        )
        record(
            session,
            "checklist_template_created",
            origin=Origin(),
            actor_username="loancheck",
            org_path=org.path,
            template_id=template.id,
            name=template.name,
            seeded=True,
        )
        created.append(template)
    await session.flush()
    return created


async def seed_default_templates(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    """At every start: ``ensure_default_templates`` in its own transaction. Another process
    starting at the same moment may win the race (the unique (org, code) refuses the second
    copy); a database that is down is reported and tried again at the next start."""
    try:
        async with sessionmaker() as session:
            created = await ensure_default_templates(session)
            await session.commit()
    except IntegrityError:
        return 0
    except (SQLAlchemyError, OSError) as exc:
        log.warning("default checklist templates not checked (next start retries): %s", exc)
        return 0
    for template in created:
        log.info("seeded the default checklist template in org %s", template.org_id)
    return len(created)
