"""A whole offline inspection on a phone (headless Chromium, fake camera, overridden GPS):
opened online once (the shell and the checklist are cached), then without network the
label's page starts the inspection from the cached checklist, the answers and a photo
survive a reload, 提交 queues it, and when the network returns the outbox uploads the photo
by tus and syncs: exactly one inspection, marked offline, with the photo's SHA-256 as the
phone computed it. Sending it again (立即上传 twice at once) adds nothing."""

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
from inspection_api.uploads.models import ResumableUpload
from tests.integration.inspection_kit import CA_0001, moved
from tests.plugins.browser import LiveServer, PageProblems
from tests.plugins.phone import (
    answer_small_form,
    ca_0001_label,
    fill_login,
    open_phone,
    publish_small_form,
    ready_on_site,
    start_inspection,
)

pytestmark = pytest.mark.browser

SHOWCASE = Path("/tmp/onsite-outbox.png")
# What the phone's store holds, read in the page (the module the page itself uses).
PHONE_STORE = """async () => {
  const store = await import("/static/js/offline-store.js");
  const all = await store.listInspections();
  const out = [];
  for (const i of all) {
    const captures = await store.capturesOf(i.client_uuid);
    out.push({uuid: i.client_uuid, state: i.state, answers: i.answers, qr: i.qr,
              captures: captures.map((c) => ({uuid: c.client_uuid, sha256: c.sha256,
                                               size: c.size, state: c.state}))});
  }
  return out;
}"""
CACHED_KEYS = """async () => {
  const store = await import("/static/js/offline-store.js");
  const c = await store.cachedChecklist();
  return c ? c.sections.flatMap((s) => s.items.map((i) => i.key)) : null;
}"""
# A phone that never heard the server's answer: everything back to 待上传, sent again.
FORGET_ANSWER = """async () => {
  const store = await import("/static/js/offline-store.js");
  for (const i of await store.listInspections()) {
    await store.updateInspection(i.client_uuid, {state: "queued", inspection_id: null});
    for (const c of await store.capturesOf(i.client_uuid)) {
      await store.updateCapture(c.client_uuid, {state: "queued", offset: 0});
    }
  }
  const outbox = await import("/static/js/outbox.js");
  await outbox.render();
}"""


async def counts(server: LiveServer, client_uuid: str) -> tuple[int, int, int]:
    """(inspections in all, those with this UUID, their evidence rows)."""
    engine = create_engine(server.settings.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            total = await session.scalar(select(func.count()).select_from(Inspection))
            ids = (
                await session.scalars(
                    select(Inspection.id).where(Inspection.client_uuid == client_uuid)
                )
            ).all()
            evidence = await session.scalar(
                select(func.count()).select_from(Evidence).where(Evidence.inspection_id.in_(ids))
            )
    finally:
        await engine.dispose()
    return int(total or 0), len(ids), int(evidence or 0)


async def checklist_cached(page: Any, form_key: str | None) -> None:
    """Wait until the page cached a checklist (with item ``form_key``, when given)."""
    for _ in range(150):
        keys = await page.evaluate(CACHED_KEYS)
        if keys is not None and (form_key is None or form_key in keys):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"no checklist with {form_key!r} cached: {keys}")


async def phone_online_once(
    browser: Any,
    server: LiveServer,
    passwords: dict[str, str],
    at: Any = CA_0001,
    form_key: str | None = "plant_running",
) -> tuple[Any, Any, PageProblems]:
    """A phone at ``at`` that opened /onsite online once: shell installed, checklist cached."""
    context, page, problems = await open_phone(browser, at)
    await ready_on_site(page, server, passwords["inspector"])
    await checklist_cached(page, form_key)
    return context, page, problems


async def fill_in_offline(page: Any, label: str) -> Any:
    """Offline: open the label's page, start, answer the short form, take one photo."""
    await page.context.set_offline(True)
    await page.goto(label)
    await expect(page.get_by_test_id("offline-notice")).to_be_visible()
    await page.get_by_role("button", name="获取定位并开始检查").click()
    await expect(page.locator("#site-meta")).to_have_text("二维码待同步核验")
    form = await answer_small_form(page, "离线检查：车间正常开工。")
    await expect(page.locator("#save-status")).to_have_text("已保存到本机")
    return form


