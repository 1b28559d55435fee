"""The console sections 检查计划 and 检查任务 in headless Chromium, as a 石家庄分行
administrator uses them: fill in the bank's 全局规则 form (a refused end date keeps what was
typed), preview, save; create a plan for 长安支行 with the org tree picker, preview its
tasks, save; see the tasks and assign one; the inspector finds it under 我的任务."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.async_api import expect

from inspection_api.db import utcnow
from inspection_api.plans.generator import add_months, local_date
from tests.plugins.browser import log_in

pytestmark = pytest.mark.browser

SHOWCASE = Path("/tmp/plans.png")  # copies for a person to look at
RULE_SHOWCASE = Path("/tmp/plans-rule.png")


async def test_rule_plan_preview_save_and_tasks(
    page, page_problems, live_server, passwords, tmp_path
):
    this_month = local_date(utcnow()).replace(day=1)
    start = add_months(this_month, -3)
    await log_in(page, live_server, "sjz_admin", passwords["sjz_admin"])
    await expect(page.locator(".topbar")).to_contain_text("石家庄分行")
    nav = page.get_by_role("navigation", name="功能导航")
    await nav.get_by_role("link", name="检查计划").click()
    plans = page.get_by_test_id("plans-table")
    await expect(plans).to_contain_text("全省支行月度检查")  # the province's, above me
    await expect(plans).not_to_contain_text("保定分行季度检查")

    # 全局规则添加, field by field as on the bank's form.
    await page.get_by_role("button", name="添加规则").click()
    dialog = page.get_by_role("dialog", name="全局规则添加")
    await dialog.get_by_label("机构类型").select_option(label="支行")
    await dialog.get_by_label("规则名称").fill("长安支行月度检查")
    await (
        dialog.get_by_role("group", name="自动加入（新建组织机构时自动创建计划）")
        .get_by_label("否")
        .check()
    )
    await dialog.get_by_label("计划频次").select_option(label="按月")
    await dialog.get_by_label("时间间隔").fill("1")
    await dialog.get_by_label("检查类型").select_option(label="存量")
    await dialog.get_by_label("历史检查有效期").fill("1")
    await dialog.get_by_role("group", name="有效期单位").get_by_label("月").check()
    await dialog.get_by_label("开始时间").fill(str(start))
    await dialog.get_by_label("结束时间").fill(str(add_months(start, -1)))
    await dialog.get_by_role("group", name="退出规则").get_by_label("次月停止").check()
    await dialog.get_by_role("group", name="首巡开始规则").get_by_label("当月首巡").check()
    await dialog.get_by_label("退出点检查频率").fill("3")
    await dialog.get_by_label("退出点检查次数").fill("2")
    await dialog.get_by_role("group", name="退出点频率单位").get_by_label("月").check()
    await dialog.get_by_role("button", name="添加规则").click()
    await expect(dialog.locator('[data-error-for="end_date"]')).to_have_text(
        "结束时间不能早于开始时间"
    )
    await expect(dialog.get_by_label("规则名称")).to_have_value("长安支行月度检查")  # kept
    await dialog.get_by_label("结束时间").fill("")

    await dialog.get_by_role("button", name="预览任务").click()
    summary = dialog.get_by_test_id("rule-preview").get_by_test_id("preview-summary")
    await expect(summary).to_contain_text("范围内 4 个检查点")  # 石家庄分行: CA ×3, QX ×1
    await page.screenshot(path=str(tmp_path / "rule.png"))
    shutil.copyfile(tmp_path / "rule.png", RULE_SHOWCASE)
    await dialog.get_by_role("button", name="添加规则").click()
    await expect(dialog).to_have_count(0)
    await expect(page.get_by_role("status")).to_have_text("已添加规则「长安支行月度检查」")
    rules = page.get_by_test_id("rules-table")
    row = rules.locator('tr[data-rule="长安支行月度检查"]')
    await expect(row).to_contain_text("按月（每月）")
    await expect(row).to_contain_text("次月停止，之后每 3 月检查一次，共 2 次")

    # 新建计划 for 长安支行 alone, previewed before saving.
    await page.get_by_role("button", name="新建计划").click()
    dialog = page.get_by_role("dialog", name="新建检查计划")
    await dialog.get_by_label("全局规则").select_option(
        label="长安支行月度检查（石家庄分行 · 按月（每月））"
    )
    picker = dialog.get_by_role("group", name="适用机构")
    await picker.get_by_label("长安支行").check()
    await dialog.get_by_role("button", name="预览任务").click()
    preview = dialog.get_by_test_id("plan-preview")
    await expect(preview.get_by_test_id("preview-summary")).to_contain_text("范围内 3 个检查点，")
    first = preview.get_by_test_id("preview-periods").locator("tbody tr").first
    await expect(first).to_contain_text(f"{this_month} 至")
    await expect(first).to_contain_text("立即生成")
    await expect(first.locator("td").nth(2)).to_have_text("2")  # CA-0001, CA-0002
    # The province plan's open tasks there are replaced: said before, confirmed at saving.
    await expect(preview.get_by_test_id("preview-removed")).to_have_text(
        "保存后将删除 2 个尚未开始的任务（已开始和已完成的任务不受影响）"
    )
    await expect(dialog.get_by_label("检查模板")).to_have_value("")  # the province's default
    await dialog.get_by_label("检查模板").select_option(
        label="中小企业贷后管理“明白纸”（中国银行河北省分行）"
    )
    await page.screenshot(path=str(tmp_path / "plan-dialog.png"))
    await dialog.get_by_role("button", name="保存计划").click()
    confirm = page.get_by_role("dialog", name="确认保存检查计划")
    await expect(confirm).to_contain_text("保存后将删除 2 个尚未开始的任务")
    await confirm.get_by_role("button", name="取消").click()
    await expect(dialog).to_be_visible()  # nothing saved, the form kept
    await dialog.get_by_role("button", name="保存计划").click()
    await (
        page.get_by_role("dialog", name="确认保存检查计划")
        .get_by_role("button", name="确认保存")
        .click()
    )
    await expect(dialog).to_have_count(0)
    await expect(page.get_by_role("status")).to_contain_text(
        "已保存 1 个检查计划：长安支行月度检查 · 长安支行"
    )
    await expect(plans).to_contain_text("长安支行月度检查 · 长安支行")
    # Each plan's 检查模板 by name: the one chosen, or the province's default; never a number.
    row = plans.locator('tr[data-plan="长安支行月度检查 · 长安支行"]')
    await expect(row).to_contain_text("中小企业贷后管理“明白纸”")
    await expect(plans.locator('tr[data-plan="全省支行月度检查"]')).to_contain_text(
        "省行现行模板（默认）"
    )
    await expect(plans).not_to_contain_text("#")
    await (
        plans.locator('tr[data-plan="长安支行月度检查 · 长安支行"]')
        .get_by_role("button", name="进度")
        .click()
    )
    progress = page.get_by_test_id("plan-progress")
    await expect(progress.locator("tbody")).to_contain_text("长安支行")
    await expect(progress.locator("tfoot")).to_contain_text("0.0%")

    # 检查任务: this month's tasks of the new plan; assign one.
    await nav.get_by_role("link", name="检查任务").click()
    tasks = page.get_by_test_id("tasks-table")
    ca1 = tasks.locator('tr[data-code="CA-0001"]')
    await expect(ca1).to_contain_text("长安支行月度检查 · 长安支行")
    await expect(ca1).to_contain_text("待检查")
    await expect(tasks.locator('tr[data-code="QX-0001"]')).to_contain_text("全省支行月度检查")
    await page.get_by_role("group", name="按状态筛选").get_by_role("button", name="逾期").click()
    await expect(page.locator(".empty")).to_have_text("没有符合条件的任务")
    await page.get_by_role("group", name="按状态筛选").get_by_role("button", name="全部").click()
    await ca1.get_by_role("button", name="分派").click()
    assign = page.get_by_role("dialog", name="分派任务")
    await assign.get_by_label("检查人").select_option(label="张检查（inspector）")
    await assign.get_by_role("button", name="确认分派").click()
    await expect(page.get_by_role("status")).to_have_text("已分派给 张检查")
    await expect(ca1).to_contain_text("张检查")
    await page.screenshot(path=str(tmp_path / "tasks.png"), full_page=True)
    shutil.copyfile(tmp_path / "tasks.png", SHOWCASE)
    assert page_problems.errors == []

    # The inspector sees it under 我的任务.
    await page.get_by_role("button", name="退出登录").click()
    # The page goes to the login page by itself; a goto racing it is aborted.
    await expect(page).to_have_url(f"{live_server.url}/login?reason=logged_out")
    await log_in(page, live_server, "inspector", passwords["inspector"])
    await expect(page.locator(".topbar")).to_contain_text("长安支行")
    await nav.get_by_role("link", name="检查任务").click()
    mine = page.get_by_test_id("tasks-table")
    await expect(mine.locator('tr[data-code="CA-0001"]')).to_contain_text("张检查")
    await expect(mine.locator('tr[data-code="CA-0002"]')).to_contain_text("本支行检查人")
    await expect(page.get_by_role("button", name="分派")).to_have_count(0)
    assert page_problems.errors == []
