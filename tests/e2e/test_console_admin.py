"""机构与用户 as an administrator runs it: new orgs, users, roles, resets, deactivation and
each org's 异常处理人, all from the console (issue #12.3)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, CookieJar
from playwright.async_api import expect

from tests.plugins.browser import log_in

pytestmark = pytest.mark.browser


async def mint_token(server: Any, username: str, password: str) -> None:
    """The user logs in from another client and makes an API token named 对接系统."""
    async with ClientSession(server.url, cookie_jar=CookieJar(unsafe=True)) as http:
        login = {"username": username, "password": password}
        assert (await http.post("/api/v1/auth/login", json=login)).status == 200
        made = await http.post(
            "/api/v1/auth/tokens", json={"name": "对接系统", "password": password}
        )
        assert made.status == 201, await made.text()


async def open_org(page: Any, name: str) -> None:
    tree = page.get_by_role("tree", name="机构树")
    await tree.get_by_role("treeitem", name=re.compile(name)).click()
    await expect(page.locator(".org-title")).to_contain_text(name)


async def test_an_administrator_sets_up_orgs_and_users(
    page, page_problems, live_server, passwords, tmp_path: Path
):
    await log_in(page, live_server, "sjz_admin", passwords["sjz_admin"])
    await (
        page.get_by_role("navigation", name="功能导航")
        .get_by_role("link", name="机构与用户")
        .click()
    )
    await open_org(page, "石家庄分行")
    await expect(page.get_by_test_id("org-handlers")).to_contain_text("赵处理")

    # 新建下级机构: a refused code is shown under its field, the rest is kept.
    await page.get_by_role("button", name="新建下级机构").click()
    dialog = page.get_by_role("dialog", name="新建下级机构")
    await dialog.get_by_label("机构名称").fill("裕华支行")
    await dialog.get_by_label("机构编号").fill("bad code!")
    await dialog.get_by_role("button", name="新建机构").click()
    await expect(dialog.locator('[data-error-for="code"]')).to_be_visible()
    await expect(dialog.get_by_label("机构名称")).to_have_value("裕华支行")
    await dialog.get_by_label("机构编号").fill("HB-SJZ-YH")
    await dialog.get_by_role("button", name="新建机构").click()
    await expect(page.get_by_role("status")).to_contain_text("已新建机构「裕华支行」")
    await expect(page.locator(".org-title")).to_contain_text("裕华支行")
    await expect(page.get_by_test_id("org-handlers")).to_contain_text("未设置")

    # 新建用户 in the new 支行.
    await page.get_by_role("button", name="新建用户").click()
    dialog = page.get_by_role("dialog", name=re.compile("新建用户"))
    await dialog.get_by_label("用户名").fill("yh.wang")
    await dialog.get_by_label("姓名").fill("王检查")
    await dialog.get_by_label("初始密码").fill("Yuhua-start-2026")
    await dialog.get_by_label("客户经理/检查员").check()
    await page.screenshot(path=str(tmp_path / "admin-new-user.png"))
    await dialog.get_by_role("button", name="新建用户").click()
    await expect(page.get_by_role("status")).to_contain_text("已新建用户 王检查（yh.wang）")
    row = page.get_by_test_id("users-table").locator('tr[data-username="yh.wang"]')
    await expect(row).to_contain_text("客户经理/检查员")

    # 设置异常处理人: the same user takes the role too.
    await page.get_by_role("button", name="设置异常处理人").click()
    dialog = page.get_by_role("dialog", name=re.compile("设置异常处理人"))
    await dialog.get_by_label("用户").select_option(label="王检查（yh.wang）")
    await dialog.get_by_role("button", name="设为异常处理人").click()
    await expect(page.get_by_role("status")).to_contain_text("王检查 已设为裕华支行的异常处理人")
    await expect(page.get_by_test_id("org-handlers")).to_contain_text("王检查")
    await expect(row).to_contain_text("异常处理人")

    # An API token the user made shows in 「API 令牌」 and is revoked there.
    await mint_token(live_server, "yh.wang", "Yuhua-start-2026")
    await row.get_by_role("button", name="API 令牌").click()
    tokens = page.get_by_role("dialog", name=re.compile("API 令牌"))
    await expect(tokens.get_by_test_id("user-tokens")).to_contain_text("对接系统")
    await tokens.get_by_role("button", name="吊销").click()
    await expect(tokens.get_by_test_id("user-tokens")).to_contain_text("该用户没有有效的 API 令牌")
    await tokens.get_by_role("button", name="关闭").click()

    # 重置密码, then 停用: the user can no longer log in.
    await row.get_by_role("button", name="重置密码").click()
    dialog = page.get_by_role("dialog", name=re.compile("重置密码"))
    await dialog.get_by_label("新密码").fill("short")
    await dialog.get_by_role("button", name="重置密码").click()
    await expect(dialog.locator('[data-error-for="password"]')).to_be_visible()
    await dialog.get_by_label("新密码").fill("Yuhua-second-2026")
    await dialog.get_by_role("button", name="重置密码").click()
    await expect(page.get_by_role("status")).to_contain_text("已重置 王检查 的密码")
    await row.get_by_role("button", name="停用").click()
    await expect(page.get_by_role("status")).to_contain_text("已停用 王检查")
    await expect(row).to_contain_text("停用")
    await page.screenshot(path=str(tmp_path / "admin-orgs.png"), full_page=True)

    # Nobody edits their own roles or org: the dialog says so and locks those fields.
    own = page.get_by_test_id("users-table")
    await open_org(page, "石家庄分行")
    await own.locator('tr[data-username="sjz_admin"]').get_by_role("button", name="编辑").click()
    dialog = page.get_by_role("dialog", name=re.compile("编辑用户"))
    await expect(dialog).to_contain_text("不能修改自己的角色")
    await expect(dialog.get_by_label("所属机构")).to_be_disabled()
    await expect(
        own.locator('tr[data-username="sjz_admin"]').get_by_role("button", name="停用")
    ).to_have_count(0)
    assert page_problems.errors == []


async def test_appointing_a_handler_in_the_console_routes_waiting_anomalies(
    page, page_problems, live_server, passwords
):
    await log_in(page, live_server, "hb_admin", passwords["hb_admin"])
    await page.goto(f"{live_server.url}/console#/orgs")
    await open_org(page, "保定分行")
    await expect(page.get_by_test_id("org-handlers")).to_contain_text("未设置")
    await page.get_by_role("button", name="设置异常处理人").click()
    dialog = page.get_by_role("dialog", name=re.compile("设置异常处理人"))
    await dialog.get_by_role("button", name="设为异常处理人").click()  # 新建一个用户…
    dialog = page.get_by_role("dialog", name=re.compile("新建用户"))
    await expect(dialog.get_by_label("异常处理人")).to_be_checked()
    await dialog.get_by_label("用户名").fill("bd.handler")
    await dialog.get_by_label("姓名").fill("周处理")
    await dialog.get_by_label("初始密码").fill("Baoding-start-2026")
    await dialog.get_by_role("button", name="新建用户").click()
    await expect(page.get_by_role("status")).to_contain_text("已新建用户 周处理")
    await expect(page.get_by_test_id("org-handlers")).to_contain_text("周处理")

    await page.goto(f"{live_server.url}/console#/anomalies")
    table = page.locator("#content table")
    await expect(table).to_contain_text("保定分行")
    await expect(table).not_to_contain_text("未设置处理人")
    assert page_problems.errors == []
