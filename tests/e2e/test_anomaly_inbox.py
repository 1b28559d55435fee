"""异常处理 and 整改意见 in headless Chromium.

1. An anomaly raised by the service (as an inspection submit does) appears in the exception
   handler's open console without a reload — the row, the nav badge, a notice — and the
   handler acknowledges (受理) and resolves (处理完成) it.
2. An inspector issues a 整改意见; the enterprise contact opens the link on a phone, is
   refused a fake photo without losing what was typed, replies with a real one; the reply
   shows up on the inspector's board live, with the photo, and is closed.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect
from sqlalchemy import select

from inspection_api.anomalies.models import AnomalySource
from inspection_api.anomalies.service import Finding, raise_anomalies
from inspection_api.checklists.content import Severity
from inspection_api.checkpoints.models import Checkpoint
from inspection_api.db import create_engine, create_sessionmaker, utcnow
from inspection_api.notifications import outbox
from inspection_api.web.keys import NOTIFIER
from tests.plugins.browser import LiveServer, log_in
from tests.plugins.phone import open_phone

pytestmark = pytest.mark.browser

SHOWCASE = {  # copies for a person to look at
    "anomaly-inbox": Path("/tmp/anomaly-inbox.png"),
    "anomaly-detail": Path("/tmp/anomaly-detail.png"),
    "rectify-phone": Path("/tmp/rectify-phone.png"),
    "rectification-board": Path("/tmp/rectification-board.png"),
}


async def screenshot(page: Any, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    shutil.copyfile(path, SHOWCASE[name])


async def raise_live(server: LiveServer, code: str, finding: Finding) -> int:
    """What an inspection submit does: raise, commit, then push to the consoles."""
    engine = create_engine(server.settings.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            checkpoint_id = await session.scalar(
                select(Checkpoint.id).where(Checkpoint.code == code)
            )
            assert checkpoint_id is not None
            (anomaly,) = await raise_anomalies(
                session,
                checkpoint_id=checkpoint_id,
                inspection_id=None,
                findings=[finding],
                actor=None,
                now=utcnow(),
            )
            await session.commit()
            assert await outbox.deliver(session, server.app[NOTIFIER]) == 1
            return anomaly.id
    finally:
        await engine.dispose()


async def test_a_new_anomaly_arrives_live_and_is_handled(
    page, page_problems, live_server, passwords, tmp_path
):
    await log_in(page, live_server, "handler", passwords["handler"])
    nav = page.get_by_role("navigation", name="功能导航")
    badge = nav.locator('[data-badge="anomalies"]')
    await expect(badge).to_have_text("1")  # the demo's anomaly at 长安支行
    await nav.get_by_role("link", name=re.compile("异常处理")).click()
    table = page.get_by_test_id("anomalies-table")
    await expect(table).to_contain_text("他行授信逾期")

    flagged = Finding(
        item_key="",
        item_label="",
        section="",
        indicator="厂区停工待产",
        severity=Severity.HIGH,
        source=AnomalySource.INSPECTOR,
        note="现场仅两名值班人员，生产线停止",
    )
    anomaly_id = await raise_live(live_server, "CA-0001", flagged)

    row = table.locator(f'tr[data-anomaly-id="{anomaly_id}"]')
    await expect(row).to_contain_text("厂区停工待产")  # no reload: pushed
    await expect(row).to_contain_text("待处理")
    await expect(badge).to_have_text("2")
    await expect(page.locator(".notice-card")).to_contain_text("新异常：厂区停工待产")
    await expect(page.get_by_test_id("inbox")).to_contain_text("新异常：厂区停工待产")
    await screenshot(page, tmp_path, "anomaly-inbox")

    await row.get_by_role("button", name="厂区停工待产").click()
    detail = page.get_by_test_id("anomaly-detail")
    await expect(detail.get_by_test_id("anomaly-facts")).to_contain_text("华北重工厂区（CA-0001）")
    await expect(detail).to_contain_text("现场仅两名值班人员，生产线停止")
    await expect(badge).to_have_text("1")  # opening it read its notification

    await detail.get_by_role("button", name="受理").click()
    dialog = page.get_by_role("dialog", name="受理异常")
    await dialog.get_by_label("受理说明（可选）").fill("已联系客户经理到现场核实")
    await dialog.get_by_role("button", name="确认受理").click()
    await expect(detail.get_by_test_id("anomaly-state")).to_have_text("处理中")
    await expect(detail.get_by_test_id("anomaly-history")).to_contain_text("赵处理 · 受理")

    await detail.get_by_role("button", name="处理完成").click()
    dialog = page.get_by_role("dialog", name="处理完成")
    await dialog.get_by_role("button", name="确认处理完成").click()
    await expect(dialog.locator('[data-error-for="resolution"]')).to_have_text("请填写处理结果")
    await dialog.get_by_label("处理结果").fill("企业因设备检修停产一周，已恢复生产，继续关注")
    await dialog.get_by_role("button", name="确认处理完成").click()
    await expect(detail.get_by_test_id("anomaly-state")).to_have_text("已处理")
    history = detail.get_by_test_id("anomaly-history")
    await expect(history).to_contain_text("赵处理 · 处理完成")
    await expect(history).to_contain_text("企业因设备检修停产一周，已恢复生产，继续关注")
    await screenshot(page, tmp_path, "anomaly-detail")

    await detail.get_by_role("button", name="← 返回列表").click()
    await expect(table.locator(f'tr[data-anomaly-id="{anomaly_id}"]')).to_contain_text("已处理")
    assert page_problems.errors == []


async def test_a_rectification_is_answered_from_a_phone_and_closed(
    browser, page, page_problems, live_server, passwords, tmp_path
):
    await log_in(page, live_server, "inspector", passwords["inspector"])
    nav = page.get_by_role("navigation", name="功能导航")
    await nav.get_by_role("link", name=re.compile("整改意见")).click()
    board = page.get_by_test_id("rectification-board")
    await expect(board.locator('[data-state="issued"] .board-count')).to_have_text("0")

    await page.get_by_role("button", name="下发整改意见").click()
    dialog = page.get_by_role("dialog", name="下发整改意见")
    await dialog.get_by_label("检查点").select_option(
        label="华北重工厂区（CA-0001）· 石家庄华北重工机械有限公司"
    )
    await dialog.get_by_label("整改意见").fill("请于期限内补充近三个月水电费缴纳凭证，并拍照反馈")
    await dialog.get_by_role("button", name="下发").click()
    shown = page.get_by_test_id("rectify-link")
    link = await shown.get_by_label("整改反馈链接").input_value()
    assert link.startswith(f"{live_server.url}/rectify/")
    await shown.get_by_role("button", name="完成").click()
    await expect(board.locator('[data-state="issued"]')).to_contain_text("华北重工厂区")

    phone_context, phone, phone_problems = await open_phone(browser, timeout_ms=30_000)
    try:
        await phone.goto(link)
        await expect(phone.locator("#rectify-title")).to_have_text("石家庄华北重工机械有限公司")
        await expect(phone.locator("#opinion-text")).to_have_text(
            "请于期限内补充近三个月水电费缴纳凭证，并拍照反馈"
        )
        await expect(phone.locator("#greeting")).to_contain_text("刘建国，您好")

        text = phone.get_by_label("整改情况说明")
        await phone.get_by_role("button", name="提交反馈").click()
        await expect(phone.locator("#reply-text-error")).to_have_text("请填写整改情况说明")
        await text.fill("已补齐 9–11 月水电费凭证，照片如下")
        await expect(phone.locator("#reply-text-error")).to_be_hidden()  # no stale error
        # Photos are taken live with the phone's camera (no gallery), like evidence.
        await expect(phone.locator('input[type="file"]')).to_have_count(0)
        await phone.get_by_role("button", name="拍照").tap()
        capture = phone.get_by_role("dialog", name="现场取证")
        await capture.get_by_test_id("capture-shoot").tap()
        await expect(capture).to_have_count(0)
        await expect(phone.locator("#photo-list")).to_contain_text("现场照片1.jpg")
        await phone.get_by_role("button", name="拍照").tap()
        await phone.get_by_role("dialog", name="现场取证").get_by_role("button", name="取消").tap()
        await expect(phone.locator("#photo-list img")).to_have_count(1)
        await phone.get_by_role("button", name="移除 现场照片1.jpg").tap()
        await expect(phone.locator("#photo-list img")).to_have_count(0)
        await phone.get_by_role("button", name="拍照").tap()
        await phone.get_by_role("dialog", name="现场取证").get_by_test_id("capture-shoot").tap()
        await expect(text).to_have_value("已补齐 9–11 月水电费凭证，照片如下")  # kept
        await expect(phone.locator("#photo-list img")).to_have_count(1)
        await phone.get_by_role("button", name="提交反馈").click()
        await expect(phone.locator("#done-card")).to_contain_text("反馈已提交")
        await expect(phone.locator("#state")).to_have_text("已反馈，等待银行核实")
        await screenshot(phone, tmp_path, "rectify-phone")

        # The inspector's board moves the card without a reload.
        replied = board.locator('[data-state="replied"]')
        await expect(replied).to_contain_text("华北重工厂区")
        await replied.get_by_role("button", name=re.compile("华北重工厂区")).click()
        detail = page.get_by_test_id("rectification-detail")
        history = detail.get_by_test_id("rectification-history")
        await expect(history).to_contain_text("刘建国 · 企业反馈")
        image = history.locator("img")
        await expect(image).to_have_count(1)
        await page.wait_for_function(
            "() => { const i = document.querySelector('[data-testid=rectification-history] img');"
            " return i && i.complete && i.naturalWidth > 0; }"
        )
        await detail.get_by_role("button", name="验证通过并关闭").click()
        dialog = page.get_by_role("dialog", name="验证通过并关闭")
        await dialog.get_by_label("验证意见（可选）").fill("凭证齐全")
        await dialog.get_by_role("button", name="关闭整改").click()
        await expect(detail).to_contain_text("已关闭")
        await expect(history).to_contain_text("验证通过，关闭")
        await detail.get_by_role("button", name="← 返回").click()
        await expect(board.locator('[data-state="closed"]')).to_contain_text("华北重工厂区")
        await screenshot(page, tmp_path, "rectification-board")

        await phone.reload()
        await expect(phone.locator("#closed-card")).to_be_visible()
        await expect(phone.locator("#reply-card")).to_be_hidden()
        await expect(phone.locator("#history")).to_contain_text("银行确认整改完成")
        assert phone_problems.errors == []
    finally:
        await phone_context.close()
    assert page_problems.errors == []
