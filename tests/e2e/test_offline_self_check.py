"""企业自检 without network on a phone (headless Chromium 390×844, fake camera and
microphone, overridden GPS): the contact opens the invite link once online (the shell and
the self-check's form are kept), then in the basement starts the self-check offline,
answers, takes a photo, a video and an audio clip, reloads, submits, closes the page; when
the network returns the 待上传 outbox sends the files by tus under the link and the record
by the link's sync: the bank's one self-check, marked offline, with the phone's SHA-256."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect
from sqlalchemy import func, select

from inspection_api.db import create_engine, create_sessionmaker
from inspection_api.inspections.models import Evidence, Inspection
from tests.integration.inspection_kit import CA_0001
from tests.plugins.browser import LiveServer, PageProblems
from tests.plugins.phone import PHONE, live_api, open_phone, publish_small_form

pytestmark = pytest.mark.browser

# What the link's store on the phone holds, read in the page (the page's own module, so the
# self-check's database).
PHONE_STORE = """async () => {
  const store = await import("/static/js/offline-store.js");
  const out = [];
  for (const i of await store.listInspections()) {
    const captures = await store.capturesOf(i.client_uuid);
    out.push({uuid: i.client_uuid, state: i.state, answers: i.answers, qr: i.qr,
              captures: captures.map((c) => ({kind: c.kind, sha256: c.sha256, size: c.size,
                                               state: c.state}))});
  }
  return out;
}"""
STORED_SELF_CHECK = """async () => {
  const store = await import("/static/js/offline-store.js");
  const found = await store.storedSelfCheck();
  return found ? found.checkpoint.name : null;
}"""
DATABASES = "async () => (await indexedDB.databases()).map((d) => d.name)"


async def invite(server: LiveServer, password: str) -> dict[str, Any]:
    async with live_api(server, "inspector", password) as http:
        ids = {
            c["code"]: c["id"]
            for c in (await (await http.get("/api/v1/checkpoints")).json())["items"]
        }
        body = {"checkpoint_id": ids["CA-0001"], "contact_name": "刘建国"}
        created = await http.post("/api/v1/inspections/self-check", json=body)
        assert created.status == 201, await created.text()
        return dict(await created.json())


async def inspection_rows(server: LiveServer, inspection_id: int) -> tuple[int, Inspection]:
    engine = create_engine(server.settings.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            total = await session.scalar(select(func.count()).select_from(Inspection))
            found = await session.get(Inspection, inspection_id)
            assert found is not None
            return int(total or 0), found
    finally:
        await engine.dispose()


async def evidence_of(server: LiveServer, inspection_id: int) -> list[tuple[str, str, int]]:
    engine = create_engine(server.settings.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            rows = await session.scalars(
                select(Evidence).where(Evidence.inspection_id == inspection_id)
            )
            return sorted((e.kind, e.sha256, e.size_bytes) for e in rows)
    finally:
        await engine.dispose()


async def phone_shot(page: Any, tmp_path: Path, name: str) -> None:
    """A phone state: nothing wider than the screen, and its picture in /tmp."""
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{name}: the page is {width} px wide"
    path = tmp_path / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    shutil.copyfile(path, f"/tmp/selfoff-{name}.png")


async def record(page: Any, item: Any, button: str, seconds: float = 1.5) -> None:
    await item.get_by_role("button", name=button, exact=True).click()
    await page.get_by_test_id("capture-shoot").click()  # start
    await asyncio.sleep(seconds)
    await page.get_by_test_id("capture-shoot").click()  # stop


async def phone_online_once(
    browser: Any, server: LiveServer, link: str
) -> tuple[Any, Any, PageProblems, str]:
    """The contact's phone at CA-0001 that opened the link online once: the shell installed
    and the self-check kept on the phone; its checkpoint's name."""
    context, page, problems = await open_phone(browser, CA_0001, timeout_ms=20_000)
    await page.goto(link)
    await expect(page.locator("#user-name")).to_have_text("刘建国")
    await page.evaluate("async () => { await navigator.serviceWorker.ready; }")
    for _ in range(100):
        if await page.evaluate(STORED_SELF_CHECK):
            break
        await asyncio.sleep(0.1)
    name = await page.evaluate(STORED_SELF_CHECK)
    assert name, "the self-check was not kept on the phone"
    return context, page, problems, name


