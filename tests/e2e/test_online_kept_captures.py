"""What the phone keeps of an ONLINE inspection's captures, as the inspector sees it (a phone,
390×844, GPS set, fake camera, headless Chromium): a photo still waiting to go up (待上传,
the network lost) can be deleted, by staff and by a self-check's contact — asked first,
then gone from its item, the phone's store and the waiting count, 提交检查 no longer held by
it, and never sent; a photo deleted while it goes up is stopped and never attached; an
inspection reopened without network shows the photos this phone took from its own copy and
says of the one another phone took that it is on the server (已上传，联网后可查看) and cannot
be deleted without network, and shows it again once the network returns; and with the
phone's storage full the copies give way first, then the page holds the capture and says so
until it has gone up."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from playwright.async_api import expect

from tests.e2e.test_evidence_upload import attach_requests, throttle
from tests.e2e.test_online_network_lost import KEPT, server_side, start_online
from tests.integration.inspection_kit import CA_0001, jpeg, upload
from tests.plugins.browser import LiveServer
from tests.plugins.phone import (
    NO_OVERFLOW,
    ca_0001_label,
    live_api,
    newest_inspection,
    open_phone,
    publish_small_form,
    self_check_link,
    start_inspection,
)

pytestmark = pytest.mark.browser

WAITING_QUESTION = "删除这张照片？它还没有上传，删除后将从本手机移除，不会再上传。"
# Each photo in an item's gallery: from this phone's copy (blob:), the server's, or neither.
GALLERY = """(item) => [...document.querySelectorAll(`[data-evidence-for="${item}"] .if-shot`)]
  .map((shot) => {
    const img = shot.querySelector("img");
    if (!img) return {placeholder: shot.querySelector(".if-unavailable")?.textContent ?? null};
    return {local: img.src.startsWith("blob:"), loaded: img.complete && img.naturalWidth > 0};
  })"""


async def shot(page: Any, name: str, node: Any = None) -> None:
    """The phone as it is (nothing wider than the screen), kept in /tmp/fieldux to look at."""
    assert await page.evaluate(NO_OVERFLOW), f"{name}: wider than the phone"
    if node is not None:
        await node.scroll_into_view_if_needed()
    await page.screenshot(path=f"/tmp/fieldux/{name}.png")


async def gallery_shows(page: Any, expected: list[dict[str, Any]]) -> None:
    """Wait until the gallery of plant_running shows ``expected`` (GALLERY's shape)."""
    for _ in range(100):
        seen = await page.evaluate(GALLERY, "plant_running")
        if seen == expected:
            return
        await asyncio.sleep(0.1)
    assert seen == expected


async def nothing_goes_up(page: Any, context: Any, server: LiveServer, inspection_id: int) -> None:
    """The network back: no upload is sent (watched for 2 s) and the server holds no evidence."""
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if "/uploads" in r.url else None)
    await context.set_offline(False)
    await asyncio.sleep(2)
    assert sent == [], sent
    assert (await server_side(server, inspection_id))[1] == []


async def take_photo(page: Any, item: Any) -> None:
    await item.get_by_role("button", name="拍照", exact=True).click()
    await page.get_by_test_id("capture-shoot").click()


async def delete_row(page: Any, row: Any, *, accept: bool = True) -> str:
    """删除 on an upload row; the question asked, answered ``accept``."""
    asked: list[str] = []

    async def answer(dialog: Any) -> None:
        asked.append(dialog.message)
        await (dialog.accept() if accept else dialog.dismiss())

    page.once("dialog", answer)
    await row.get_by_role("button", name="删除此取证").click()
    for _ in range(50):
        if asked:
            break
        await asyncio.sleep(0.05)
    assert asked, "no question before deleting"
    return asked[0]


