"""Answers are never lost (#12.4), on a phone (390×844) on the on-site page: every answer is
saved on its own as it changes; 12.5 typed into 人数 is marked beside 人数 with the server's
message while the other answers (radios included) say 已保存; after a reload every saved
answer is there again, and correcting 人数 saves it too."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect
from sqlalchemy import func, select, update

from inspection_api.db import create_engine, create_sessionmaker
from inspection_api.inspections.models import Inspection, InspectionState
from tests.integration.inspection_kit import CA_0001
from tests.plugins.browser import log_in, new_page
from tests.plugins.phone import (
    PHONE,
    ca_0001_label,
    fill_login,
    live_api,
    newest_inspection,
    open_phone,
    start_inspection,
)

pytestmark = pytest.mark.browser

SHOWCASE = Path("/tmp/answers-refused.png")


async def submitted_elsewhere(server: Any) -> None:
    """The newest inspection submitted behind the page's back."""
    engine = create_engine(server.settings.database_url)
    async with create_sessionmaker(engine)() as session:
        newest = select(func.max(Inspection.id)).scalar_subquery()
        await session.execute(
            update(Inspection)
            .where(Inspection.id == newest)
            .values(state=InspectionState.SUBMITTED)
        )
        await session.commit()
    await engine.dispose()


async def begin(page: Any, label: str) -> Any:
    """On the label's page: (re)start the inspection here, and its form."""
    await expect(page).to_have_url(label)
    return await start_inspection(page)


async def test_a_bad_number_is_marked_beside_its_field_and_nothing_else_is_lost(
    browser, live_server, passwords, tmp_path
):
    label = await ca_0001_label(live_server)
    context, page, problems = await open_phone(browser, CA_0001, accuracy=10)
    try:
        await page.goto(label)
        await fill_login(page, passwords["inspector"])
        form = await begin(page, label)

        item = form.locator  # by item key
        status = lambda key: form.locator(f'[data-status-for="{key}"]')  # noqa: E731
        # Top down, as an inspector fills it in: 12.5 in 人数 before the radios below it
        # (the whole-form save refused every answer after it, so those radios were lost).
        await item('[data-key="operating_status"]').get_by_label("半正常").check()
        await form.get_by_label("截至上月末企业本年度纳税金额", exact=True).fill("35.2")
        await form.get_by_label("企业代发工资人数及代发工资金额·人数").fill("12.5")
        await form.get_by_label("企业代发工资人数及代发工资金额·金额").fill("96.5")
        await item('[data-key="other_bank_overdue"]').get_by_label("是", exact=True).check()
        await item('[data-key="litigation"]').get_by_label("否", exact=True).check()
        await (
            form.get_by_role("radiogroup", name="检查初步结论")
            .get_by_label("关注", exact=True)
            .check()
        )

        # The bad one beside its field, the rest saved.
        headcount_error = form.locator('[data-error-for="payroll.headcount"]')
        await expect(headcount_error).to_have_text("人数：应为整数")
        await expect(status("payroll")).to_have_text("未保存")
        for key in ("operating_status", "other_bank_overdue", "litigation", "conclusion"):
            await expect(status(key)).to_have_text("已保存")
        await expect(status("tax_paid_ytd")).to_have_text("已保存")
        await expect(page.locator("#save-status")).to_have_text("1 项未保存")
        await expect(page.locator("#page-error")).to_be_hidden()  # no 保存失败 for everything
        await expect(form.get_by_label("企业代发工资人数及代发工资金额·人数")).to_have_attribute(
            "aria-invalid", "true"
        )
        await headcount_error.scroll_into_view_if_needed()
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"]
        path = tmp_path / "answers-refused.png"
        await page.screenshot(path=str(path))
        shutil.copyfile(path, SHOWCASE)
        await page.screenshot(path="/tmp/answers-refused-full.png", full_page=True)

        good = {
            "operating_status": "半正常",
            "other_bank_overdue": True,
            "litigation": False,
            "conclusion": "watch",
            "tax_paid_ytd": 35.2,
            "payroll": {"amount": 96.5},
        }
        assert (await newest_inspection(live_server)).answers == good

        # Reopened: every saved answer is there, the radios included.
        await page.reload()
        form = await begin(page, label)
        await expect(
            form.locator('[data-key="operating_status"]').get_by_label("半正常")
        ).to_be_checked()
        await expect(
            form.locator('[data-key="other_bank_overdue"]').get_by_label("是", exact=True)
        ).to_be_checked()
        await expect(
            form.locator('[data-key="litigation"]').get_by_label("否", exact=True)
        ).to_be_checked()
        await expect(
            form.get_by_role("radiogroup", name="检查初步结论").get_by_label("关注", exact=True)
        ).to_be_checked()
        await expect(form.get_by_label("截至上月末企业本年度纳税金额", exact=True)).to_have_value(
            "35.2"
        )
        await expect(form.get_by_label("企业代发工资人数及代发工资金额·金额")).to_have_value("96.5")
        await expect(form.get_by_label("企业代发工资人数及代发工资金额·人数")).to_have_value("")

        # Corrected, it is saved too; clearing an answer clears it on the server.
        await form.get_by_label("企业代发工资人数及代发工资金额·人数").fill("120")
        await expect(form.locator('[data-status-for="payroll"]')).to_have_text("已保存")
        await form.get_by_label("截至上月末企业本年度纳税金额", exact=True).fill("")
        await expect(form.locator('[data-status-for="tax_paid_ytd"]')).to_have_text("已保存")
        await expect(page.locator("#save-status")).to_have_text("已保存")
        await expect(form.locator('[data-error-for="payroll.headcount"]')).to_be_hidden()
        answers = dict(good, payroll={"headcount": 120, "amount": 96.5})
        del answers["tax_paid_ytd"]
        assert (await newest_inspection(live_server)).answers == answers

        # No number at all (the box holds "1e"): marked here, nothing sent, nothing lost.
        tax = form.get_by_label("截至上月末企业本年度纳税金额", exact=True)
        await tax.press_sequentially("1e")
        await expect(form.locator('[data-error-for="tax_paid_ytd"]')).to_have_text(
            "截至上月末企业本年度纳税金额：应为数字"
        )
        await expect(form.locator('[data-status-for="tax_paid_ytd"]')).to_have_text("未保存")
        await expect(page.locator("#save-status")).to_have_text("1 项未保存")
        assert (await newest_inspection(live_server)).answers == answers
        await tax.fill("")
        await expect(page.locator("#save-status")).to_have_text("已保存")

        # Submitted meanwhile (another tab): a change is refused with the reason, beside the
        # item, and not retried in a loop.
        await submitted_elsewhere(live_server)
        patches: list[str] = []
        page.on("request", lambda r: patches.append(r.post_data) if r.method == "PATCH" else None)
        await form.locator('[data-key="litigation"]').get_by_label("是", exact=True).check()
        refusal = "检查记录当前为「已提交」，不能保存"
        await expect(form.locator('[data-error-for="litigation"]')).to_have_text(refusal)
        await expect(form.locator('[data-status-for="litigation"]')).to_have_text("未保存")
        await expect(page.locator("#page-error")).to_have_text(refusal)
        await page.wait_for_timeout(6000)  # past the 5 s retry of a failed save
        assert [p for p in patches if "litigation" in (p or "")] == [
            '{"answers":{"litigation":true}}'
        ]
        assert problems.errors == []
    finally:
        await context.close()


