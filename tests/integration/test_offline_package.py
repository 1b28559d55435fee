"""The offline package (离线包): my open tasks, overdue first, each with its checkpoint (the
map links the console shows) and the form an on-site inspection there is filled in with —
strictly mine: another inspector sees nothing of it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from inspection_api.db import create_engine, create_sessionmaker, utcnow
from inspection_api.offline import service
from inspection_api.plans.models import Plan, Task
from tests.integration.inspection_kit import fix, label, start
from tests.integration.test_checkpoints import ids_by_code
from tests.plugins.api import json_of

PACKAGE = "/api/v1/offline/package"


async def _tasks_of(settings: Any, checkpoint_id: int) -> list[Task]:
    engine = create_engine(settings.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            query = select(Task).where(Task.checkpoint_id == checkpoint_id)
            return list((await session.scalars(query)).all())
    finally:
        await engine.dispose()


async def _change_task(settings: Any, task_id: int, **values: Any) -> None:
    engine = create_engine(settings.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            await session.execute(update(Task).where(Task.id == task_id).values(**values))
            await session.commit()
    finally:
        await engine.dispose()


async def _make_overdue(settings: Any, checkpoint_id: int) -> int:
    """The checkpoint's task moved to last month: its period has ended, it is overdue."""
    (task,) = await _tasks_of(settings, checkpoint_id)
    start_day = task.period_start.replace(day=1) - timedelta(days=1)
    await _change_task(
        settings,
        task.id,
        period_start=start_day.replace(day=1),
        period_end=task.period_start.replace(day=1),
    )
    return task.id


async def test_my_package_lists_my_open_tasks_overdue_first_with_checkpoints_and_forms(
    login_as, settings
):
    ids = await ids_by_code(settings)
    overdue_id = await _make_overdue(settings, ids["CA-0002"])
    inspector = await login_as("inspector")
    before = utcnow()
    package = await json_of(await inspector.get(PACKAGE), 200)
    generated = package["generated_at"]
    assert before - timedelta(seconds=1) <= datetime.fromisoformat(generated) <= utcnow()
    assert (package["total"], package["truncated"], package["limit"]) == (2, False, 200)

    tasks = package["tasks"]
    assert [t["checkpoint"]["code"] for t in tasks] == ["CA-0002", "CA-0001"]
    assert [t["state"] for t in tasks] == ["overdue", "pending"]
    assert tasks[0]["id"] == overdue_id
    for task in tasks:
        assert task["plan_name"] == "全省支行月度检查"
        assert task["due_date"] < task["period_end"]
        assert task["checklist_problem"] is None
    site = tasks[1]["checkpoint"]
    console = await json_of(await inspector.get(f"/api/v1/checkpoints/{ids['CA-0001']}"), 200)
    for field in ("id", "name", "code", "customer_name", "address", "latitude", "longitude"):
        assert site[field] == console[field], field
    assert site["org_name"] == "长安支行"
    assert site["radius_m"] == console["effective_radius_m"] == 200
    assert site["navigation"] == console["navigation"]  # the console's very links
    assert site["navigation"]["baidu"].startswith("https://api.map.baidu.com/marker?")
    assert site["navigation"]["amap"].startswith("https://uri.amap.com/marker?")

    # One form for both (the default 明白纸), as the inspector fills it in.
    (form,) = package["checklists"]
    assert {t["checklist_version_id"] for t in tasks} == {form["id"]}
    keys = {item["key"] for section in form["sections"] for item in section["items"]}
    assert "supervisor_opinion" not in keys and "operating_status" in keys
    # ... and the very form an on-site inspection started online gets.
    started = await start(inspector, await label(inspector, ids["CA-0001"]))
    assert started["inspection"]["checklist"]["id"] == form["id"]
    assert started["inspection"]["checklist"]["sections"] == form["sections"]


async def test_another_inspector_sees_nothing_of_mine(login_as, settings):
    ids = await ids_by_code(settings)
    mine = await json_of(await (await login_as("inspector")).get(PACKAGE), 200)
    my_tasks = {t["id"] for t in mine["tasks"]}
    my_sites = {t["checkpoint"]["id"] for t in mine["tasks"]}
    assert my_sites == {ids["CA-0001"], ids["CA-0002"]}

    other = await login_as("inspector_bd")
    theirs = await json_of(await other.get(PACKAGE), 200)
    assert [t["checkpoint"]["code"] for t in theirs["tasks"]] == ["LC-0001"]
    assert theirs["tasks"][0]["plan_name"] == "保定分行季度检查"
    assert not my_tasks & {t["id"] for t in theirs["tasks"]}
    assert not my_sites & {t["checkpoint"]["id"] for t in theirs["tasks"]}
    assert theirs["total"] == 1

    # A task of mine assigned to them by mistake stays outside their jurisdiction, and it
    # is no longer mine either.
    them = await json_of(await other.get("/api/v1/auth/me"), 200)
    (task,) = await _tasks_of(settings, ids["CA-0001"])
    await _change_task(settings, task.id, assignee_user_id=them["id"])
    theirs = await json_of(await other.get(PACKAGE), 200)
    assert [t["checkpoint"]["code"] for t in theirs["tasks"]] == ["LC-0001"]
    mine = await json_of(await (await login_as("inspector")).get(PACKAGE), 200)
    assert [t["checkpoint"]["code"] for t in mine["tasks"]] == ["CA-0002"]