async def test_an_offline_inspection_survives_a_reload_and_syncs_once(
    browser: Any, live_server: LiveServer, passwords: dict[str, str], tmp_path: Path
) -> None:
    await publish_small_form(live_server, passwords["hb_admin"])
    label = await ca_0001_label(live_server)
    context, page, problems = await phone_online_once(browser, live_server, passwords)
    try:
        total_before = (await counts(live_server, "00000000-0000-0000-0000-000000000000"))[0]

        # No network: the label's page opens from the shell and the inspection starts offline.
        form = await fill_in_offline(page, label)
        plant = form.locator('[data-key="plant_running"]')

        # Reloaded, still offline: the answers and the photo are still there.
        await page.reload()
        await expect(page.locator("#site-meta")).to_have_text("二维码待同步核验")
        await expect(plant.get_by_label("是", exact=True)).to_be_checked()
        await expect(form.get_by_label("现场说明", exact=True)).to_have_value(
            "离线检查：车间正常开工。"
        )
        await expect(plant.locator(".if-shot img")).to_have_count(1)
        await page.screenshot(path=str(tmp_path / "offline-form.png"))
        shutil.copyfile(tmp_path / "offline-form.png", "/tmp/onsite-offline-form.png")
        held = await page.evaluate(PHONE_STORE)
        assert len(held) == 1 and len(held[0]["captures"]) == 1, held
        phone = held[0]
        assert phone["answers"] == {
            "plant_running": True,
            "remarks": "离线检查：车间正常开工。",
            "conclusion": "normal",
        }
        assert label.endswith(phone["qr"]) or phone["qr"] in label

        await page.get_by_role("button", name="提交检查").click()
        await expect(page.get_by_role("heading", name="检查已暂存在本机")).to_be_visible()
        outbox = page.get_by_test_id("outbox")
        item = outbox.get_by_test_id("outbox-item")
        await expect(item).to_have_attribute("data-state", "queued")
        await expect(item).to_contain_text("待上传")
        await expect(item).to_contain_text("二维码待同步核验")
        await page.screenshot(path=str(tmp_path / "outbox-waiting.png"), full_page=True)

        # The network returns: the photo goes up by tus, the inspection by the sync.
        uploads: list[str] = []
        page.on(
            "request",
            lambda r: uploads.append(r.method) if "/api/v1/uploads" in r.url else None,
        )
        await context.set_offline(False)
        await expect(item).to_have_attribute("data-state", "synced", timeout=30_000)
        assert uploads == ["POST"], uploads  # the photo went up with its creation, whole
        await expect(outbox.get_by_test_id("outbox-summary")).to_have_text("全部已上传")
        size = phone["captures"][0]["size"]
        await expect(item.locator("progress")).to_have_attribute("value", str(size))
        await page.screenshot(path=str(tmp_path / "outbox.png"), full_page=True)
        shutil.copyfile(tmp_path / "outbox.png", "/tmp/onsite-outbox-synced.png")
        shutil.copyfile(tmp_path / "outbox-waiting.png", SHOWCASE)
        total, mine, evidence = await counts(live_server, phone["uuid"])
        assert (total - total_before, mine, evidence) == (1, 1, 1)
        inspections = await page.request.get(f"{live_server.url}/api/v1/inspections?limit=100")
        assert inspections.ok
        listed = await inspections.json()
        rows = listed["items"] if isinstance(listed, dict) else listed
        offline = [r for r in rows if r.get("offline")]
        assert len(offline) == 1, offline
        detail = await (
            await page.request.get(f"{live_server.url}/api/v1/inspections/{offline[0]['id']}")
        ).json()
        assert (detail["state"], detail["offline"]) == ("submitted", True)
        assert detail["answers"] == phone["answers"]
        assert [e["sha256"] for e in detail["evidence"]] == [phone["captures"][0]["sha256"]]
        assert detail["evidence"][0]["size_bytes"] == phone["captures"][0]["size"]

        # Sent again, twice at once: still one inspection with one photo.
        await page.evaluate(FORGET_ANSWER)
        await expect(item).to_have_attribute("data-state", "queued")
        await page.evaluate(
            """() => {
              const button = [...document.querySelectorAll("#outbox button")]
                .find((b) => b.textContent === "立即上传");
              button.click();
              button.click();
            }"""
        )
        await expect(item).to_have_attribute("data-state", "synced", timeout=30_000)
        assert await counts(live_server, phone["uuid"]) == (total, 1, 1)
        again = await page.evaluate(PHONE_STORE)
        assert [c["state"] for c in again[0]["captures"]] == ["synced"]
        assert all(
            "ERR_INTERNET_DISCONNECTED" in e or "Failed to fetch" in e for e in problems.errors
        ), problems.errors
    finally:
        await context.close()


