"""The browser client: static zh-CN pages (login, console) and their assets."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

STATIC_DIR = Path(__file__).parent / "static"
# Pages and assets revalidate (ETag/Last-Modified) so a deploy is seen at the next load.
NO_CACHE = {"Cache-Control": "no-cache"}


def _page(name: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    path = STATIC_DIR / name

    async def serve(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(path, headers=NO_CACHE)

    return serve


async def _to_console(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/console")


def setup_web_client(app: web.Application) -> None:
    """``/`` → ``/console``; ``/login`` and ``/console`` pages; assets under ``/static/``."""
    app.router.add_get("/", _to_console, name="home")
    app.router.add_get("/login", _page("login.html"), name="login_page")
    app.router.add_get("/console", _page("console.html"), name="console_page")
    app.router.add_static("/static/", STATIC_DIR, name="static")
