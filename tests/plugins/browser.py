"""The real app on a TCP port, and headless Chromium (Playwright, system executable).

``live_server_factory(settings)`` starts ``create_app`` on a free 127.0.0.1 port whose
``public_url`` matches it (Socket.IO and browsers need a real socket, not a test client);
``live_server`` does it for the embedded settings. ``browser``/``page`` drive Chromium with a
fake camera and microphone; ``new_page`` opens one in a context of its own; ``passwords``
seeds the demo bank into ``live_server`` and ``log_in`` signs a page in through the login form.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from aiohttp import web
from playwright.async_api import expect

from inspection_api.demo import seed_demo
from loancheck.settings import Settings
from tests.plugins.services import require_executable

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]
# What a Chinese user's Chromium says in its own words — <input type=month> as 2026年12月 (not
# "December 2026"), the pickers, built-in validation messages — follows the browser's UI
# language. On Linux that comes from LANGUAGE in the environment, not from --lang nor the
# context's locale, and needs Debian's chromium-l10n (.ci/run installs it). LANG stays a
# C library locale the machine has: with LANG=zh_CN.UTF-8 missing from glibc, Chromium names
# every download "download".
CHROMIUM_LOCALE_ENV = {"LANGUAGE": "zh_CN", "LANG": "C.UTF-8"}
HOST = "127.0.0.1"


def chromium_env() -> dict[str, str]:
    """The environment to launch Chromium in: ours, speaking zh-CN."""
    return {**os.environ, **CHROMIUM_LOCALE_ENV}


@dataclass
class LiveServer:
    settings: Settings
    app: web.Application
    url: str  # http://127.0.0.1:PORT, no trailing slash

    @property
    def origin(self) -> str:
        return self.url


async def start_live_server(settings: Settings) -> tuple[LiveServer, web.AppRunner]:
    """Bind a free port first (no race), then build the app with settings that name it."""
    from loancheck.app import create_app

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, 0))
    port = sock.getsockname()[1]
    url = f"http://{HOST}:{port}"
    settings = replace(settings, host=HOST, port=port, public_url=url)
    app = create_app(settings)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=5.0)
    await runner.setup()
    try:
        await web.SockSite(runner, sock).start()
    except BaseException:
        await runner.cleanup()
        raise
    return LiveServer(settings=settings, app=app, url=url), runner


@dataclass
class _Servers:
    runners: list[web.AppRunner] = field(default_factory=list)

    async def start(self, settings: Settings) -> LiveServer:
        server, runner = await start_live_server(settings)
        self.runners.append(runner)
        return server

    async def stop_all(self) -> None:
        while self.runners:
            await self.runners.pop().cleanup()


StartServer = Callable[[Settings], Awaitable[LiveServer]]


@pytest.fixture
async def live_server_factory() -> AsyncIterator[StartServer]:
    """``await live_server_factory(settings)`` → a running server, stopped after the test."""
    servers = _Servers()
    yield servers.start
    await servers.stop_all()


@pytest.fixture
async def live_server(embedded_settings: Settings, live_server_factory: StartServer) -> LiveServer:
    return await live_server_factory(embedded_settings)


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """Headless system Chromium (never a downloaded build)."""
    if not os.access(CHROMIUM, os.X_OK):
        require_executable("chromium", CHROMIUM)
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, env=chromium_env()
        )
        try:
            yield chromium
        finally:
            await chromium.close()


@dataclass
class PageProblems:
    """What the page reported that a user would not see: script errors, CSP violations."""

    errors: list[str] = field(default_factory=list)

    def watch(self, page: Any) -> None:
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.on("console", self._on_console)

    def _on_console(self, message: Any) -> None:
        # Chromium logs every non-2xx fetch ("Failed to load resource"); the 401 that sends
        # a logged-out visitor to /login is expected, so only other errors count.
        if message.type == "error" and "Failed to load resource" not in message.text:
            self.errors.append(f"console: {message.text}")


@pytest.fixture
async def page(browser: Any) -> AsyncIterator[Any]:
    """A zh-CN desktop page in its own browser context (own cookies)."""
    context = await browser.new_context(
        locale="zh-CN", viewport={"width": 1366, "height": 860}, timezone_id="Asia/Shanghai"
    )
    context.set_default_timeout(10_000)
    try:
        yield await context.new_page()
    finally:
        await context.close()


async def new_page(
    browser: Any, *, timeout_ms: int = 10_000, init_script: str | None = None, **options: Any
) -> tuple[Any, Any, PageProblems]:
    """A zh-CN page (Asia/Shanghai) in a context of its own with ``options``, its script
    errors watched; close the context when done."""
    context = await browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", **options)
    context.set_default_timeout(timeout_ms)
    if init_script is not None:
        await context.add_init_script(init_script)
    page = await context.new_page()
    problems = PageProblems()
    problems.watch(page)
    return context, page, problems


@pytest.fixture
def page_problems(page: Any) -> PageProblems:
    """Script errors and CSP violations of ``page``; request it before navigating."""
    problems = PageProblems()
    problems.watch(page)
    return problems


@pytest.fixture
async def passwords(live_server: LiveServer) -> dict[str, str]:
    """The demo bank seeded into ``live_server``: each demo user's password by username."""
    return {user: password for user, password, _ in await seed_demo(live_server.settings)}


async def submit_login(page: Any, server: LiveServer, username: str, password: str) -> None:
    """Fill in and send the login form, expecting nothing of the answer."""
    await page.goto(f"{server.url}/login")
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码").fill(password)
    await page.get_by_role("button", name="登录").click()


async def log_in(page: Any, server: LiveServer, username: str, password: str) -> None:
    """Sign in through the form and wait for the console to be live (its Socket.IO connected).
    After 退出登录, wait for the login page first: a goto racing the page's own is aborted."""
    await submit_login(page, server, username, password)
    await expect(page).to_have_url(re.compile(r"/console(#.*)?$"))
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "connected")
