"""远程巡检 in two headless Chromiums with fake cameras: the inspector (PC) invites, the
enterprise contact (phone) joins, video flows both ways, and the call survives a network drop.
"""

from __future__ import annotations

import re
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect
from sqlalchemy import update

from inspection_api.db import create_engine, create_sessionmaker, utcnow
from inspection_api.remote.models import RemoteInvite
from tests.plugins.browser import log_in, new_page
from tests.plugins.phone import PHONE

pytestmark = pytest.mark.browser

# Copies for a person to look at (the test's own copies stay in tmp_path).
# wait_for_function takes arrow functions: a bare expression is eval'd, which the CSP forbids.
SHOWCASE = {
    "remote-inspector": Path("/tmp/remote-inspector.png"),
    "remote-join": Path("/tmp/remote-join.png"),
    "remote-join-lobby": Path("/tmp/remote-join-lobby.png"),
    "remote-join-expired": Path("/tmp/remote-join-expired.png"),
}
CALL_TIMEOUT_MS = 30_000


async def screenshot(page: Any, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    await page.screenshot(path=str(path))
    if name in SHOWCASE:
        shutil.copyfile(path, SHOWCASE[name])
    return path


async def call_state(page: Any) -> dict[str, Any]:
    return dict(await page.evaluate("() => ({...window.loancheckCall})"))


async def wait_for_frames(page: Any, more_than: int) -> int:
    """Wait until the page has decoded more than ``more_than`` video frames of the other side."""
    await page.wait_for_function(
        "n => window.loancheckCall.framesDecoded > n", arg=more_than, timeout=CALL_TIMEOUT_MS
    )
    return int((await call_state(page))["framesDecoded"])


# Whose network drops, and the banner each side shows meanwhile.
DROPS = {
    "contact": ("网络不稳定，正在重新连接…", "企业联系人网络不稳定，正在等待其重新连接…"),
    "inspector": ("客户经理网络不稳定，请稍候…", "网络不稳定，正在重新连接…"),
}


@pytest.mark.parametrize("dropped", list(DROPS))
async def test_inspector_invites_contact_and_the_call_survives_a_network_drop(
    browser, live_server, passwords, tmp_path, dropped
):
    pc_context, pc, pc_problems = await new_page(browser, viewport={"width": 1440, "height": 900})
    phone_context, phone, phone_problems = await new_page(
        browser, viewport=PHONE, is_mobile=True, has_touch=True
    )
    try:
        # The inspector opens a remote inspection from the console.
        await log_in(pc, live_server, "inspector", passwords["inspector"])
        nav = pc.get_by_role("navigation", name="功能导航")
        await nav.get_by_role("link", name="远程巡检").click()
        await pc.get_by_label("被检查企业（检查点）").select_option(
            label="石家庄华北重工机械有限公司 · 华北重工厂区（CA-0001）"
        )
        await pc.get_by_label("巡检事项").fill("2026 年四季度贷后检查")
        await pc.get_by_role("button", name="新建并进入").click()
        await expect(pc).to_have_url(re.compile(r"/remote/\d+$"))
        await expect(pc.locator("#session-title")).to_have_text("2026 年四季度贷后检查")
        await expect(pc.locator("#session-state")).to_have_text("待开始")

        # ... invites the enterprise contact: a link and its QR code.
        await pc.get_by_label("联系人姓名").fill("王经理")
        await pc.get_by_label("链接有效期").select_option("120")
        await pc.get_by_role("button", name="生成邀请链接").click()
        link = pc.locator("#invite-url")
        await expect(link).to_have_value(
            re.compile(rf"^{re.escape(live_server.url)}/join/[\w-]{{40,}}$")
        )
        invite_url = await link.input_value()
        qr = pc.get_by_role("img", name="邀请链接二维码")
        await expect(qr).to_be_visible()
        assert await qr.evaluate("img => img.complete && img.naturalWidth > 0")
        await expect(pc.locator("#invite-list")).to_contain_text("王经理")
        await pc_context.grant_permissions(["clipboard-read", "clipboard-write"])
        await pc.get_by_role("button", name="复制链接").click()
        await expect(pc.locator("#copy-status")).to_have_text("已复制")
        assert await pc.evaluate("() => navigator.clipboard.readText()") == invite_url

        # ... and starts the call: recorded from the first moment.
        await pc.get_by_role("button", name="开始通话").click()
        await pc.wait_for_function("() => window.loancheckCall.phase === 'joined'")
        await expect(pc.get_by_test_id("recording")).to_be_visible()
        await expect(pc.get_by_test_id("recording")).to_have_text("录制中")
        await expect(pc.locator("#stage-message")).to_have_text("等待企业联系人加入…")

        # The contact opens the link on a phone and taps 加入视频.
        await phone.goto(invite_url)
        await expect(phone.locator("#session-title")).to_have_text("石家庄华北重工机械有限公司")
        await expect(phone.locator("#greeting")).to_contain_text("王经理")
        await expect(phone.get_by_test_id("recording-notice")).to_have_text(
            "本次视频通话将全程录音录像"
        )
        await screenshot(phone, tmp_path, "remote-join-lobby")
        await phone.get_by_role("button", name="加入视频").tap()

        # Video flows both ways: each side decodes the other's frames.
        pc_frames = await wait_for_frames(pc, 0)
        phone_frames = await wait_for_frames(phone, 0)
        assert pc_frames > 0 and phone_frames > 0
        pc_state, phone_state = await call_state(pc), await call_state(phone)
        assert pc_state["connectionState"] == phone_state["connectionState"] == "connected"
        assert pc_state["polite"] is False and phone_state["polite"] is True
        assert pc_state["framesSent"] > 0 and phone_state["framesSent"] > 0
        # The invite is bound to this phone by the id it keeps in localStorage.
        assert await phone.evaluate("() => localStorage.getItem('loancheck.device_id')")
        await expect(phone.get_by_test_id("recording")).to_be_visible()
        await expect(phone.get_by_test_id("recording")).to_have_text("录制中")
        await expect(pc.locator("#peer-label")).to_have_text("企业联系人：王经理")
        await expect(pc.locator("#session-state")).to_have_text("进行中")
        # The quality readout comes from getStats.
        await expect(pc.locator("#stat-rtt")).to_have_text(re.compile(r"^\d+ ms$"), timeout=10_000)
        await expect(pc.locator("#stat-frames")).not_to_have_text("—")
        await expect(pc.locator("#quality")).to_have_text(re.compile("良好|一般|较差"))
        await expect(phone.locator("#stage-message")).to_be_hidden()
        await expect(pc.locator("#stat-bitrate-in")).to_have_text(re.compile(r"kbps$"))
        await screenshot(pc, tmp_path, "remote-inspector")
        await screenshot(phone, tmp_path, "remote-join")

        # One side's network drops for ~3 s (Chromium closes its sockets): both sides say
        # so, and the dropped side rejoins as the same participant, with no new invite.
        phone_banner, pc_banner = DROPS[dropped]
        page, context = (phone, phone_context) if dropped == "contact" else (pc, pc_context)
        participant_id = (await call_state(page))["participantId"]
        await context.set_offline(True)
        await expect(phone.locator("#reconnect-banner")).to_have_text(phone_banner)
        await expect(pc.locator("#reconnect-banner")).to_have_text(pc_banner)
        await page.wait_for_timeout(3000)
        await context.set_offline(False)
        await page.wait_for_function(
            "() => window.loancheckCall.phase === 'joined' && window.loancheckCall.joins === 2",
            timeout=CALL_TIMEOUT_MS,
        )
        assert (await call_state(page))["participantId"] == participant_id
        for side in (pc, phone):
            await expect(side.locator("#reconnect-banner")).to_be_hidden(timeout=CALL_TIMEOUT_MS)

        # ... and the video goes on in both directions.
        pc_after = int((await call_state(pc))["framesDecoded"])
        phone_after = int((await call_state(phone))["framesDecoded"])
        await wait_for_frames(pc, pc_after + 30)
        await wait_for_frames(phone, phone_after + 30)
        assert (await call_state(pc))["connectionState"] == "connected"
        assert (await call_state(phone))["connectionState"] == "connected"

        # Muting and the camera are announced to the other side; switching between the
        # rear and the front camera keeps the video going without renegotiation.
        await phone.get_by_role("button", name="静音").tap()
        await expect(pc.locator("#peer-media")).to_have_text("对方已静音")
        await pc.get_by_role("button", name="关闭摄像头").click()
        await expect(phone.locator("#stage-message")).to_have_text("客户经理已关闭摄像头")
        await pc.get_by_role("button", name="打开摄像头").click()
        await expect(phone.locator("#stage-message")).to_be_hidden()
        await phone.get_by_role("button", name="切换前后摄像头").tap()
        await expect(phone.get_by_role("button", name="切换前后摄像头")).to_be_enabled()
        await wait_for_frames(pc, int((await call_state(pc))["framesDecoded"]) + 20)

        # 结束通话 ends it for both; the link admits nobody afterwards.
        await pc.get_by_role("button", name="结束通话").click()
        await (
            pc.get_by_role("dialog", name="结束通话").get_by_role("button", name="结束通话").click()
        )
        await expect(pc.locator("#session-state")).to_have_text("已结束")
        await expect(phone.locator("#ended-title")).to_have_text("通话已结束")
        response = await phone.goto(invite_url)
        assert response is not None and response.status == 410
        await expect(phone.get_by_test_id("invalid-message")).to_have_text("本次远程巡检已结束")

        # The console lists it as ended.
        await pc.get_by_role("link", name="返回远程巡检列表").click()
        sessions = pc.get_by_test_id("remote-sessions")
        await expect(sessions).to_contain_text("石家庄华北重工机械有限公司")
        await expect(sessions).to_contain_text("已结束")
        await screenshot(pc, tmp_path, "remote-console")
    finally:
        await pc_context.close()
        await phone_context.close()
    # While offline, Chromium logs each failed reconnection attempt of the socket: expected.
    offline = "net::ERR_INTERNET_DISCONNECTED"
    assert [e for e in pc_problems.errors + phone_problems.errors if offline not in e] == []


async def test_revoking_the_invite_mid_call_ends_the_call_on_the_phone(
    browser, live_server, passwords, tmp_path
):
    """撤销 on the inspector's page while the contact is in the call: the phone's call ends
    with the reason, the inspector's page says the contact was removed."""
    pc_context, pc, pc_problems = await new_page(browser, viewport={"width": 1440, "height": 900})
    phone_context, phone, phone_problems = await new_page(
        browser, viewport=PHONE, is_mobile=True, has_touch=True
    )
    try:
        await log_in(pc, live_server, "inspector", passwords["inspector"])
        await (
            pc.get_by_role("navigation", name="功能导航")
            .get_by_role("link", name="远程巡检")
            .click()
        )
        await pc.get_by_label("被检查企业（检查点）").select_option(
            label="河北冀中纺织品有限公司 · 冀中纺织成品仓库（CA-0002）"
        )
        await pc.get_by_label("巡检事项").fill("临时视频检查")
        await pc.get_by_role("button", name="新建并进入").click()
        await expect(pc).to_have_url(re.compile(r"/remote/\d+$"))
        await pc.get_by_label("联系人姓名").fill("李会计")
        await pc.get_by_role("button", name="生成邀请链接").click()
        await expect(pc.locator("#invite-url")).to_have_value(re.compile("/join/"))
        invite_url = await pc.locator("#invite-url").input_value()
        await pc.get_by_role("button", name="开始通话").click()
        await pc.wait_for_function("() => window.loancheckCall.phase === 'joined'")
        await phone.goto(invite_url)
        await phone.get_by_role("button", name="加入视频").tap()
        await wait_for_frames(pc, 0)

        pc.once("dialog", lambda dialog: dialog.accept())  # 撤销发给 李会计 的邀请链接？
        await pc.locator("#invite-list").get_by_role("button", name="撤销").click()
        await expect(phone.locator("#ended-title")).to_have_text("通话已结束")
        await expect(phone.locator("#ended-text")).to_have_text(
            "客户经理已撤销您的邀请链接，您已退出本次视频巡检。"
        )
        await expect(phone.locator("#rejoin")).to_be_hidden()
        await expect(pc.locator("#stage-message")).to_have_text(
            "已撤销企业联系人的邀请，其已被移出通话，可重新发送邀请链接"
        )
        await expect(pc.locator("#invite-list")).to_contain_text("已撤销")
        assert (await call_state(pc))["phase"] == "joined"  # the inspector stays in the call
    finally:
        await pc_context.close()
        await phone_context.close()
    assert pc_problems.errors + phone_problems.errors == []


async def test_invalid_links_show_a_zh_page(browser, live_server, passwords, tmp_path):
    context, phone, problems = await new_page(browser, viewport=PHONE, is_mobile=True)
    try:
        response = await phone.goto(f"{live_server.url}/join/not-a-real-token")
        assert response is not None and response.status == 404
        assert response.headers["content-type"].startswith("text/html")
        await expect(phone.locator("html")).to_have_attribute("lang", "zh-CN")
        await expect(phone.get_by_test_id("invalid-message")).to_have_text("邀请链接无效")
        await expect(phone.locator("body")).to_contain_text("联系您的客户经理")

        # An inspector's link that expired, and one that was revoked.
        api = context.request
        login = await api.post(
            f"{live_server.url}/api/v1/auth/login",
            data={"username": "inspector", "password": passwords["inspector"]},
        )
        assert login.ok
        created = await api.post(
            f"{live_server.url}/api/v1/remote-sessions",
            data={"title": "月度检查", "enterprise_name": "保定某纺织有限公司"},
        )
        session_id = (await created.json())["id"]
        invites = f"{live_server.url}/api/v1/remote-sessions/{session_id}/invites"
        expired = await (await api.post(invites, data={"contact_name": "李会计"})).json()
        revoked = await (await api.post(invites, data={"contact_name": "赵出纳"})).json()
        assert (await api.delete(f"{invites}/{revoked['id']}")).ok
        engine = create_engine(live_server.settings.database_url)
        try:
            async with create_sessionmaker(engine)() as session:
                await session.execute(
                    update(RemoteInvite)
                    .where(RemoteInvite.id == expired["id"])
                    .values(expires_at=utcnow() - timedelta(minutes=1))
                )
                await session.commit()
        finally:
            await engine.dispose()

        response = await phone.goto(expired["url"])
        assert response is not None and response.status == 410
        await expect(phone.get_by_test_id("invalid-message")).to_have_text("链接已过期")
        await screenshot(phone, tmp_path, "remote-join-expired")
        response = await phone.goto(revoked["url"])
        assert response is not None and response.status == 410
        await expect(phone.get_by_test_id("invalid-message")).to_have_text("链接已被撤销")
    finally:
        await context.close()
    assert problems.errors == []


async def test_call_page_needs_a_login(page, page_problems, live_server):
    await page.goto(f"{live_server.url}/remote/1")
    await expect(page).to_have_url(f"{live_server.url}/login")
    assert page_problems.errors == []