async def test_done_tasks_are_left_out(login_as, settings):
    ids = await ids_by_code(settings)
    (task,) = await _tasks_of(settings, ids["CA-0001"])
    await _change_task(settings, task.id, state="done", completed_at=utcnow())
    package = await json_of(await (await login_as("inspector")).get(PACKAGE), 200)
    assert [t["checkpoint"]["code"] for t in package["tasks"]] == ["CA-0002"]
    assert package["total"] == 1


async def test_the_package_is_capped_and_says_so(login_as, settings, monkeypatch):
    ids = await ids_by_code(settings)
    await _make_overdue(settings, ids["CA-0002"])
    monkeypatch.setattr(service, "PACKAGE_MAX_TASKS", 1)
    package = await json_of(await (await login_as("inspector")).get(PACKAGE), 200)
    assert (package["total"], package["truncated"], package["limit"]) == (2, True, 1)
    assert [t["checkpoint"]["code"] for t in package["tasks"]] == ["CA-0002"]  # overdue kept
    assert len(package["checklists"]) == 1


@pytest.mark.parametrize("who, status", [("reviewer", 403), (None, 401)])
async def test_only_who_may_start_an_on_site_inspection_gets_a_package(
    client, login_as, settings, who, status
):
    user = await login_as(who) if who else client
    body = await json_of(await user.get(PACKAGE), status)
    assert body["status"] == status


async def _plan_template(settings: Any, plan_name: str, template_id: int) -> None:
    engine = create_engine(settings.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            await session.execute(
                update(Plan).where(Plan.name == plan_name).values(checklist_template_id=template_id)
            )
            await session.commit()
    finally:
        await engine.dispose()


async def test_each_task_gets_its_plans_template_or_says_why_it_cannot(login_as, settings):
    admin = await login_as("hb_admin")
    templates = "/api/v1/checklist-templates"
    created = await json_of(await admin.post(templates, json={"name": "专项检查表"}), 201)
    await _plan_template(settings, "全省支行月度检查", created["id"])
    inspector = await login_as("inspector")
    draft_only = await json_of(await inspector.get(PACKAGE), 200)
    assert draft_only["checklists"] == []
    for task in draft_only["tasks"]:
        assert task["checklist_version_id"] is None
        assert "尚未发布" in task["checklist_problem"], task["checklist_problem"]
    # 保定's plan is another plan: its task keeps the default 明白纸.
    bd = await json_of(await (await login_as("inspector_bd")).get(PACKAGE), 200)
    assert bd["tasks"][0]["checklist_problem"] is None
    assert bd["checklists"][0]["template_id"] != created["id"]

    await json_of(await admin.post(f"{templates}/{created['id']}/publish", json={}), 200)
    published = await json_of(await inspector.get(PACKAGE), 200)
    (form,) = published["checklists"]
    assert form["template_id"] == created["id"]
    assert {t["checklist_version_id"] for t in published["tasks"]} == {form["id"]}
    assert {t["checklist_problem"] for t in published["tasks"]} == {None}


async def test_the_online_start_of_a_task_takes_its_plans_template(login_as, settings):
    """检查任务 names the plan's template (null: the default 明白纸), and the on-site start
    given it fills in that form — the one the offline package holds for the task."""
    admin = await login_as("hb_admin")
    templates = "/api/v1/checklist-templates"
    created = await json_of(await admin.post(templates, json={"name": "专项检查表"}), 201)
    await json_of(await admin.post(f"{templates}/{created['id']}/publish", json={}), 200)
    inspector = await login_as("inspector")
    before = await json_of(await inspector.get("/api/v1/tasks?mine=true&open=true"), 200)
    assert {t["checklist_template_id"] for t in before["items"]} == {None}

    await _plan_template(settings, "全省支行月度检查", created["id"])
    tasks = await json_of(await inspector.get("/api/v1/tasks?mine=true&open=true"), 200)
    assert {t["checklist_template_id"] for t in tasks["items"]} == {created["id"]}
    ca_0001 = next(t for t in tasks["items"] if t["checkpoint_code"] == "CA-0001")
    (form,) = (await json_of(await inspector.get(PACKAGE), 200))["checklists"]

    qr = await label(inspector, ca_0001["checkpoint_id"])
    body = {"qr": qr, "fix": fix(), "template_id": ca_0001["checklist_template_id"]}
    started = await json_of(await inspector.post("/api/v1/inspections/on-site", json=body), 201)
    detail = await json_of(
        await inspector.get(f"/api/v1/inspections/{started['inspection']['id']}"), 200
    )
    assert detail["checklist"]["template_id"] == created["id"]
    assert detail["checklist"]["id"] == form["id"]
