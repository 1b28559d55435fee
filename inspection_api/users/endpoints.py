"""Bank users in the caller's jurisdiction."""

from __future__ import annotations

from inspection_api.anomalies.service import route_unrouted
from inspection_api.auth.endpoints import origin_of, token_out
from inspection_api.auth.principal import Role
from inspection_api.auth.schemas import TokenOut
from inspection_api.db import utcnow
from inspection_api.orgs.models import Org
from inspection_api.users import service
from inspection_api.users.models import User
from inspection_api.users.schemas import UserCreate, UserOut, UserQuery, UserUpdate
from inspection_api.web.keys import NOTIFIER, SETTINGS
from inspection_api.web.routing import ApiRoutes, Ctx

api = ApiRoutes(tag="users")


def _out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        org_id=user.org_id,
        roles=sorted(user.roles),
        is_active=user.is_active,
        created_at=user.created_at,
    )


async def _route_to_handler(ctx: Ctx, user: User) -> None:
    """An active 异常处理人 (new, granted the role, moved or reactivated) at once takes the
    open anomalies of their org and below that were routed to nobody."""
    if not user.is_active or Role.EXCEPTION_HANDLER not in user.roles:
        return
    org = await ctx.session.get(Org, user.org_id)
    assert org is not None
    await route_unrouted(
        ctx.session,
        ctx.user,
        org,
        now=utcnow(),
        deadline_hours=ctx.app[SETTINGS].anomaly_deadline_hours,
        origin=origin_of(ctx),
    )


@api.route(
    "GET",
    "/api/v1/users",
    summary="辖区内用户 Users in my jurisdiction",
    query=UserQuery,
    response=list[UserOut],
)
async def list_users(ctx: Ctx, *, query: UserQuery) -> list[UserOut]:
    users = await service.list_users(
        ctx.session, ctx.user, org_id=query.org_id, role=query.role, q=query.q
    )
    return [_out(u) for u in users]


@api.route("GET", "/api/v1/users/{user_id}", summary="用户详情 One user", response=UserOut)
async def get_user(ctx: Ctx, *, user_id: int) -> UserOut:
    return _out(await service.get_user(ctx.session, ctx.user, user_id))


@api.route(
    "POST",
    "/api/v1/users",
    summary="新建用户 Create a user",
    body=UserCreate,
    response=UserOut,
    status=201,
)
async def create_user(ctx: Ctx, *, body: UserCreate) -> UserOut:
    user = await service.create_user(
        ctx.session,
        ctx.user,
        username=body.username,
        display_name=body.display_name,
        password=body.password,
        org_id=body.org_id,
        roles=body.roles,
        origin=origin_of(ctx),
    )
    await _route_to_handler(ctx, user)
    return _out(user)


@api.route(
    "PATCH",
    "/api/v1/users/{user_id}",
    summary="修改用户 Edit a user",
    body=UserUpdate,
    response=UserOut,
)
async def update_user(ctx: Ctx, *, user_id: int, body: UserUpdate) -> UserOut:
    """Resetting the password, changing the roles or the organisation, or deactivating ends
    the user's sessions (open consoles are told at once) and revokes their API tokens.
    Nobody changes their own roles or organisation or deactivates themselves (`403`
    `self_change_forbidden` naming the field). An exception handler appointed this way takes
    the anomalies waiting for one."""
    user, ended = await service.update_user(
        ctx.session,
        ctx.user,
        user_id,
        display_name=body.display_name,
        org_id=body.org_id,
        roles=body.roles,
        is_active=body.is_active,
        password=body.password,
        origin=origin_of(ctx),
    )
    await _route_to_handler(ctx, user)
    await ctx.session.commit()
    await ctx.app[NOTIFIER].sessions_revoked(ended)
    return _out(user)


@api.route(
    "GET",
    "/api/v1/users/{user_id}/tokens",
    summary="用户的 API 令牌 A user's API tokens",
    response=list[TokenOut],
)
async def list_user_tokens(ctx: Ctx, *, user_id: int) -> list[TokenOut]:
    """The live tokens (not revoked, not expired), never their secret."""
    settings = ctx.app[SETTINGS]
    rows = await service.list_user_tokens(ctx.session, settings, ctx.user, user_id)
    return [token_out(row, settings) for row in rows]


@api.route(
    "DELETE",
    "/api/v1/users/{user_id}/tokens/{token_id}",
    summary="吊销用户的 API 令牌 Revoke a user's API token",
)
async def revoke_user_token(ctx: Ctx, *, user_id: int, token_id: int) -> None:
    await service.revoke_user_token(ctx.session, ctx.user, user_id, token_id, origin_of(ctx))
