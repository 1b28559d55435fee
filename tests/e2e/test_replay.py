"""录制与回放 in headless Chromium: a browser call is recorded by the in-process recorder
(each page sends its tracks to it over a second, send-only connection), and after 结束通话
the reviewer plays both participants' recordings on the replay page."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from typing import Any

import pytest
from playwright.async_api import expect

from inspection_api.demo import seed_demo
from loancheck.resources import open_store
from tests.e2e.test_remote_call import (
    PHONE,
    call_state,
    screenshot,
    wait_for_frames,
)
from tests.integration.test_call_recording import recording_of
from tests.plugins.browser import LiveServer, log_in, new_page
from tests.plugins.calls import CallClient, CallKit
from tests.plugins.recording import RecorderFeed

pytestmark = pytest.mark.browser

RECORD_SECONDS = 6
READY_TIMEOUT_MS = 30_000


@pytest.fixture
async def recording_server(embedded_settings, live_server_factory) -> LiveServer:
    settings = replace(embedded_settings, recorder_mode="inprocess", recorder_segment_seconds=2.0)
    return await live_server_factory(settings)


async def open_call(pc: Any, server: LiveServer, passwords: dict[str, str]) -> tuple[int, str]:
    """The inspector opens a remote inspection, invites 赵会计 and starts the call:
    (the session id, the invite URL)."""
    await log_in(pc, server, "inspector", passwords["inspector"])
    nav = pc.get_by_role("navigation", name="功能导航")
    await nav.get_by_role("link", name="远程巡检").click()
    await pc.get_by_label("被检查企业（检查点）").select_option(
        label="河北冀中纺织品有限公司 · 冀中纺织成品仓库（CA-0002）"
    )
    await pc.get_by_label("巡检事项").fill("远程巡检录像")
    await pc.get_by_role("button", name="新建并进入").click()
    await expect(pc).to_have_url(re.compile(r"/remote/\d+$"))
    session_id = int(pc.url.rsplit("/", 1)[1])
    await pc.get_by_label("联系人姓名").fill("赵会计")
    await pc.get_by_role("button", name="生成邀请链接").click()
    await expect(pc.locator("#invite-url")).to_have_value(re.compile("/join/"))
    invite_url = await pc.locator("#invite-url").input_value()
    await pc.get_by_role("button", name="开始通话").click()
    return session_id, invite_url


async def end_call(pc: Any) -> None:
    await pc.get_by_role("button", name="结束通话").click()
    await pc.get_by_role("dialog", name="结束通话").get_by_role("button", name="结束通话").click()
    await expect(pc.locator("#session-state")).to_have_text("已结束")


async def open_replay(reviewer: Any, server: LiveServer, password: str, session_id: int) -> None:
    """A reviewer opens the call's replay page from the console, once it is 可回放."""
    await log_in(reviewer, server, "reviewer", password)
    await (
        reviewer.get_by_role("navigation", name="功能导航")
        .get_by_role("link", name="远程巡检")
        .click()
    )
    await reviewer.get_by_test_id("replay-link").first.click()
    await expect(reviewer).to_have_url(re.compile(rf"/replay/{session_id}$"))
    await expect(reviewer.get_by_test_id("recording-state")).to_have_text(
        "可回放", timeout=READY_TIMEOUT_MS
    )


async def recorder_connected(page: Any) -> None:
    await page.wait_for_function(
        "() => ((window.loancheckCall || {}).peers || []).some(p => p.kind === 'recorder'"
        " && p.connectionState === 'connected')",
        timeout=READY_TIMEOUT_MS,
    )


async def test_a_browser_call_is_recorded_and_plays_on_the_replay_page(
    browser, recording_server, tmp_path
):
    server = recording_server
    passwords = {user: password for user, password, _ in await seed_demo(server.settings)}
    pc_context, pc, pc_problems = await new_page(browser, viewport={"width": 1440, "height": 900})
    phone_context, phone, phone_problems = await new_page(
        browser, viewport=PHONE, is_mobile=True, has_touch=True
    )
    try:
        session_id, invite_url = await open_call(pc, server, passwords)
        await phone.goto(invite_url)
        await phone.get_by_role("button", name="加入视频").tap()

        # The people see each other, not the recorder, which is in the call all the same.
        await wait_for_frames(pc, 0)
        await wait_for_frames(phone, 0)
        await expect(pc.locator("#peer-label")).to_have_text("企业联系人：赵会计")
        for page in (pc, phone):
            await recorder_connected(page)
        assert (await call_state(pc))["connectionState"] == "connected"
        await pc.wait_for_timeout(RECORD_SECONDS * 1000)

        await end_call(pc)

        # A reviewer replays it from the console.
        reviewer_context, reviewer, reviewer_problems = await new_page(
            browser, viewport={"width": 1440, "height": 900}
        )
        try:
            await open_replay(reviewer, server, passwords["reviewer"], session_id)
            videos = reviewer.get_by_test_id("replay-video")
            await expect(videos).to_have_count(2)
            listing = reviewer.get_by_test_id("recordings")
            await expect(listing).to_contain_text("赵会计（企业联系人）")
            for index in range(2):
                video = videos.nth(index)
                await video.evaluate("v => { v.muted = true; return v.play(); }")
                await reviewer.wait_for_function(
                    "v => !v.paused && v.currentTime > 0.5 && v.duration > 0",
                    arg=await video.element_handle(),
                    timeout=READY_TIMEOUT_MS,
                )
                duration = await video.evaluate("v => v.duration")
                assert RECORD_SECONDS - 1 <= duration <= RECORD_SECONDS + 20, duration
            await screenshot(reviewer, tmp_path, "replay")
            assert reviewer_problems.errors == []
        finally:
            await reviewer_context.close()
    finally:
        await pc_context.close()
        await phone_context.close()
    assert pc_problems.errors + phone_problems.errors == []


