"""The login page and the console shell in headless Chromium, as a bank user sees them."""

from __future__ import annotations

import re
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from inspection_api.demo import seed_demo
from tests.plugins.browser import log_in, submit_login
from tests.plugins.phone import PHONE, console_on_phone, log_in_on_phone, open_phone

pytestmark = pytest.mark.browser

# Copies for a person to look at (the test's own copies stay in tmp_path).
SHOWCASE = {"login": Path("/tmp/login.png"), "console": Path("/tmp/console.png")}


async def screenshot(page: Any, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    if name in SHOWCASE:
        shutil.copyfile(path, SHOWCASE[name])
    return path


async def test_wrong_password_shows_the_servers_message(
    page, page_problems, live_server, passwords, tmp_path
):
    await submit_login(page, live_server, "admin", "not-the-password-1")
    await expect(page.get_by_role("alert")).to_have_text("用户名或密码错误")
    await expect(page).to_have_url(f"{live_server.url}/login")
    await expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    await screenshot(page, tmp_path, "login-error")
    assert page_problems.errors == []


async def test_console_shows_user_org_tree_and_logs_out(
    page, page_problems, live_server, passwords, tmp_path
):
    await page.goto(f"{live_server.url}/")
    await expect(page).to_have_url(f"{live_server.url}/login")  # / → /console → 401 → /login
    await screenshot(page, tmp_path, "login")

    await log_in(page, live_server, "admin", passwords["admin"])
    await expect(page).to_have_url(re.compile(r"/console(#.*)?$"))
    header = page.locator(".topbar")
    await expect(header).to_contain_text("贷后检查远程巡检平台")
    await expect(header).to_contain_text("系统管理员")  # display name of the demo admin
    await expect(header).to_contain_text("中国银行河北省分行")
    await expect(page.locator("#live-status")).to_have_attribute("data-state", "connected")

    nav = page.get_by_role("navigation", name="功能导航")
    for section in ("检查点", "检查计划", "远程巡检", "实时监管", "机构与用户", "审计日志"):
        await expect(nav).to_contain_text(section)

    await nav.get_by_role("link", name="机构与用户").click()
    tree = page.get_by_role("tree", name="机构树")
    for org in ("中国银行河北省分行", "石家庄分行", "长安支行", "保定分行", "路南支行"):
        await expect(tree).to_contain_text(org)
    await expect(page.get_by_test_id("users-table")).to_contain_text("inspector")
    await tree.get_by_role("treeitem", name=re.compile("保定分行")).click()
    users = page.get_by_test_id("users-table")
    await expect(users).to_contain_text("李检查")
    await expect(users).not_to_contain_text("张检查")  # 长安支行 is not under 保定分行
    await screenshot(page, tmp_path, "console")

    await nav.get_by_role("link", name="审计日志").click()
    audit = page.get_by_test_id("audit-table")
    await expect(audit).to_contain_text("登录成功")
    # Details are said in words: no field keys, no JSON literals (the demo's 发现异常,
    # 下发整改意见 and 新建检查模板 have ids, severities and flags).
    await expect(audit).to_contain_text("检查点：")
    for raw in ("_id", "true", "null", "severity"):
        await expect(audit).not_to_contain_text(raw)
    # Records are named, not numbered: the demo's 下发整改意见 at 莲池汽配城 by 李检查.
    issued = audit.locator("tr", has_text="下发整改意见")
    details = issued.get_by_test_id("audit-detail")
    await expect(details).to_contain_text("检查点：莲池汽配城（LC-0001）")
    await expect(details).to_contain_text("责任人：李检查")
    await expect(details).to_contain_text("异常：企业经营状况异常")
    await expect(issued).to_contain_text("李检查")  # the actor's name beside the username
    bare_id = re.compile(r"：#?\d+$")
    for key in ("checkpoint_id", "responsible_user_id", "anomaly_id"):
        await expect(details.locator(f'[data-key="{key}"]')).not_to_have_text(bare_id)
    await screenshot(page, tmp_path, "audit")
    # 整改意见 #n opens that record.
    await details.get_by_role("link", name=re.compile(r"^整改意见 #\d+$")).click()
    await expect(page).to_have_url(re.compile(r"#/rectifications/\d+$"))
    await expect(page.get_by_test_id("rectification-detail")).to_contain_text("莲池汽配城")
    await nav.get_by_role("link", name="审计日志").click()
    await audit.get_by_role("link", name="莲池汽配城（LC-0001）").first.click()
    await expect(page).to_have_url(re.compile(r"#/checkpoints/\d+$"))
    await expect(page.locator(".checkpoints-detail")).to_contain_text("莲池汽配城")

    await nav.get_by_role("link", name="实时监管").click()
    await expect(page.get_by_test_id("completion-card")).to_contain_text("分行完成率")

    await page.get_by_role("button", name="退出登录").click()
    await expect(page).to_have_url(f"{live_server.url}/login?reason=logged_out")
    await expect(page.locator("#login-notice")).to_have_text("您已安全退出")
    await page.goto(f"{live_server.url}/console")
    await expect(page).to_have_url(f"{live_server.url}/login")  # the cookie is gone
    assert page_problems.errors == []


async def test_password_dialog_shows_field_errors_and_revokes_other_consoles(
    browser, page, page_problems, live_server, passwords, tmp_path
):
    # A second browser (another device) is logged in as the same user.
    other_context = await browser.new_context(locale="zh-CN")
    try:
        other = await other_context.new_page()
        await log_in(other, live_server, "inspector", passwords["inspector"])
        await expect(other.locator("#live-status")).to_have_attribute("data-state", "connected")

        await log_in(page, live_server, "inspector", passwords["inspector"])
        await expect(page.locator("#live-status")).to_have_attribute("data-state", "connected")
        await page.get_by_role("button", name="修改密码").click()
        dialog = page.get_by_role("dialog", name="修改密码")
        await dialog.get_by_label("当前密码").fill("wrong-password-1")
        await dialog.get_by_label("新密码", exact=True).fill("Brand-new-pass-42")
        await dialog.get_by_label("确认新密码").fill("Brand-new-pass-42")
        await dialog.get_by_role("button", name="确认修改").click()
        await expect(dialog.locator('[data-error-for="current_password"]')).to_have_text(
            "当前密码不正确"
        )

        await dialog.get_by_label("当前密码").fill(passwords["inspector"])
        await dialog.get_by_label("新密码", exact=True).fill("short1")
        await dialog.get_by_label("确认新密码").fill("short1")
        await dialog.get_by_role("button", name="确认修改").click()
        await expect(dialog.locator('[data-error-for="new_password"]')).to_contain_text("10")
        await screenshot(page, tmp_path, "password-dialog")

        await dialog.get_by_label("新密码", exact=True).fill("Brand-new-pass-42")
        await dialog.get_by_label("确认新密码").fill("Brand-new-pass-42")
        await dialog.get_by_role("button", name="确认修改").click()
        await expect(dialog.get_by_role("status")).to_contain_text("密码已修改")

        # The other device is sent to the login page and told why.
        await expect(other).to_have_url(f"{live_server.url}/login?reason=revoked", timeout=5000)
        await expect(other.locator("#login-notice")).to_have_text("您的会话已失效，请重新登录")
        # This device stays logged in.
        await page.reload()
        await expect(page.locator(".topbar")).to_contain_text("张检查")
    finally:
        await other_context.close()
    assert page_problems.errors == []


async def test_console_is_usable_on_a_phone(browser, live_server, passwords, tmp_path):
    context, phone, _problems = await open_phone(browser, timeout_ms=30_000)
    try:
        await log_in_on_phone(phone, live_server, passwords["inspector"])
        await console_on_phone(phone, live_server)
        await expect(phone.locator(".topbar")).to_contain_text("张检查")
        # Nothing wider than the screen except the scrolling nav strip and tables.
        width = await phone.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"]
        await screenshot(phone, tmp_path, "console-phone")
    finally:
        await context.close()


async def test_rate_limited_login_shows_the_wait_and_counts_down(
    page, page_problems, embedded_settings, live_server_factory
):
    strict = replace(embedded_settings, login_max_failures=1, login_backoff_base_seconds=30)
    server = await live_server_factory(strict)
    await seed_demo(server.settings)
    await submit_login(page, server, "admin", "wrong-password-1")
    await expect(page.get_by_role("alert")).to_have_text("用户名或密码错误")
    await page.get_by_label("密码").fill("wrong-password-2")
    await page.get_by_role("button", name="登录").click()
    await expect(page.get_by_role("alert")).to_have_text(
        re.compile(r"尝试次数过多，请 \d+ 秒后再试")
    )
    submit = page.locator("#login-submit")
    await expect(submit).to_be_disabled()
    await expect(submit).to_have_text(re.compile(r"请 \d+ 秒后再试"))
    assert page_problems.errors == []


async def test_the_api_docs_render_under_their_csp(page, page_problems, live_server, tmp_path):
    """swagger-ui runs with only its own inline script admitted: the operations render and
    the browser reports no CSP violation."""
    response = await page.goto(f"{live_server.url}/api/docs/")
    assert response is not None and "'sha256-" in response.headers["content-security-policy"]
    await expect(page.locator(".swagger-ui .info .title")).to_contain_text(
        "贷后检查远程巡检平台 API"
    )
    await expect(page.locator(".opblock").first).to_be_visible()
    assert await page.locator(".opblock").count() > 50
    await screenshot(page, tmp_path, "api-docs")
    assert page_problems.errors == []
