"""Global rules, plans and tasks over real HTTP on SQLite and PostgreSQL.

Demo bank (``seed-demo``): 河北省分行 has the rule 支行月度检查 (monthly, 当月首巡) and the
plan 全省支行月度检查 from 1 January; 保定分行 has 保定分行季度检查 (quarterly), overriding it
there. 长安支行 (HB-SJZ-CA) has CA-0001, CA-0002 and the exit point CA-0003 (exited in
2025); 桥西支行 has QX-0001; 莲池支行 (保定) has LC-0001. ``sjz_admin`` manages 石家庄分行,
``inspector`` works in 长安支行, ``inspector_bd`` in 莲池支行, ``reviewer`` in 石家庄分行.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from inspection_api.db import utcnow
from inspection_api.plans import service as plans_service
from inspection_api.plans.generator import add_months, local_date
from tests.integration.test_checkpoints import ids_by_code
from tests.plugins.api import json_of

RULES = "/api/v1/plan-rules"
PLANS = "/api/v1/plans"
TASKS = "/api/v1/tasks"


def today() -> date:
    return local_date(utcnow())


def month_start(months: int = 0) -> date:
    return add_months(today().replace(day=1), months)


def rule_form(**changes: Any) -> dict[str, Any]:
    """The bank's 全局规则 form as a 石家庄分行 administrator fills it in."""
    return {
        "name": "支行季度检查",
        "org_kind": "sub_branch",
        "auto_join": False,
        "frequency": "month",
        "interval": 3,
        "inspection_type": "existing",
        "validity": 1,
        "validity_unit": "month",
        "start_date": str(month_start(-6)),
        "end_date": None,
        "exit_rule": "this_month",
        "exit_interval": 3,
        "exit_unit": "month",
        "exit_count": 2,
        "first_rule": "this_month",
        **changes,
    }


async def tasks_of(user: TestClient, query: str = "") -> dict[str, Any]:
    return await json_of(await user.get(f"{TASKS}?limit=200&{query}"), 200)


async def province_plan(user: TestClient) -> dict[str, Any]:
    plans = (await json_of(await user.get(PLANS), 200))["items"]
    return next(p for p in plans if p["org_kind"] == "province")


async def problem(response: Any, status: int) -> dict[str, Any]:
    body = await json_of(response, status)
    assert response.content_type == "application/problem+json"
    return body


async def test_demo_plans_generate_todays_tasks(login_as, settings):
    inspector = await login_as("inspector")
    page = await tasks_of(inspector, "mine=true&open=true")
    assert page["today"] == str(today())
    codes = sorted(t["checkpoint_code"] for t in page["items"])
    assert codes == ["CA-0001", "CA-0002"]  # CA-0003 exited in 2025: nothing owed
    for task in page["items"]:
        assert task["plan_name"] == "全省支行月度检查"
        assert task["period_start"] == str(month_start())
        assert task["period_end"] == str(month_start(1))
        assert task["due_date"] == str(month_start(1) - timedelta(days=1))
        assert task["state"] == "pending" and task["assignee_user_id"] is None
        assert task["org_name"] == "长安支行" and task["kind"] == "regular"

    bd = await tasks_of(await login_as("inspector_bd"))
    assert [t["checkpoint_code"] for t in bd["items"]] == ["LC-0001"]
    quarter = bd["items"][0]  # 保定分行's quarterly plan overrides the province's
    assert quarter["plan_name"] == "保定分行季度检查"
    start = date.fromisoformat(quarter["period_start"])
    assert start.month % 3 == 1 and start.day == 1  # anchored at 1 January: quarters
    assert date.fromisoformat(quarter["period_end"]) == add_months(start, 3)


