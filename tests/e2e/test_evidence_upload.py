"""Evidence captured online on a phone (headless Chromium at 390×844, fake camera and
microphone, overridden GPS): every file goes up by tus with a progress bar in bytes and is
attached with the SHA-256 the phone computed; a failed upload says why and 重试 finishes it
without capturing again; every item offers 拍照/录像/录音; a recording stops by itself before
it passes the size limit (LOANCHECK_EVIDENCE_MAX_MB) and keeps what was recorded, while a
photo over the limit is refused in the capture dialog."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from dataclasses import replace
from typing import Any

import pytest
from playwright.async_api import expect
from sqlalchemy import select

from inspection_api.db import create_engine, create_sessionmaker
from inspection_api.inspections.models import Evidence, Inspection
from loancheck.resources import open_store
from tests.integration.anomaly_support import issue
from tests.integration.inspection_kit import CA_0001
from tests.plugins.browser import LiveServer, PageProblems
from tests.plugins.phone import (
    NO_OVERFLOW,
    ca_0001_label,
    fill_login,
    open_phone,
    publish_small_form,
    self_check_link,
    start_inspection,
)

pytestmark = pytest.mark.browser

MB = 1024 * 1024


async def evidence_rows(server: LiveServer) -> list[Evidence]:
    """The evidence of the inspection the phone started (the newest)."""
    engine = create_engine(server.settings.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            newest = select(Inspection.id).order_by(Inspection.id.desc()).limit(1)
            query = select(Evidence).where(Evidence.inspection_id == newest.scalar_subquery())
            return list((await session.scalars(query.order_by(Evidence.id))).all())
    finally:
        await engine.dispose()


async def stored_bytes(server: LiveServer, key: str) -> bytes:
    store = await open_store(server.settings)
    try:
        return await store.get_bytes(key)
    finally:
        await store.close()


async def phone_inspecting(
    browser: Any, server: LiveServer, passwords: dict[str, str]
) -> tuple[Any, Any, PageProblems]:
    """A phone at CA-0001 with the small form's on-site inspection started online."""
    await publish_small_form(server, passwords["hb_admin"])
    label = await ca_0001_label(server)
    context, page, problems = await open_phone(browser, CA_0001, timeout_ms=20_000)
    await page.goto(label)
    await fill_login(page, passwords["inspector"])
    await expect(page).to_have_url(label)
    await start_inspection(page)
    return context, page, problems


def attach_requests(page: Any) -> list[dict[str, Any]]:
    """The bodies of the page's attach calls (…/evidence/from-upload): what the phone says."""
    seen: list[dict[str, Any]] = []

    def on_request(request: Any) -> None:
        if request.method == "POST" and request.url.endswith("/evidence/from-upload"):
            seen.append(json.loads(request.post_data or "{}"))

    page.on("request", on_request)
    return seen


# Every value the upload rows' bars showed, sampled in the page (a row goes when done).
WATCH_BARS = """() => {
  window.barsSeen = [];
  setInterval(() => {
    for (const [index, bar] of document.querySelectorAll(".up-row progress").entries()) {
      const text = bar.parentElement.querySelector(".up-bytes").textContent;
      window.barsSeen.push([bar.value, bar.max, text, index]);
    }
  }, 5);
}"""


async def throttle(context: Any, page: Any, bytes_per_second: int) -> Any:
    """Chromium's own network throttling of the page's uplink (-1: none)."""
    cdp = await context.new_cdp_session(page)
    await cdp.send("Network.enable")
    await cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": 20,
            "downloadThroughput": -1,
            "uploadThroughput": bytes_per_second,
        },
    )
    return cdp


def partial_bars(seen: list[list[Any]]) -> list[tuple[float, float, str]]:
    """The samples where a bar showed a part of its file: (value, max, bytes text)."""
    return [(v, top, text) for v, top, text, _row in seen if 0 < v < top]