async def test_a_refusal_stays_in_the_outbox_with_the_reason_and_everything_kept(
    browser: Any, live_server: LiveServer, passwords: dict[str, str], tmp_path: Path
) -> None:
    await publish_small_form(live_server, passwords["hb_admin"])
    label = await ca_0001_label(live_server)
    far = moved(CA_0001, 349.6)  # the GPS says 350 m off: the server refuses at sync
    context, page, problems = await phone_online_once(browser, live_server, passwords, at=far)
    try:
        await fill_in_offline(page, label)
        await page.get_by_role("button", name="提交检查").click()
        await expect(page.get_by_role("heading", name="检查已暂存在本机")).to_be_visible()
        held = (await page.evaluate(PHONE_STORE))[0]

        await context.set_offline(False)
        item = page.get_by_test_id("outbox").get_by_test_id("outbox-item")
        await expect(item).to_have_attribute("data-state", "refused", timeout=30_000)
        await expect(item).to_contain_text("被拒绝")
        await expect(item.locator(".outbox-problem")).to_have_text(
            "当前位置距检查点 350 米，超出允许范围 200 米"
        )
        await page.screenshot(path=str(tmp_path / "refused.png"), full_page=True)
        shutil.copyfile(tmp_path / "refused.png", "/tmp/onsite-outbox-refused.png")
        assert (await counts(live_server, held["uuid"]))[1:] == (0, 0)

        # Nothing lost: 导出 downloads the inspection with its photo.
        async with page.expect_download() as downloading:
            await item.get_by_role("button", name="导出").click()
        download = await downloading.value
        assert download.suggested_filename == f"离线检查-{held['uuid']}.json"
        exported = json.loads(await asyncio.to_thread(Path(await download.path()).read_text))
        assert exported["client_uuid"] == held["uuid"]
        assert exported["answers"] == held["answers"]
        assert exported["problem"] == "当前位置距检查点 350 米，超出允许范围 200 米"
        (file,) = exported["files"]
        assert file["sha256"] == held["captures"][0]["sha256"]
        head, _, data = file["data"].partition(",")
        assert head == "data:image/jpeg;base64"
        assert hashlib.sha256(base64.b64decode(data)).hexdigest() == file["sha256"]
        assert (await page.evaluate(PHONE_STORE))[0]["captures"][0]["size"] == file["size"]
        assert all(
            "ERR_INTERNET_DISCONNECTED" in e or "Failed to fetch" in e for e in problems.errors
        ), problems.errors
    finally:
        await context.close()


# In the page: an 11 MiB capture sent by the phone's tus client; `cut` makes the second
# PATCH fail as a lost network would. Returns what each attempt saw.
SEND_TWICE = """async () => {
  const { tusUpload } = await import("/static/js/tus-upload.js");
  const { sha256Hex } = await import("/static/js/capture.js");
  const bytes = new Uint8Array(11 * 1024 * 1024);
  for (let i = 0; i < bytes.length; i += 65536) {
    crypto.getRandomValues(bytes.subarray(i, i + 65536));
  }
  const blob = new Blob([bytes], { type: "video/webm" });
  const capture = { client_uuid: crypto.randomUUID(), blob, mime: "video/webm", upload_url: null };
  capture.sha256 = await sha256Hex(capture.blob);
  const attempts = [];
  for (let n = 0; n < 2; n++) {
    const seen = [];
    try {
      const id = await tusUpload(capture, {
        onCreated: (url) => { capture.upload_url = url; },
        onProgress: (bytes) => seen.push(bytes),
      });
      attempts.push({ id, first: seen[0], last: seen.at(-1) });
    } catch (err) {
      attempts.push({ error: err.constructor.name, first: seen[0], last: seen.at(-1) });
    }
  }
  return { attempts, sha256: capture.sha256, clientUuid: capture.client_uuid, size: bytes.length };
}"""


