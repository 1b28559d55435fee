"""The checklist beside a remote call in headless Chromium: the inspector picks the
enterprise's checkpoint, the contact joins from a phone, 截图取证 grabs the contact's video
into a JPEG stamped with its offset into the call, the 整改意见 is saved."""

from __future__ import annotations

import pytest
from aiohttp import ClientSession, CookieJar
from playwright.async_api import expect

from tests.e2e.test_remote_call import wait_for_frames
from tests.plugins.browser import log_in, new_page

pytestmark = pytest.mark.browser


async def test_snapshots_of_the_remote_video_become_evidence(browser, live_server, passwords):
    async with ClientSession(live_server.url, cookie_jar=CookieJar(unsafe=True)) as http:
        login = {"username": "inspector", "password": passwords["inspector"]}
        assert (await http.post("/api/v1/auth/login", json=login)).status == 200
        body = {"title": "华北重工远程巡检", "enterprise_name": "石家庄华北重工机械有限公司"}
        remote = await (await http.post("/api/v1/remote-sessions", json=body)).json()
        invite = await (
            await http.post(
                f"/api/v1/remote-sessions/{remote['id']}/invites", json={"contact_name": "刘建国"}
            )
        ).json()

        pc_context, pc, pc_problems = await new_page(
            browser, viewport={"width": 1440, "height": 1000}
        )
        phone_context, phone, _ = await new_page(
            browser, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
        )
        try:
            await log_in(pc, live_server, "inspector", passwords["inspector"])
            await pc.goto(f"{live_server.url}/remote/{remote['id']}")
            panel = pc.get_by_test_id("remote-checklist")
            site = "华北重工厂区（石家庄华北重工机械有限公司）"
            await panel.get_by_label("检查点").select_option(label=site)
            await panel.get_by_role("button", name="开始填写检查表").click()
            form = panel.get_by_test_id("inspection-form")
            item = form.locator('[data-key="operating_status"]')
            await item.get_by_role("button", name="截图取证").click()
            await expect(pc.locator("#inspection-panel .form-error")).to_have_text(
                "对方画面尚未显示，无法截图"
            )

            await pc.get_by_role("button", name="开始通话").click()
            await pc.wait_for_function("() => window.loancheckCall.phase === 'joined'")
            await phone.goto(invite["url"])
            await phone.get_by_role("button", name="加入视频").tap()
            await wait_for_frames(pc, 5)

            await item.get_by_role("button", name="截图取证").click()
            await expect(item.locator(".if-counts")).to_have_text("已取证：照片 1/2")
            await item.get_by_label("正常", exact=True).check()
            await panel.get_by_label("整改意见").fill("请于月底前补充近三个月电费单据。")
            await expect(panel.get_by_role("status")).to_have_text("已保存")

            found = await (
                await http.get(f"/api/v1/inspections?remote_session_id={remote['id']}")
            ).json()
            detail = await (await http.get(f"/api/v1/inspections/{found['items'][0]['id']}")).json()
            assert detail["answers"] == {"operating_status": "正常"}
            assert detail["rectification_opinion"] == "请于月底前补充近三个月电费单据。"
            [snapshot] = detail["evidence"]
            assert snapshot["mime_type"] == "image/jpeg"
            assert 0 < snapshot["recording_offset_seconds"] < 120
            assert pc_problems.errors == []
        finally:
            await pc_context.close()
            await phone_context.close()


async def test_the_checkpoint_is_chosen_at_creation_and_the_video_stays_in_view(
    browser, live_server, passwords
):
    """#12.7: the session is opened for a checkpoint (its borrower is the enterprise), the
    checklist starts without asking again, and scrolling to its last section keeps the
    remote video on screen."""
    pc_context, pc, pc_problems = await new_page(browser, viewport={"width": 1440, "height": 900})
    try:
        await log_in(pc, live_server, "inspector", passwords["inspector"])
        await pc.goto(f"{live_server.url}/console#/remote")
        await pc.get_by_role("button", name="新建并进入").click()
        await expect(pc.locator('[data-error-for="checkpoint_id"]')).to_have_text(
            "请选择被检查企业的检查点"
        )
        await pc.get_by_label("被检查企业（检查点）").select_option(
            label="石家庄华北重工机械有限公司 · 华北重工厂区（CA-0001）"
        )
        await pc.get_by_role("button", name="新建并进入").click()
        await expect(pc.locator("#session-enterprise")).to_have_text("石家庄华北重工机械有限公司")

        panel = pc.get_by_test_id("remote-checklist")
        await expect(panel).to_contain_text("华北重工厂区（石家庄华北重工机械有限公司）")
        await expect(panel.get_by_label("检查点")).to_have_count(0)  # no second choice
        await panel.get_by_role("button", name="开始填写检查表").click()
        await expect(panel).to_contain_text("华北重工厂区 · ")

        chips = panel.get_by_role("navigation", name="检查表分区").get_by_role("button")
        assert await chips.count() >= 4
        await chips.last.click()
        last = panel.locator(".if-section > h3").last
        await expect(last).to_be_in_viewport()
        await pc.wait_for_timeout(600)  # the smooth scroll settles
        video = pc.locator("#remote-video")
        await expect(video).to_be_in_viewport()
        box = await video.bounding_box()
        assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 900
        await pc.screenshot(path="/tmp/remote-layout.png")
        assert pc_problems.errors == []
    finally:
        await pc_context.close()