async def start_offline(page: Any, name: str) -> Any:
    """Without network: the link's page from the shell, 定位, the self-check's form."""
    await page.context.set_offline(True)
    await page.reload()
    notice = page.get_by_test_id("offline-notice")
    await expect(notice).to_contain_text("现在没有网络。自检可以照常进行")
    await expect(page.locator("#site-title")).to_have_text(name)
    await page.get_by_role("button", name="获取定位并开始检查").click()
    await expect(page.locator("#site-title")).to_have_text(f"离线自检 · {name}")
    await expect(page.locator("#site-meta")).to_contain_text("位置待联网核验")
    # By when the phone must be online: the link's end, kept at the online visit.
    await expect(page.locator("#locate-status")).to_contain_text("前联网上传，过期后无法上传。")
    return page.get_by_test_id("inspection-form")


async def answer_with_a_photo(page: Any, form: Any) -> Any:
    plant = form.locator('[data-key="plant_running"]')
    await plant.get_by_label("是", exact=True).check()
    await form.get_by_label("现场说明", exact=True).fill("地下室无信号：车间正常开工。")
    await form.get_by_role("radiogroup", name="检查初步结论").get_by_label("正常").check()
    await plant.get_by_role("button", name="拍照").click()
    await page.get_by_test_id("capture-shoot").click()
    await expect(plant.locator(".if-counts")).to_have_text("已取证：照片 1/1")
    return plant


async def test_a_self_check_done_offline_lands_once_with_the_phones_hashes(
    browser: Any, live_server: LiveServer, passwords: dict[str, str], tmp_path: Path
) -> None:
    await publish_small_form(live_server, passwords["hb_admin"])
    created = await invite(live_server, passwords["inspector"])
    inspection_id = created["inspection"]["id"]
    link = created["url"]
    context, page, problems, name = await phone_online_once(browser, live_server, link)
    try:
        total_before, _ = await inspection_rows(live_server, inspection_id)

        # In the basement: the link opens from the shell, the self-check starts offline.
        form = await start_offline(page, name)
        plant = await answer_with_a_photo(page, form)
        remarks = form.locator('[data-key="remarks"]')
        await record(page, remarks, "录像")
        await record(page, remarks, "录音")
        await expect(remarks.locator(".if-counts")).to_have_text("已取证：视频 1，录音 1")
        await expect(page.locator("#save-status")).to_have_text("已保存到本机")

        # Reloaded, still offline: all of it is still there.
        await page.reload()
        await expect(page.locator("#site-title")).to_have_text(f"离线自检 · {name}")
        await expect(plant.get_by_label("是", exact=True)).to_be_checked()
        await expect(form.get_by_label("现场说明", exact=True)).to_have_value(
            "地下室无信号：车间正常开工。"
        )
        await expect(remarks.locator(".if-counts")).to_have_text("已取证：视频 1，录音 1")
        await phone_shot(page, tmp_path, "offline-self-check")
        held = await page.evaluate(PHONE_STORE)
        assert len(held) == 1 and held[0]["qr"] is None, held
        phone = held[0]
        assert sorted(c["kind"] for c in phone["captures"]) == ["audio", "photo", "video"]
        # The contact's data is in the link's own database, not the staff one.
        databases = await page.evaluate(DATABASES)
        assert f"loancheck-selfcheck-{link.rsplit('/', 1)[1]}" in databases, databases
        assert "loancheck-offline" not in databases, databases

        await page.get_by_role("button", name="提交检查").click()
        await expect(page.get_by_role("heading", name="自检已保存在本手机")).to_be_visible()
        item = page.get_by_test_id("outbox").get_by_test_id("outbox-item")
        await expect(item).to_have_attribute("data-state", "queued")
        await expect(item).to_contain_text("待上传")
        await expect(item.locator(".outbox-file")).to_have_count(3)

        # Closed, opened again offline: the outbox still holds it.
        await page.close()
        page = await context.new_page()
        problems.watch(page)
        await page.goto(link)
        item = page.get_by_test_id("outbox").get_by_test_id("outbox-item")
        await expect(item).to_have_attribute("data-state", "queued")
        await expect(page.get_by_role("button", name="立即上传")).to_be_visible()
        # Submitted and waiting: nothing offers to fill it in a second time.
        await expect(page.get_by_role("heading", name="自检已保存在本手机")).to_be_visible()
        await expect(page.get_by_role("button", name="获取定位并开始检查")).to_be_hidden()
        await expect(page.get_by_test_id("my-tasks")).to_be_hidden()  # staff only
        await phone_shot(page, tmp_path, "outbox-waiting")

        # Back online: the files go up by tus under the link, then the link's sync.
        calls: list[str] = []
        page.on(
            "request",
            lambda r: (
                calls.append(f"{r.method} {r.url.split('/api/v1/')[1].split('/')[0]}")
                if "/api/v1/" in r.url
                else None
            ),
        )
        await context.set_offline(False)
        await expect(item).to_have_attribute("data-state", "synced", timeout=60_000)
        await expect(item).to_contain_text(f"已入库：检查记录 #{inspection_id}")
        await phone_shot(page, tmp_path, "outbox-synced")
        assert "POST uploads" not in calls, calls  # never the staff uploads
        assert calls.count("POST self-checks") >= 4, calls  # 3 files and the sync

        total, stored = await inspection_rows(live_server, inspection_id)
        assert total == total_before  # the bank's self-check, not a new inspection
        assert (stored.state.value, stored.offline, stored.client_uuid) == (
            "submitted",
            True,
            phone["uuid"],
        )
        assert stored.answers == phone["answers"]
        on_phone = sorted((c["kind"], c["sha256"], c["size"]) for c in phone["captures"])
        assert await evidence_of(live_server, inspection_id) == on_phone
        assert all(
            "ERR_INTERNET_DISCONNECTED" in e or "Failed to fetch" in e for e in problems.errors
        ), problems.errors
    finally:
        await context.close()


