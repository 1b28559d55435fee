"""实时监管 in headless Chromium, as a 分行 manager (sjz_admin of 石家庄分行) sees it: only its
支行, the numbers the API gives, the drill-down to a checkpoint's inspections, the Excel
export read back with openpyxl, a live refresh when an inspection lands, and a phone."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from playwright.async_api import expect
from sqlalchemy import select, update

from inspection_api.db import create_engine, create_sessionmaker, utcnow
from inspection_api.orgs.models import Org
from inspection_api.plans.generator import local_date
from inspection_api.plans.models import Task, TaskState
from inspection_api.users.models import User
from inspection_api.web.keys import NOTIFIER
from tests.plugins.browser import log_in, new_page
from tests.plugins.phone import PHONE, open_phone

pytestmark = pytest.mark.browser

SHOWCASE = Path("/tmp")


async def shot(page: Any, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    shutil.copyfile(path, SHOWCASE / f"supervision-{name}.png")


async def _ids(settings: Any) -> dict[str, int]:
    engine = create_engine(settings.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            orgs = dict((await session.execute(select(Org.code, Org.id))).all())
            users = dict((await session.execute(select(User.username, User.id))).all())
            return {**orgs, **users}
    finally:
        await engine.dispose()


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


async def _api(page: Any, server: Any, path: str) -> Any:
    response = await page.request.get(server.url + path)
    assert response.ok, await response.text()
    return await response.json()


async def test_branch_manager_sees_its_sub_branches_the_api_numbers_and_exports(
    page, page_problems, live_server, passwords, tmp_path
):
    ids = await _ids(live_server.settings)
    year = local_date(utcnow()).year
    await log_in(page, live_server, "sjz_admin", passwords["sjz_admin"])
    await page.goto(f"{live_server.url}/console#/supervision/{ids['HB-SJZ']}/{year}")
    table = page.get_by_test_id("completion-table")
    await expect(table).to_contain_text("长安支行")
    await expect(table).to_contain_text("桥西支行")
    for outside in ("莲池支行", "保定分行", "竞秀支行", "路南支行"):
        await expect(page.locator(".sup-body")).not_to_contain_text(outside)
    await expect(page.locator(".sup-crumbs")).to_contain_text("石家庄分行")
    await expect(page.locator(".sup-crumbs")).not_to_contain_text("河北省分行")  # above me

    # The numbers shown are the API's.
    report = await _api(
        page, live_server, f"/api/v1/supervision/completion?org_id={ids['HB-SJZ']}&period={year}"
    )
    assert [r["name"] for r in report["rows"]] == ["长安支行", "桥西支行"]
    for row in report["rows"]:
        line = table.locator(f'tbody tr[data-id="{row["id"]}"]')
        await expect(line.locator('[data-col="completion_rate"]')).to_have_text(
            _percent(row["completion_rate"])
        )
        await expect(line.locator('[data-col="coverage_rate"]')).to_have_text(
            _percent(row["coverage_rate"])
        )
        for key in ("due", "done", "overdue", "checkpoints_due", "checkpoints_covered"):
            await expect(line.locator(f'[data-col="{key}"]')).to_have_text(str(row[key]))
    total = report["total"]
    await expect(page.get_by_test_id("kpi-completion")).to_contain_text(
        _percent(total["completion_rate"])
    )
    await expect(page.get_by_test_id("kpi-due")).to_contain_text(str(total["due"]))
    await expect(page.get_by_test_id("trend-chart").locator("canvas")).to_have_count(1)
    await shot(page, tmp_path, "branch")

    # The export downloads, and openpyxl reads the same numbers under Chinese headers.
    async with page.expect_download() as info:
        await page.get_by_test_id("completion-card").locator('[data-export="completion"]').click()
    download = await info.value
    saved = tmp_path / "completion.xlsx"
    await download.save_as(saved)
    assert download.suggested_filename.endswith(".xlsx")
    sheet = openpyxl.load_workbook(saved).active
    rows = list(sheet.values)
    assert rows[0][:6] == ("机构", "应检任务", "已完成", "其中历史检查覆盖", "逾期", "完成率")
    by_name = {r[0]: r for r in rows[1:]}
    assert set(by_name) == {"长安支行", "桥西支行", "合计"}
    for row in [*report["rows"], {**total, "name": "合计"}]:
        got = by_name[row["name"]]
        assert got[1:5] == (row["due"], row["done"], row["covered_by_history"], row["overdue"])
        assert got[5] == row["completion_rate"] and got[8] == row["coverage_rate"]

    # Drill down: 长安支行 → its checkpoints → one checkpoint's inspections → the inspection.
    await table.locator(f'tbody tr[data-id="{ids["HB-SJZ-CA"]}"]').click()
    await expect(page).to_have_url(
        f"{live_server.url}/console#/supervision/{ids['HB-SJZ-CA']}/{year}"
    )
    await expect(page.locator(".sup-crumbs")).to_contain_text("长安支行")
    checkpoints = page.get_by_test_id("completion-table")
    await expect(checkpoints.locator("thead")).to_contain_text("检查点")
    await checkpoints.locator("tbody tr").first.click()
    await expect(page).to_have_url(
        re.compile(rf"#/supervision/{ids['HB-SJZ-CA']}/{year}/checkpoint/\d+$")
    )
    await expect(page.get_by_test_id("crumb-checkpoint")).to_be_visible()
    details = page.get_by_test_id("detail-table")
    await expect(details).to_contain_text("华北重工厂区")
    await shot(page, tmp_path, "checkpoint")
    await details.locator("tbody tr").first.click()
    await expect(page).to_have_url(re.compile(r"#/inspections/\d+$"))
    assert page_problems.errors == []


async def test_the_report_refreshes_when_an_inspection_lands(
    page, page_problems, live_server, passwords
):
    ids = await _ids(live_server.settings)
    await log_in(page, live_server, "sjz_admin", passwords["sjz_admin"])
    await page.goto(f"{live_server.url}/console#/supervision")
    done = page.get_by_test_id("kpi-done")
    await expect(done).to_contain_text("0")
    # A task of 长安支行 is done (as an inspection's submission does), then the push arrives.
    engine = create_engine(live_server.settings.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            task_id = await session.scalar(
                select(Task.id).where(Task.org_id == ids["HB-SJZ-CA"]).limit(1)
            )
            await session.execute(
                update(Task).where(Task.id == task_id).values(state=TaskState.DONE)
            )
            await session.commit()
    finally:
        await engine.dispose()
    notifier = live_server.app[NOTIFIER]
    for _ in range(3):  # a burst: the section reloads once, after it
        await notifier.to_user(ids["sjz_admin"], "supervision_changed", {"org_id": 0})
    await expect(done).to_contain_text("1", timeout=8000)
    assert page_problems.errors == []


async def test_supervision_fits_a_phone(browser, live_server, passwords, tmp_path):
    context, phone, _problems = await open_phone(browser, timeout_ms=30_000)
    try:
        await log_in(phone, live_server, "sjz_admin", passwords["sjz_admin"])
        await phone.goto(f"{live_server.url}/console#/supervision")
        await expect(phone.get_by_test_id("completion-table")).to_contain_text("长安支行")
        await expect(phone.get_by_test_id("trend-chart").locator("canvas")).to_have_count(1)
        width = await phone.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"]
        await shot(phone, tmp_path, "phone")
    finally:
        await context.close()


async def test_province_manager_switches_to_every_sub_branch(
    page, page_problems, live_server, passwords, tmp_path
):
    await log_in(page, live_server, "hb_admin", passwords["hb_admin"])
    await page.goto(f"{live_server.url}/console#/supervision")
    table = page.get_by_test_id("completion-table")
    await expect(table.locator("thead")).to_contain_text("分行")
    for branch in ("石家庄分行", "保定分行", "唐山分行"):
        await expect(table).to_contain_text(branch)
    await page.get_by_role("button", name="支行完成率").click()
    await expect(page).to_have_url(re.compile(r"#/supervision/\d+/\d{4}-\d{2}\?all=1$"))
    for sub in ("长安支行", "桥西支行", "莲池支行", "竞秀支行", "路南支行"):
        await expect(table).to_contain_text(sub)
    await expect(table).not_to_contain_text("保定分行")
    # A quarter, from the period controls; the URL says it.
    await page.get_by_test_id("period-kind").select_option("quarter")
    await expect(page).to_have_url(re.compile(r"#/supervision/\d+/\d{4}-Q1\?all=1$"))
    await expect(page.get_by_test_id("completion-card")).to_contain_text("第1季度")
    await shot(page, tmp_path, "province")
    assert page_problems.errors == []


async def test_the_report_filters_sit_in_one_row_on_the_console(
    browser, live_server, passwords, tmp_path
):
    """At 1440×900, even after 远程巡检 (whose stylesheet stays loaded) was opened first."""
    context, page, problems = await new_page(browser, viewport={"width": 1440, "height": 900})
    try:
        await log_in(page, live_server, "hb_admin", passwords["hb_admin"])
        await page.goto(f"{live_server.url}/console#/remote")
        await expect(page.locator('link[href="/static/css/call.css"]')).to_have_count(1)
        await page.goto(f"{live_server.url}/console#/supervision")
        await expect(page.get_by_test_id("completion-table")).to_contain_text("石家庄分行")
        controls = page.locator(".sup-controls select, .sup-controls input")
        boxes = [await controls.nth(i).bounding_box() for i in range(await controls.count())]
        assert len(boxes) == 4  # 按月, the month, 检查方式, 检查类型
        assert all(box is not None for box in boxes)
        tops = {round(box["y"]) for box in boxes if box}
        assert max(tops) - min(tops) <= 2, boxes  # one row
        assert all(box["width"] < 300 for box in boxes if box), boxes
        await shot(page, tmp_path, "filters")
        assert problems.errors == []
    finally:
        await context.close()


async def test_the_month_field_speaks_chinese(page, live_server, passwords):
    """The browser's own words in <input type=month> (what a Chinese user's Chromium shows:
    2026年12月, 年/月 fields), read from its accessibility tree."""
    await log_in(page, live_server, "sjz_admin", passwords["sjz_admin"])
    await page.goto(f"{live_server.url}/console#/supervision")
    await expect(page.get_by_label("月份")).to_have_count(1)
    cdp = await page.context.new_cdp_session(page)
    tree = await cdp.send("Accessibility.getFullAXTree")
    fields = [
        node.get("name", {}).get("value", "")
        for node in tree["nodes"]
        if node.get("role", {}).get("value") == "spinbutton"
    ]
    assert any(name.startswith("年") for name in fields), fields
    assert any(name.startswith("月") for name in fields), fields
    assert not any("Month" in name or "Year" in name for name in fields), fields