async def test_a_waiting_photo_can_be_deleted_and_is_never_sent(
    browser: Any, live_server: LiveServer, passwords: dict[str, str]
) -> None:
    await publish_small_form(live_server, passwords["hb_admin"])
    label = await ca_0001_label(live_server)
    context, page, problems = await open_phone(browser, CA_0001, accuracy=10, timeout_ms=20_000)
    try:
        form, inspection_id, key = await start_online(page, live_server, passwords, label)
        plant = form.locator('[data-key="plant_running"]')
        await plant.get_by_label("是", exact=True).check()
        await form.get_by_role("radiogroup", name="检查初步结论").get_by_label("正常").check()
        await expect(form.locator('[data-status-for="conclusion"]')).to_have_text("已保存")

        # No network: two photos, both waiting on the phone.
        await context.set_offline(True)
        notice = page.get_by_test_id("offline-notice")
        for _ in range(2):
            await take_photo(page, plant)
        rows = plant.get_by_test_id("upload-row")
        await expect(rows).to_have_count(2)
        await expect(notice).to_contain_text("本机待上传：2 个取证")
        held = await page.evaluate(KEPT, key)
        first, second = (c["uuid"] for c in held["captures"])
        await shot(page, "waiting-two-photos", rows.nth(1))

        # 删除, then 取消: asked in plain Chinese, nothing deleted.
        assert await delete_row(page, rows.nth(1), accept=False) == WAITING_QUESTION
        await expect(rows).to_have_count(2)
        # 删除 and yes: off the item, the phone and the count.
        assert await delete_row(page, rows.nth(1)) == WAITING_QUESTION
        await expect(rows).to_have_count(1)
        await expect(notice).to_contain_text("本机待上传：1 个取证")
        held = await page.evaluate(KEPT, key)
        assert [c["uuid"] for c in held["captures"]] == [first], held
        await shot(page, "waiting-one-deleted", rows)

        # 提交检查 is held by the one left; deleting it releases the hold.
        await page.get_by_role("button", name="提交检查").click()
        problem = page.locator("#submit-problem")
        await expect(problem).to_have_text(
            "还有 1 个取证未上传，联网后自动上传；全部上传后请再次点击「提交检查」。"
        )
        await delete_row(page, rows.first)
        await expect(rows).to_have_count(0)
        await expect(problem).to_have_text("本机已没有待上传的回答和取证，请再次点击「提交检查」。")
        await expect(notice).not_to_contain_text("本机待上传")
        assert (await page.evaluate(KEPT, key))["captures"] == []
        await expect(plant.locator(".if-counts")).to_have_text("已取证：照片 0/1")
        await shot(page, "waiting-all-deleted", problem)

        # Reloaded without network: nothing comes back.
        await page.reload()
        await expect(page.get_by_test_id("inspection-form")).to_be_visible()
        await expect(plant.get_by_test_id("upload-row")).to_have_count(0)

        # The network back: nothing of them goes up; a new photo does, and the inspection
        # submits with that one alone.
        await nothing_goes_up(page, context, live_server, inspection_id)
        await take_photo(page, plant)
        await expect(plant.locator(".if-counts")).to_have_text("已取证：照片 1/1", timeout=20_000)
        await page.get_by_role("button", name="提交检查").click()
        await expect(page.get_by_role("heading", name="检查已提交")).to_be_visible()
        stored, evidence = await server_side(live_server, inspection_id)
        assert stored.state == "submitted"
        assert len(evidence) == 1 and evidence[0].client_uuid not in (first, second)
        assert problems.errors == []
    finally:
        await context.close()


async def test_a_contact_deletes_a_waiting_photo_and_it_is_never_sent(
    browser: Any, live_server: LiveServer, passwords: dict[str, str]
) -> None:
    # The enterprise contact's self-check link: the same page, the link's own store and uploads.
    await publish_small_form(live_server, passwords["hb_admin"])
    link = await self_check_link(live_server, passwords["inspector"])
    key = f"self-check-{link.rstrip('/').rsplit('/', 1)[1]}"
    context, page, problems = await open_phone(browser, CA_0001, accuracy=10, timeout_ms=20_000)
    try:
        await page.goto(link)
        await expect(page.locator("#user-name")).to_have_text("刘建国")
        form = await start_inspection(page)
        inspection_id = (await newest_inspection(live_server)).id
        plant = form.locator('[data-key="plant_running"]')
        await context.set_offline(True)
        await take_photo(page, plant)
        rows = plant.get_by_test_id("upload-row")
        await expect(rows).to_have_count(1)
        assert len((await page.evaluate(KEPT, key))["captures"]) == 1
        assert await delete_row(page, rows.first) == WAITING_QUESTION
        await expect(rows).to_have_count(0)
        assert (await page.evaluate(KEPT, key))["captures"] == []
        await shot(page, "contact-waiting-deleted", plant)

        await nothing_goes_up(page, context, live_server, inspection_id)
        assert all("ERR_INTERNET_DISCONNECTED" in e for e in problems.errors), problems.errors
    finally:
        await context.close()


