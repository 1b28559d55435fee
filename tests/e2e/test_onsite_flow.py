"""现场检查 on a phone in headless Chromium (fake camera, overridden GPS): the label's URL
opens the page, login comes back to it, the checkpoint is named before any fix, a start out
of range is refused with the distance, the GPS fix starts the inspection, a photo is taken
live, and submitting outside the radius is refused with the distance while nothing typed or
captured is lost; back inside the radius it goes through, and the done page leads back to
the tasks or to a fresh scan. 开始检查 of a task names the expected checkpoint before the
scan; another checkpoint's label is questioned, a forged one refused without a fix."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from tests.integration.inspection_kit import CA_0001, moved
from tests.plugins.phone import (
    PHONE,
    answer_small_form,
    ca_0001_label,
    camera_phone,
    demo_checkpoint,
    fill_login,
    live_api,
    newest_inspection,
    open_phone,
    publish_small_form,
    self_check_link,
)

pytestmark = pytest.mark.browser

SHOWCASE = {
    "onsite-label": Path("/tmp/onsite-label.png"),
    "onsite-start-refused": Path("/tmp/onsite-start-refused.png"),
    "onsite-verified": Path("/tmp/onsite-verified.png"),
    "onsite-done": Path("/tmp/onsite-done.png"),
    "onsite-expected": Path("/tmp/onsite-expected.png"),
    "onsite-wrong-site": Path("/tmp/onsite-wrong-site.png"),
    "onsite-forged": Path("/tmp/onsite-forged.png"),
    "onsite-not-a-label": Path("/tmp/onsite-not-a-label.png"),
    "onsite-form": Path("/tmp/onsite-form.png"),
    "onsite-refused": Path("/tmp/onsite-refused.png"),
    "inspection-detail": Path("/tmp/inspection-detail.png"),
    "inspection-check-ins": Path("/tmp/inspection-check-ins.png"),
}
# Counts the page's requests for a GPS fix (a prompt on a real phone).
COUNT_FIXES = """
window.__fixes = 0;
if (navigator.geolocation) {
  const real = navigator.geolocation.getCurrentPosition.bind(navigator.geolocation);
  navigator.geolocation.getCurrentPosition = (...args) => {
    window.__fixes += 1;
    return real(...args);
  };
}
"""
NOT_OURS = "二维码无效：不是本平台的检查点标签，或标签已损坏"
NOT_A_LABEL = "二维码无效：不是本平台的检查点标签，请扫描检查点现场张贴的二维码标签"


async def shot(page: Any, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    shutil.copyfile(path, SHOWCASE[name])


async def phone_shot(page: Any, tmp_path: Path, name: str) -> None:
    """A phone state: nothing wider than the screen, and its picture."""
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{name}: the page is {width} px wide"
    await shot(page, tmp_path, name)


def scanning_phone(text: str, tmp_path: Path, *, gps: bool = True) -> Any:
    """A phone at CA-0001 whose camera sees a QR code of ``text``; its fixes counted."""
    return camera_phone(text, tmp_path, CA_0001, gps=gps, init_script=COUNT_FIXES)


async def fixes_asked(page: Any) -> int:
    return int(await page.evaluate("window.__fixes"))


async def test_on_site_inspection_on_a_phone(browser, live_server, passwords, tmp_path):
    await publish_small_form(live_server, passwords["hb_admin"])
    label = await ca_0001_label(live_server)
    assert label.startswith(f"{live_server.url}/s/")
    context, page, problems = await open_phone(
        browser, CA_0001, accuracy=12, init_script=COUNT_FIXES
    )
    try:
        # The phone camera opened the label's URL: log in, and come back to it.
        await page.goto(label)
        await expect(page).to_have_url(re.compile(r"/login\?next=%2Fs%2F"))
        await fill_login(page, passwords["inspector"])
        await expect(page).to_have_url(label)

        # The label's checkpoint is named before any fix, with its map links.
        await expect(page.get_by_role("heading", name="华北重工厂区")).to_be_visible()
        await expect(page.locator("#site-meta")).to_have_text(
            "石家庄华北重工机械有限公司 · 石家庄市长安区建设北大街 88 号"
        )
        links = page.get_by_test_id("navigation")
        await expect(links.get_by_role("link", name="百度地图导航")).to_have_attribute(
            "href", re.compile(r"^https://api\.map\.baidu\.com/marker\?")
        )
        await expect(links.get_by_role("link", name="高德地图导航")).to_have_attribute(
            "href", re.compile(r"^https://uri\.amap\.com/marker\?")
        )
        assert await fixes_asked(page) == 0
        await phone_shot(page, tmp_path, "onsite-label")

        # Started 350 m away: refused, and the line says how far against which radius.
        far = moved(CA_0001, 349.6)
        await context.set_geolocation(
            {"latitude": far.latitude, "longitude": far.longitude, "accuracy": 12}
        )
        await page.get_by_role("button", name="获取定位并开始检查").click()
        line = page.get_by_test_id("locate-status")
        await expect(line).to_have_text(
            "距检查点 350 米，允许范围 200 米：请到检查点现场后重新定位"
        )
        await expect(line).to_have_attribute("data-tone", "error")
        await expect(line).to_have_class("alert")
        await expect(page.get_by_test_id("fix-distance")).to_have_text("350 米（允许范围 200 米）")
        await expect(page.get_by_test_id("inspection-form")).to_have_count(0)
        await phone_shot(page, tmp_path, "onsite-start-refused")

        # At the checkpoint: 位置核验通过, in green.
        await context.set_geolocation(
            {"latitude": CA_0001.latitude, "longitude": CA_0001.longitude, "accuracy": 12}
        )
        await page.get_by_role("button", name="获取定位并开始检查").click()
        await expect(line).to_have_text("位置核验通过")
        await expect(line).to_have_attribute("data-tone", "ok")
        assert await line.evaluate("n => getComputedStyle(n).color") == "rgb(31, 122, 77)"
        await expect(page.get_by_role("heading", name="华北重工厂区")).to_be_visible()
        await expect(page.get_by_test_id("fix-distance")).to_have_text("0 米（允许范围 200 米）")
        await expect(page.locator("#fix-accuracy")).to_have_text("±12 米")
        await phone_shot(page, tmp_path, "onsite-verified")
        form = page.get_by_test_id("inspection-form")
        plant = form.locator('[data-key="plant_running"]')
        await plant.get_by_label("是", exact=True).check()
        await form.get_by_label("现场说明", exact=True).fill("二号车间正常开工，设备运转良好。")
        await form.get_by_role("radiogroup", name="检查初步结论").get_by_label("正常").check()

        # A photo, taken live with the (fake) camera; no file picker anywhere.
        assert await page.locator('input[type="file"]').count() == 0
        await plant.get_by_role("button", name="拍照").click()
        await page.get_by_test_id("capture-shoot").click()
        await expect(plant.locator(".if-counts")).to_have_text("已取证：照片 1/1")
        await expect(plant.locator(".if-shot img")).to_be_visible()
        await expect(page.locator("#save-status")).to_have_text("已保存")
        await shot(page, tmp_path, "onsite-form")

        # Walked away: 350 m off, the submission is refused and says how far.
        far = moved(CA_0001, 349.6)
        await context.set_geolocation(
            {"latitude": far.latitude, "longitude": far.longitude, "accuracy": 12}
        )
        await page.get_by_role("button", name="提交检查").click()
        refusal = page.locator("#submit-problem")
        await expect(refusal).to_contain_text("当前位置距检查点 350 米，超出允许范围 200 米")
        await expect(page.get_by_test_id("fix-distance")).to_have_text("350 米（允许范围 200 米）")
        await shot(page, tmp_path, "onsite-refused")
        # Nothing lost: the answers and the photo stay, on the page and on the server.
        await expect(plant.get_by_label("是", exact=True)).to_be_checked()
        await expect(form.get_by_label("现场说明", exact=True)).to_have_value(
            "二号车间正常开工，设备运转良好。"
        )
        await expect(plant.locator(".if-shot img")).to_have_count(1)
        draft = await newest_inspection(live_server)
        assert draft.state == "draft"
        assert draft.answers == {
            "plant_running": True,
            "remarks": "二号车间正常开工，设备运转良好。",
            "conclusion": "normal",
        }

        # Back inside the radius: submitted.
        near = moved(CA_0001, 60)
        await context.set_geolocation(
            {"latitude": near.latitude, "longitude": near.longitude, "accuracy": 12}
        )
        await page.get_by_role("button", name="提交检查").click()
        await expect(page.get_by_role("heading", name="检查已提交")).to_be_visible()
        await expect(page.locator("#done-summary")).to_contain_text("检查结论：正常；取证 1 项")
        done = await newest_inspection(live_server)
        assert (done.state, done.submit_distance_m) == ("submitted", 60.0)
        await expect(page.locator("#done-number")).to_have_text(f"检查记录编号：{done.id}")
        await expect(page.get_by_role("link", name="继续扫码")).to_be_visible()
        await phone_shot(page, tmp_path, "onsite-done")
        # 返回任务: the console's 我的任务.
        await page.get_by_role("link", name="返回任务").click()
        await expect(page).to_have_url(f"{live_server.url}/console#/tasks")
        await expect(page.get_by_role("heading", name="检查任务")).to_be_visible()
        assert problems.errors == []
    finally:
        await context.close()


async def test_login_only_returns_to_paths_of_this_site(page, live_server, passwords):
    await page.goto(f"{live_server.url}/login?next=//evil.example/x")
    await fill_login(page, passwords["inspector"])
    await expect(page).to_have_url(f"{live_server.url}/console")


async def test_a_reviewer_checks_the_evidence_and_returns_the_inspection(
    page, page_problems, live_server, passwords, tmp_path
):
    await page.goto(f"{live_server.url}/login?next=/console%23/inspections")
    await fill_login(page, passwords["reviewer"], "reviewer")
    table = page.get_by_test_id("inspection-table")
    await expect(table.locator("tbody tr")).to_have_count(2)  # the demo inspections
    await page.get_by_label("状态").select_option(label="已提交")
    await expect(table.locator("tbody tr")).to_have_count(1)
    await expect(page.get_by_test_id("inspection-count")).to_have_text("共 1 条")
    await table.get_by_role("link", name="华北重工厂区").click()

    detail = page.get_by_test_id("inspection-detail")
    facts = detail.get_by_test_id("inspection-facts")
    await expect(facts).to_contain_text("张检查")
    await expect(facts).to_contain_text("距检查点 11 米（允许 200 米）")
    await expect(detail.get_by_test_id("findings")).to_contain_text(
        "他行授信是否逾期：他行授信逾期（严重）"
    )
    await expect(detail.get_by_test_id("findings")).to_contain_text(
        "代发工资人数较上季度减少约三成"
    )
    photos = detail.get_by_test_id("evidence-gallery").locator("img")
    await expect(photos).to_have_count(6)
    await page.wait_for_function(
        "() => [...document.querySelectorAll('.gallery img')]"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    history = detail.get_by_test_id("check-ins")
    await expect(history.locator("tbody tr")).to_have_count(1)
    await expect(history).to_contain_text("范围内签到")
    await expect(history).to_contain_text("16 米（允许 200 米）")
    await shot(page, tmp_path, "inspection-detail")

    actions = detail.get_by_test_id("review-actions")
    await actions.get_by_role("button", name="退回").click()
    await expect(detail.locator(".form-error")).to_contain_text("请填写退回原因")
    await actions.get_by_label("审核意见").fill("请补拍仓库库存照片")
    await actions.get_by_role("button", name="退回").click()
    await expect(page.get_by_test_id("inspection-detail").locator(".badge")).to_have_text("已退回")
    await expect(page.get_by_test_id("inspection-detail")).to_contain_text(
        "审核意见：请补拍仓库库存照片"
    )
    assert page_problems.errors == []


async def test_the_console_shows_every_check_in_and_the_rebinding(
    page, page_problems, live_server, passwords, tmp_path
):
    """重置GPS while an inspection is open, then a rescan elsewhere: the inspection detail
    lists both check-ins and marks the second as a re-binding."""
    qr = await ca_0001_label(live_server)
    elsewhere = moved(CA_0001, 800, bearing=180)

    def fix_at(point: Any) -> dict[str, Any]:
        captured = datetime.now(UTC).isoformat()
        return {
            "latitude": point.latitude,
            "longitude": point.longitude,
            "accuracy": 7,
            "captured_at": captured,
        }

    async with live_api(live_server, "inspector", passwords["inspector"]) as inspector:
        body = {"qr": qr, "fix": fix_at(moved(CA_0001, 35))}
        started = await inspector.post("/api/v1/inspections/on-site", json=body)
        assert started.status == 201, await started.text()
        inspection_id = (await started.json())["inspection"]["id"]
        async with live_api(live_server, "sjz_admin", passwords["sjz_admin"]) as admin:
            checkpoint_id = int(qr.rsplit("/", 1)[1].split(".")[1])
            reset = await admin.post(f"/api/v1/checkpoints/{checkpoint_id}/reset-position")
            assert reset.status == 200, await reset.text()
        body = {"qr": qr, "fix": fix_at(elsewhere)}
        again = await inspector.post("/api/v1/inspections/on-site", json=body)
        assert again.status in (200, 201), await again.text()

    await page.goto(f"{live_server.url}/login?next=/console%23/inspections/{inspection_id}")
    await fill_login(page, passwords["inspector"])
    history = page.get_by_test_id("check-ins")
    await expect(history.locator("tbody tr")).to_have_count(2)
    await expect(history.locator("tbody tr").nth(0)).to_contain_text("35 米（允许 200 米）")
    await expect(history.locator("tbody tr").nth(1)).to_contain_text("重新设定位置（重置GPS后）")
    await expect(history.locator("tbody tr").nth(1)).to_contain_text(
        f"{elsewhere.latitude:.6f}, {elsewhere.longitude:.6f}"
    )
    facts = page.get_by_test_id("inspection-facts")
    await expect(facts).to_contain_text("本次扫码设定位置")
    await shot(page, tmp_path, "inspection-check-ins")
    assert page_problems.errors == []


async def test_a_task_names_its_checkpoint_before_the_scan_and_continues_scanning(
    live_server, passwords, tmp_path
):
    """开始检查 opens /onsite?checkpoint=ID: the checkpoint is named at once; its own label
    goes on to the fix without a question; after 提交, 继续扫码 scans afresh."""
    await publish_small_form(live_server, passwords["hb_admin"])
    checkpoint_id, label = await demo_checkpoint(live_server, "CA-0001")
    async with scanning_phone(label, tmp_path) as (_context, page, problems):
        await page.goto(f"{live_server.url}/onsite?checkpoint={checkpoint_id}")
        await fill_login(page, passwords["inspector"])
        await expect(page).to_have_url(f"{live_server.url}/onsite?checkpoint={checkpoint_id}")
        await expect(page.get_by_role("heading", name="华北重工厂区")).to_be_visible()
        await expect(page.locator("#site-meta")).to_have_text(
            "石家庄华北重工机械有限公司 · 石家庄市长安区建设北大街 88 号"
        )
        await expect(
            page.get_by_test_id("navigation").get_by_role("link", name="高德地图导航")
        ).to_be_visible()
        await expect(page.locator("#site-hint")).to_contain_text("到达现场后")
        # Nothing to locate until the label is scanned.
        await expect(page.get_by_role("button", name="获取定位并开始检查")).to_be_hidden()
        await phone_shot(page, tmp_path, "onsite-expected")

        await page.get_by_role("button", name="打开摄像头扫码").click()
        await expect(page.get_by_role("button", name="获取定位并开始检查")).to_be_visible()
        await expect(page.get_by_test_id("scan-problem")).to_be_hidden()
        await expect(page.get_by_role("heading", name="华北重工厂区")).to_be_visible()
        assert await fixes_asked(page) == 0
        await page.get_by_role("button", name="获取定位并开始检查").click()
        await answer_small_form(page)
        await page.get_by_role("button", name="提交检查").click()
        await expect(page.get_by_role("heading", name="检查已提交")).to_be_visible()

        # 继续扫码: a fresh page with the camera on, which reads the next label at once.
        await page.get_by_role("link", name="继续扫码").click()
        await expect(page).to_have_url(f"{live_server.url}/onsite?scan=1")
        await expect(page.get_by_role("button", name="获取定位并开始检查")).to_be_visible()
        await expect(page.get_by_role("heading", name="华北重工厂区")).to_be_visible()
        await expect(page.get_by_role("heading", name="检查已提交")).to_be_hidden()
        assert await fixes_asked(page) == 0
        assert problems.errors == []


async def test_a_checkpoint_outside_the_jurisdiction_is_not_named(browser, live_server, passwords):
    """/onsite?checkpoint=ID of another 支行: said plainly, nothing about it shown."""
    checkpoint_id, _ = await demo_checkpoint(live_server, "CA-0001")
    context, page, _problems = await open_phone(browser)
    try:
        await page.goto(f"{live_server.url}/onsite?checkpoint={checkpoint_id}")
        # 莲池支行: CA-0001 is not theirs
        await fill_login(page, passwords["inspector_bd"], "inspector_bd")
        await expect(page.locator("#page-error")).to_have_text(
            "本任务的检查点不存在，或不在您的辖区内；仍可扫描现场的二维码标签。"
        )
        await expect(page.get_by_role("button", name="打开摄像头扫码")).to_be_visible()
        await expect(page.get_by_text("华北重工厂区")).to_have_count(0)
    finally:
        await context.close()


async def test_another_checkpoints_label_is_questioned(live_server, passwords, tmp_path):
    expected_id, _ = await demo_checkpoint(live_server, "CA-0001")
    _, other = await demo_checkpoint(live_server, "CA-0002")
    async with scanning_phone(other, tmp_path) as (_context, page, problems):
        await page.goto(f"{live_server.url}/onsite?checkpoint={expected_id}")
        await fill_login(page, passwords["inspector"])
        await expect(page.get_by_role("heading", name="华北重工厂区")).to_be_visible()
        await page.get_by_role("button", name="打开摄像头扫码").click()
        warning = page.get_by_test_id("scan-problem")
        await expect(warning).to_have_text(
            re.compile(
                r"^扫描到的是检查点「冀中纺织成品仓库」（河北冀中纺织品有限公司）的标签，"
                r"不是本任务的检查点「华北重工厂区」。"
            )
        )
        # Nothing starts by itself: the task's checkpoint stays, no fix is asked for.
        await expect(page.get_by_role("button", name="获取定位并开始检查")).to_be_hidden()
        await expect(page.get_by_role("heading", name="华北重工厂区")).to_be_visible()
        assert await fixes_asked(page) == 0
        await phone_shot(page, tmp_path, "onsite-wrong-site")

        # 重新扫码 reads the same wrong label: asked again.
        await warning.get_by_role("button", name="重新扫码").click()
        await expect(
            warning.get_by_role("button", name="改为检查「冀中纺织成品仓库」")
        ).to_be_visible()
        # The inspector decides to inspect the scanned one instead.
        await warning.get_by_role("button", name="改为检查「冀中纺织成品仓库」").click()
        await expect(page.get_by_role("heading", name="冀中纺织成品仓库")).to_be_visible()
        await expect(warning).to_be_hidden()
        await expect(page.get_by_test_id("navigation")).to_have_count(0)  # not located yet
        await expect(page.get_by_role("button", name="获取定位并开始检查")).to_be_visible()
        assert await fixes_asked(page) == 0
        assert problems.errors == []


async def test_offline_another_checkpoints_label_is_questioned_too(
    live_server, passwords, tmp_path
):
    """Without network the label's id (unverified) still differs from the task's."""
    expected_id, _ = await demo_checkpoint(live_server, "CA-0001")
    _, other = await demo_checkpoint(live_server, "CA-0002")
    async with scanning_phone(other, tmp_path) as (context, page, problems):
        await page.goto(f"{live_server.url}/onsite?checkpoint={expected_id}")
        await fill_login(page, passwords["inspector"])
        await expect(page.get_by_role("heading", name="华北重工厂区")).to_be_visible()
        await context.set_offline(True)
        await page.get_by_role("button", name="打开摄像头扫码").click()
        warning = page.get_by_test_id("scan-problem")
        await expect(warning).to_contain_text(
            "扫描到的是另一检查点的标签（二维码待同步核验），不是本任务的检查点「华北重工厂区」。"
        )
        await expect(page.get_by_role("button", name="获取定位并开始检查")).to_be_hidden()
        await warning.get_by_role("button", name="仍检查扫描到的检查点").click()
        await expect(page.locator("#site-meta")).to_have_text("二维码待同步核验")
        await expect(page.get_by_role("button", name="获取定位并开始检查")).to_be_visible()
        assert await fixes_asked(page) == 0
        assert problems.errors == []


async def test_a_forged_label_is_refused_before_any_fix(live_server, passwords, tmp_path):
    """Refused right after the scan, with the server's reason; GPS is never asked for (the
    phone here has not even allowed it). A text of no label shape is refused by the page
    itself, also when /s/… carries it."""
    _, label = await demo_checkpoint(live_server, "CA-0001")
    forged = f"{label.rsplit('.', 1)[0]}.{'A' * 22}"
    async with scanning_phone(forged, tmp_path, gps=False) as (_context, page, problems):
        read: list[str] = []
        page.on("request", lambda r: read.append(r.url) if "read-label" in r.url else None)
        await page.goto(f"{live_server.url}/onsite")
        await fill_login(page, passwords["inspector"])
        await page.get_by_role("button", name="打开摄像头扫码").click()
        refusal = page.get_by_test_id("scan-problem")
        await expect(refusal).to_have_text(NOT_OURS)
        await expect(refusal).to_have_class("onsite-verdict alert")
        await expect(page.get_by_role("button", name="重新扫码")).to_be_visible()
        await expect(page.get_by_role("button", name="获取定位并开始检查")).to_be_hidden()
        assert await fixes_asked(page) == 0
        assert len(read) == 1
        await phone_shot(page, tmp_path, "onsite-forged")

        await page.goto(f"{live_server.url}/s/hello-world")
        await expect(refusal).to_have_text(NOT_A_LABEL)
        await expect(page.get_by_role("button", name="获取定位并开始检查")).to_be_hidden()
        assert await fixes_asked(page) == 0
        assert len(read) == 1  # refused by its shape, before any request
        await phone_shot(page, tmp_path, "onsite-not-a-label")
        await page.goto(f"{live_server.url}/s/%E0%A4%A")  # not even valid %-encoding
        await expect(refusal).to_have_text(NOT_A_LABEL)
        assert len(read) == 1
        assert problems.errors == []


async def test_offline_a_text_of_no_label_shape_is_still_refused(live_server, passwords, tmp_path):
    """Without network the signature cannot be checked (a label is kept as 二维码待同步核验),
    but a product's QR code is no label at all."""
    async with scanning_phone("https://example.com/product/12345", tmp_path) as (
        context,
        page,
        problems,
    ):
        await page.goto(f"{live_server.url}/onsite")
        await fill_login(page, passwords["inspector"])
        await expect(page.get_by_role("button", name="打开摄像头扫码")).to_be_visible()
        await context.set_offline(True)
        await page.get_by_role("button", name="打开摄像头扫码").click()
        await expect(page.get_by_test_id("scan-problem")).to_have_text(NOT_A_LABEL)
        await expect(page.get_by_role("button", name="获取定位并开始检查")).to_be_hidden()
        assert await fixes_asked(page) == 0
        assert problems.errors == []


async def test_an_enterprise_contact_fills_in_a_self_check_by_link(
    browser, live_server, passwords, tmp_path
):
    await publish_small_form(live_server, passwords["hb_admin"])
    link = await self_check_link(live_server, passwords["inspector"])
    assert link.startswith(f"{live_server.url}/self-check/")
    context, page, problems = await open_phone(browser, CA_0001, accuracy=15)
    try:
        await page.goto(link)  # no login: the link is the credential
        await expect(page.locator("#page-title")).to_have_text("企业自检")
        await expect(page.locator("#user-name")).to_have_text("刘建国")
        await expect(page.get_by_test_id("my-tasks")).to_be_hidden()  # no account, no tasks
        await page.get_by_role("button", name="获取定位并开始检查").click()
        await answer_small_form(page)
        await page.get_by_role("button", name="提交检查").click()
        await expect(page.get_by_role("heading", name="检查已提交")).to_be_visible()
        done = await newest_inspection(live_server)
        assert (done.kind, done.state, done.contact_name) == ("self_check", "submitted", "刘建国")
        assert problems.errors == []
    finally:
        await context.close()
