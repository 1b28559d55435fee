"""Checklist templates (检查模板): create, edit the draft, publish, archive; read versions.

Who sees what: a template belongs to an org (normally the province bank) and is visible from
that org's whole subtree, from the orgs above it and to staff whose jurisdiction contains it.
Managing it needs ``checklist.manage`` and the owning org inside the caller's jurisdiction.

For inspections: ``get_version`` (by id, no permission check: the caller already decided)
and ``current_version`` (the latest published one, as a user may start it).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from inspection_api.audit.service import Origin, record
from inspection_api.auth.permissions import Permission, permissions_of, require
from inspection_api.auth.principal import Principal
from inspection_api.checklists import repository
from inspection_api.checklists.content import Checklist
from inspection_api.checklists.defaults import starter_checklist
from inspection_api.checklists.models import (
    ChecklistTemplate,
    ChecklistVersion,
    TemplateStatus,
    VersionStatus,
)
from inspection_api.checklists.schemas import ChecklistVersionOut
from inspection_api.checklists.validation import check_checklist
from inspection_api.db import utcnow
from inspection_api.errors import (
    DraftChanged,
    FieldError,
    Forbidden,
    InvalidField,
    NotFound,
    TemplateStateConflict,
    ValidationFailed,
)
from inspection_api.orgs.models import Org

_ARCHIVED = ("已归档", "is archived")
_NO_DRAFT = (
    "没有草稿（可能已被发布或放弃）",
    "has no draft (it may have been published or discarded)",
)


@dataclass
class TemplateView:
    template: ChecklistTemplate
    org: Org
    versions: list[ChecklistVersion]  # oldest first, forms not loaded
    can_manage: bool

    @property
    def published(self) -> ChecklistVersion | None:
        done = [v for v in self.versions if v.status == VersionStatus.PUBLISHED]
        return done[-1] if done else None

    @property
    def draft(self) -> ChecklistVersion | None:
        return next((v for v in self.versions if v.status == VersionStatus.DRAFT), None)


def visible(principal: Principal, org_path: str) -> bool:
    return principal.governs(org_path) or principal.org_path.startswith(org_path)


def manages(principal: Principal, org_path: str) -> bool:
    return principal.governs(org_path) and Permission.CHECKLIST_MANAGE in permissions_of(principal)


def version_out(version: ChecklistVersion, template: ChecklistTemplate) -> ChecklistVersionOut:
    """The stable JSON shape of a version (its form plus where it stands)."""
    return ChecklistVersionOut.model_validate(
        {
            **version.content,
            "id": version.id,
            "template_id": template.id,
            "template_name": template.name,
            "number": version.number,
            "status": version.status,
            "revision": version.revision,
            "created_at": version.created_at,
            "updated_at": version.updated_at,
            "published_at": version.published_at,
        }
    )


def _checked(checklist: Checklist, *, publish: bool, prefix: str) -> dict[str, object]:
    """The form as stored JSON, or ValidationFailed naming every problem under ``prefix``."""
    errors = check_checklist(checklist, publish=publish)
    if errors:
        raise ValidationFailed([FieldError(f"{prefix}.{e.field}", e.zh, e.en) for e in errors])
    return checklist.model_dump(mode="json")


async def _view(
    session: AsyncSession, principal: Principal, template: ChecklistTemplate, org: Org
) -> TemplateView:
    versions = (await repository.version_summaries(session, [template.id]))[template.id]
    return TemplateView(template, org, versions, manages(principal, org.path))


async def _readable(
    session: AsyncSession, principal: Principal, template_id: int
) -> tuple[ChecklistTemplate, Org]:
    require(principal, Permission.CHECKLIST_READ)
    found = await repository.template_with_org(session, template_id)
    if found is None or not visible(principal, found[1].path):
        raise NotFound(resource="checklist_template", id=template_id)
    return found


async def _manageable(
    session: AsyncSession, principal: Principal, template_id: int, *, action: tuple[str, str]
) -> tuple[ChecklistTemplate, Org]:
    """403 without the permission or for a template of an org above the caller's; 404 when
    not visible; 409 once archived."""
    template, org = await _governed(session, principal, template_id)
    if template.status == TemplateStatus.ARCHIVED:
        raise TemplateStateConflict(state=_ARCHIVED, action=action)
    return template, org


async def _governed(
    session: AsyncSession, principal: Principal, template_id: int
) -> tuple[ChecklistTemplate, Org]:
    require(principal, Permission.CHECKLIST_MANAGE)
    template, org = await _readable(session, principal, template_id)
    if not principal.governs(org.path):
        raise Forbidden(
            action=("修改上级机构的检查模板", "change a template of a higher organisation")
        )
    return template, org


async def list_templates(
    session: AsyncSession, principal: Principal, *, include_archived: bool = False
) -> list[TemplateView]:
    """Visible templates, by owning org then name."""
    require(principal, Permission.CHECKLIST_READ)
    rows = await repository.list_visible(
        session, principal.org_path, include_archived=include_archived
    )
    versions = await repository.version_summaries(session, [t.id for t, _ in rows])
    return [TemplateView(t, o, versions[t.id], manages(principal, o.path)) for t, o in rows]


async def get_template(
    session: AsyncSession, principal: Principal, template_id: int
) -> TemplateView:
    template, org = await _readable(session, principal, template_id)
    return await _view(session, principal, template, org)


async def create_template(
    session: AsyncSession,
    principal: Principal,
    *,
    name: str,
    description: str = "",
    org_id: int | None = None,
    checklist: Checklist | None = None,
    origin: Origin,
) -> TemplateView:
    """A template with its first draft (version 1): ``checklist``, or only the conclusion."""
    require(principal, Permission.CHECKLIST_MANAGE)
    org_id = principal.org_id if org_id is None else org_id
    org = await session.get(Org, org_id)
    if org is None or not principal.governs(org.path):
        raise InvalidField(
            "body.org_id",
            f"机构 {org_id} 不存在或不在您的辖区内",
            f"org {org_id} does not exist or is outside your jurisdiction",
        )
    content = _checked(checklist or starter_checklist(), publish=False, prefix="body")
    template = ChecklistTemplate(
        org_id=org.id,
        name=name,
        description=description,
        status=TemplateStatus.ACTIVE,
        created_by_user_id=principal.user_id,
    )
    session.add(template)
    await session.flush()
    session.add(
        ChecklistVersion(
            template_id=template.id,
            number=1,
            status=VersionStatus.DRAFT,
            content=content,
            revision=1,
            created_by_user_id=principal.user_id,
        )
    )
    await session.flush()
    record(
        session,
        "checklist_template_created",
        origin=origin,
        actor=principal,
        org_path=org.path,
        template_id=template.id,
        name=name,
    )
    return await _view(session, principal, template, org)


async def update_template(
    session: AsyncSession,
    principal: Principal,
    template_id: int,
    *,
    name: str | None = None,
    description: str | None = None,
) -> TemplateView:
    """Rename or re-describe (not versioned: versions hold the form only)."""
    template, org = await _manageable(session, principal, template_id, action=("修改", "change it"))
    if name is not None:
        template.name = name
    if description is not None:
        template.description = description
    await session.flush()
    return await _view(session, principal, template, org)


async def save_draft(
    session: AsyncSession,
    principal: Principal,
    template_id: int,
    checklist: Checklist,
    *,
    revision: int | None = None,
) -> ChecklistVersion:
    """Replace the draft's form; ``revision`` names the draft revision the edit started from
    (409 when another save came first, or when it is missing). Without a draft, open one
    after the published versions (editing a published template makes a new version)."""
    template, _org = await _manageable(session, principal, template_id, action=("修改", "edit it"))
    content = _checked(checklist, publish=False, prefix="body")
    draft = await repository.draft_of(session, template.id)
    now = utcnow()
    if draft is None:
        if revision is not None:  # the draft it was based on is gone
            raise TemplateStateConflict(state=_NO_DRAFT, action=("保存", "save"))
        draft = ChecklistVersion(
            template_id=template.id,
            number=await repository.next_number(session, template.id),
            status=VersionStatus.DRAFT,
            content=content,
            revision=1,
            created_by_user_id=principal.user_id,
            created_at=now,
            updated_at=now,
        )
        session.add(draft)
        try:
            await session.flush()
        except IntegrityError:  # another administrator opened that version number first
            raise DraftChanged(current=1) from None
        return draft
    if revision is None:  # the caller did not see this draft: never overwrite it blindly
        raise TemplateStateConflict(
            state=(f"已有草稿（第 {draft.number} 版）", f"has a draft (version {draft.number})"),
            action=("不带修订号保存", "save without its revision"),
        )
    if revision != draft.revision:
        raise DraftChanged(current=draft.revision)
    if not await repository.update_draft(
        session,
        draft.id,
        draft.revision,
        content=content,
        revision=draft.revision + 1,
        updated_at=now,
    ):
        raise DraftChanged(current=draft.revision + 1)
    await session.refresh(draft)
    return draft


async def discard_draft(
    session: AsyncSession, principal: Principal, template_id: int, *, origin: Origin
) -> None:
    """放弃草稿: the published versions stay as they are."""
    template, org = await _manageable(
        session, principal, template_id, action=("放弃草稿", "discard the draft")
    )
    draft = await repository.draft_of(session, template.id)
    if draft is None:
        raise TemplateStateConflict(state=_NO_DRAFT, action=("放弃草稿", "discard the draft"))
    await session.delete(draft)
    record(
        session,
        "checklist_draft_discarded",
        origin=origin,
        actor=principal,
        org_path=org.path,
        template_id=template.id,
        number=draft.number,
    )


async def publish(
    session: AsyncSession,
    principal: Principal,
    template_id: int,
    *,
    revision: int | None = None,
    origin: Origin,
) -> ChecklistVersion:
    """The draft becomes the template's current version and never changes again."""
    template, org = await _manageable(session, principal, template_id, action=("发布", "publish"))
    draft = await repository.draft_of(session, template.id)
    if draft is None:
        raise TemplateStateConflict(state=_NO_DRAFT, action=("发布", "publish"))
    if revision is not None and revision != draft.revision:
        raise DraftChanged(current=draft.revision)
    _checked(Checklist.model_validate(draft.content), publish=True, prefix="draft")
    now = utcnow()
    if not await repository.update_draft(
        session,
        draft.id,
        draft.revision,
        status=VersionStatus.PUBLISHED,
        published_at=now,
        published_by_user_id=principal.user_id,
        updated_at=now,
    ):
        raise DraftChanged(current=draft.revision + 1)
    await session.refresh(draft)
    record(
        session,
        "checklist_version_published",
        origin=origin,
        actor=principal,
        org_path=org.path,
        template_id=template.id,
        version_id=draft.id,
        number=draft.number,
    )
    return draft


