"""Each role lands on its own work and sees only the sections it may open (issue #12.1)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import expect

from tests.plugins.browser import log_in
from tests.plugins.phone import log_in_on_phone, open_phone

pytestmark = pytest.mark.browser

ALL_SECTIONS = (
    "检查点",
    "检查模板",
    "检查计划",
    "检查任务",
    "远程巡检",
    "检查记录",
    "明白纸解锁",
    "异常处理",
    "整改意见",
    "实时监管",
    "机构与用户",
    "审计日志",
)


async def nav_titles(page: Any) -> list[str]:
    nav = page.get_by_role("navigation", name="功能导航")
    await expect(nav.get_by_role("link").first).to_be_visible()
    return [text.strip() for text in await nav.locator("a > span:first-child").all_inner_texts()]


@pytest.mark.parametrize(
    ("user", "landing", "heading", "hidden"),
    [
        ("inspector", "#/tasks", "检查任务", {"审计日志", "实时监管", "明白纸解锁"}),
        ("sjz_admin", "#/supervision", "实时监管", set()),
        ("reviewer", "#/inspections?state=submitted", "检查记录", {"明白纸解锁"}),
        ("handler", "#/anomalies", "异常处理", {"审计日志", "实时监管", "明白纸解锁"}),
    ],
)
async def test_each_role_lands_on_its_work(
    page, page_problems, live_server, passwords, user, landing, heading, hidden
):
    await log_in(page, live_server, user, passwords[user])
    await expect(page).to_have_url(f"{live_server.url}/console{landing}")
    section = landing[2:].split("?")[0]
    current = page.locator(f'nav a[data-section="{section}"]')
    await expect(current).to_have_attribute("aria-current", "page")
    await expect(page.locator("#content h2").first).to_contain_text(heading)
    titles = await nav_titles(page)
    assert set(titles) == set(ALL_SECTIONS) - hidden
    assert titles == [t for t in ALL_SECTIONS if t in titles]  # the usual order
    if user == "reviewer":
        # 待审核: the state filter is preset to 已提交.
        await expect(page.locator("#in-filter-state")).to_have_value("submitted")
    assert page_problems.errors == []


async def test_an_inspector_sees_their_org_without_admin_tools(
    page, page_problems, live_server, passwords
):
    """机构与用户 for someone who manages nothing: the org and its people, no tools — and no
    stray text where the tools would be."""
    await log_in(page, live_server, "inspector", passwords["inspector"])
    await page.goto(f"{live_server.url}/console#/orgs")
    await expect(page.get_by_test_id("org-handlers")).to_contain_text("未设置")
    await expect(page.get_by_role("button", name="新建用户")).to_have_count(0)
    await expect(page.locator("#content")).not_to_contain_text("null")
    assert page_problems.errors == []


async def test_a_section_the_role_may_not_open_says_so(page, page_problems, live_server, passwords):
    await log_in(page, live_server, "inspector", passwords["inspector"])
    await expect(page).to_have_url(re.compile(r"#/tasks$"))
    await page.goto(f"{live_server.url}/console#/audit")
    refused = page.get_by_test_id("route-refused")
    await expect(refused).to_contain_text("您的角色没有权限使用「审计日志」")
    await expect(page.get_by_test_id("audit-table")).to_have_count(0)
    await refused.get_by_role("link", name="返回我的首页").click()
    await expect(page).to_have_url(re.compile(r"#/tasks$"))

    await page.goto(f"{live_server.url}/console#/no-such-page")
    await expect(page.get_by_test_id("route-refused")).to_contain_text("页面不存在")
    await expect(page).to_have_title(re.compile("页面不存在"))
    assert page_problems.errors == []


async def test_an_open_record_is_in_the_address(page, page_problems, live_server, passwords):
    """A checkpoint's detail has its own address: reloading or sharing it opens it again."""
    await log_in(page, live_server, "sjz_admin", passwords["sjz_admin"])
    await page.goto(f"{live_server.url}/console#/checkpoints")
    await page.locator("#content table").get_by_role("button", name="华北重工厂区").click()
    await expect(page.locator("#content h2:visible").first).to_have_text("华北重工厂区")
    await expect(page).to_have_url(re.compile(r"#/checkpoints/\d+$"))
    await page.reload()
    await expect(page.locator("#content h2:visible").first).to_have_text("华北重工厂区")
    await page.get_by_role("button", name="← 返回列表").click()
    await expect(page).to_have_url(re.compile(r"#/checkpoints$"))
    assert page_problems.errors == []


async def test_an_inspector_starts_field_work_from_the_task_list(
    page, page_problems, live_server, passwords
):
    """#12.2: 我的任务 leads to the scanner, to the map and to a remote inspection."""
    await log_in(page, live_server, "inspector", passwords["inspector"])
    tasks = page.get_by_test_id("tasks-table")
    ca1 = tasks.locator('tr[data-code="CA-0001"]')  # located by the demo
    ca2 = tasks.locator('tr[data-code="CA-0002"]')  # never scanned
    await expect(ca1.get_by_role("link", name="开始检查")).to_have_attribute(
        "href", re.compile(r"^/onsite\?checkpoint=\d+$")
    )
    await expect(ca1.get_by_role("button", name="分派")).to_have_count(0)

    await ca1.get_by_role("button", name="导航").click()
    await expect(ca1.get_by_role("link", name="百度地图")).to_have_attribute(
        "href", re.compile(r"^(https?://api\.map\.baidu\.com|baidumap://)")
    )
    await expect(ca1.get_by_role("link", name="高德地图")).to_be_visible()
    await ca2.get_by_role("button", name="导航").click()
    await expect(page.get_by_role("alert")).to_contain_text("「冀中纺织成品仓库」尚未定位")

    await ca2.get_by_role("link", name="发起远程巡检").click()
    await expect(page).to_have_url(re.compile(r"#/remote\?checkpoint=\d+$"))
    picked = page.get_by_label("被检查企业（检查点）")
    await expect(picked.locator("option:checked")).to_have_text(
        "河北冀中纺织品有限公司 · 冀中纺织成品仓库（CA-0002）"
    )
    assert page_problems.errors == []


async def test_on_a_phone_an_inspector_lands_on_the_phone_page(browser, live_server, passwords):
    """An inspector signing in on a phone lands on 我的任务's phone page (/field), not on the
    console's wide table; a link into the console is followed as it is, and other roles
    land on the console on a phone too."""
    context, phone, problems = await open_phone(browser)
    try:
        await log_in_on_phone(phone, live_server, passwords["inspector"])
        await expect(phone.get_by_test_id("task")).to_have_count(2)
        await expect(phone.get_by_test_id("console-link")).to_have_text(
            "全部功能（检查任务、检查记录、远程巡检…）"
        )
        await phone.goto(f"{live_server.url}/console#/inspections")
        await expect(phone.locator("#content h2").first).to_contain_text("检查记录")
        await expect(phone).to_have_url(f"{live_server.url}/console#/inspections")
        assert problems.errors == []
    finally:
        await context.close()
    context, phone, problems = await open_phone(browser)
    try:
        await log_in(phone, live_server, "handler", passwords["handler"])
        await expect(phone).to_have_url(f"{live_server.url}/console#/anomalies")
        assert problems.errors == []
    finally:
        await context.close()
