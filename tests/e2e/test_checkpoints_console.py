"""The console section 检查点 in headless Chromium, as a 石家庄分行 administrator uses it:
register a checkpoint (a refused phone number keeps what was typed), download its label
sheet and read it back, filter exit points, print a selection, 重置GPS with confirmation."""

from __future__ import annotations

import io
import re
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pypdf
import pytest
import zxingcpp
from playwright.async_api import expect

from inspection_api.beijing import local_date
from inspection_api.db import utcnow
from tests.plugins.browser import log_in

pytestmark = pytest.mark.browser

SHOWCASE = Path("/tmp/checkpoints.png")  # a copy for a person to look at


async def downloaded_pdf(page: Any, button: Any, tmp_path: Path, name: str) -> pypdf.PdfReader:
    async with page.expect_download() as info:
        await button.click()
    download = await info.value
    path = tmp_path / name
    await download.save_as(path)
    assert path.read_bytes().startswith(b"%PDF-")
    return pypdf.PdfReader(io.BytesIO(path.read_bytes()))


def qr_codes(reader: pypdf.PdfReader) -> list[str]:
    return [
        r.text
        for page in reader.pages
        for i in page.images
        for r in zxingcpp.read_barcodes(i.image)
    ]


async def test_register_print_filter_and_reset_gps(
    page, page_problems, live_server, passwords, tmp_path
):
    await log_in(page, live_server, "sjz_admin", passwords["sjz_admin"])
    await expect(page.locator(".topbar")).to_contain_text("石家庄分行")
    await page.get_by_role("navigation", name="功能导航").get_by_role("link", name="检查点").click()
    table = page.get_by_test_id("checkpoints-table")
    for code in ("CA-0001", "CA-0002", "CA-0003", "QX-0001"):
        await expect(table).to_contain_text(code)
    await expect(table).not_to_contain_text("LC-0001")  # 保定 is not 石家庄分行's
    await expect(page.get_by_test_id("checkpoint-count")).to_have_text("共 4 个，第 1–4 个")

    # Register a checkpoint; the server refuses the phone number by name.
    await page.get_by_role("button", name="新建检查点").click()
    dialog = page.get_by_role("dialog", name="新建检查点")
    await dialog.get_by_label("所属支行").select_option(label="长安支行")
    await dialog.get_by_label("检查点编号").fill("CA-0100")
    await dialog.get_by_label("检查点名称").fill("石药原料仓库")
    await dialog.get_by_label("企业/借款人").fill("石家庄某某制药有限公司")
    await dialog.get_by_label("贷款金额（元）").fill("1500000.50")
    await dialog.get_by_label("五级分类").select_option(label="关注")
    await dialog.get_by_label("联系电话").fill("12345")
    await dialog.get_by_role("button", name="新建检查点").click()
    await expect(dialog.locator('[data-error-for="contact_phone"]')).to_contain_text("应为手机号")
    await expect(dialog.get_by_label("检查点名称")).to_have_value("石药原料仓库")  # kept
    await dialog.get_by_label("联系电话").fill("0311-87654321")
    await dialog.get_by_role("button", name="新建检查点").click()
    await expect(dialog).to_have_count(0)

    detail = page.get_by_test_id("checkpoint-detail")
    await expect(detail.get_by_role("heading", name="石药原料仓库")).to_be_visible()
    facts = detail.get_by_test_id("checkpoint-facts")
    await expect(facts).to_contain_text("1,500,000.50 元")
    await expect(facts).to_contain_text("0311-87654321")
    await expect(facts).to_contain_text("200 米（全局默认）")
    await expect(detail).to_contain_text("未定位")
    preview = detail.get_by_test_id("qr-preview")
    await expect(preview).to_be_visible()
    assert await preview.evaluate("img => img.complete && img.naturalWidth > 0")
    label_url = await detail.locator(".qr-url").inner_text()
    assert re.fullmatch(rf"{re.escape(live_server.url)}/s/1\.\d+\.1\.[\w-]{{22}}", label_url)

    sheet = await downloaded_pdf(
        page, detail.get_by_role("button", name="打印标签（PDF）"), tmp_path, "one.pdf"
    )
    text = sheet.pages[0].extract_text()
    assert "石药原料仓库" in text and "CA-0100" in text
    assert qr_codes(sheet) == [label_url]

    # Back to the list: the new checkpoint is there; exit points filter.
    await detail.get_by_role("button", name="← 返回列表").click()
    await expect(table).to_contain_text("CA-0100")
    await page.get_by_role("group", name="按状态筛选").get_by_role("button", name="退出点").click()
    await expect(table.locator("tbody tr")).to_have_count(1)
    await expect(table).to_contain_text("退出点 · 已结清")
    await page.get_by_label("退出点类型").select_option(label="已核销")
    await expect(page.locator(".empty")).to_have_text(
        "没有符合条件的检查点，可点击「新建检查点」登记"
    )
    await page.get_by_label("退出点类型").select_option(value="")
    await page.get_by_role("group", name="按状态筛选").get_by_role("button", name="全部").click()
    await expect(table.locator("tbody tr")).to_have_count(5)

    # Print the labels of a selection.
    await page.get_by_label("选择 CA-0001").check()
    await page.get_by_label("选择 QX-0001").check()
    selection = await downloaded_pdf(
        page, page.get_by_role("button", name="打印所选标签（2）"), tmp_path, "selection.pdf"
    )
    text = selection.pages[0].extract_text()
    assert "CA-0001" in text and "QX-0001" in text and "CA-0100" not in text
    assert len(qr_codes(selection)) == 2

    # 重置GPS on the located demo checkpoint, with confirmation.
    await table.get_by_role("button", name="华北重工厂区").click()
    await expect(detail).to_contain_text("已定位")
    navigation = detail.get_by_test_id("navigation")
    baidu = navigation.get_by_role("link", name="百度地图导航")
    await expect(baidu).to_have_attribute(
        "href", re.compile(r"^https://api\.map\.baidu\.com/marker\?.*coord_type=bd09ll")
    )
    amap = navigation.get_by_role("link", name="高德地图导航")
    await expect(amap).to_have_attribute(
        "href", re.compile(r"^https://uri\.amap\.com/marker\?.*coordinate=gaode")
    )
    await detail.get_by_role("button", name="重置GPS").click()
    confirm = page.get_by_role("dialog", name="重置GPS")
    await expect(confirm).to_contain_text("下一次现场扫码签到将重新定位")
    await confirm.get_by_role("button", name="取消").click()
    await expect(detail).to_contain_text("已定位")  # cancelled: nothing changed
    await detail.get_by_role("button", name="重置GPS").click()
    await page.get_by_role("dialog", name="重置GPS").get_by_role("button", name="确认重置").click()
    await expect(detail.get_by_role("status")).to_have_text("已重置GPS，下一次现场扫码时重新定位")
    await expect(detail.get_by_test_id("checkpoint-facts")).to_contain_text(
        "未定位：首次现场扫码签到时自动设定"
    )
    await expect(detail.get_by_test_id("navigation")).to_have_count(0)
    await expect(detail.get_by_role("button", name="重置GPS")).to_be_disabled()

    await page.screenshot(path=str(tmp_path / "checkpoint.png"), full_page=True)
    shutil.copyfile(tmp_path / "checkpoint.png", SHOWCASE)
    await page.get_by_role("button", name="← 返回列表").click()
    await expect(table.locator('tr[data-code="CA-0001"]')).to_contain_text("未定位")
    assert page_problems.errors == []


