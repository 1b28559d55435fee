"""The checklist template editor (检查模板) in headless Chromium: an administrator edits a new
draft of the default template, adds an item with an anomaly rule, publishes, and the new
version is what the API serves, while version 1 stays as it was."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from inspection_api.checklists.defaults import DEFAULT_TEMPLATE_NAME
from tests.plugins.browser import log_in

pytestmark = pytest.mark.browser

SHOWCASE = {"checklist-editor": Path("/tmp/checklist-editor.png")}


async def screenshot(page: Any, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    if name in SHOWCASE:
        shutil.copyfile(path, SHOWCASE[name])


async def api_get(page: Any, url: str) -> Any:
    return await page.evaluate(
        "async (url) => { const r = await fetch(url); return [r.status, await r.json()]; }", url
    )


async def test_admin_adds_an_item_with_an_anomaly_rule_and_publishes_version_2(
    page, page_problems, live_server, passwords, tmp_path
):
    await log_in(page, live_server, "hb_admin", passwords["hb_admin"])

    await (
        page.get_by_role("navigation", name="功能导航").get_by_role("link", name="检查模板").click()
    )
    templates = page.get_by_test_id("checklist-templates")
    row = templates.locator("tr", has_text=DEFAULT_TEMPLATE_NAME)
    await expect(row).to_contain_text("第 1 版")
    await screenshot(page, tmp_path, "checklist-list")
    await row.get_by_role("link", name="编辑").click()
    await expect(page).to_have_url(re.compile(r"#/checklists/\d+$"))
    template_id = page.url.rsplit("/", 1)[1]

    versions = page.get_by_role("group", name="版本")
    await expect(versions.get_by_role("button", name="第 1 版 · 已发布")).to_have_attribute(
        "aria-pressed", "true"
    )
    await expect(page.get_by_test_id("checklist-preview")).to_contain_text("企业经营状况")
    await page.get_by_role("button", name="编辑新版本").click()

    section = page.locator('fieldset[data-path="sections.0"]')
    await expect(section.get_by_label("分区 1 名称")).to_have_value("企业运营状况")
    await section.get_by_role("button", name="添加检查项").click()
    item = section.locator('details[data-path="sections.0.items.4"]')
    await expect(item).to_have_attribute("open", "")
    key = item.get_by_label("标识（英文，用于答案）")
    await key.fill("utilities")  # already used: the server names the field
    await item.get_by_label("检查项名称").fill("主要生产设备是否闲置")
    await item.get_by_label("类型").select_option(label="是/否")
    await item.get_by_label("规定动作").fill("实地查看主要生产设备运转情况")
    await item.get_by_label("照片").fill("1")
    await item.get_by_label("启用异常规则（预警指标）").check()
    await item.get_by_label("触发答案").select_option(label="是")
    await item.get_by_label("预警指标名称").fill("主要设备闲置")
    await item.get_by_label("严重程度").select_option(label="严重")

    await page.get_by_role("button", name="保存草稿").click()
    alert = page.locator(".cl-problems")
    await expect(alert).to_contain_text("标识「utilities」重复")
    await expect(alert).to_contain_text("检查项「主要生产设备是否闲置」")
    await expect(alert).to_contain_text(
        "已用于 分区「企业运营状况」 · 检查项「截至上月末企业水、电、气数据」"
    )
    await expect(alert).not_to_contain_text("sections.")  # paths are said in words
    await expect(key).to_have_attribute("aria-invalid", "true")
    await expect(item.locator(".field-error").first).to_contain_text("重复")
    await screenshot(page, tmp_path, "checklist-editor-error")

    await key.fill("equipment_idle")
    await page.get_by_role("button", name="保存草稿").click()
    await expect(page.get_by_role("status")).to_have_text("草稿已保存（第 2 版，第 1 次修订）")
    await expect(versions.get_by_role("button", name="第 2 版 · 草稿")).to_have_attribute(
        "aria-pressed", "true"
    )
    await page.locator('details[data-path="sections.0.items.4"]').evaluate("d => d.open = true")
    await screenshot(page, tmp_path, "checklist-editor")

    await page.get_by_role("button", name="预览").click()
    preview = page.get_by_test_id("checklist-preview")
    new_item = preview.locator('[data-key="equipment_idle"]')
    await expect(new_item).to_contain_text("主要生产设备是否闲置")
    await expect(new_item).to_contain_text("规定动作：实地查看主要生产设备运转情况")
    await expect(new_item).to_contain_text("验证方式：需拍摄/录制 照片 1")
    await screenshot(page, tmp_path, "checklist-preview")

    await page.get_by_role("button", name="发布", exact=True).click()
    await expect(page.get_by_role("status")).to_have_text("已发布第 2 版，新的检查将使用此版本")
    await expect(versions.get_by_role("button", name="第 2 版 · 已发布")).to_have_attribute(
        "aria-pressed", "true"
    )
    await expect(page.get_by_test_id("checklist-preview")).to_contain_text("主要生产设备是否闲置")
    await expect(page.get_by_role("button", name="编辑新版本")).to_be_visible()

    status, v2 = await api_get(page, f"/api/v1/checklist-templates/{template_id}/versions/2")
    assert status == 200 and v2["status"] == "published"
    added = v2["sections"][0]["items"][4]
    assert (added["key"], added["type"], added["evidence"]["photo"]) == (
        "equipment_idle",
        "yes_no",
        1,
    )
    assert added["anomaly_rule"] == {
        "op": "equals",
        "value": True,
        "values": None,
        "min": None,
        "max": None,
        "label": "主要设备闲置",
        "severity": "high",
    }
    _, v1 = await api_get(page, f"/api/v1/checklist-templates/{template_id}/versions/1")
    assert "equipment_idle" not in [i["key"] for s in v1["sections"] for i in s["items"]]
    assert [s["title"] for s in v1["sections"]] == [s["title"] for s in v2["sections"]]

    await page.goto(f"{live_server.url}/console#/checklists/999999")
    await expect(page.locator("p.alert")).to_have_text("检查模板不存在：999999")
    await expect(page.locator(".cl-back")).to_be_visible()
    assert page_problems.errors == []