async def archive(
    session: AsyncSession, principal: Principal, template_id: int, *, origin: Origin
) -> TemplateView:
    """No new inspections start from it; those started keep their version. Archiving twice
    changes nothing."""
    template, org = await _governed(session, principal, template_id)
    if template.status != TemplateStatus.ARCHIVED:
        template.status = TemplateStatus.ARCHIVED
        template.archived_at = utcnow()
        record(
            session,
            "checklist_template_archived",
            origin=origin,
            actor=principal,
            org_path=org.path,
            template_id=template.id,
            name=template.name,
        )
        await session.flush()
    return await _view(session, principal, template, org)


async def read_version(
    session: AsyncSession, principal: Principal, template_id: int, number: int
) -> ChecklistVersionOut:
    """One version of a visible template (drafts too: editors and previews read them)."""
    template, _org = await _readable(session, principal, template_id)
    version = await repository.version_by_number(session, template.id, number)
    if version is None:
        raise NotFound(resource="checklist_version", id=f"{template_id}/{number}")
    return version_out(version, template)


async def get_version(session: AsyncSession, version_id: int) -> ChecklistVersionOut:
    """A version by id, for the inspection that keeps it (no permission check)."""
    version = await session.get(ChecklistVersion, version_id, populate_existing=True)
    template = await session.get(ChecklistTemplate, version.template_id) if version else None
    if version is None or template is None:
        raise NotFound(resource="checklist_version", id=version_id)
    return version_out(version, template)


async def current_version(
    session: AsyncSession, principal: Principal, template_id: int
) -> ChecklistVersionOut:
    """The version a new inspection starts with: the latest published one of an active
    template the caller can see (404 / 409 otherwise)."""
    template, _org = await _readable(session, principal, template_id)
    if template.status == TemplateStatus.ARCHIVED:
        raise TemplateStateConflict(state=_ARCHIVED, action=("开始检查", "start an inspection"))
    version = await repository.latest_published(session, template.id)
    if version is None:
        raise TemplateStateConflict(
            state=("尚未发布", "is not published yet"), action=("开始检查", "start an inspection")
        )
    return version_out(version, template)
