"""明白纸 in headless Chromium, two users: 张检查 finds the sheet of the demo's month-old
inspection locked (never printed in its window) and asks to unlock it with a reason; the
request reaches 石家庄分行's administrator live in the console (明白纸解锁), who approves it;
张检查's page opens again at once and 打印明白纸 returns the PDF."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect
from sqlalchemy import select

from inspection_api.db import create_engine, create_sessionmaker
from inspection_api.inspections.models import Inspection, InspectionState
from tests.plugins.browser import LiveServer, PageProblems, log_in, new_page

pytestmark = pytest.mark.browser

SHOWCASE = {  # copies for a person to look at
    "sheet-locked": Path("/tmp/sheet-locked.png"),
    "sheet-unlock-inbox": Path("/tmp/sheet-unlock-inbox.png"),
    "sheet-unlocked": Path("/tmp/sheet-unlocked.png"),
}


async def screenshot(page: Any, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    shutil.copyfile(path, SHOWCASE[name])


async def month_old_inspection(server: LiveServer) -> int:
    engine = create_engine(server.settings.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            found = await session.scalar(
                select(Inspection.id).where(Inspection.state == InspectionState.APPROVED)
            )
            assert found is not None
            return int(found)
    finally:
        await engine.dispose()


async def test_a_locked_sheet_is_unlocked_by_the_superior_and_printed(
    browser, page, page_problems: PageProblems, live_server, passwords, tmp_path
):
    inspection_id = await month_old_inspection(live_server)
    # The superior's console is open on 明白纸解锁 before anything is asked.
    context, boss, boss_problems = await new_page(browser, viewport={"width": 1366, "height": 860})
    await log_in(boss, live_server, "sjz_admin", passwords["sjz_admin"])
    await boss.goto(f"{live_server.url}/console#/unlocks")
    requests = boss.get_by_test_id("unlock-requests")
    await expect(requests).to_contain_text("暂无待审批的解锁申请")

    await log_in(page, live_server, "inspector", passwords["inspector"])
    await page.goto(f"{live_server.url}/console#/inspections/{inspection_id}")
    panel = page.get_by_test_id("sheet-panel")
    await expect(panel.get_by_test_id("sheet-state")).to_contain_text("已锁定")
    await expect(panel.get_by_role("button", name="打印明白纸")).to_have_count(0)
    # The inspector never writes the supervisor opinion.
    await expect(panel.get_by_label("上级管理条线意见")).to_have_count(0)
    await panel.get_by_role("button", name="申请解锁").click()
    await expect(panel.get_by_role("alert")).to_have_text("请填写申请解锁的原因")
    await panel.get_by_label("申请解锁原因").fill("外出贷后检查未及时打印，申请补打")
    await panel.get_by_role("button", name="申请解锁").click()
    await expect(panel.get_by_test_id("unlock-pending")).to_contain_text("由石家庄分行审批")
    await screenshot(page, tmp_path, "sheet-locked")

    # Live on the superior's console: the row, and a notice.
    row = requests.locator('tr[data-state="pending"]')
    await expect(row).to_contain_text("外出贷后检查未及时打印，申请补打")
    await expect(row).to_contain_text("张检查")
    await expect(boss.locator(".notice-card")).to_contain_text("明白纸解锁申请")
    await screenshot(boss, tmp_path, "sheet-unlock-inbox")
    await row.get_by_role("button", name="同意").click()
    await expect(requests).to_contain_text("暂无待审批的解锁申请")
    await boss.get_by_role("button", name="全部").click()
    await expect(requests.locator('tr[data-state="approved"]')).to_contain_text("已同意")
    await expect(boss.get_by_test_id("unlock-report")).to_contain_text("解锁 1 次")

    # The inspector's page opens again without a reload, and prints.
    await expect(panel.get_by_test_id("sheet-state")).to_contain_text("前打印明白纸")
    await expect(panel).to_contain_text("已解锁 1 次")
    await expect(panel.get_by_test_id("unlock-history")).to_contain_text("已同意")
    async with (
        page.expect_response(re.compile(r"/sheet/print$")) as printed,
        page.context.expect_page() as popup,
    ):
        await panel.get_by_role("button", name="打印明白纸").click()
    response = await printed.value
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert int(response.headers["content-length"]) > 20_000  # the page took the body as a blob
    await (await popup.value).close()
    await expect(panel.get_by_test_id("sheet-state")).to_contain_text("在期限内打印")
    await screenshot(page, tmp_path, "sheet-unlocked")
    assert page_problems.errors == []
    assert boss_problems.errors == []
    await context.close()