async def test_a_branch_admin_adds_a_rule_and_a_plan_that_overrides_the_province(
    login_as, settings
):
    ids = await ids_by_code(settings)
    admin = await login_as("sjz_admin")
    rule = await json_of(await admin.post(RULES, json=rule_form()), 201)
    assert rule["org_name"] == "石家庄分行" and rule["editable"] and rule["plan_count"] == 0
    assert {k: rule[k] for k in ("frequency", "interval", "exit_count", "first_rule")} == {
        "frequency": "month",
        "interval": 3,
        "exit_count": 2,
        "first_rule": "this_month",
    }

    created = await json_of(
        await admin.post(
            PLANS,
            json={
                "rule_id": rule["id"],
                "org_ids": [ids["HB-SJZ-CA"]],
                "checklist_template_id": 7,
            },
        ),
        201,
    )
    (plan,) = created["items"]
    assert plan["name"] == "支行季度检查 · 长安支行"
    assert plan["start_date"] == rule["start_date"] and plan["end_date"] is None
    assert plan["checklist_template_id"] == 7 and plan["executor_role"] == "inspector"

    inspector = await login_as("inspector")
    page = await tasks_of(inspector, "open=true")
    by_code = {t["checkpoint_code"]: t for t in page["items"]}
    assert sorted(by_code) == ["CA-0001", "CA-0002"]
    for task in by_code.values():  # the province's task of this month was replaced
        assert task["plan_id"] == plan["id"]
        start = date.fromisoformat(task["period_start"])
        assert start <= today() < date.fromisoformat(task["period_end"])
        assert date.fromisoformat(task["period_end"]) == add_months(start, 3)
    # 桥西支行 keeps the province plan.
    qx = await tasks_of(admin, f"org_id={ids['HB-SJZ-QX']}")
    assert [t["plan_name"] for t in qx["items"]] == ["全省支行月度检查"]

    # The rule is in use now; the plan is readable by the 支行's inspector.
    assert (await json_of(await admin.get(f"{RULES}/{rule['id']}"), 200))["plan_count"] == 1
    seen = await json_of(await inspector.get(f"{PLANS}/{plan['id']}"), 200)
    assert seen["editable"] is False
    names = [p["name"] for p in (await json_of(await inspector.get(PLANS), 200))["items"]]
    assert names == ["全省支行月度检查", "支行季度检查 · 长安支行"]

    events = await json_of(await admin.get("/api/v1/audit-events?limit=50"), 200)
    actions = [e["action"] for e in events]
    assert "plan_rule_created" in actions and "plan_created" in actions


async def test_changing_a_plan_regenerates_only_open_tasks(login_as, settings):
    ids = await ids_by_code(settings)
    admin = await login_as("sjz_admin")
    rule = await json_of(await admin.post(RULES, json=rule_form(interval=1)), 201)
    (plan,) = (
        await json_of(
            await admin.post(PLANS, json={"rule_id": rule["id"], "org_ids": [ids["HB-SJZ-CA"]]}),
            201,
        )
    )["items"]
    before = await tasks_of(admin, f"plan_id={plan['id']}")
    # Monthly from six months back, 当月首巡 by today's creation: this month only.
    assert {t["period_start"] for t in before["items"]} == {str(month_start())}

    # Every two months instead: the open task of this month is reshaped, not duplicated.
    await json_of(await admin.patch(f"{RULES}/{rule['id']}", json={"interval": 2}), 200)
    after = await tasks_of(admin, f"plan_id={plan['id']}")
    assert len(after["items"]) == 2
    for task in after["items"]:
        start = date.fromisoformat(task["period_start"])
        assert date.fromisoformat(task["period_end"]) == add_months(start, 2)

    # Ending the plan yesterday: its open tasks go, the province plan takes over again.
    changed = await json_of(
        await admin.patch(
            f"{PLANS}/{plan['id']}", json={"end_date": str(month_start() - timedelta(days=1))}
        ),
        200,
    )
    assert changed["end_date"] == str(month_start() - timedelta(days=1))
    assert (await tasks_of(admin, f"plan_id={plan['id']}"))["total"] == 0
    ca = await tasks_of(admin, f"org_id={ids['HB-SJZ-CA']}")
    assert {t["plan_name"] for t in ca["items"]} == {"全省支行月度检查"}
    assert ca["total"] == 2


