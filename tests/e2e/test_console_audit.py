"""审计日志 as an auditor (审核人 王审核 of 石家庄分行) reads it on a PC: filtered by Beijing days,
操作人, 对象类型 and 操作类型, the filters kept in the address, a session named by what it is;
导出 downloads the rows the filters select as a CSV for Excel."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import ClientSession, CookieJar
from playwright.async_api import expect

from inspection_api.beijing import today
from tests.plugins.browser import log_in, new_page

pytestmark = pytest.mark.browser
MINUTE = r"\d{4}-\d\d-\d\d \d\d:\d\d"  # a Beijing time to the minute


async def open_remote_inspection(server: Any, password: str) -> None:
    """张检查 opens a 远程巡检 from another client (an event of 长安支行, in 石家庄's log)."""
    async with ClientSession(server.url, cookie_jar=CookieJar(unsafe=True)) as http:
        login = {"username": "inspector", "password": password}
        assert (await http.post("/api/v1/auth/login", json=login)).status == 200
        body = {"title": "季度视频巡检", "enterprise_name": "华北机械"}
        made = await http.post("/api/v1/remote-sessions", json=body)
        assert made.status == 201, await made.text()


async def test_an_auditor_filters_the_audit_log(browser, live_server, passwords, tmp_path):
    await open_remote_inspection(live_server, passwords["inspector"])
    context, page, problems = await new_page(browser, viewport={"width": 1366, "height": 900})
    try:
        await log_in(page, live_server, "reviewer", passwords["reviewer"])
        await (
            page.get_by_role("navigation", name="功能导航")
            .get_by_role("link", name="审计日志")
            .click()
        )
        table = page.get_by_test_id("audit-table")
        rows = table.locator("tbody tr")
        filters = page.get_by_role("search", name="筛选审计日志")
        await expect(table).to_contain_text("新建远程巡检")

        # 会话 is said as what it is: the remote inspection by its enterprise, matter, opener.
        created = rows.filter(has_text="新建远程巡检")
        await expect(created).to_contain_text(
            re.compile(rf"远程巡检：华北机械「季度视频巡检」（张检查，{MINUTE} 发起）")
        )
        sessions = table.locator('[data-key="session_id"]')
        for session in await sessions.all():
            await expect(session).to_have_text(re.compile(r"^(远程巡检|登录会话)："))

        # 对象类型 narrows the rows and the 操作类型 offered.
        await filters.get_by_label("对象类型").select_option(label="登录与账号")
        await expect(page).to_have_url(re.compile(r"#/audit\?object_type=account$"))
        await expect(rows.filter(has_text="新建远程巡检")).to_have_count(0)
        await expect(rows.first).to_contain_text("登录成功")
        actions = filters.get_by_label("操作类型")
        await expect(actions.locator("option", has_text="新建远程巡检")).to_have_count(0)
        await expect(actions.locator("option", has_text="登录失败")).to_have_count(1)
        # A login is named by who logged in when, and until when it holds.
        await expect(rows.first).to_contain_text(
            re.compile(rf"登录会话：王审核 {MINUTE} 登录，有效至 {MINUTE}")
        )

        # 操作类型 and 操作人 together: 王审核's own logins only.
        await actions.select_option(label="登录成功")
        await filters.get_by_label("操作人").select_option(label="王审核（reviewer）")
        await expect(page).to_have_url(
            re.compile(r"#/audit\?actor_user_id=\d+&object_type=account&action=login_succeeded$")
        )
        await expect(rows).to_have_count(1)
        await expect(rows.first).to_contain_text("王审核")
        assert {await r.get_attribute("data-action") for r in await rows.all()} == {
            "login_succeeded"
        }
        await page.screenshot(path=str(tmp_path / "audit-filtered.png"))

        # The filters live in the address: a reload shows the same.
        await page.reload()
        await expect(filters.get_by_label("操作类型")).to_have_value("login_succeeded")
        await expect(filters.get_by_label("对象类型")).to_have_value("account")
        await expect(rows).to_have_count(1)

        # Beijing days, both ends inclusive: today has the login, tomorrow nothing yet.
        day = today()
        await filters.get_by_label("开始日期").fill(day.isoformat())
        await filters.get_by_label("结束日期").fill(day.isoformat())
        await expect(page).to_have_url(re.compile(f"date_from={day}&date_to={day}"))
        await expect(rows).to_have_count(1)
        tomorrow = (day + timedelta(days=1)).isoformat()
        await filters.get_by_label("结束日期").fill(tomorrow)
        await filters.get_by_label("开始日期").fill(tomorrow)
        await expect(rows).to_have_count(0)
        await expect(page.get_by_text("没有符合条件的审计记录")).to_be_visible()
        # An end before the start is the server's refusal, said in words.
        await filters.get_by_label("结束日期").fill(day.isoformat())
        await expect(page.get_by_role("alert")).to_contain_text("结束日期不能早于开始日期")

        await page.get_by_role("button", name="清除筛选").click()
        await expect(page).to_have_url(re.compile(r"#/audit$"))
        await expect(table).to_contain_text("新建远程巡检")
        await expect(filters.get_by_label("开始日期")).to_have_value("")
        await page.screenshot(path=str(tmp_path / "audit-cleared.png"))
        assert problems.errors == []
    finally:
        await context.close()


async def test_export_downloads_the_filtered_rows(browser, live_server, passwords, tmp_path):
    await open_remote_inspection(live_server, passwords["inspector"])
    context, page, problems = await new_page(
        browser, viewport={"width": 1366, "height": 900}, accept_downloads=True
    )
    try:
        await log_in(page, live_server, "reviewer", passwords["reviewer"])
        day = today().isoformat()
        # The filters as a link brings them: today's 登录与账号 events (张检查's and 王审核's
        # logins), not the 远程巡检 opened in between.
        await page.goto(f"{live_server.url}/console#/audit?date_from={day}&date_to={day}"
                        "&object_type=account")  # fmt: skip
        table = page.get_by_test_id("audit-table")
        rows = table.locator("tbody tr")
        await expect(rows.first).to_contain_text("登录成功")
        await expect(page.get_by_test_id("audit-count")).to_contain_text("（全部）")
        shown = [
            [await cell.inner_text() for cell in await row.locator("td").all()]
            for row in await rows.all()
        ]
        assert len(shown) >= 2 and not any("新建远程巡检" in r[1] for r in shown)
        button = page.get_by_role("link", name="导出")
        await expect(button).to_be_visible()
        await page.screenshot(path=str(tmp_path / "audit-export.png"))

        async with page.expect_download() as started:
            await button.click()
        download = await started.value
        assert re.fullmatch(r"审计日志-\d{8}-\d{4}\.csv", download.suggested_filename)
        saved = tmp_path / download.suggested_filename
        await download.save_as(saved)
        body = await asyncio.to_thread(saved.read_bytes)
        assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 with a BOM: Excel reads it as such
        header, *exported = csv.reader(io.StringIO(body.decode("utf-8-sig"), newline=""))
        assert header == ["时间", "操作", "对象类型", "对象", "操作人", "用户名", "IP 地址", "详情"]
        # Row for row the table: the time (the page writes 2026/12/06, the file 2026-12-06),
        # 操作, 操作人 (the page puts the username under the name), the IP, 对象 — the login
        # session, named in the page's 详情 as the file names it — and 详情 itself.
        assert len(exported) == len(shown)
        for (at, action, actor, ip, detail), row in zip(shown, exported, strict=True):
            assert row[0] == at.replace("/", "-")
            assert row[1] == action and row[2] == "登录与账号"
            assert actor.split("\n") == [row[4], row[5]]
            assert row[6] == ip
            assert row[3] and f"登录会话：{row[3]}" in detail
            assert row[7] == detail  # 详情: the words the page shows, not the recorded JSON
        assert {r[5] for r in exported} >= {"inspector", "reviewer"}

        # Filters the server refuses: the page says why, and offers no export of them.
        await (
            page.get_by_role("search", name="筛选审计日志")
            .get_by_label("开始日期")
            .fill((today() + timedelta(days=1)).isoformat())
        )
        await expect(page.get_by_role("alert")).to_contain_text("结束日期不能早于开始日期")
        await expect(button).to_be_hidden()
        assert problems.errors == []
    finally:
        await context.close()
