"""Organisations (省行/二级分行/支行) in the caller's jurisdiction."""

from __future__ import annotations

from inspection_api.auth.endpoints import origin_of
from inspection_api.orgs import service
from inspection_api.orgs.schemas import OrgCreate, OrgOut, OrgUpdate
from inspection_api.web.routing import ApiRoutes, Ctx

api = ApiRoutes(tag="orgs")


@api.route(
    "GET", "/api/v1/orgs", summary="辖区内机构 Orgs in my jurisdiction", response=list[OrgOut]
)
async def list_orgs(ctx: Ctx) -> list[OrgOut]:
    """Flat list in tree order (by path); `parent_id` links the tree."""
    return [OrgOut.model_validate(org) for org in await service.list_orgs(ctx.session, ctx.user)]


@api.route("GET", "/api/v1/orgs/{org_id}", summary="机构详情 One org", response=OrgOut)
async def get_org(ctx: Ctx, *, org_id: int) -> OrgOut:
    return OrgOut.model_validate(await service.get_org(ctx.session, ctx.user, org_id))


@api.route(
    "POST",
    "/api/v1/orgs",
    summary="新建机构 Create an org",
    body=OrgCreate,
    response=OrgOut,
    status=201,
)
async def create_org(ctx: Ctx, *, body: OrgCreate) -> OrgOut:
    org = await service.create_org(
        ctx.session,
        ctx.user,
        name=body.name,
        code=body.code,
        kind=body.kind,
        parent_id=body.parent_id,
        origin=origin_of(ctx),
    )
    return OrgOut.model_validate(org)


@api.route(
    "PATCH",
    "/api/v1/orgs/{org_id}",
    summary="修改机构 Rename an org",
    body=OrgUpdate,
    response=OrgOut,
)
async def update_org(ctx: Ctx, *, org_id: int, body: OrgUpdate) -> OrgOut:
    org = await service.rename_org(
        ctx.session, ctx.user, org_id, name=body.name, origin=origin_of(ctx)
    )
    return OrgOut.model_validate(org)