async def test_a_photo_deleted_while_it_goes_up_is_stopped_and_never_attached(
    browser: Any, live_server: LiveServer, passwords: dict[str, str]
) -> None:
    await publish_small_form(live_server, passwords["hb_admin"])
    label = await ca_0001_label(live_server)
    context, page, problems = await open_phone(browser, CA_0001, accuracy=10, timeout_ms=20_000)
    try:
        form, inspection_id, key = await start_online(page, live_server, passwords, label)
        plant = form.locator('[data-key="plant_running"]')
        attached = attach_requests(page)
        # A slow uplink: the photo takes many seconds to go up.
        cdp = await throttle(context, page, 1000)
        await take_photo(page, plant)
        row = plant.get_by_test_id("upload-row")
        await expect(row).to_have_attribute("data-state", "uploading")
        await asyncio.sleep(1)
        assert await delete_row(page, row) == WAITING_QUESTION
        await expect(row).to_have_count(0)
        await cdp.send(
            "Network.emulateNetworkConditions",
            {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
        )
        await asyncio.sleep(3)  # time enough for a send that was not stopped
        assert attached == []
        assert (await server_side(live_server, inspection_id))[1] == []
        assert (await page.evaluate(KEPT, key))["captures"] == []
        await expect(plant.locator(".if-counts")).to_have_text("已取证：照片 0/1")
        await expect(page.locator(".up-row")).to_have_count(0)
        assert problems.errors == []
    finally:
        await context.close()


async def test_reopened_offline_own_photos_show_and_the_others_say_where_they_are(
    browser: Any, live_server: LiveServer, passwords: dict[str, str]
) -> None:
    await publish_small_form(live_server, passwords["hb_admin"])
    label = await ca_0001_label(live_server)
    context, page, problems = await open_phone(browser, CA_0001, accuracy=10, timeout_ms=20_000)
    try:
        form, inspection_id, key = await start_online(page, live_server, passwords, label)
        plant = form.locator('[data-key="plant_running"]')
        await plant.get_by_label("是", exact=True).check()
        await form.get_by_role("radiogroup", name="检查初步结论").get_by_label("正常").check()
        await expect(form.locator('[data-status-for="conclusion"]')).to_have_text("已保存")
        await take_photo(page, plant)
        await expect(plant.locator(".if-counts")).to_have_text("已取证：照片 1/1")
        await expect(plant.get_by_test_id("upload-row")).to_have_count(0)
        # Another photo of the same item, sent from another phone: this one has no copy.
        async with live_api(live_server, "inspector", passwords["inspector"]) as http:
            path = f"/api/v1/inspections/{inspection_id}"
            other = await upload(http, path, "plant_running", jpeg(seed=7, size=(320, 240)))
        held = await page.evaluate(KEPT, key)
        assert [c["evidence"] is not None and c["blob"] for c in held["captures"]] == [True]
        mine = held["captures"][0]["evidence"]
        assert mine != other["id"]

        # 重新定位 online: the inspection as the server has it, both photos, this phone's own
        # from its copy.
        await page.get_by_role("button", name="重新定位").click()
        await expect(plant.locator(".if-counts")).to_have_text("已取证：照片 2/1")
        await gallery_shows(
            page, [{"local": True, "loaded": True}, {"local": False, "loaded": True}]
        )
        # Reloaded without network: the phone's photo from its copy, the other one said.
        await context.set_offline(True)
        await page.reload()
        await expect(page.get_by_test_id("inspection-form")).to_be_visible()
        await expect(plant.locator(".if-counts")).to_have_text("已取证：照片 2/1")
        placeholder = plant.locator(".if-unavailable")
        await expect(placeholder).to_have_text("照片已上传，联网后可查看")
        await expect(placeholder).to_have_attribute("aria-label", "照片：已上传，联网后可查看")
        await gallery_shows(
            page, [{"local": True, "loaded": True}, {"placeholder": "照片已上传，联网后可查看"}]
        )
        await shot(page, "reopened-offline", plant)
        # The server's photo cannot be deleted without network: said at once, nothing asked,
        # and it stays.
        said = await delete_row(page, plant.locator(".if-shot").nth(1))
        assert said == "这张照片已上传到服务器，没有网络时不能删除，请联网后再删除。"
        await expect(plant.locator(".if-counts")).to_have_text("已取证：照片 2/1")

        # The network back: the other photo is shown too (a fresh link from the server).
        await context.set_offline(False)
        await expect(placeholder).to_have_count(0, timeout=15_000)
        await gallery_shows(
            page, [{"local": True, "loaded": True}, {"local": False, "loaded": True}]
        )
        await shot(page, "reopened-back-online", plant)

        # Submitted: the phone's copies leave it.
        await page.get_by_role("button", name="提交检查").click()
        await expect(page.get_by_role("heading", name="检查已提交")).to_be_visible()
        assert await page.evaluate(KEPT, key) == {"pending": None, "captures": []}
        assert all("ERR_INTERNET_DISCONNECTED" in e for e in problems.errors), problems.errors
    finally:
        await context.close()


# The phone's storage full, as Chromium reports it: IndexedDB refuses to store a capture
# (``window.__storageFull`` times, or every time when it is true).
STORAGE_FULL = """(() => {
  const put = IDBObjectStore.prototype.put;
  IDBObjectStore.prototype.put = function (...args) {
    const full = window.__storageFull;
    if (this.name === "captures" && full) {
      if (typeof full === "number") window.__storageFull = full - 1;
      throw new DOMException("The quota has been exceeded.", "QuotaExceededError");
    }
    return put.apply(this, args);
  };
})();"""
NOT_KEPT = (
    "本手机无法保存数据（存储空间不足或浏览器不允许）：未上传的回答和取证只在当前页面中，"
    "请勿刷新或关闭页面，联网后自动上传。"
)


async def test_storage_full_the_copies_give_way_and_then_the_page_holds_the_capture(
    browser: Any, live_server: LiveServer, passwords: dict[str, str]
) -> None:
    await publish_small_form(live_server, passwords["hb_admin"])
    label = await ca_0001_label(live_server)
    context, page, problems = await open_phone(
        browser, CA_0001, accuracy=10, timeout_ms=20_000, init_script=STORAGE_FULL
    )
    try:
        form, inspection_id, key = await start_online(page, live_server, passwords, label)
        plant = form.locator('[data-key="plant_running"]')
        notice = page.get_by_test_id("offline-notice")
        await take_photo(page, plant)
        await expect(plant.locator(".if-counts")).to_have_text("已取证：照片 1/1")
        first = (await page.evaluate(KEPT, key))["captures"]
        assert [(c["evidence"] is not None, c["blob"]) for c in first] == [(True, True)]

        # Full once: the copy of the attached photo gives way, the new one is kept and sent.
        await page.evaluate("window.__storageFull = 1")
        await take_photo(page, plant)
        await expect(plant.locator(".if-counts")).to_have_text("已取证：照片 2/1")
        await expect(plant.get_by_test_id("upload-row")).to_have_count(0)
        held = (await page.evaluate(KEPT, key))["captures"]
        assert first[0]["uuid"] not in {c["uuid"] for c in held}
        assert [(c["evidence"] is not None, c["blob"]) for c in held] == [(True, True)]
        assert await page.evaluate("window.__storageFull") == 0
        await expect(notice).to_be_hidden()

        # Full for good, and no network: the page holds the capture itself and says so; it
        # goes up when the network returns.
        await page.evaluate("window.__storageFull = true")
        await context.set_offline(True)
        await take_photo(page, plant)
        await expect(notice).to_have_text(NOT_KEPT)
        await shot(page, "storage-full", notice)
        # The copies gave way first (to no avail), the new photo was not stored.
        assert (await page.evaluate(KEPT, key))["captures"] == []
        await context.set_offline(False)
        await expect(plant.locator(".if-counts")).to_have_text("已取证：照片 3/1")
        await expect(plant.get_by_test_id("upload-row")).to_have_count(0, timeout=15_000)
        await expect(notice).to_be_hidden()
        _, rows = await server_side(live_server, inspection_id)
        assert len(rows) == 3
        assert held[0]["sha256"] in {r.sha256 for r in rows}
        assert all("ERR_INTERNET_DISCONNECTED" in e for e in problems.errors), problems.errors
    finally:
        await context.close()