async def test_only_a_change_of_schedule_regenerates_tasks(login_as, settings, monkeypatch):
    """Renaming a plan or changing its executor role leaves its tasks alone (no task
    regeneration in the request); a change of dates or rule regenerates them."""
    runs: list[str | None] = []
    real = plans_service.sync_tasks

    async def counted(session: Any, *, today: date, scope_path: str | None = None) -> Any:
        runs.append(scope_path)
        return await real(session, today=today, scope_path=scope_path)

    monkeypatch.setattr(plans_service, "sync_tasks", counted)
    admin = await login_as("admin")
    plan = await province_plan(admin)

    async def tasks() -> set[tuple[Any, ...]]:
        page = await tasks_of(admin, f"plan_id={plan['id']}")
        return {(t["id"], t["period_start"], t["period_end"], t["state"]) for t in page["items"]}

    before = await tasks()
    assert before
    for change in ({"name": "全省支行月度检查（新）"}, {"executor_role": "reviewer"}):
        changed = await json_of(await admin.patch(f"{PLANS}/{plan['id']}", json=change), 200)
        assert {k: changed[k] for k in change} == change
        assert runs == []
        assert await tasks() == before
    moved = {"start_date": str(month_start(-1))}
    await json_of(await admin.patch(f"{PLANS}/{plan['id']}", json=moved), 200)
    assert len(runs) == 1


async def test_refusals_name_the_field_in_chinese_and_english(login_as, settings):
    ids = await ids_by_code(settings)
    admin = await login_as("sjz_admin")
    bad = await problem(
        await admin.post(RULES, json=rule_form(end_date=str(month_start(-12)))), 422
    )
    assert bad["errors"] == [{"field": "body.end_date", "message": "结束时间不能早于开始时间"}]
    english = await problem(
        await admin.post(RULES + "?lang=en", json=rule_form(exit_interval=0)), 422
    )
    assert english["errors"][0]["field"] == "body.exit_interval"
    assert "frequency must be at least 1" in english["errors"][0]["message"]
    unknown = await problem(await admin.post(RULES, json=rule_form(frequency="week")), 422)
    assert unknown["errors"][0]["field"] == "body.frequency"

    rule = await json_of(await admin.post(RULES, json=rule_form()), 201)
    taken = await problem(await admin.post(RULES, json=rule_form()), 409)
    assert taken["detail"] == "规则名称已存在：支行季度检查"

    outside = await problem(
        await admin.post(PLANS, json={"rule_id": rule["id"], "org_ids": [ids["HB-BD-LC"]]}), 422
    )
    assert outside["errors"] == [
        {"field": "body.org_ids", "message": f"机构 {ids['HB-BD-LC']} 不存在或不在您的辖区内"}
    ]
    body = {"rule_id": rule["id"], "org_ids": [ids["HB-SJZ-CA"]]}
    await json_of(await admin.post(PLANS, json=body), 201)
    overlap = await problem(await admin.post(PLANS, json=body), 409)
    assert overlap["code"] == "plan_overlap"
    assert overlap["detail"].startswith(
        "「长安支行」在此期间已有检查计划「支行季度检查 · 长安支行」"
    )
    assert overlap["detail"].endswith("同一机构的计划时间不能重叠")
    in_use = await problem(await admin.delete(f"{RULES}/{rule['id']}"), 409)
    assert (
        in_use["detail"]
        == "规则「支行季度检查」已被 1 个检查计划使用，不能删除；请先删除或改用其他规则"
    )

    inspector = await login_as("inspector")
    forbidden = await problem(await inspector.post(RULES, json=rule_form(name="x")), 403)
    assert forbidden["detail"] == "无权执行此操作：管理检查计划"


async def test_jurisdiction_isolation(login_as, settings):
    ids = await ids_by_code(settings)
    bd_plan = next(
        p
        for p in (await json_of(await (await login_as("admin")).get(PLANS), 200))["items"]
        if p["name"] == "保定分行季度检查"
    )
    sjz = await login_as("sjz_admin")
    missing = await problem(await sjz.get(f"{PLANS}/{bd_plan['id']}"), 404)
    assert missing["detail"] == f"检查计划不存在：{bd_plan['id']}"
    assert (await sjz.patch(f"{PLANS}/{bd_plan['id']}", json={"name": "x"})).status == 404
    assert (await sjz.get(f"{TASKS}?org_id={ids['HB-BD-LC']}")).status == 404
    sjz_tasks = await tasks_of(sjz)
    assert {t["org_name"] for t in sjz_tasks["items"]} == {"长安支行", "桥西支行"}

    bd_inspector = await login_as("inspector_bd")
    (lc_task,) = (await tasks_of(bd_inspector))["items"]
    assert (await sjz.get(f"{TASKS}/{lc_task['id']}")).status == 404
    inspector = await login_as("inspector")
    assert (await inspector.get(f"{TASKS}/{lc_task['id']}")).status == 404
    assert (await inspector.get(f"{PLANS}/{bd_plan['id']}/progress")).status == 404
    # The province plan is visible below it, but a 支行 sees only its own progress.
    province = await province_plan(inspector)
    progress = await json_of(await inspector.get(f"{PLANS}/{province['id']}/progress"), 200)
    assert [row["org_name"] for row in progress["rows"]] == ["长安支行"]


