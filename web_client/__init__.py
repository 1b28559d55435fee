"""The browser client: static zh-CN pages (login, console, call, join, rectify) and assets."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web

from inspection_api.db import utcnow
from inspection_api.errors import (
    InspectionError,
    InviteExpired,
    InviteNotFound,
    InviteRevoked,
    SessionClosed,
)
from inspection_api.rectifications.errors import RectifyLinkExpired, RectifyLinkNotFound
from inspection_api.rectifications.replies import resolve_token
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


async def _service_worker(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(
        STATIC_DIR / "sw.js",
        headers={**NO_CACHE, "Content-Type": "text/javascript; charset=utf-8"},
    )


async def _self_check_manifest(request: web.Request) -> web.StreamResponse:
    """The home-screen app of one self-check link: an enterprise contact who adds the page
    to the home screen opens their own self-check from it, not the staff's 我的任务 (the
    shared manifest). Built from the link as written; the page itself checks the link."""
    page = f"/self-check/{quote(request.match_info['token'], safe='')}"
    manifest = {
        "id": page,
        "name": "贷后检查 · 企业自检",
        "short_name": "企业自检",
        "description": "企业自检：无网络时也可填写、拍照，联网后自动上传",
        "lang": "zh-CN",
        "start_url": page,
        "scope": page,
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#ffffff",
        "theme_color": "#c8102e",
        "icons": json.loads((STATIC_DIR / "manifest.webmanifest").read_text())["icons"],
    }
    return web.Response(
        text=json.dumps(manifest, ensure_ascii=False),
        content_type="application/manifest+json",
        headers=NO_STORE,
    )


SHARED_MANIFEST = '<link rel="manifest" href="/static/manifest.webmanifest">'


def _self_check_page() -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """``/self-check/{token}``: the on-site page naming the link's own manifest in its HTML,
    so a browser that reads the manifest as the page loads installs the link, not the staff's
    我的任务 (offline the cached shell swaps it in script: onsite-page.js)."""
    html = (STATIC_DIR / "onsite.html").read_text()
    assert SHARED_MANIFEST in html

    async def serve(request: web.Request) -> web.StreamResponse:
        page = f"/self-check/{quote(request.match_info['token'], safe='')}"
        own = f'<link rel="manifest" href="{escape(page)}/manifest.webmanifest">'
        return web.Response(
            text=html.replace(SHARED_MANIFEST, own), content_type="text/html", headers=NO_STORE
        )

    return serve


async def _to_console(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/console")


# The same for a rectification reply link (整改反馈).
RECTIFY_HINTS: dict[type[InspectionError], str] = {
    RectifyLinkNotFound: "请核对链接是否完整；如客户经理已重新生成链接，请使用最新的链接。",
    RectifyLinkExpired: "反馈链接有有效期，请联系您的客户经理重新生成链接。",
}


def _token_page(
    page: str,
    invalid_page: str,
    resolve: Callable[[Any, str], Awaitable[Any]],
    hints: dict[type[InspectionError], str],
    not_found: type[InspectionError],
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """``/…/{token}`` of a link an outsider opens in a phone browser: ``page`` when
    ``resolve(session, token)`` accepts it, else ``invalid_page`` saying why in zh-CN (HTML,
    not problem+json), with the error's status."""
    template = (STATIC_DIR / invalid_page).read_text(encoding="utf-8")

    def invalid(error: InspectionError) -> web.Response:
        text = template.replace("{{message}}", escape(error.message("zh"))).replace(
            "{{hint}}", escape(hints.get(type(error), hints[not_found]))
        )
        return web.Response(
            text=text, status=error.status, content_type="text/html", headers=NO_STORE
        )

    async def serve(request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        if len(token) > TOKEN_MAX:
            return invalid(not_found())
        try:
            async with request.app[SESSIONMAKER]() as session:
                await resolve(session, token)
        except tuple(hints) as error:
            return invalid(error)
        return web.FileResponse(STATIC_DIR / page, headers=NO_STORE)

    return serve


def _join_page() -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """``/join/{token}``: the enterprise contact's remote-inspection join page."""
    return _token_page(
        "join.html", "join-invalid.html", resolve_invite, INVALID_HINTS, InviteNotFound
    )


def _rectify_page() -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """``/rectify/{token}``: the enterprise contact's rectification reply page."""

    async def resolve(session: Any, token: str) -> Any:
        return await resolve_token(session, token, now=utcnow())

    return _token_page(
        "rectify.html", "rectify-invalid.html", resolve, RECTIFY_HINTS, RectifyLinkNotFound
    )


def setup_web_client(app: web.Application) -> None:
    """``/`` → ``/console``; the ``/login``, ``/console``, ``/remote/{id}``, ``/replay/{id}``,
    ``/join/{token}`` and ``/rectify/{token}`` pages; the phone's 我的任务 at ``/field``; the
    on-site page at ``/onsite``, at ``/s/{payload}`` (what a QR label encodes) and at
    ``/self-check/{token}``; assets under ``/static/``."""
    app.router.add_get("/", _to_console, name="home")
    app.router.add_get("/login", _page("login.html"), name="login_page")
    app.router.add_get("/console", _page("console.html"), name="console_page")
    app.router.add_get(r"/remote/{session_id:\d+}", _page("remote.html"), name="remote_page")
    app.router.add_get(r"/replay/{session_id:\d+}", _page("replay.html"), name="replay_page")
    app.router.add_get("/join/{token}", _join_page(), name="join_page")
    app.router.add_get("/onsite", _page("onsite.html"), name="onsite_page")
    app.router.add_get("/field", _page("field.html"), name="field_page")
    app.router.add_get("/s/{payload}", _page("onsite.html"), name="label_page")
    # A self-check link is a credential, like a join link.
    app.router.add_get("/self-check/{token}", _self_check_page(), name="self_check_page")
    app.router.add_get(
        "/self-check/{token}/manifest.webmanifest", _self_check_manifest, name="self_check_manifest"
    )
    app.router.add_get("/rectify/{token}", _rectify_page(), name="rectify_page")
    # At the root, so its scope covers /onsite, /s/{payload} and /field.
    app.router.add_get("/sw.js", _service_worker, name="service_worker")
    app.router.add_static("/static/", STATIC_DIR, name="static")
