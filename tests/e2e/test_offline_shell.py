"""The on-site page opens without network on a phone: a service worker keeps its shell, and
the page says it is offline instead of the browser's error page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from tests.integration.inspection_kit import CA_0001
from tests.plugins.phone import open_phone, ready_on_site

pytestmark = pytest.mark.browser

SHOWCASE = Path("/tmp/onsite-offline.png")


async def test_the_onsite_page_opens_offline_from_its_shell(
    browser: Any, live_server: Any, passwords: dict[str, str], tmp_path: Path
) -> None:
    context, page, problems = await open_phone(browser, CA_0001)
    try:
        manifest = await page.request.get(f"{live_server.url}/static/manifest.webmanifest")
        assert manifest.headers["content-type"].startswith("application/manifest+json")
        assert (await manifest.json())["start_url"] == "/onsite"

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
