"""The on-site page opens without network on a phone: a service worker keeps its shell, and
the page says it is offline instead of the browser's error page."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.async_api import expect

from tests.integration.inspection_kit import CA_0001
from tests.plugins.browser import CHROMIUM, CHROMIUM_ARGS, chromium_env
from tests.plugins.phone import PHONE, fill_login, live_api, open_phone, ready_on_site

pytestmark = pytest.mark.browser

SHOWCASE = Path("/tmp/onsite-offline.png")


async def test_the_onsite_page_opens_offline_from_its_shell(
    browser: Any, live_server: Any, passwords: dict[str, str], tmp_path: Path
) -> None:
    context, page, problems = await open_phone(browser, CA_0001)
    try:
        manifest = await page.request.get(f"{live_server.url}/static/manifest.webmanifest")
        assert manifest.headers["content-type"].startswith("application/manifest+json")
        assert (await manifest.json())["start_url"] == "/field"

        await ready_on_site(page, live_server, passwords["inspector"])
        await expect(page.get_by_test_id("offline-notice")).to_be_hidden()

        await context.set_offline(True)
        await page.reload()
        await expect(page.locator("#page-title")).to_have_text("现场检查")
        await expect(page.get_by_test_id("offline-notice")).to_have_text(
            "当前无网络：页面已从手机缓存打开，联网后即可继续检查。"
        )
        await page.screenshot(path=str(tmp_path / "offline.png"))
        await page.screenshot(path=str(SHOWCASE))

        await context.set_offline(False)
        await page.reload()
        await expect(page.get_by_role("button", name="打开摄像头扫码")).to_be_visible()
        await expect(page.get_by_test_id("offline-notice")).to_be_hidden()
        # The only console errors are the failed requests while offline.
        assert all(
            "ERR_INTERNET_DISCONNECTED" in e or "Failed to fetch" in e for e in problems.errors
        ), problems.errors
    finally:
        await context.close()


async def test_the_phone_pages_are_installable_to_the_home_screen(
    browser: Any, live_server: Any, passwords: dict[str, str], tmp_path: Path
) -> None:
    """Chromium's own verdict (the DevTools installability check that decides whether
    Android Chrome offers 安装应用), in a real profile: incognito contexts never qualify.
    Then what iOS Safari and Android launchers read: PNG icons of the sizes the manifest
    states, a maskable one, and the apple-touch-icon."""
    context = await browser.browser_type.launch_persistent_context(
        str(tmp_path / "profile"),
        executable_path=CHROMIUM,
        args=CHROMIUM_ARGS,
        env=chromium_env(),
        headless=True,
        locale="zh-CN",
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(15_000)
    try:
        page = await context.new_page()
        await page.goto(f"{live_server.url}/login?next=%2Ffield")
        await fill_login(page, passwords["inspector"])
        await expect(page.locator("#page-title")).to_have_text("我的任务")
        cdp = await context.new_cdp_session(page)
        for path in ("/field", "/onsite"):
            await page.goto(f"{live_server.url}{path}")
            await page.evaluate("async () => { await navigator.serviceWorker.ready; }")
            verdict = await cdp.send("Page.getInstallabilityErrors")
            assert verdict["installabilityErrors"] == [], (path, verdict)
            manifest = await cdp.send("Page.getAppManifest")
            assert manifest["errors"] == [], manifest["errors"]
            assert manifest["manifest"]["startUrl"] == f"{live_server.url}/field"
            touch_icon = await page.locator("link[rel=apple-touch-icon]").get_attribute("href")
            assert touch_icon == "/static/img/apple-touch-icon.png"
            assert (
                await page.locator("meta[name=apple-mobile-web-app-title]").get_attribute("content")
                == "贷后检查"
            )

        declared = (
            await (await page.request.get(f"{live_server.url}/static/manifest.webmanifest")).json()
        )["icons"]
        pngs = [
            (i["src"], i["sizes"], i.get("purpose", "any"))
            for i in declared
            if i["type"] == "image/png"
        ]
        assert {(size, purpose) for _, size, purpose in pngs} >= {
            ("192x192", "any"),
            ("512x512", "any"),
            ("512x512", "maskable"),
        }
        for src, size, _ in [*pngs, (touch_icon, "180x180", "any")]:
            response = await page.request.get(f"{live_server.url}{src}")
            assert response.ok and response.headers["content-type"] == "image/png", src
            image = Image.open(io.BytesIO(await response.body()))
            assert f"{image.width}x{image.height}" == size, src

        # An enterprise contact's self-check link installs as itself: opened from the home
        # screen it is their self-check, not the staff's 我的任务 behind a login.
        async with live_api(live_server, "inspector", passwords["inspector"]) as http:
            checkpoints = (await (await http.get("/api/v1/checkpoints")).json())["items"]
            body = {"checkpoint_id": checkpoints[0]["id"], "contact_name": "刘建国"}
            created = await http.post("/api/v1/inspections/self-check", json=body)
            assert created.status == 201, await created.text()
            link = (await created.json())["url"]
        await page.goto(link)
        await expect(page.locator("#page-title")).to_have_text("企业自检")
        verdict = await cdp.send("Page.getInstallabilityErrors")
        assert verdict["installabilityErrors"] == [], verdict
        manifest = await cdp.send("Page.getAppManifest")
        assert manifest["errors"] == [], manifest["errors"]
        assert manifest["manifest"]["startUrl"] == link
        assert manifest["manifest"]["scope"] == link
        assert manifest["manifest"]["name"] == "贷后检查 · 企业自检"
    finally:
        await context.close()
