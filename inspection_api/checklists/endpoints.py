"""Checklist templates (检查模板) over REST: list, read, create, edit the draft, publish,
archive, and read any version."""

from __future__ import annotations

from inspection_api.auth.endpoints import origin_of
from inspection_api.checklists import service
from inspection_api.checklists.content import Checklist
from inspection_api.checklists.models import ChecklistVersion
from inspection_api.checklists.schemas import (
    ChecklistVersionOut,
    DraftSave,
    PublishIn,
    TemplateCreate,
    TemplateDetailOut,
    TemplateOut,
    TemplateQuery,
    TemplateUpdate,
    VersionSummaryOut,
)
from inspection_api.web.routing import ApiRoutes, Ctx

api = ApiRoutes(tag="checklists")

TEMPLATES = "/api/v1/checklist-templates"
ONE = TEMPLATES + "/{template_id}"


def _summary(version: ChecklistVersion | None) -> VersionSummaryOut | None:
    return VersionSummaryOut.model_validate(version) if version is not None else None


def _out(view: service.TemplateView) -> TemplateOut:
    t = view.template
    return TemplateOut(
        id=t.id,
        org_id=t.org_id,
        org_name=view.org.name,
        code=t.code,
        name=t.name,
        description=t.description,
        status=t.status,
        created_at=t.created_at,
        archived_at=t.archived_at,
        published=_summary(view.published),
        draft=_summary(view.draft),
        can_manage=view.can_manage,
    )


def _detail(view: service.TemplateView) -> TemplateDetailOut:
    return TemplateDetailOut(
        **_out(view).model_dump(),
        versions=[VersionSummaryOut.model_validate(v) for v in view.versions],
    )


@api.route(
    "GET",
    TEMPLATES,
    summary="检查模板列表 Checklist templates I can use",
    query=TemplateQuery,
    response=list[TemplateOut],
)
async def list_checklist_templates(ctx: Ctx, *, query: TemplateQuery) -> list[TemplateOut]:
    """Those of my org, of the orgs above it (e.g. the province's) and of my jurisdiction;
    archived ones only with `include_archived=true`."""
    views = await service.list_templates(
        ctx.session, ctx.user, include_archived=query.include_archived
    )
    return [_out(v) for v in views]


@api.route(
    "POST",
    TEMPLATES,
    summary="新建检查模板 Create a checklist template",
    body=TemplateCreate,
    response=TemplateDetailOut,
    status=201,
)
async def create_checklist_template(ctx: Ctx, *, body: TemplateCreate) -> TemplateDetailOut:
    """With a first draft (version 1): `sections`, or only the conclusion item (初步结论)."""
    view = await service.create_template(
        ctx.session,
        ctx.user,
        name=body.name,
        description=body.description,
        org_id=body.org_id,
        checklist=Checklist(sections=body.sections) if body.sections is not None else None,
        origin=origin_of(ctx),
    )
    return _detail(view)


@api.route("GET", ONE, summary="检查模板详情 One checklist template", response=TemplateDetailOut)
async def get_checklist_template(ctx: Ctx, *, template_id: int) -> TemplateDetailOut:
    """With the list of its versions (read a version's form at `…/versions/{number}`)."""
    return _detail(await service.get_template(ctx.session, ctx.user, template_id))


@api.route(
    "PATCH",
    ONE,
    summary="修改模板名称 Rename a checklist template",
    body=TemplateUpdate,
    response=TemplateDetailOut,
    problems={409: "The template is archived"},
)
async def update_checklist_template(
    ctx: Ctx, *, template_id: int, body: TemplateUpdate
) -> TemplateDetailOut:
    """Name and description are not versioned; the form is (edit it through the draft)."""
    view = await service.update_template(
        ctx.session, ctx.user, template_id, name=body.name, description=body.description
    )
    return _detail(view)


@api.route(
    "PUT",
    ONE + "/draft",
    summary="保存草稿 Save the draft",
    body=DraftSave,
    response=ChecklistVersionOut,
    problems={409: "Archived, or the draft changed since `revision` (draft_changed)"},
)
async def save_checklist_draft(
    ctx: Ctx, *, template_id: int, body: DraftSave
) -> ChecklistVersionOut:
    """Replaces the draft's whole form. When the template has no draft, this opens the next
    version (editing a published template never changes it). Errors name the path, e.g.
    `body.sections.1.items.3.anomaly_rule.value`."""
    draft = await service.save_draft(
        ctx.session,
        ctx.user,
        template_id,
        Checklist(sections=body.sections),
        revision=body.revision,
    )
    return await service.read_version(ctx.session, ctx.user, template_id, draft.number)


@api.route(
    "DELETE",
    ONE + "/draft",
    summary="放弃草稿 Discard the draft",
    problems={409: "Archived, or there is no draft"},
)
async def discard_checklist_draft(ctx: Ctx, *, template_id: int) -> None:
    """The published versions stay as they are."""
    await service.discard_draft(ctx.session, ctx.user, template_id, origin=origin_of(ctx))


@api.route(
    "POST",
    ONE + "/publish",
    summary="发布草稿 Publish the draft",
    body=PublishIn,
    response=ChecklistVersionOut,
    problems={409: "Archived, no draft, or the draft changed since `revision`"},
)
async def publish_checklist_draft(
    ctx: Ctx, *, template_id: int, body: PublishIn
) -> ChecklistVersionOut:
    """The draft becomes the current version, immutable from now on; new inspections start
    with it. A form that is not complete is refused (422) naming each path under `draft.`."""
    version = await service.publish(
        ctx.session, ctx.user, template_id, revision=body.revision, origin=origin_of(ctx)
    )
    return await service.read_version(ctx.session, ctx.user, template_id, version.number)


@api.route(
    "POST",
    ONE + "/archive",
    summary="归档检查模板 Archive a checklist template",
    response=TemplateDetailOut,
)
async def archive_checklist_template(ctx: Ctx, *, template_id: int) -> TemplateDetailOut:
    """No new inspections start from it; started ones keep their version. Archiving twice
    changes nothing."""
    return _detail(await service.archive(ctx.session, ctx.user, template_id, origin=origin_of(ctx)))


@api.route(
    "GET",
    ONE + "/versions/{number}",
    summary="模板版本 One version of a checklist template",
    response=ChecklistVersionOut,
)
async def get_checklist_version(ctx: Ctx, *, template_id: int, number: int) -> ChecklistVersionOut:
    """The form (sections and items) as the inspector sees it, and its state."""
    return await service.read_version(ctx.session, ctx.user, template_id, number)