async def test_a_cut_upload_resumes_from_the_servers_offset(
    page: Any, live_server: LiveServer, passwords: dict[str, str]
) -> None:
    await page.goto(f"{live_server.url}/login?next=%2Fonsite")
    await fill_login(page, passwords["inspector"])
    await expect(page.get_by_role("button", name="打开摄像头扫码")).to_be_visible()
    patches: list[str] = []

    async def cut_the_second_chunk(route: Any) -> None:
        if route.request.method == "PATCH":
            patches.append(route.request.headers["upload-offset"])
            if len(patches) == 2:
                await route.abort("internetdisconnected")
                return
        await route.continue_()

    await page.route("**/api/v1/uploads/*", cut_the_second_chunk)
    sent = await page.evaluate(SEND_TWICE)
    chunk = 5 * 1024 * 1024
    cut, resumed = sent["attempts"]
    assert cut == {"error": "NetworkError", "first": 0, "last": chunk}
    # The second attempt asked HEAD and went on from the first chunk: nothing sent twice
    # that the server already had.
    assert (resumed["first"], resumed["last"]) == (chunk, sent["size"])
    assert patches == ["0", str(chunk), str(chunk), str(2 * chunk)]
    engine = create_engine(live_server.settings.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            upload = await session.get(ResumableUpload, resumed["id"])
            assert upload is not None
            assert upload.client_uuid == sent["clientUuid"]
            assert (upload.offset, upload.stored_sha256) == (sent["size"], sent["sha256"])
            assert upload.completed_at is not None
    finally:
        await engine.dispose()


async def test_a_start_that_gets_no_answer_goes_on_offline(
    browser: Any, live_server: LiveServer, passwords: dict[str, str]
) -> None:
    """The phone believes it is online, but the start request never gets an answer."""
    await publish_small_form(live_server, passwords["hb_admin"])
    label = await ca_0001_label(live_server)
    context, page, problems = await phone_online_once(browser, live_server, passwords)
    try:
        await page.goto(label)
        await page.route(
            "**/api/v1/inspections/on-site", lambda route: route.abort("connectionrefused")
        )
        await page.get_by_role("button", name="获取定位并开始检查").click()
        await expect(page.locator("#site-meta")).to_have_text("二维码待同步核验")
        form = page.get_by_test_id("inspection-form")
        await form.get_by_label("现场说明", exact=True).fill("服务器连不上，离线继续。")
        await expect(page.locator("#save-status")).to_have_text("已保存到本机")
        (held,) = await page.evaluate(PHONE_STORE)
        assert held["state"] == "filling"
        assert held["answers"] == {"remarks": "服务器连不上，离线继续。"}
        assert (await counts(live_server, held["uuid"]))[1:] == (0, 0)

        # 放弃本次检查: gone from the phone, the label's page starts afresh.
        page.once("dialog", lambda dialog: dialog.accept())
        await page.get_by_role("button", name="放弃本次检查").click()
        await expect(page.get_by_role("button", name="获取定位并开始检查")).to_be_visible()
        assert await page.evaluate(PHONE_STORE) == []
        assert all("Failed to load resource" in e or "net::" in e for e in problems.errors), (
            problems.errors
        )
    finally:
        await context.close()


async def test_a_label_started_online_is_named_when_scanned_again_offline(
    browser: Any, live_server: LiveServer, passwords: dict[str, str]
) -> None:
    label = await ca_0001_label(live_server)
    context, page, problems = await phone_online_once(
        browser, live_server, passwords, form_key=None
    )
    try:
        await page.goto(label)
        # The label names its checkpoint before the fix: wait for the started inspection.
        await start_inspection(page)
        await expect(page.get_by_role("heading", name="华北重工厂区")).to_be_visible()
        await context.set_offline(True)
        await page.goto(label)
        # The inspection begun online at this label is reopened from the phone (nothing of it
        # waits): the inspector chooses to begin another one instead.
        await expect(page.get_by_test_id("inspection-form")).to_be_visible()
        await expect(page.get_by_test_id("offline-notice")).to_contain_text("当前无网络")
        await page.screenshot(path="/tmp/netlost-reopened-nothing-waits.png")
        await page.get_by_role("button", name="改为检查其他检查点（扫码）").click()
        await page.get_by_role("button", name="获取定位并开始检查").click()
        await expect(page.locator("#site-title")).to_have_text("离线检查 · 华北重工厂区")
        await expect(page.locator("#site-meta")).to_contain_text("二维码待同步核验")
        await page.get_by_role("button", name="提交检查").click()
        item = page.get_by_test_id("outbox").get_by_test_id("outbox-item")
        await expect(item).to_contain_text("华北重工厂区（二维码待同步核验）")
        assert all(
            "ERR_INTERNET_DISCONNECTED" in e or "Failed to fetch" in e for e in problems.errors
        ), problems.errors
    finally:
        await context.close()
