"""Login, logout, the current user, password change and API tokens."""

from __future__ import annotations

from aiohttp import web

from inspection_api.audit.service import Origin
from inspection_api.auth import service
from inspection_api.auth.models import ApiToken
from inspection_api.auth.permissions import permissions_of
from inspection_api.auth.principal import Principal
from inspection_api.auth.schemas import (
    LoginIn,
    LoginOut,
    MeOut,
    PasswordChangeIn,
    TokenCreatedOut,
    TokenCreateIn,
    TokenOut,
)
from inspection_api.errors import NotFound
from inspection_api.orgs.models import Org
from inspection_api.orgs.schemas import OrgOut
from inspection_api.users.models import User
from inspection_api.web.keys import NOTIFIER, SETTINGS
from inspection_api.web.routing import ApiRoutes, Ctx
from loancheck.settings import Settings

api = ApiRoutes(tag="auth")


def origin_of(ctx: Ctx) -> Origin:
    return Origin(ip=ctx.client_ip, user_agent=ctx.user_agent)


async def authenticate_request(ctx: Ctx) -> Principal | None:
    """Bearer token (API clients) or session cookie (browsers)."""
    header = ctx.request.headers.get("Authorization", "")
    settings = ctx.app[SETTINGS]
    if header[:7].lower() == "bearer ":
        return await service.principal_from_api_token(ctx.session, settings, header[7:].strip())
    cookie = ctx.request.cookies.get(service.session_cookie_name(settings))
    if not cookie:
        return None
    return await service.principal_from_session_token(ctx.session, settings, cookie)


async def _me(ctx: Ctx, user_id: int, principal: Principal) -> MeOut:
    user = await ctx.session.get(User, user_id)
    org = await ctx.session.get(Org, principal.org_id)
    if user is None or org is None:
        raise NotFound(resource="user", id=user_id)
    return me_out(user, org, principal)


def me_out(user: User, org: Org, principal: Principal) -> MeOut:
    return MeOut(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        org=OrgOut.model_validate(org),
        roles=sorted(user.roles),
        permissions=sorted(permissions_of(principal)),
    )


@api.route(
    "POST",
    "/api/v1/auth/login",
    summary="登录 Log in",
    body=LoginIn,
    response=LoginOut,
    public=True,
)
async def login(ctx: Ctx, *, body: LoginIn) -> LoginOut:
    """Opens a browser session; the cookie is HttpOnly, SameSite=Lax, and `__Host-`/Secure
    when the platform is served over https."""
    settings = ctx.app[SETTINGS]
    cookie_name = service.session_cookie_name(settings)
    result = await service.login(
        ctx.session,
        settings,
        username=body.username,
        password=body.password,
        origin=origin_of(ctx),
        replaces_token=ctx.request.cookies.get(cookie_name),
    )

    def set_cookie(response: web.StreamResponse) -> None:
        response.set_cookie(
            cookie_name,
            result.token,
            max_age=settings.session_max_hours * 3600,
            path="/",
            secure=settings.secure_cookies,
            httponly=True,
            samesite="Lax",
        )

    ctx.cookies.append(set_cookie)
    # The user, org and principal of the session just opened: no second look-up.
    return LoginOut(
        user=me_out(result.user, result.org, result.principal), expires_at=result.expires_at
    )


@api.route("POST", "/api/v1/auth/logout", summary="退出登录 Log out")
async def logout(ctx: Ctx) -> None:
    await service.logout(ctx.session, ctx.user, origin_of(ctx))
    await ctx.session.commit()
    if ctx.user.session_id is not None:  # other tabs of this session close their consoles
        await ctx.app[NOTIFIER].sessions_revoked([ctx.user.session_id], reason="logged_out")
    name = service.session_cookie_name(ctx.app[SETTINGS])
    ctx.cookies.append(lambda response: response.del_cookie(name, path="/"))


@api.route("GET", "/api/v1/auth/me", summary="当前用户 Current user", response=MeOut)
async def me(ctx: Ctx) -> MeOut:
    return await _me(ctx, ctx.user.user_id, ctx.user)


@api.route(
    "POST", "/api/v1/auth/password", summary="修改密码 Change password", body=PasswordChangeIn
)
async def change_password(ctx: Ctx, *, body: PasswordChangeIn) -> None:
    """Ends every other session of the user; consoles open there are told at once."""
    revoked = await service.change_password(
        ctx.session,
        ctx.app[SETTINGS],
        ctx.user,
        current_password=body.current_password,
        new_password=body.new_password,
        origin=origin_of(ctx),
    )
    await ctx.session.commit()
    await ctx.app[NOTIFIER].sessions_revoked(revoked)


@api.route(
    "GET", "/api/v1/auth/tokens", summary="我的 API 令牌 My API tokens", response=list[TokenOut]
)
async def list_tokens(ctx: Ctx) -> list[TokenOut]:
    settings = ctx.app[SETTINGS]
    rows = await service.live_api_tokens(ctx.session, settings, ctx.user.user_id)
    return [token_out(row, settings) for row in rows]


def token_out(row: ApiToken, settings: Settings) -> TokenOut:
    return TokenOut(
        id=row.id,
        name=row.name,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        expires_at=service.token_expiry(row, settings),
    )


@api.route(
    "POST",
    "/api/v1/auth/tokens",
    summary="创建 API 令牌 Create an API token",
    body=TokenCreateIn,
    response=TokenCreatedOut,
    status=201,
)
async def create_token(ctx: Ctx, *, body: TokenCreateIn) -> TokenCreatedOut:
    """Asks for the password again. The token lives `expires_in_days` days, at most
    `LOANCHECK_API_TOKEN_MAX_DAYS` (90 by default); it is revoked when the password is changed
    or reset, the roles or the organisation change, or the user is deactivated."""
    settings = ctx.app[SETTINGS]
    token, row = await service.create_api_token(
        ctx.session,
        settings,
        ctx.user,
        name=body.name,
        expires_in_days=body.expires_in_days,
        password=body.password,
        origin=origin_of(ctx),
    )
    return TokenCreatedOut(**token_out(row, settings).model_dump(), token=token)


@api.route("DELETE", "/api/v1/auth/tokens/{token_id}", summary="吊销 API 令牌 Revoke a token")
async def revoke_token(ctx: Ctx, *, token_id: int) -> None:
    await service.revoke_api_token(
        ctx.session, ctx.user, token_id, origin_of(ctx), user_id=ctx.user.user_id
    )
