"""A reviewer sees, in the console, that an inspection was done offline: when the phone
captured it, when it arrived, and how far off the phone's clock was."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, CookieJar
from playwright.async_api import expect

from inspection_api.db import utcnow
from tests.integration.offline_kit import phone_inspection, sync
from tests.plugins.browser import log_in

pytestmark = pytest.mark.browser

SHOWCASE = Path("/tmp/offline-inspection-detail.png")


async def test_the_console_shows_an_offline_inspections_times_and_clock(
    page: Any, live_server: Any, passwords: dict[str, str], tmp_path: Path
) -> None:
    async with ClientSession(live_server.url, cookie_jar=CookieJar(unsafe=True)) as http:
        http.headers["Origin"] = live_server.url
        login = {"username": "inspector", "password": passwords["inspector"]}
        assert (await http.post("/api/v1/auth/login", json=login)).status == 200
        checkpoints = (await (await http.get("/api/v1/checkpoints")).json())["items"]
        found = next(c for c in checkpoints if c["code"] == "CA-0001")
        qr = (await (await http.get(f"/api/v1/checkpoints/{found['id']}/qr")).json())["url"]
        skew = timedelta(minutes=3)  # the phone's clock runs 3 minutes fast
        item = await phone_inspection(
            http, qr, started=utcnow() - timedelta(hours=5) + skew, media=False
        )
        reply = await sync(http, item, sent_at=utcnow() + skew)
    inspection_id = reply["results"][0]["inspection_id"]
    assert reply["results"][0]["status"] == "submitted", reply
    await log_in(page, live_server, "reviewer", passwords["reviewer"])
    await page.goto(f"{live_server.url}/console#/inspections")
    row = page.get_by_role("row").filter(has_text="离线提交")
    await expect(row).to_have_count(1)
    await page.goto(f"{live_server.url}/console#/inspections/{inspection_id}")
    facts = page.get_by_test_id("offline-facts")
    await expect(facts).to_contain_text("服务器收到")
    await expect(facts).to_contain_text("提交后 5.0 小时 同步")
    await expect(facts).to_contain_text("手机时钟偏差：快 3 分钟（超出 60 秒")
    await page.screenshot(path=str(tmp_path / "offline-detail.png"), full_page=True)
    await page.screenshot(path=str(SHOWCASE), full_page=True)
