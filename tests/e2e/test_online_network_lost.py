"""An inspection begun ONLINE loses nothing when the network goes mid-session (a phone,
390×844, GPS set, headless Chromium): started online and one item saved, then without network
more answers and a photo are kept on the phone at once (IndexedDB, under the inspection);
a reload without network reopens the inspection from the phone with them 待上传; 提交检查
refuses to submit while they wait and says what waits; when the network returns they go up
by the usual PATCH and tus + evidence/from-upload: the server holds every answer and exactly
one evidence row whose SHA-256 is the phone's, nothing waits on the phone any more (the photo
stays as the copy of its evidence row until 提交检查, then nothing is left). The same for an
enterprise contact's self-check link."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect
from sqlalchemy import select

from inspection_api.db import create_engine, create_sessionmaker
from inspection_api.inspections.models import Evidence, Inspection
from tests.integration.inspection_kit import CA_0001
from tests.plugins.browser import LiveServer
from tests.plugins.phone import (
    NO_OVERFLOW,
    ca_0001_label,
    newest_inspection,
    open_phone,
    publish_small_form,
    ready_on_site,
    self_check_link,
    start_inspection,
)

pytestmark = pytest.mark.browser

# What the phone keeps for an online inspection (`key`), read with the page's own module.
KEPT = """async (key) => {
  const store = await import("/static/js/offline-store.js");
  const record = await store.keptOnline(key);
  const captures = await store.capturesOf(key);
  return {pending: record ? record.pending : null,
          captures: captures.map((c) => ({uuid: c.client_uuid, sha256: c.sha256, size: c.size,
                                          kind: c.kind, item: c.item_key, blob: Boolean(c.blob),
                                          fix: c.fix, evidence: c.evidence_id ?? null}))};
}"""
REMARKS = "地下仓库：无网络时填写。"


async def server_side(server: LiveServer, inspection_id: int) -> tuple[Inspection, list[Evidence]]:
    engine = create_engine(server.settings.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            found = await session.get(Inspection, inspection_id)
            assert found is not None
            rows = (
                await session.scalars(
                    select(Evidence).where(
                        Evidence.inspection_id == inspection_id, Evidence.removed_at.is_(None)
                    )
                )
            ).all()
            return found, list(rows)
    finally:
        await engine.dispose()


async def shot(page: Any, tmp_path: Path, name: str) -> None:
    """The phone as it is (nothing wider than the screen), kept in /tmp to look at."""
    assert await page.evaluate(NO_OVERFLOW), f"{name}: wider than the phone"
    path = tmp_path / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    shutil.copyfile(path, f"/tmp/netlost-{name}.png")


async def lose_the_network_mid_session(page: Any, form: Any) -> dict[str, Any]:
    """One item saved online; offline two more answers and a photo, kept on the phone."""
    status = lambda key: form.locator(f'[data-status-for="{key}"]')  # noqa: E731
    plant = form.locator('[data-key="plant_running"]')
    await plant.get_by_label("是", exact=True).check()
    await expect(status("plant_running")).to_have_text("已保存")

    await page.context.set_offline(True)
    notice = page.get_by_test_id("offline-notice")
    await expect(notice).to_be_visible()
    await form.get_by_label("现场说明", exact=True).fill(REMARKS)
    await form.get_by_role("radiogroup", name="检查初步结论").get_by_label("正常").check()
    await plant.get_by_role("button", name="拍照", exact=True).click()
    await page.get_by_test_id("capture-shoot").click()
    row = plant.get_by_test_id("upload-row")
    await expect(row.locator(".up-state")).to_have_text("待上传")
    await expect(row).to_contain_text("已保存在本手机，联网后自动上传")
    for key in ("remarks", "conclusion"):
        await expect(status(key)).to_have_text("待上传")
    await expect(notice).to_contain_text("本机待上传：2 项回答、1 个取证")
    return {"row": row, "status": status, "plant": plant}


async def reload_offline_and_check(
    page: Any, key: str, tmp_path: Path, name: str
) -> dict[str, Any]:
    """Reloaded without network: the inspection again, its answers and the photo 待上传."""
    held = await page.evaluate(KEPT, key)
    assert held["pending"]["answers"] == {"remarks": REMARKS, "conclusion": "normal"}, held
    assert len(held["captures"]) == 1 and held["captures"][0]["blob"], held
    capture = held["captures"][0]
    assert capture["evidence"] is None  # waiting, not attached
    assert (capture["kind"], capture["item"]) == ("photo", "plant_running")
    assert capture["fix"] is not None
    await page.reload()
    form = page.get_by_test_id("inspection-form")
    await expect(form).to_be_visible()
    plant = form.locator('[data-key="plant_running"]')
    await expect(plant.get_by_label("是", exact=True)).to_be_checked()
    await expect(form.get_by_label("现场说明", exact=True)).to_have_value(REMARKS)
    await expect(
        form.get_by_role("radiogroup", name="检查初步结论").get_by_label("正常")
    ).to_be_checked()
    for item in ("remarks", "conclusion"):
        await expect(form.locator(f'[data-status-for="{item}"]')).to_have_text("待上传")
    row = plant.get_by_test_id("upload-row")
    await expect(row).to_have_attribute("data-state", "pending")
    await expect(row.locator(".up-state")).to_have_text("待上传")
    await expect(page.get_by_test_id("offline-notice")).to_contain_text(
        "本机待上传：2 项回答、1 个取证"
    )
    await shot(page, tmp_path, f"{name}-reloaded")
    await row.scroll_into_view_if_needed()
    await page.screenshot(path=f"/tmp/netlost-{name}-pending-row.png")  # as the phone shows it

    # 提交检查 now: not submitted, and it says what waits.
    await page.get_by_role("button", name="提交检查").click()
    problem = page.locator("#submit-problem")
    await expect(problem).to_have_text(
        "还有 2 项回答、1 个取证未上传，联网后自动上传；全部上传后请再次点击「提交检查」。"
    )
    await shot(page, tmp_path, f"{name}-submit-waits")
    return capture


async def back_online(page: Any, key: str, tmp_path: Path, name: str) -> None:
    """The network returns: everything goes up by itself; nothing waits on the phone."""
    form = page.get_by_test_id("inspection-form")
    await page.context.set_offline(False)
    plant = form.locator('[data-key="plant_running"]')
    await expect(plant.locator(".if-counts")).to_have_text("已取证：照片 1/1", timeout=30_000)
    await expect(plant.get_by_test_id("upload-row")).to_have_count(0)
    for item in ("remarks", "conclusion"):
        await expect(form.locator(f'[data-status-for="{item}"]')).to_have_text(
            "已保存", timeout=20_000
        )
    await expect(page.locator("#submit-problem")).to_have_text(
        "待上传的回答和取证已全部上传，请再次点击「提交检查」。"
    )
    await expect(page.get_by_test_id("offline-notice")).to_be_hidden()
    await shot(page, tmp_path, f"{name}-uploaded")
    held = await page.evaluate(KEPT, key)
    assert held["pending"]["answers"] == {}, held
    only_copies_kept(held)


def only_copies_kept(held: dict[str, Any]) -> None:
    """Nothing waits; the photo stays on the phone as the copy of its evidence row (shown
    without network) until the inspection is submitted."""
    assert [(c["blob"], c["evidence"] is not None) for c in held["captures"]] == [(True, True)], (
        held
    )


async def start_online(
    page: Any, live_server: LiveServer, passwords: dict[str, str], label: str
) -> tuple[Any, int, str]:
    """The inspector, online, opens the label and starts: the form, the inspection's id and
    the key the phone keeps its unacknowledged work under."""
    await ready_on_site(page, live_server, passwords["inspector"])
    await page.goto(label)
    form = await start_inspection(page)
    inspection_id = (await newest_inspection(live_server)).id
    return form, inspection_id, f"inspection-{inspection_id}"


async def every_answer_and_the_photo_landed(
    live_server: LiveServer, inspection_id: int, capture: dict[str, Any]
) -> int:
    """The server holds every answer given and exactly one evidence row, the phone's photo
    (its id)."""
    stored, rows = await server_side(live_server, inspection_id)
    assert stored.answers == {"plant_running": True, "remarks": REMARKS, "conclusion": "normal"}
    assert [(r.kind, r.item_key, r.sha256, r.size_bytes) for r in rows] == [
        ("photo", "plant_running", capture["sha256"], capture["size"])
    ]
    assert rows[0].client_uuid == capture["uuid"]
    return rows[0].id


async def test_an_online_inspection_keeps_answers_and_a_photo_through_a_reload_offline(
    browser: Any, live_server: LiveServer, passwords: dict[str, str], tmp_path: Path
) -> None:
    await publish_small_form(live_server, passwords["hb_admin"])
    label = await ca_0001_label(live_server)
    context, page, problems = await open_phone(browser, CA_0001, accuracy=10, timeout_ms=20_000)
    try:
        form, inspection_id, key = await start_online(page, live_server, passwords, label)

        await lose_the_network_mid_session(page, form)
        await shot(page, tmp_path, "staff-offline")
        capture = await reload_offline_and_check(page, key, tmp_path, "staff")
        await back_online(page, key, tmp_path, "staff")

        await every_answer_and_the_photo_landed(live_server, inspection_id, capture)

        # Everything is up: 提交检查 submits.
        await page.get_by_role("button", name="提交检查").click()
        await expect(page.get_by_role("heading", name="检查已提交")).to_be_visible()
        assert (await server_side(live_server, inspection_id))[0].state == "submitted"
        held = await page.evaluate(KEPT, key)
        assert held == {"pending": None, "captures": []}, held
        assert problems.errors == []
    finally:
        await context.close()


async def test_a_self_check_begun_online_keeps_answers_and_a_photo_through_a_reload_offline(
    browser: Any, live_server: LiveServer, passwords: dict[str, str], tmp_path: Path
) -> None:
    await publish_small_form(live_server, passwords["hb_admin"])
    link = await self_check_link(live_server, passwords["inspector"])
    token = link.rstrip("/").rsplit("/", 1)[1]
    key = f"self-check-{token}"
    context, page, problems = await open_phone(browser, CA_0001, accuracy=10, timeout_ms=20_000)
    try:
        await page.goto(link)
        await expect(page.locator("#user-name")).to_have_text("刘建国")
        await page.evaluate("async () => { await navigator.serviceWorker.ready; }")
        form = await start_inspection(page)
        inspection_id = (await newest_inspection(live_server)).id

        await lose_the_network_mid_session(page, form)
        await shot(page, tmp_path, "contact-offline")
        capture = await reload_offline_and_check(page, key, tmp_path, "contact")
        await back_online(page, key, tmp_path, "contact")

        await every_answer_and_the_photo_landed(live_server, inspection_id, capture)
        assert problems.errors == []
    finally:
        await context.close()


async def test_kept_work_goes_up_when_the_page_is_opened_again_with_network(
    browser: Any, live_server: LiveServer, passwords: dict[str, str], tmp_path: Path
) -> None:
    """The tab closed without network and opened again later with it: the inspection is
    reopened as the server has it, with what the phone kept over it, and that goes up."""
    await publish_small_form(live_server, passwords["hb_admin"])
    label = await ca_0001_label(live_server)
    context, page, problems = await open_phone(browser, CA_0001, accuracy=10, timeout_ms=20_000)
    try:
        form, inspection_id, key = await start_online(page, live_server, passwords, label)
        await lose_the_network_mid_session(page, form)
        held = await page.evaluate(KEPT, key)
        capture = held["captures"][0]

        await page.goto("about:blank")  # the tab left without network
        await context.set_offline(False)
        await page.goto(f"{live_server.url}/onsite")
        form = page.get_by_test_id("inspection-form")
        plant = form.locator('[data-key="plant_running"]')
        await expect(plant.locator(".if-counts")).to_have_text("已取证：照片 1/1", timeout=30_000)
        for item in ("remarks", "conclusion"):
            await expect(form.locator(f'[data-status-for="{item}"]')).to_have_text(
                "已保存", timeout=20_000
            )
        await expect(form.get_by_label("现场说明", exact=True)).to_have_value(REMARKS)
        stored, rows = await server_side(live_server, inspection_id)
        assert stored.answers == {
            "plant_running": True,
            "remarks": REMARKS,
            "conclusion": "normal",
        }
        assert [(r.sha256, r.client_uuid) for r in rows] == [(capture["sha256"], capture["uuid"])]
        held = await page.evaluate(KEPT, key)
        assert held["pending"]["answers"] == {}, held
        only_copies_kept(held)
        assert problems.errors == []
    finally:
        await context.close()