async def test_the_remote_checklist_saves_answer_by_answer(browser, live_server, passwords):
    """The checklist beside a call (console, 1440 wide): the same per-item save, the 整改意见
    saved with it, and after a reload every saved answer is back."""
    async with live_api(live_server, "inspector", passwords["inspector"]) as http:
        checkpoints = await (await http.get("/api/v1/checkpoints")).json()
        checkpoint = next(c for c in checkpoints["items"] if c["code"] == "CA-0001")
        body = {"title": "季度远程巡检", "checkpoint_id": checkpoint["id"]}
        remote = await (await http.post("/api/v1/remote-sessions", json=body)).json()

        context, pc, problems = await new_page(browser, viewport={"width": 1440, "height": 900})
        try:
            await log_in(pc, live_server, "inspector", passwords["inspector"])
            await pc.goto(f"{live_server.url}/remote/{remote['id']}")
            panel = pc.get_by_test_id("remote-checklist")
            await panel.get_by_role("button", name="开始填写检查表").click()
            form = panel.get_by_test_id("inspection-form")
            await (
                form.locator('[data-key="operating_status"]')
                .get_by_label("异常", exact=True)
                .check()
            )
            await form.get_by_label("企业代发工资人数及代发工资金额·人数").fill("12.5")
            await (
                form.locator('[data-key="guarantor_overdue"]')
                .get_by_label("否", exact=True)
                .check()
            )
            await panel.get_by_label("整改意见").fill("请补充代发工资明细。")
            await expect(form.locator('[data-error-for="payroll.headcount"]')).to_have_text(
                "人数：应为整数"
            )
            await expect(form.locator('[data-status-for="operating_status"]')).to_have_text(
                "已保存"
            )
            await expect(form.locator('[data-status-for="guarantor_overdue"]')).to_have_text(
                "已保存"
            )
            await expect(panel.get_by_test_id("save-status")).to_have_text("1 项未保存")
            await expect(pc.locator("#inspection-panel .form-error")).to_be_hidden()
            await form.locator('[data-key="payroll"]').scroll_into_view_if_needed()
            await pc.screenshot(path="/tmp/answers-remote-refused.png")

            found = await (
                await http.get(f"/api/v1/inspections?remote_session_id={remote['id']}")
            ).json()
            one = f"/api/v1/inspections/{found['items'][0]['id']}"
            detail = await (await http.get(one)).json()
            assert detail["answers"] == {"operating_status": "异常", "guarantor_overdue": False}
            assert detail["rectification_opinion"] == "请补充代发工资明细。"

            await pc.reload()
            form = pc.get_by_test_id("remote-checklist").get_by_test_id("inspection-form")
            await expect(
                form.locator('[data-key="operating_status"]').get_by_label("异常", exact=True)
            ).to_be_checked()
            await expect(
                form.locator('[data-key="guarantor_overdue"]').get_by_label("否", exact=True)
            ).to_be_checked()
            assert problems.errors == []
        finally:
            await context.close()
