"""The org tree inside a caller's jurisdiction."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inspection_api.audit.service import Origin, record
from inspection_api.auth.permissions import Permission, require, require_governs
from inspection_api.auth.principal import Principal
from inspection_api.errors import Conflict, InvalidField
from inspection_api.orgs.models import KIND_LABELS, Org, OrgKind
from inspection_api.plans.autojoin import plans_for_new_org

# A child is never of a higher level than its parent; 支行 may nest (any depth).
_LEVEL = {OrgKind.PROVINCE: 0, OrgKind.BRANCH: 1, OrgKind.SUB_BRANCH: 2}


def in_jurisdiction(principal: Principal):  # type: ignore[no-untyped-def]
    return Org.path.startswith(principal.org_path, autoescape=True)


async def list_orgs(session: AsyncSession, principal: Principal) -> list[Org]:
    require(principal, Permission.ORG_READ)
    query = select(Org).where(in_jurisdiction(principal)).order_by(Org.path)
    return list((await session.scalars(query)).all())


async def get_org(session: AsyncSession, principal: Principal, org_id: int) -> Org:
    require(principal, Permission.ORG_READ)
    org = await session.get(Org, org_id)
    require_governs(principal, org.path if org else "", "org", org_id)
    assert org is not None
    return org


async def create_root(session: AsyncSession, *, name: str, code: str) -> Org:
    """A province bank: only from the command line (seed-demo, installation)."""
    org = Org(name=name, code=code, kind=OrgKind.PROVINCE, parent_id=None, path=f"/new-{code}/")
    session.add(org)
    await session.flush()
    org.path = f"/{org.id}/"
    await session.flush()
    return org


async def add_child(
    session: AsyncSession, parent: Org, *, name: str, code: str, kind: OrgKind
) -> Org:
    if kind == OrgKind.PROVINCE or _LEVEL[kind] < _LEVEL[parent.kind]:
        raise InvalidField(
            "body.kind",
            f"{KIND_LABELS[parent.kind]}下不能设立{KIND_LABELS[kind]}",
            f"a {kind.value} cannot be placed under a {parent.kind.value}",
        )
    if await session.scalar(select(Org.id).where(Org.code == code)) is not None:
        raise Conflict(field="body.code", label=("机构编号", "code"), value=code)
    org = Org(
        name=name, code=code, kind=kind, parent_id=parent.id, path=f"{parent.path}new-{code}/"
    )
    session.add(org)
    await session.flush()
    org.path = f"{parent.path}{org.id}/"
    await session.flush()
    return org


async def create_org(
    session: AsyncSession,
    principal: Principal,
    *,
    name: str,
    code: str,
    kind: OrgKind,
    parent_id: int,
    origin: Origin,
) -> Org:
    require(principal, Permission.ORG_MANAGE)
    parent = await session.get(Org, parent_id)
    if parent is None or not principal.governs(parent.path):
        raise InvalidField(
            "body.parent_id",
            f"上级机构 {parent_id} 不存在或不在您的辖区内",
            f"parent org {parent_id} does not exist or is outside your jurisdiction",
        )
    org = await add_child(session, parent, name=name, code=code, kind=kind)
    record(
        session,
        "org_created",
        origin=origin,
        actor=principal,
        org_path=org.path,
        org_id=org.id,
        name=name,
        code=code,
        kind=kind.value,
    )
    await plans_for_new_org(session, org, actor=principal, origin=origin)  # 自动加入
    return org


async def rename_org(
    session: AsyncSession, principal: Principal, org_id: int, *, name: str, origin: Origin
) -> Org:
    require(principal, Permission.ORG_MANAGE)
    org = await get_org(session, principal, org_id)
    old = org.name
    org.name = name
    record(
        session,
        "org_renamed",
        origin=origin,
        actor=principal,
        org_path=org.path,
        org_id=org.id,
        old=old,
        new=name,
    )
    return org