async def test_a_link_revoked_meanwhile_refuses_it_with_the_reason_and_keeps_it(
    browser: Any, live_server: LiveServer, passwords: dict[str, str], tmp_path: Path
) -> None:
    await publish_small_form(live_server, passwords["hb_admin"])
    created = await invite(live_server, passwords["inspector"])
    inspection_id = created["inspection"]["id"]
    context, page, problems, name = await phone_online_once(browser, live_server, created["url"])
    try:
        form = await start_offline(page, name)
        await answer_with_a_photo(page, form)
        await page.get_by_role("button", name="提交检查").click()
        await expect(page.get_by_role("heading", name="自检已保存在本手机")).to_be_visible()
        held = (await page.evaluate(PHONE_STORE))[0]

        # The bank revokes the link while the phone is in the basement.
        async with live_api(live_server, "inspector", passwords["inspector"]) as http:
            revoke = await http.post(f"/api/v1/inspections/{inspection_id}/revoke-invites")
            assert revoke.status == 200, await revoke.text()

        await context.set_offline(False)
        item = page.get_by_test_id("outbox").get_by_test_id("outbox-item")
        await expect(item).to_have_attribute("data-state", "refused", timeout=30_000)
        await expect(item).to_contain_text("被拒绝")
        problem = item.locator(".outbox-problem")
        await expect(problem).to_contain_text("企业自检链接已于")
        await expect(problem).to_contain_text("被撤销，本次自检未能上传；数据仍保存在本机，可导出")
        await phone_shot(page, tmp_path, "outbox-refused")

        # 导出: the record with its photo, as the phone took it.
        async with page.expect_download() as download_info:
            await item.get_by_role("button", name="导出").click()
        download = await download_info.value
        assert download.suggested_filename == f"企业自检-{held['uuid']}.json"
        exported = json.loads(await asyncio.to_thread(Path(await download.path()).read_text))
        assert exported["state"] == "refused" and exported["qr"] is None
        [photo] = exported["files"]
        data = base64.b64decode(photo["data"].split(",", 1)[1])
        assert hashlib.sha256(data).hexdigest() == held["captures"][0]["sha256"]

        _total, stored = await inspection_rows(live_server, inspection_id)
        assert (stored.client_uuid, stored.state.value) == (None, "draft")
        assert await evidence_of(live_server, inspection_id) == []
        assert all(
            "ERR_INTERNET_DISCONNECTED" in e or "Failed to fetch" in e or "410" in e
            for e in problems.errors
        ), problems.errors
    finally:
        await context.close()
