"""A refused field in the console reads as plain Chinese beside it (issue #12.5): the field's
name and what is wrong, no path, no English; what was typed is kept."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.plugins.browser import log_in

pytestmark = pytest.mark.browser


async def test_a_refused_amount_says_so_in_chinese_beside_its_field(
    page, page_problems, live_server, passwords
):
    await log_in(page, live_server, "sjz_admin", passwords["sjz_admin"])
    await page.get_by_role("navigation", name="功能导航").get_by_role("link", name="检查点").click()
    await page.get_by_role("button", name="新建检查点").click()
    dialog = page.get_by_role("dialog", name="新建检查点")
    await dialog.get_by_label("所属支行").select_option(label="长安支行")
    await dialog.get_by_label("检查点编号").fill("CA-0200")
    await dialog.get_by_label("检查点名称").fill("石药二号仓库")
    await dialog.get_by_label("企业/借款人").fill("石家庄某某制药有限公司")
    await dialog.get_by_label("贷款金额（元）").fill("一百五十万")
    await dialog.get_by_role("button", name="新建检查点").click()
    error = dialog.locator('[data-error-for="loan_amount"]')
    await expect(error).to_have_text("贷款金额：应为数字")
    await expect(dialog.get_by_label("检查点名称")).to_have_value("石药二号仓库")  # kept
    await page.screenshot(path="/tmp/zherr-amount-error.png")
    await page.set_viewport_size({"width": 390, "height": 844})
    await expect(error).to_be_visible()
    await page.screenshot(path="/tmp/zherr-amount-error-phone.png")