async def retried_offline_then_sent_by_itself(page: Any, failed: Any) -> None:
    """重试 without network fails again and keeps the capture on the phone (待上传); the
    network back, it goes up by itself (the same capture: no second evidence row)."""
    await failed.get_by_role("button", name="重试").click()
    await expect(failed).to_have_attribute("data-state", "failed")
    await expect(failed.locator(".up-state")).to_have_text("待上传")
    await expect(failed.locator(".up-error")).to_contain_text("无法连接服务器")
    await page.context.set_offline(False)


async def test_online_captures_go_up_by_tus_with_a_progress_bar(
    browser, live_server, passwords, tmp_path
):
    context, page, problems = await phone_inspecting(browser, live_server, passwords)
    attached = attach_requests(page)
    raw_posts: list[str] = []
    page.on(
        "request",
        lambda r: raw_posts.append(r.url) if r.method == "POST" and "/evidence?" in r.url else None,
    )
    try:
        form = page.get_by_test_id("inspection-form")
        plant = form.locator('[data-key="plant_running"]')
        remarks = form.locator('[data-key="remarks"]')
        # Every item offers all three, required or not.
        for item in (plant, remarks):
            for name in ("拍照", "录像", "录音"):
                await expect(item.get_by_role("button", name=name, exact=True)).to_be_visible()

        # A slow uplink (Chromium's own throttling): the bar moves while the bytes go.
        cdp = await throttle(context, page, 150 * 1024)
        await page.evaluate(WATCH_BARS)
        await plant.get_by_role("button", name="录像", exact=True).click()
        await page.get_by_test_id("capture-shoot").click()
        await asyncio.sleep(3)
        await page.get_by_test_id("capture-shoot").click()
        row = plant.get_by_test_id("upload-row")
        await expect(row).to_be_visible()
        await page.screenshot(path="/tmp/evidence-progress.png")
        assert await page.evaluate(NO_OVERFLOW)
        await expect(plant.locator(".if-counts")).to_have_text("已取证：照片 0/1，视频 1")
        await expect(row).to_have_count(0)  # done: the row made way for the player
        seen = await page.evaluate("() => window.barsSeen")
        partial = partial_bars(seen)
        assert partial, seen[-5:]
        value, top, text = partial[len(partial) // 2]
        assert re.fullmatch(r"[\d.]+ (KB|MB) / [\d.]+ (KB|MB)", text), text
        await cdp.send(
            "Network.emulateNetworkConditions",
            {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
        )

        # The required photo, then an optional one on an item that requires none.
        await plant.get_by_role("button", name="拍照", exact=True).click()
        await page.get_by_test_id("capture-shoot").click()
        await expect(plant.locator(".if-counts")).to_have_text("已取证：照片 1/1，视频 1")
        await remarks.get_by_role("button", name="拍照", exact=True).click()
        await page.get_by_test_id("capture-shoot").click()
        await expect(remarks.locator(".if-counts")).to_have_text("已取证：照片 1")

        # The network goes mid-capture: the upload says why, 重试 sends the same capture.
        await remarks.get_by_role("button", name="录音", exact=True).click()
        await page.get_by_test_id("capture-shoot").click()
        await asyncio.sleep(1.5)
        await context.set_offline(True)
        await page.get_by_test_id("capture-shoot").click()
        failed = remarks.get_by_test_id("upload-row")
        await expect(failed).to_have_attribute("data-state", "failed")
        await expect(failed.locator(".up-error")).to_have_text(
            re.compile(r"^上传中断：无法连接服务器（已上传 0\.0 KB / [\d.]+ KB）")
        )
        await expect(failed.locator(".up-error")).to_contain_text("请检查网络后点「重试」")
        await expect(failed).to_contain_text("已保存在本手机，联网后自动上传")
        await page.screenshot(path="/tmp/evidence-retry.png")
        await retried_offline_then_sent_by_itself(page, failed)
        await expect(remarks.locator(".if-counts")).to_have_text("已取证：照片 1，录音 1")
        await expect(remarks.get_by_test_id("upload-row")).to_have_count(0)
        await page.screenshot(path="/tmp/evidence-done.png", full_page=True)

        # On the server: one row per capture, each with the hash the phone computed.
        rows = await evidence_rows(live_server)
        assert [(r.item_key, r.kind) for r in rows] == [
            ("plant_running", "video"),
            ("plant_running", "photo"),
            ("remarks", "photo"),
            ("remarks", "audio"),
        ]
        assert [a["sha256"] for a in attached if a["kind"] == "video"] == [rows[0].sha256]
        phone_hashes = {a["sha256"] for a in attached}
        for r in rows:
            assert r.sha256 in phone_hashes
            data = await stored_bytes(live_server, r.object_key)
            assert hashlib.sha256(data).hexdigest() == r.sha256
            assert r.object_key.startswith("uploads/")  # the assembled tus upload
        assert top == rows[0].size_bytes and 0 < value < top
        assert raw_posts == []  # nothing went the old one-shot way
        assert problems.errors == []
    finally:
        await context.close()


@pytest.fixture
async def small_limit_server(embedded_settings, live_server_factory) -> LiveServer:
    return await live_server_factory(replace(embedded_settings, evidence_max_mb=1))


async def test_a_recording_stops_before_the_size_limit_and_keeps_what_it_has(
    browser, small_limit_server, tmp_path
):
    from inspection_api.demo import seed_demo

    passwords = {u: p for u, p, _ in await seed_demo(small_limit_server.settings)}
    context, page, problems = await phone_inspecting(browser, small_limit_server, passwords)
    try:
        form = page.get_by_test_id("inspection-form")
        plant = form.locator('[data-key="plant_running"]')
        remarks = form.locator('[data-key="remarks"]')

        # Under the limit: a short clip stopped by hand, no notice.
        await remarks.get_by_role("button", name="录像", exact=True).click()
        await expect(page.locator(".cap-limit")).to_have_text("单个文件不超过 1 MB")
        await page.get_by_test_id("capture-shoot").click()
        await asyncio.sleep(1.2)
        await page.get_by_test_id("capture-shoot").click()
        await expect(remarks.locator(".if-counts")).to_have_text("已取证：视频 1")
        await expect(remarks.get_by_test_id("upload-row")).to_have_count(0)

        # Left running: it stops by itself before 1 MB and what was recorded is kept.
        await plant.get_by_role("button", name="录像", exact=True).click()
        await page.get_by_test_id("capture-shoot").click()
        await expect(page.get_by_test_id("capture-status")).to_contain_text(" / 1 MB")
        await expect(page.locator(".cap-dialog")).to_have_count(0, timeout=90_000)
        kept = plant.get_by_test_id("upload-row")
        await expect(kept.locator(".up-note")).to_have_text(
            re.compile(r"^录像已达单个文件上限 1 MB，已自动停止，已录制的 [\d.]+ (KB|MB) 已保留$")
        )
        await expect(plant.locator(".if-counts")).to_have_text("已取证：照片 0/1，视频 1")
        await expect(kept).to_have_attribute("data-state", "done")
        await page.screenshot(path="/tmp/evidence-size-stop.png")
        assert await page.evaluate(NO_OVERFLOW)

        rows = await evidence_rows(small_limit_server)
        assert [(r.item_key, r.kind) for r in rows] == [
            ("remarks", "video"),
            ("plant_running", "video"),
        ]
        short, stopped = rows
        assert short.size_bytes < 0.5 * MB
        # Stopped at the limit, not long before it: between half of it and all of it.
        assert 0.5 * MB < stopped.size_bytes <= MB
        data = await stored_bytes(small_limit_server, stopped.object_key)
        assert data[:4] == b"\x1a\x45\xdf\xa3"  # still a WebM file (EBML header)

        # A photo over the limit is refused in the dialog, which stays open for another.
        await page.evaluate(
            """() => import("/static/js/capture.js").then((m) => {
                 window.refusedShot = m.captureLive("photo", {maxBytes: 2048});
               })"""
        )
        await page.get_by_test_id("capture-shoot").click()
        await expect(page.get_by_test_id("capture-status")).to_have_text(
            re.compile(r"^照片 [\d.]+ KB，超过单个文件上限 2\.0 KB，未保存，请重新拍摄$")
        )
        await expect(page.locator(".cap-dialog")).to_be_visible()
        await page.locator(".cap-dialog").get_by_role("button", name="取消").click()
        assert await page.evaluate("() => window.refusedShot") is None
        # Under the limit (1 MB, the server's): the photo is taken and attached.
        await plant.get_by_role("button", name="拍照", exact=True).click()
        await page.get_by_test_id("capture-shoot").click()
        await expect(plant.locator(".if-counts")).to_have_text("已取证：照片 1/1，视频 1")
        assert problems.errors == []
    finally:
        await context.close()


async def test_a_self_check_contact_uploads_by_tus_under_the_link_with_a_progress_bar(
    browser, live_server, passwords
):
    """A contact has no staff session: the file goes by tus under the link
    (/api/v1/self-checks/{token}/uploads), its bar fed by the bytes sent, and is attached
    with the SHA-256 the phone computed; cut mid-upload, 重试 sends the same capture."""
    await publish_small_form(live_server, passwords["hb_admin"])
    link = await self_check_link(live_server, passwords["inspector"])
    context, page, problems = await open_phone(browser, CA_0001, accuracy=15, timeout_ms=20_000)
    attached = attach_requests(page)
    calls: list[tuple[str, str]] = []
    page.on("request", lambda r: calls.append((r.method, r.url)))
    try:
        await page.goto(link)
        await page.get_by_role("button", name="获取定位并开始检查").click()
        remarks = page.get_by_test_id("inspection-form").locator('[data-key="remarks"]')
        await page.evaluate(WATCH_BARS)
        cdp = await throttle(context, page, 32 * 1024)
        # A clip of a few seconds: Chromium reports upload progress per 64 KiB or so, so a
        # photo of 15 KB would jump from nothing to all of it.
        await remarks.get_by_role("button", name="录像", exact=True).click()
        await page.get_by_test_id("capture-shoot").click()
        await asyncio.sleep(5)
        await page.get_by_test_id("capture-shoot").click()
        await expect(remarks.get_by_test_id("upload-row")).to_be_visible()
        await page.screenshot(path="/tmp/selftus-contact-progress.png")
        assert await page.evaluate(NO_OVERFLOW)
        await expect(remarks.locator(".if-counts")).to_have_text("已取证：视频 1", timeout=60_000)
        seen = await page.evaluate("() => window.barsSeen")
        assert partial_bars(seen), seen[-5:]
        await cdp.send(
            "Network.emulateNetworkConditions",
            {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
        )

        # The network goes mid-capture: the upload says why, 重试 sends the same capture.
        await remarks.get_by_role("button", name="录音", exact=True).click()
        await page.get_by_test_id("capture-shoot").click()
        await asyncio.sleep(1.5)
        await context.set_offline(True)
        await page.get_by_test_id("capture-shoot").click()
        failed = remarks.get_by_test_id("upload-row")
        await expect(failed).to_have_attribute("data-state", "failed")
        await expect(failed.locator(".up-error")).to_contain_text("请检查网络后点「重试」")
        await page.screenshot(path="/tmp/selftus-contact-retry.png")
        await retried_offline_then_sent_by_itself(page, failed)
        await expect(remarks.locator(".if-counts")).to_have_text("已取证：视频 1，录音 1")
        await expect(remarks.get_by_test_id("upload-row")).to_have_count(0)

        rows = await evidence_rows(live_server)
        assert [(r.item_key, r.kind, r.uploader_name) for r in rows] == [
            ("remarks", "video", "刘建国"),
            ("remarks", "audio", "刘建国"),
        ]
        assert rows[0].size_bytes == seen[-1][1]
        # Stored with the phone's SHA-256, the bytes in the store hashing to it.
        assert [a["sha256"] for a in attached if a["kind"] == "video"] == [rows[0].sha256]
        assert {a["sha256"] for a in attached} == {r.sha256 for r in rows}
        for r in rows:
            data = await stored_bytes(live_server, r.object_key)
            assert hashlib.sha256(data).hexdigest() == r.sha256
            assert r.object_key.startswith("uploads/")  # the assembled tus upload
        token = link.rstrip("/").rsplit("/", 1)[1]
        under_link = f"/api/v1/self-checks/{token}/uploads"
        assert any(m == "POST" and under_link in u for m, u in calls)
        assert not [u for _m, u in calls if "/api/v1/uploads/" in u]  # never the staff's
        assert not [u for m, u in calls if m == "POST" and "/evidence?" in u]  # nor one-shot
        assert problems.errors == []
    finally:
        await context.close()


async def test_rectification_reply_photos_show_their_progress_and_retry(
    browser, live_server, passwords
):
    engine = create_engine(live_server.settings.database_url)
    try:
        token, rectification_id = await issue(create_sessionmaker(engine))
    finally:
        await engine.dispose()
    context, page, problems = await open_phone(browser, timeout_ms=20_000)
    try:
        await page.goto(f"{live_server.url}/rectify/{token}")
        await page.get_by_label("整改情况说明").fill("已补齐水电费凭证")
        for _ in range(2):
            await page.locator("#reply-shoot").tap()
            await page.get_by_test_id("capture-shoot").tap()
            await expect(page.locator(".cap-dialog")).to_have_count(0)
        await expect(page.locator("#photo-list img")).to_have_count(2)

        # No network: the reply says so, each photo says why, and nothing is lost.
        await context.set_offline(True)
        await page.get_by_role("button", name="提交反馈").click()
        uploads = page.get_by_test_id("reply-uploads").get_by_test_id("upload-row")
        await expect(uploads).to_have_count(2)
        await expect(uploads.first).to_have_attribute("data-state", "failed")
        await expect(uploads.first.locator(".up-error")).to_have_text(
            re.compile(
                r"^上传中断：无法连接服务器（已上传 0\.0 KB / [\d.]+ KB），"
                r"请检查网络后再点「提交反馈」$"
            )
        )
        await expect(page.locator("#photo-list img")).to_have_count(2)
        await page.screenshot(path="/tmp/evidence-rectify-failed.png", full_page=True)
        assert await page.evaluate(NO_OVERFLOW)

        await expect(uploads.get_by_role("button", name="重试")).to_have_count(0)

        # Back online, on a slow uplink: the same photos go again, each with its bar.
        await context.set_offline(False)
        await page.evaluate(WATCH_BARS)
        await throttle(context, page, 4 * 1024)
        await page.get_by_role("button", name="提交反馈").click()
        await expect(uploads.first).to_have_attribute("data-state", "uploading")
        await expect(uploads.first.locator(".up-bytes")).to_have_text(
            re.compile(r"^[\d.]+ KB / [\d.]+ KB$")
        )
        await expect(page.locator("#done-text")).to_contain_text("（2 张照片）", timeout=60_000)
        seen = await page.evaluate("() => window.barsSeen")
        # Each photo's bar reached its whole size (two photos of some 15 KB: Chromium
        # reports an upload that small in one step).
        full = {row for v, top, _text, row in seen if v == top}
        assert full == {0, 1}, seen[-5:]
        await expect(uploads).to_have_count(0)
        assert problems.errors == []
    finally:
        await context.close()
    assert rectification_id
