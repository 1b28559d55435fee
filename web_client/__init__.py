"""The browser client: static zh-CN pages (login, console, remote call, join) and their assets."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from html import escape
from pathlib import Path

from aiohttp import web

from inspection_api.errors import (
    InspectionError,
    InviteExpired,
    InviteNotFound,
    InviteRevoked,
    SessionClosed,
)
from inspection_api.remote.service import resolve_invite
from inspection_api.web.keys import SESSIONMAKER

STATIC_DIR = Path(__file__).parent / "static"
# Pages and assets revalidate (ETag/Last-Modified) so a deploy is seen at the next load.
NO_CACHE = {"Cache-Control": "no-cache"}
# A join link is a credential: neither the page nor its error may be kept by a cache.
NO_STORE = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}
TOKEN_MAX = 128

# What the contact can do about a link that admits nobody.
INVALID_HINTS: dict[type[InspectionError], str] = {
    InviteNotFound: "请核对链接是否完整，或联系您的客户经理重新发送邀请。",
    InviteExpired: "邀请链接有有效期，请联系您的客户经理重新发送邀请。",
    InviteRevoked: "客户经理已撤销此链接，请联系您的客户经理获取新的邀请。",
    SessionClosed: "如需再次视频巡检，请联系您的客户经理重新发起。",
}


def _page(name: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    path = STATIC_DIR / name

    async def serve(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(path, headers=NO_CACHE)

    return serve


async def _to_console(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/console")


def _join_page() -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """``/join/{token}``: the join page for a link that admits, else a zh-CN page saying why
    (HTML, not problem+json: the contact opened a link in a phone browser)."""
    page = STATIC_DIR / "join.html"
    template = (STATIC_DIR / "join-invalid.html").read_text(encoding="utf-8")

    def invalid(error: InspectionError) -> web.Response:
        text = template.replace("{{message}}", escape(error.message("zh"))).replace(
            "{{hint}}", escape(INVALID_HINTS.get(type(error), INVALID_HINTS[InviteNotFound]))
        )
        return web.Response(
            text=text, status=error.status, content_type="text/html", headers=NO_STORE
        )

    async def serve(request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        if len(token) > TOKEN_MAX:
            return invalid(InviteNotFound())
        try:
            async with request.app[SESSIONMAKER]() as session:
                await resolve_invite(session, token)
        except (InviteNotFound, InviteExpired, InviteRevoked, SessionClosed) as error:
            return invalid(error)
        return web.FileResponse(page, headers=NO_STORE)

    return serve


def _no_store_page(name: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    path = STATIC_DIR / name

    async def serve(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(path, headers=NO_STORE)

    return serve


def setup_web_client(app: web.Application) -> None:
    """``/`` → ``/console``; the ``/login``, ``/console``, ``/remote/{id}``, ``/replay/{id}``
    and ``/join/{token}`` pages; the on-site page at ``/onsite``, at ``/s/{payload}`` (what a
    QR label encodes) and at ``/self-check/{token}``; assets under ``/static/``."""
    app.router.add_get("/", _to_console, name="home")
    app.router.add_get("/login", _page("login.html"), name="login_page")
    app.router.add_get("/console", _page("console.html"), name="console_page")
    app.router.add_get(r"/remote/{session_id:\d+}", _page("remote.html"), name="remote_page")
    app.router.add_get(r"/replay/{session_id:\d+}", _page("replay.html"), name="replay_page")
    app.router.add_get("/join/{token}", _join_page(), name="join_page")
    app.router.add_get("/onsite", _page("onsite.html"), name="onsite_page")
    app.router.add_get("/s/{payload}", _page("onsite.html"), name="label_page")
    # A self-check link is a credential, like a join link.
    app.router.add_get("/self-check/{token}", _no_store_page("onsite.html"), name="self_check_page")
    app.router.add_static("/static/", STATIC_DIR, name="static")