async def test_the_exit_dialog_offers_and_checks_the_exit_date(
    page, page_problems, live_server, passwords
):
    """标记退出点 on CA-0002 (放款日期 2025-09-01): the date picker runs from the loan date to
    today (Beijing); tomorrow is refused next to the field, today is accepted."""
    today = local_date(utcnow())
    tomorrow = today + timedelta(days=1)
    await log_in(page, live_server, "sjz_admin", passwords["sjz_admin"])
    await page.get_by_role("navigation", name="功能导航").get_by_role("link", name="检查点").click()
    await (
        page.get_by_test_id("checkpoints-table")
        .get_by_role("button", name="冀中纺织成品仓库")
        .click()
    )
    detail = page.get_by_test_id("checkpoint-detail")
    await detail.get_by_role("button", name="标记退出点").click()
    dialog = page.get_by_role("dialog", name="标记退出点：冀中纺织成品仓库")
    date_input = dialog.get_by_label("退出日期")
    await expect(date_input).to_have_attribute("max", str(today))
    await expect(date_input).to_have_attribute("min", "2025-09-01")
    await date_input.fill(str(tomorrow))
    await dialog.get_by_role("button", name="标记退出点").click()
    await expect(dialog.locator('[data-error-for="date"]')).to_have_text(
        f"退出日期（{tomorrow}）不能晚于今天（{today}）"
    )
    await page.screenshot(path="/tmp/checkpoint-exit-date.png")
    await date_input.fill(str(today))
    await dialog.get_by_role("button", name="标记退出点").click()
    await expect(dialog).to_have_count(0)
    await expect(detail.get_by_test_id("checkpoint-facts")).to_contain_text(f"已退出，{today}")
