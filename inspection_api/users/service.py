"""Bank users inside a caller's jurisdiction: listing, creation, role grants, resets."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from inspection_api.audit.service import Origin, record
from inspection_api.auth.models import ApiToken
from inspection_api.auth.permissions import Permission, grantable_roles, require, require_governs
from inspection_api.auth.principal import ROLE_LABELS, Principal, Role
from inspection_api.auth.service import (
    check_password_rules,
    hash_password,
    live_api_tokens,
    revoke_api_token,
    revoke_api_tokens,
    revoke_sessions,
)
from inspection_api.db import utcnow
from inspection_api.errors import Conflict, Forbidden, InvalidField, SelfChangeForbidden
from inspection_api.orgs.models import Org
from inspection_api.users.models import User, UserRole
from loancheck.settings import Settings


async def list_users(
    session: AsyncSession,
    principal: Principal,
    *,
    org_id: int | None = None,
    role: Role | None = None,
    q: str | None = None,
) -> list[User]:
    require(principal, Permission.USER_READ)
    scope_path = principal.org_path
    if org_id is not None:
        org = await session.get(Org, org_id)
        require_governs(principal, org.path if org else "", "org", org_id)
        assert org is not None
        scope_path = org.path
    query = (
        select(User)
        .join(Org, User.org_id == Org.id)
        .where(Org.path.startswith(scope_path, autoescape=True))
        .order_by(Org.path, User.username)
    )
    if role is not None:
        query = query.where(User.role_rows.any(UserRole.role == role.value))
    if q:
        pattern = f"%{q}%"
        query = query.where(or_(User.username.ilike(pattern), User.display_name.ilike(pattern)))
    return list((await session.scalars(query)).all())


async def _user_in_jurisdiction(
    session: AsyncSession, principal: Principal, user_id: int
) -> tuple[User, Org]:
    row = (
        await session.execute(
            select(User, Org).join(Org, User.org_id == Org.id).where(User.id == user_id)
        )
    ).first()
    require_governs(principal, row[1].path if row else "", "user", user_id)
    assert row is not None
    return row[0], row[1]


async def get_user(session: AsyncSession, principal: Principal, user_id: int) -> User:
    require(principal, Permission.USER_READ)
    return (await _user_in_jurisdiction(session, principal, user_id))[0]


def _check_grant(principal: Principal, roles: Iterable[Role]) -> None:
    beyond = set(roles) - grantable_roles(principal)
    if beyond:
        labels = "、".join(ROLE_LABELS[r] for r in sorted(beyond))
        raise Forbidden(action=(f"授予角色 {labels}", f"grant role(s) {', '.join(sorted(beyond))}"))


async def _target_org(session: AsyncSession, principal: Principal, org_id: int) -> Org:
    org = await session.get(Org, org_id)
    if org is None or not principal.governs(org.path):
        raise InvalidField(
            "body.org_id",
            f"机构 {org_id} 不存在或不在您的辖区内",
            f"org {org_id} does not exist or is outside your jurisdiction",
        )
    return org


async def add_user(
    session: AsyncSession,
    *,
    username: str,
    display_name: str,
    password: str,
    org: Org,
    roles: Iterable[Role],
) -> User:
    """Insert a user (no permission check: callers decide who may)."""
    check_password_rules(password, username, "body.password")
    if await session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(field="body.username", label=("用户名", "username"), value=username)
    user = User(
        username=username,
        display_name=display_name,
        password_hash=await hash_password(password),
        org_id=org.id,
        role_rows=[UserRole(role=r.value) for r in sorted(set(roles))],
    )
    session.add(user)
    await session.flush()
    return user


async def create_user(
    session: AsyncSession,
    principal: Principal,
    *,
    username: str,
    display_name: str,
    password: str,
    org_id: int,
    roles: list[Role],
    origin: Origin,
) -> User:
    require(principal, Permission.USER_MANAGE)
    _check_grant(principal, roles)
    org = await _target_org(session, principal, org_id)
    user = await add_user(
        session,
        username=username,
        display_name=display_name,
        password=password,
        org=org,
        roles=roles,
    )
    record(
        session,
        "user_created",
        origin=origin,
        actor=principal,
        org_path=org.path,
        user_id=user.id,
        username=username,
        roles=sorted(r.value for r in set(roles)),
    )
    return user


def _refuse_self_change(
    *, moved: bool, regranted: bool, deactivated: bool, password_reset: bool
) -> None:
    """Nobody moves themselves, changes their own roles or deactivates themselves; nor
    resets their own password here, where the current one is not asked for."""
    if password_reset:
        raise SelfChangeForbidden(
            field="body.password",
            label=("密码", "password"),
            remedy=(
                "请在「修改密码」中输入当前密码后修改",
                "change it under Change password, with the current one",
            ),
        )
    if moved:
        raise SelfChangeForbidden(field="body.org_id", label=("所属机构", "organisation"))
    if regranted:
        raise SelfChangeForbidden(field="body.roles", label=("角色", "roles"))
    if deactivated:
        raise SelfChangeForbidden(field="body.is_active", label=("启用状态", "active state"))


async def update_user(
    session: AsyncSession,
    principal: Principal,
    user_id: int,
    *,
    display_name: str | None,
    org_id: int | None,
    roles: list[Role] | None,
    is_active: bool | None,
    password: str | None,
    origin: Origin,
) -> tuple[User, list[int]]:
    """Edit a user; returns the user and the ids of sessions ended by the change."""
    require(principal, Permission.USER_MANAGE)
    user, org = await _user_in_jurisdiction(session, principal, user_id)
    changes: dict[str, object] = {}
    ended: list[int] = []
    moved = org_id is not None and org_id != user.org_id
    regranted = roles is not None and set(roles) != user.roles
    if user.id == principal.user_id:
        _refuse_self_change(
            moved=moved,
            regranted=regranted,
            deactivated=is_active is False,
            password_reset=password is not None,
        )
    _check_grant(principal, user.roles)  # an org admin cannot edit a system admin
    if display_name is not None:
        user.display_name = display_name
        changes["display_name"] = display_name
    if moved:
        assert org_id is not None
        org = await _target_org(session, principal, org_id)
        user.org_id = org.id
        changes["org_id"] = org.id
    if regranted:
        assert roles is not None
        _check_grant(principal, roles)
        user.role_rows = [UserRole(role=r.value) for r in sorted(set(roles))]
        changes["roles"] = sorted(r.value for r in set(roles))
    if is_active is not None and is_active != user.is_active:
        user.is_active = is_active
        changes["is_active"] = is_active
    if password is not None:
        check_password_rules(password, user.username, "body.password")
        user.password_hash = await hash_password(password)
        user.password_changed_at = utcnow()
        changes["password"] = "reset"
    # What the user could do, and where, was decided at login and at token creation: each
    # of these changes ends the sessions and revokes the tokens made under the old terms.
    if changes.keys() & {"password", "roles", "org_id"} or changes.get("is_active") is False:
        ended = await revoke_sessions(session, user.id)
        changes["sessions_ended"] = len(ended)
        changes["tokens_revoked"] = await revoke_api_tokens(session, user.id)
    record(
        session,
        "user_updated",
        origin=origin,
        actor=principal,
        org_path=org.path,
        user_id=user.id,
        username=user.username,
        changes=changes,
    )
    await session.flush()
    return user, ended


async def list_user_tokens(
    session: AsyncSession, settings: Settings, principal: Principal, user_id: int
) -> list[ApiToken]:
    """A user's live API tokens, for their administrator."""
    require(principal, Permission.USER_MANAGE)
    user, _ = await _user_in_jurisdiction(session, principal, user_id)
    return await live_api_tokens(session, settings, user.id)


async def revoke_user_token(
    session: AsyncSession, principal: Principal, user_id: int, token_id: int, origin: Origin
) -> None:
    """Revoke one of a user's API tokens, as their administrator."""
    require(principal, Permission.USER_MANAGE)
    user, org = await _user_in_jurisdiction(session, principal, user_id)
    _check_grant(principal, user.roles)  # an org admin cannot touch a system admin's
    await revoke_api_token(session, principal, token_id, origin, user_id=user.id, org_path=org.path)
