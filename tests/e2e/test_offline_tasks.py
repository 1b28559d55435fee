"""我的任务 on a phone without network (/field): an online visit stores the offline package
(离线包); offline, the page opens from the shell and lists the tasks with their checkpoints
and map links; 开始检查 opens the on-site page naming the task's checkpoint, the scanned label
starts an offline inspection with the task's own form, and back online the outbox syncs it
and frees the photo's space on the phone, keeping its record line. The phone's store keeps
inspections and captures when it is upgraded to hold the package."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect
from sqlalchemy import select, update

from inspection_api.checkpoints.models import Checkpoint
from inspection_api.db import create_engine, create_sessionmaker
from inspection_api.plans.models import Plan, Task
from tests.integration.inspection_kit import CA_0001
from tests.plugins.browser import LiveServer
from tests.plugins.phone import (
    PHONE,
    SMALL_FORM,
    answer_small_form,
    ca_0001_label,
    camera_phone,
    console_on_phone,
    fill_login,
    live_api,
    log_in_on_phone,
    newest_inspection,
    open_phone,
    ready_on_site,
    start_inspection,
)

pytestmark = pytest.mark.browser

STORED_PACKAGE = """async () => {
  const store = await import("/static/js/offline-store.js");
  const pkg = await store.storedPackage();
  return pkg ? pkg.tasks.map((t) => [t.checkpoint.code, t.checklist_version_id]) : null;
}"""
PHONE_STORE = """async () => {
  const store = await import("/static/js/offline-store.js");
  const out = [];
  for (const i of await store.listInspections()) {
    const captures = await store.capturesOf(i.client_uuid);
    out.push({state: i.state, qr: i.qr, template_id: i.template_id,
              version_id: i.checklist_version_id, inspection_id: i.inspection_id,
              captures: captures.map((c) => ({sha256: c.sha256, size: c.size, state: c.state,
                                               blob: c.blob ? c.blob.size : null}))});
  }
  return out;
}"""
OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"


async def _prepare(server: LiveServer, hb_admin_password: str) -> tuple[int, int]:
    """CA-0002's task overdue; the province plan fills in a template of its own. Returns
    (that template's id, CA-0001's id)."""
    async with live_api(server, "hb_admin", hb_admin_password) as http:
        body = {"name": "现场专项检查表", **SMALL_FORM}
        created = await http.post("/api/v1/checklist-templates", json=body)
        assert created.status == 201, await created.text()
        template_id = int((await created.json())["id"])
        published = await http.post(f"/api/v1/checklist-templates/{template_id}/publish", json={})
        assert published.status == 200, await published.text()
    engine = create_engine(server.settings.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            ids = dict((await session.execute(select(Checkpoint.code, Checkpoint.id))).all())
            await session.execute(
                update(Plan)
                .where(Plan.name == "全省支行月度检查")
                .values(checklist_template_id=template_id)
            )
            task = await session.scalar(select(Task).where(Task.checkpoint_id == ids["CA-0002"]))
            assert task is not None
            before = task.period_start.replace(day=1) - timedelta(days=1)
            task.period_start, task.period_end = before.replace(day=1), task.period_start
            await session.commit()
    finally:
        await engine.dispose()
    return template_id, int(ids["CA-0001"])


async def _shot(page: Any, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    await page.evaluate("() => window.scrollTo(0, 0)")  # the sticky top bar at the top
    await page.screenshot(path=str(path), full_page=True)
    shutil.copyfile(path, f"/tmp/tasksoff-{name}.png")
    assert await page.evaluate(OVERFLOW) <= 0, f"{name}: wider than the phone"


async def test_my_tasks_work_offline_from_the_package_to_the_sync(
    live_server: LiveServer, passwords: dict[str, str], tmp_path: Path
) -> None:
    template_id, ca_0001 = await _prepare(live_server, passwords["hb_admin"])
    label = await ca_0001_label(live_server)
    async with camera_phone(label, tmp_path, CA_0001) as (context, page, problems):
        # Online: 我的任务 fetches the package and keeps it.
        await page.goto(f"{live_server.url}/field")
        await expect(page).to_have_url(f"{live_server.url}/login?next=%2Ffield")
        await fill_login(page, passwords["inspector"])
        tasks = page.get_by_test_id("task")
        await expect(tasks).to_have_count(2)
        await expect(tasks.nth(0)).to_have_attribute("data-code", "CA-0002")
        await expect(tasks.nth(0).locator(".badge")).to_contain_text("已逾期")
        await expect(tasks.nth(1)).to_have_attribute("data-code", "CA-0001")
        await expect(page.get_by_test_id("package-time")).to_contain_text("离线包更新于 ")
        await expect(page.get_by_test_id("storage")).to_contain_text("本机已用")
        await expect(page.get_by_test_id("offline-notice")).to_be_hidden()
        await expect(page.get_by_test_id("console-link")).to_be_visible()
        await page.evaluate("async () => { await navigator.serviceWorker.ready; }")
        stored = await page.evaluate(STORED_PACKAGE)
        assert [code for code, _ in stored] == ["CA-0002", "CA-0001"]
        version_ids = {version for _, version in stored}
        assert len(version_ids) == 1 and None not in version_ids
        await _shot(page, tmp_path, "field-online")

        # Offline, reloaded: the page opens from the shell and shows the stored package.
        await context.set_offline(True)
        await page.reload()
        await expect(page.get_by_test_id("offline-notice")).to_have_text(
            "当前无网络：以下是手机上保存的离线包，可照常开始检查；联网后将自动更新。"
        )
        await expect(tasks).to_have_count(2)
        # The console needs the network: its link is not offered offline.
        await expect(page.get_by_test_id("console-link")).to_be_hidden()
        ca1 = page.locator('[data-testid="task"][data-code="CA-0001"]')
        await expect(ca1.get_by_role("heading")).to_have_text("华北重工厂区")
        baidu = ca1.get_by_role("link", name="百度地图导航")
        amap = ca1.get_by_role("link", name="高德地图导航")
        assert (await baidu.get_attribute("href") or "").startswith(
            "https://api.map.baidu.com/marker?"
        )
        assert (await amap.get_attribute("href") or "").startswith("https://uri.amap.com/marker?")
        ca2 = page.locator('[data-testid="task"][data-code="CA-0002"]')
        await expect(ca2).to_contain_text("尚未定位")
        await expect(page.get_by_test_id("package-time")).to_contain_text("离线包更新于 ")
        await page.get_by_role("button", name="更新离线包").click()
        await expect(page.locator("#page-error")).to_have_text(
            "当前无网络，无法更新离线包，请联网后再试。"
        )
        await expect(tasks).to_have_count(2)  # the stored package stays
        await _shot(page, tmp_path, "field-offline")

        # 开始检查, still offline: the on-site page names the task's checkpoint.
        await ca1.get_by_role("link", name="开始检查").click()
        await expect(page).to_have_url(
            f"{live_server.url}/onsite?checkpoint={ca_0001}&template={template_id}"
        )
        expected = page.get_by_test_id("expected-checkpoint")
        await expect(expected).to_contain_text("本次检查：华北重工厂区")
        await _shot(page, tmp_path, "onsite-expected")
        await page.get_by_role("button", name="打开摄像头扫码").click()
        start = page.get_by_role("button", name="获取定位并开始检查")
        await expect(start).to_be_visible()  # the label was read
        await start.click()
        await expect(page.locator("#site-title")).to_have_text("离线检查 · 华北重工厂区")
        await expect(page.locator("#site-meta")).to_contain_text("二维码待同步核验")

        # The task's own form (the plan's template), not the default 明白纸.
        await answer_small_form(page, "按任务离线检查。")
        await expect(page.locator("#save-status")).to_have_text("已保存到本机")
        (held,) = await page.evaluate(PHONE_STORE)
        assert held["qr"] == label  # what the camera read
        assert held["template_id"] == template_id
        assert held["version_id"] in version_ids
        await _shot(page, tmp_path, "onsite-task-form")
        await page.get_by_role("button", name="提交检查").click()
        await expect(page.get_by_role("heading", name="检查已暂存在本机")).to_be_visible()

        # Back online: synced, the photo's Blob dropped, its record line kept.
        await context.set_offline(False)
        item = page.get_by_test_id("outbox").get_by_test_id("outbox-item")
        await expect(item).to_have_attribute("data-state", "synced", timeout=30_000)
        await expect(item).to_contain_text("已从本机删除以节省空间")
        await expect(item.locator(".outbox-file")).to_have_count(1)
        (synced,) = await page.evaluate(PHONE_STORE)
        assert [(c["state"], c["blob"]) for c in synced["captures"]] == [("synced", None)]
        detail = await (
            await page.request.get(
                f"{live_server.url}/api/v1/inspections/{synced['inspection_id']}"
            )
        ).json()
        assert (detail["state"], detail["offline"]) == ("submitted", True)
        assert detail["checklist"]["template_id"] == template_id
        assert detail["checkpoint"]["code"] == "CA-0001"
        assert [e["sha256"] for e in detail["evidence"]] == [
            c["sha256"] for c in synced["captures"]
        ]
        await _shot(page, tmp_path, "onsite-synced")
        assert all(
            "ERR_INTERNET_DISCONNECTED" in e or "Failed to fetch" in e for e in problems.errors
        ), problems.errors


async def test_the_online_start_of_a_task_fills_in_its_plans_form(
    live_server: LiveServer, passwords: dict[str, str], tmp_path: Path
) -> None:
    """检查任务 开始检查 in the console, online: the inspection starts with the plan's own
    template, as it would offline — not the default 明白纸."""
    template_id, ca_0001 = await _prepare(live_server, passwords["hb_admin"])
    label = await ca_0001_label(live_server)
    async with camera_phone(label, tmp_path, CA_0001) as (_context, page, problems):
        await log_in_on_phone(page, live_server, passwords["inspector"])
        await console_on_phone(page, live_server)
        ca1 = page.get_by_test_id("tasks-table").locator('tr[data-code="CA-0001"]')
        await ca1.get_by_role("link", name="开始检查").click()
        await expect(page).to_have_url(
            f"{live_server.url}/onsite?checkpoint={ca_0001}&template={template_id}"
        )
        await page.get_by_role("button", name="打开摄像头扫码").click()
        form = await start_inspection(page)
        await expect(page.locator("#site-title")).to_have_text("华北重工厂区")
        await expect(form.locator('[data-key="plant_running"]')).to_be_visible()
        await expect(form.locator("[data-key]")).to_have_count(3)  # SMALL_FORM's items
        started = await newest_inspection(live_server)
        assert (started.kind, started.offline) == ("on_site", False)
        detail = await (
            await page.request.get(f"{live_server.url}/api/v1/inspections/{started.id}")
        ).json()
        assert detail["checklist"]["template_id"] == template_id
        assert problems.errors == []


# The phone's store as the version before the package (offline-store.js at version 1),
# holding an inspection being filled in, a capture with its Blob, and the cached checklist.
VERSION_1 = """() => new Promise((resolve, reject) => {
  const open = indexedDB.open("loancheck-offline", 1);
  open.onupgradeneeded = () => {
    const db = open.result;
    db.createObjectStore("inspections", { keyPath: "client_uuid" });
    const captures = db.createObjectStore("captures", { keyPath: "client_uuid" });
    captures.createIndex("inspection", "inspection_uuid");
    db.createObjectStore("meta");
  };
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const db = open.result;
    const tx = db.transaction(["inspections", "captures", "meta"], "readwrite");
    tx.objectStore("inspections").put({ client_uuid: "i-1", state: "queued",
      started_at: "2026-12-01T08:00:00Z", answers: { remarks: "升级前" } });
    tx.objectStore("captures").put({ client_uuid: "c-1", inspection_uuid: "i-1",
      captured_at: "2026-12-01T08:01:00Z", blob: new Blob(["照片字节"]), sha256: "ab" });
    tx.objectStore("meta").put({ id: 7, template_id: 3, sections: [] }, "checklist");
    tx.oncomplete = () => { db.close(); resolve(db.version); };
    tx.onerror = () => reject(tx.error);
  };
})"""
AFTER_UPGRADE = """async () => {
  const store = await import("/static/js/offline-store.js");
  const inspections = await store.listInspections();
  const captures = await store.capturesOf("i-1");
  const before = await store.storedPackage();
  await store.storePackage({ generated_at: "2026-12-04T08:00:00Z", tasks: [], checklists: [] });
  const version = await new Promise((resolve) => {
    const open = indexedDB.open("loancheck-offline");
    open.onsuccess = () => { resolve(open.result.version); open.result.close(); };
  });
  return {
    inspections: inspections.map((i) => [i.client_uuid, i.state, i.answers.remarks]),
    captures: await Promise.all(captures.map(async (c) => [c.client_uuid, await c.blob.text()])),
    checklist: (await store.cachedChecklist()).id,
    before,
    after: (await store.storedPackage()).generated_at,
    version,
  };
}"""


async def test_the_phone_store_upgrade_keeps_inspections_and_captures(
    browser: Any, live_server: LiveServer
) -> None:
    context = await browser.new_context(locale="zh-CN", viewport=PHONE)
    page = await context.new_page()
    try:
        await page.goto(f"{live_server.url}/login")
        assert await page.evaluate(VERSION_1) == 1
        upgraded = await page.evaluate(AFTER_UPGRADE)
        assert upgraded == {
            "inspections": [["i-1", "queued", "升级前"]],
            "captures": [["c-1", "照片字节"]],
            "checklist": 7,
            "before": None,
            "after": "2026-12-04T08:00:00Z",
            "version": 2,
        }
    finally:
        await context.close()


def _estimate(usage: int, quota: int) -> str:
    return (
        "Object.defineProperty(navigator.storage, 'estimate', {value: async () => "
        f"({{usage: {usage}, quota: {quota}}})}});"
    )


@pytest.mark.parametrize(
    "usage, shown",
    [
        (800 * 1024**2, "存储空间即将用完：本机已用 800.0 MB，可用 1000.0 MB（80%）"),
        (799 * 1024**2, "本机已用 799.0 MB，可用 1000.0 MB（79%）；"),
    ],
)
async def test_storage_use_is_said_and_warned_past_80_percent(
    browser: Any, live_server: LiveServer, passwords: dict[str, str], usage: int, shown: str
) -> None:
    context, page, _problems = await open_phone(
        browser, init_script=_estimate(usage, 1000 * 1024**2)
    )
    try:
        await page.goto(f"{live_server.url}/login?next=%2Ffield")
        await fill_login(page, passwords["inspector"])
        storage = page.get_by_test_id("storage")
        await expect(storage).to_contain_text(shown)
        warned = await storage.evaluate("(node) => node.classList.contains('is-warning')")
        assert warned == (usage >= 800 * 1024**2)
        if not warned:
            await expect(storage).not_to_contain_text("即将用完")
    finally:
        await context.close()


async def test_an_inspector_finds_the_phone_page_where_they_land(
    browser: Any, live_server: LiveServer, passwords: dict[str, str]
) -> None:
    """On a phone the inspector lands on /field; its 全部功能 leads to the console, whose
    我的任务 and the on-site page's top bar lead back to /field."""
    context, page, problems = await open_phone(browser)
    try:
        await log_in_on_phone(page, live_server, passwords["inspector"])
        await expect(page.get_by_test_id("task")).to_have_count(2)
        await console_on_phone(page, live_server)
        await expect(page.get_by_test_id("tasks-table").locator("tr[data-code]")).to_have_count(2)
        await page.get_by_test_id("field-link").click()
        await expect(page).to_have_url(f"{live_server.url}/field")
        await expect(page.get_by_test_id("task")).to_have_count(2)
        await expect(page.get_by_test_id("who")).to_have_text("张检查")
        await page.get_by_role("link", name="扫码检查").click()
        await expect(page).to_have_url(f"{live_server.url}/onsite")
        await expect(page.get_by_role("button", name="打开摄像头扫码")).to_be_visible()
        await expect(page.get_by_test_id("expected-checkpoint")).to_have_count(0)
        await page.get_by_test_id("my-tasks").click()
        await expect(page).to_have_url(f"{live_server.url}/field")
        await expect(page.get_by_test_id("task")).to_have_count(2)
        assert await page.evaluate(OVERFLOW) <= 0
        assert problems.errors == []
    finally:
        await context.close()