async def test_managers_assign_and_see_progress(login_as, settings):
    ids = await ids_by_code(settings)
    admin = await login_as("sjz_admin")
    page = await tasks_of(admin, f"org_id={ids['HB-SJZ-CA']}")
    task = next(t for t in page["items"] if t["checkpoint_code"] == "CA-0001")
    url = f"{TASKS}/{task['id']}/assign"

    inspector = await login_as("inspector")
    assert (await inspector.post(url, json={"assignee_user_id": ids["HB-SJZ-CA"]})).status == 403
    users = await json_of(await admin.get("/api/v1/users"), 200)
    user_ids = {u["username"]: u["id"] for u in users}
    wrong_role = await problem(
        await admin.post(url, json={"assignee_user_id": user_ids["reviewer"]}), 422
    )
    assert wrong_role["errors"][0]["message"] == "「王审核」没有此计划要求的角色：客户经理/检查员"
    hb = await login_as("hb_admin")
    all_users = {u["username"]: u["id"] for u in await json_of(await hb.get("/api/v1/users"), 200)}
    elsewhere = await problem(
        await hb.post(url, json={"assignee_user_id": all_users["inspector_bd"]}), 422
    )
    assert (
        elsewhere["errors"][0]["message"] == "「李检查」属于「莲池支行」，看不到「长安支行」的任务"
    )

    assigned = await json_of(
        await admin.post(url, json={"assignee_user_id": user_ids["inspector"]}), 200
    )
    assert assigned["assignee_name"] == "张检查"
    mine = await tasks_of(inspector, "mine=true")
    assert task["id"] in {t["id"] for t in mine["items"]}
    back = await json_of(await admin.post(url, json={"assignee_user_id": None}), 200)
    assert back["assignee_user_id"] is None
    events = await json_of(await admin.get("/api/v1/audit-events?action=task_assigned"), 200)
    assert [e["detail"]["assignee_username"] for e in events] == [None, "inspector"]

    province = await province_plan(admin)
    progress = await json_of(await admin.get(f"{PLANS}/{province['id']}/progress"), 200)
    rows = {r["org_name"]: r for r in progress["rows"]}
    assert set(rows) == {"长安支行", "桥西支行"}
    assert (rows["长安支行"]["pending"], rows["长安支行"]["due"]) == (2, 2)
    assert rows["长安支行"]["completion_rate"] == 0.0
    assert progress["total"]["due"] == 3 and progress["total"]["done"] == 0


async def test_preview_shows_the_tasks_before_saving(login_as, settings):
    ids = await ids_by_code(settings)
    admin = await login_as("sjz_admin")
    preview = await json_of(
        await admin.post(
            f"{PLANS}/preview",
            json={"rule": rule_form(interval=1), "org_ids": [ids["HB-SJZ"]], "months": 3},
        ),
        200,
    )
    assert preview["checkpoints"] == 4  # CA-0001, CA-0002, CA-0003 (exited), QX-0001
    starts = [p["period_start"] for p in preview["periods"]]
    assert starts == [str(month_start(m)) for m in range(3)]
    assert [p["count"] for p in preview["periods"]] == [3, 3, 3]
    assert [p["due_now"] for p in preview["periods"]] == [True, False, False]
    assert preview["total"] == 9 and preview["due_now"] == 3 and preview["overridden"] == 0
    assert {s["checkpoint_code"] for s in preview["sample"]} == {"CA-0001", "CA-0002", "QX-0001"}
    # Nothing was saved.
    assert (await json_of(await admin.get(RULES), 200))[-1]["name"] != "支行季度检查"

    # A 长安支行 plan in force overrides a 石家庄分行 one there.
    rule = await json_of(await admin.post(RULES, json=rule_form()), 201)
    await json_of(
        await admin.post(PLANS, json={"rule_id": rule["id"], "org_ids": [ids["HB-SJZ-CA"]]}), 201
    )
    preview = await json_of(
        await admin.post(
            f"{PLANS}/preview",
            json={"rule_id": rule["id"], "org_ids": [ids["HB-SJZ"]], "months": 1},
        ),
        200,
    )
    assert preview["overridden"] == 2 and preview["total"] == 1
    assert [s["checkpoint_code"] for s in preview["sample"]] == ["QX-0001"]
    both = await problem(
        await admin.post(
            f"{PLANS}/preview",
            json={"rule_id": rule["id"], "rule": rule_form(), "org_ids": [ids["HB-SJZ"]]},
        ),
        422,
    )
    assert both["errors"][0]["field"] == "body.rule_id"