async def test_a_participant_whose_media_never_reached_the_recorder_is_named_on_replay(
    browser, recording_server, tmp_path
):
    """The contact is in the call, but none of its media reaches the recorder (here: its
    client never connects to it). The inspector's recording plays; the contact is named,
    in Chinese, with why there is nothing of it."""
    server = recording_server
    passwords = {user: password for user, password, _ in await seed_demo(server.settings)}
    pc_context, pc, _ = await new_page(browser, viewport={"width": 1440, "height": 900})
    contact = CallClient()
    try:
        session_id, invite_url = await open_call(pc, server, passwords)
        await contact.connect(
            server.url, auth={"invite": invite_url.rsplit("/", 1)[1], "device_id": "phone-1"}
        )
        assert (await contact.call("join_call", {}))["ok"] is True
        await recorder_connected(pc)
        await pc.wait_for_timeout(RECORD_SECONDS * 1000)
        await end_call(pc)

        reviewer_context, reviewer, reviewer_problems = await new_page(
            browser, viewport={"width": 1440, "height": 900}
        )
        try:
            await open_replay(reviewer, server, passwords["reviewer"], session_id)
            await expect(reviewer.get_by_test_id("replay-video")).to_have_count(1)
            listing = reviewer.get_by_test_id("recordings")
            await expect(listing).to_contain_text("（客户经理）")
            missing = reviewer.get_by_test_id("replay-missing")
            await expect(missing).to_have_count(1)
            await expect(missing).to_contain_text("企业联系人：未录到画面（媒体未到达录制服务器）")
            await expect(missing).to_contain_text("赵会计")
            await expect(reviewer.get_by_test_id("recording-message")).to_be_hidden()
            video = reviewer.get_by_test_id("replay-video")
            await video.evaluate("v => { v.muted = true; return v.play(); }")
            await reviewer.wait_for_function(
                "v => !v.paused && v.currentTime > 0.5 && v.duration > 0",
                arg=await video.element_handle(),
                timeout=READY_TIMEOUT_MS,
            )
            await screenshot(reviewer, tmp_path, "replay-missing")
            assert reviewer_problems.errors == []
        finally:
            await reviewer_context.close()
    finally:
        await contact.close()
        await pc_context.close()


async def test_a_recording_that_cannot_be_loaded_says_so_on_the_replay_page(
    browser, recording_server, tmp_path
):
    """A file the browser cannot fetch (here: gone from the store) must not leave a silent
    black player: the page says the recording cannot be played."""
    server = recording_server
    calls = CallKit(
        passwords={user: password for user, password, _ in await seed_demo(server.settings)}
    )
    try:
        call = await calls.open_call(server.url)
        inspector, inspector_ack, contact, contact_ack = await calls.joined_pair(call)
        feeds = [RecorderFeed(inspector), RecorderFeed(contact)]
        try:
            feeds[0].start(inspector_ack)
            feeds[1].start(contact_ack)
            await asyncio.wait_for(asyncio.gather(*(f.answered.wait() for f in feeds)), 20)
            await asyncio.sleep(2)
            assert (await inspector.call("end_call"))["ok"] is True
        finally:
            for feed in feeds:
                await feed.stop()
        recording = await recording_of(call)
        assert recording["state"] == "ready", recording
    finally:
        await calls.close()
    store = await open_store(server.settings)
    try:
        for info in await store.list(f"recordings/{call.session_id}/"):
            if info.key.endswith(".webm"):
                await store.delete(info.key)
    finally:
        await store.close()

    context, reviewer, problems = await new_page(browser, viewport={"width": 1440, "height": 900})
    try:
        await log_in(reviewer, server, "reviewer", calls.passwords["reviewer"])
        await reviewer.goto(f"{server.url}/replay/{call.session_id}")
        await expect(reviewer.get_by_test_id("recording-state")).to_have_text("可回放")
        errors = reviewer.get_by_test_id("replay-error")
        await expect(errors).to_have_count(2)
        for index in range(2):
            await expect(errors.nth(index)).to_be_visible()
            await expect(errors.nth(index)).to_contain_text("录像无法播放")
        await screenshot(reviewer, tmp_path, "replay-error")
        assert problems.errors == []
    finally:
        await context.close()