async def test_offline_without_a_stored_package_the_page_says_what_to_do(
    browser: Any, live_server: LiveServer, passwords: dict[str, str]
) -> None:
    """A phone that only ever opened the on-site page: /field opens from the shell offline
    and says to open it once with network."""
    context, page, _problems = await open_phone(browser)
    try:
        await ready_on_site(page, live_server, passwords["inspector"])
        await context.set_offline(True)
        await page.goto(f"{live_server.url}/field")
        await expect(page.get_by_test_id("offline-notice")).to_have_text(
            "当前无网络，且本机还没有离线包：请在有网络时打开本页面一次。"
        )
        await expect(page.get_by_test_id("task")).to_have_count(0)
        await expect(page.get_by_test_id("package-time")).to_have_text("离线包尚未下载")
    finally:
        await context.close()


# The form and the name an offline scan gets: a label of a task's checkpoint takes the
# task's; any other label the checklist cached online, and no name.
PICKED = """async () => {
  const store = await import("/static/js/offline-store.js");
  await store.cacheChecklist({ id: 1, template_id: 1, sections: [] });
  await store.storePackage({
    generated_at: "2026-12-04T08:00:00Z",
    tasks: [{ checkpoint: { id: 42, name: "任务检查点", customer_name: "某企业", code: "T-42",
                            address: "某路 1 号" }, checklist_version_id: 9 }],
    checklists: [{ id: 9, template_id: 4, sections: [] }],
  });
  const sig = "A".repeat(22);
  const pick = async (qr) => [(await store.cachedChecklist(qr)).id,
                              (await store.knownCheckpoint(qr))?.name ?? null];
  return {
    task: await pick(`https://bank.example/s/1.42.3.${sig}`),
    bare: await pick(`1.42.1.${sig}`),
    other: await pick(`https://bank.example/s/1.43.1.${sig}`),
    foreign: await pick("https://elsewhere.example/not-a-label"),
    none: await pick(null),
  };
}"""


async def test_an_offline_scan_takes_the_tasks_form_only_at_the_tasks_checkpoint(
    browser: Any, live_server: LiveServer
) -> None:
    context = await browser.new_context(locale="zh-CN", viewport=PHONE)
    page = await context.new_page()
    try:
        await page.goto(f"{live_server.url}/login")
        picked = await page.evaluate(PICKED)
        assert picked == {
            "task": [9, "任务检查点"],
            "bare": [9, "任务检查点"],
            "other": [1, None],
            "foreign": [1, None],
            "none": [1, None],
        }
    finally:
        await context.close()