async def test_a_new_sub_branch_gets_its_plan_by_auto_join(login_as, settings):
    ids = await ids_by_code(settings)
    hb = await login_as("hb_admin")
    org = await json_of(
        await hb.post(
            "/api/v1/orgs",
            json={
                "name": "裕华支行",
                "code": "HB-SJZ-YH",
                "kind": "sub_branch",
                "parent_id": ids["HB-SJZ"],
            },
        ),
        201,
    )
    plans = (await json_of(await hb.get(f"{PLANS}?org_id={org['id']}"), 200))["items"]
    assert len(plans) == 1
    (plan,) = plans
    assert plan["auto_created"] is True and plan["rule_name"] == "支行月度检查"
    assert plan["name"] == "支行月度检查 · 裕华支行" and plan["start_date"] == str(today())
    # A branch is not a 支行: no plan.
    branch = await json_of(
        await hb.post(
            "/api/v1/orgs",
            json={"name": "邯郸分行", "code": "HB-HD", "kind": "branch", "parent_id": ids["HB"]},
        ),
        201,
    )
    assert (await json_of(await hb.get(f"{PLANS}?org_id={branch['id']}"), 200))["items"] == []


async def test_the_preview_says_how_many_open_tasks_saving_removes(login_as, settings):
    """#12.6: a plan that replaces tasks says so before saving; started work stays."""
    from sqlalchemy import update

    from inspection_api.db import create_engine, create_sessionmaker
    from inspection_api.plans.models import Task

    ids = await ids_by_code(settings)
    admin = await login_as("sjz_admin")
    rule = await json_of(await admin.post(RULES, json=rule_form()), 201)
    ca = await tasks_of(admin, f"org_id={ids['HB-SJZ-CA']}&open=true")
    assert ca["total"] == 2  # CA-0001 and CA-0002, of the province's monthly plan
    # The inspector has begun CA-0001's task: it is kept whatever the plans become.
    started = next(t for t in ca["items"] if t["checkpoint_code"] == "CA-0001")
    engine = create_engine(settings.database_url)
    async with create_sessionmaker(engine)() as session:
        await session.execute(
            update(Task).where(Task.id == started["id"]).values(started_at=utcnow())
        )
        await session.commit()
    await engine.dispose()

    body = {"rule_id": rule["id"], "org_ids": [ids["HB-SJZ-CA"]], "months": 1}
    preview = await json_of(await admin.post(f"{PLANS}/preview", json=body), 200)
    assert preview["removed"] == 1  # CA-0002's pending task is replaced, CA-0001's stays
    (plan,) = (
        await json_of(
            await admin.post(PLANS, json={"rule_id": rule["id"], "org_ids": [ids["HB-SJZ-CA"]]}),
            201,
        )
    )["items"]
    after = await tasks_of(admin, f"org_id={ids['HB-SJZ-CA']}")
    kept = [t for t in after["items"] if t["id"] == started["id"]]
    assert kept and kept[0]["plan_id"] == started["plan_id"]  # started work is never removed
    fresh = sorted(t["checkpoint_code"] for t in after["items"] if t["plan_id"] == plan["id"])
    assert fresh == ["CA-0001", "CA-0002"]
    assert after["total"] == 3

    # Editing the plan without a change removes nothing (its own tasks stay its own) …
    same = {"rule_id": rule["id"], "org_ids": [ids["HB-SJZ-CA"]], "plan_id": plan["id"]}
    assert (await json_of(await admin.post(f"{PLANS}/preview", json=same), 200))["removed"] == 0
    # … ending it before this month removes its two open tasks (the province plan takes over).
    ended = same | {"end_date": str(month_start() - timedelta(days=1))}
    assert (await json_of(await admin.post(f"{PLANS}/preview", json=ended), 200))["removed"] == 2
