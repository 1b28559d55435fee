"""Checklist templates (检查模板) over real HTTP and the service inspections call, on SQLite and
on PostgreSQL.

Demo bank: 河北省分行 (HB: admin, hb_admin) → 石家庄分行 (HB-SJZ: sjz_admin, reviewer, handler)
→ 长安支行 (HB-SJZ-CA: inspector); 保定分行 → 莲池支行 (HB-BD-LC: inspector_bd).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inspection_api.auth.principal import Principal
from inspection_api.checklists import service
from inspection_api.checklists.defaults import DEFAULT_TEMPLATE_CODE, DEFAULT_TEMPLATE_NAME
from inspection_api.checklists.models import ChecklistTemplate
from inspection_api.checklists.rules import anomalies, validate_answers
from inspection_api.checklists.seed import ensure_default_templates, seed_default_templates
from inspection_api.db import create_engine, create_sessionmaker
from inspection_api.errors import NotFound, TemplateStateConflict
from inspection_api.orgs.models import Org
from inspection_api.orgs.service import create_root
from inspection_api.users.models import User
from loancheck.app import create_app
from tests.plugins.api import json_of

Db = async_sessionmaker[AsyncSession]
TEMPLATES = "/api/v1/checklist-templates"

CONCLUSION = {"key": "conclusion", "label": "检查初步结论", "type": "conclusion"}
SITE = {
    "title": "现场核查",
    "items": [
        {
            "key": "stock_ok",
            "label": "库存是否与账面相符",
            "type": "yes_no",
            "required_action": "盘点主要原材料和产成品库存",
            "evidence": {"photo": 2, "video": 1},
            "anomaly_rule": {
                "op": "equals",
                "value": False,
                "label": "库存与账面不符",
                "severity": "high",
            },
        },
    ],
}


@pytest.fixture
async def db(settings, demo_passwords) -> AsyncIterator[Db]:
    engine = create_engine(settings.database_url)
    yield create_sessionmaker(engine)
    await engine.dispose()


async def principal(db: Db, username: str) -> Principal:
    async with db() as session:
        user, org = (
            await session.execute(
                select(User, Org).join(Org, User.org_id == Org.id).where(User.username == username)
            )
        ).one()
        return Principal(
            user_id=user.id, username=username, org_id=org.id, org_path=org.path, roles=user.roles
        )


async def default_template(user: TestClient) -> dict[str, Any]:
    listed = await json_of(await user.get(TEMPLATES), 200)
    return next(t for t in listed if t["code"] == DEFAULT_TEMPLATE_CODE)


async def create(user: TestClient, **body: Any) -> dict[str, Any]:
    return await json_of(await user.post(TEMPLATES, json={"name": "库存核查", **body}), 201)


# ---- the default template ----


async def test_every_province_has_the_published_default_template(login_as, db):
    inspector = await login_as("inspector")  # 长安支行 sees the province's template
    template = await default_template(inspector)
    assert template["name"] == DEFAULT_TEMPLATE_NAME
    assert template["org_name"] == "中国银行河北省分行"
    assert (template["status"], template["can_manage"], template["draft"]) == (
        "active",
        False,
        None,
    )
    assert template["published"]["number"] == 1
    version = await json_of(await inspector.get(f"{TEMPLATES}/{template['id']}/versions/1"), 200)
    assert version["status"] == "published" and version["template_name"] == DEFAULT_TEMPLATE_NAME
    # 7 sections before 上级管理条线意见 became the managers' own record (docs/sheets.md)
    assert len(version["sections"]) == 6 and version["sections"][0]["title"] == "企业运营状况"
    utilities = version["sections"][0]["items"][1]
    assert utilities["key"] == "utilities" and utilities["evidence"]["photo"] == 1

    async with db() as session:  # seeding again changes nothing
        assert await ensure_default_templates(session) == []
        await session.commit()
        count = await session.scalar(select(func.count()).select_from(ChecklistTemplate))
        assert count == 1


async def test_the_app_seeds_a_province_created_after_migrate(settings, aiohttp_client, db):
    async with db() as session:
        await create_root(session, name="中国银行山西省分行", code="SX")
        await session.commit()
    await aiohttp_client(create_app(settings))  # the start seeds it
    async with db() as session:
        rows = (
            await session.execute(
                select(Org.code, ChecklistTemplate.name)
                .join(ChecklistTemplate, ChecklistTemplate.org_id == Org.id)
                .order_by(Org.code)
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        ("HB", DEFAULT_TEMPLATE_NAME),
        ("SX", DEFAULT_TEMPLATE_NAME),
    ]


async def test_a_database_down_at_start_does_not_stop_the_start(tmp_path):
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'loancheck.db'}")
    try:
        assert await seed_default_templates(create_sessionmaker(engine)) == 0
    finally:
        await engine.dispose()


# ---- the lifecycle ----


async def test_draft_publish_edit_publish_archive(login_as, db):
    admin = await login_as("hb_admin")
    created = await create(admin, description="制造业企业库存")
    tid = created["id"]
    assert created["draft"]["number"] == 1 and created["published"] is None
    assert [v["status"] for v in created["versions"]] == ["draft"]
    first = await json_of(await admin.get(f"{TEMPLATES}/{tid}/versions/1"), 200)
    assert [i["key"] for s in first["sections"] for i in s["items"]] == ["conclusion"]

    url = f"{TEMPLATES}/{tid}/draft"
    body = {"sections": [SITE, {"title": "结论", "items": [CONCLUSION]}]}
    saved = await json_of(await admin.put(url, json={**body, "revision": 1}), 200)
    assert (saved["number"], saved["status"], saved["revision"]) == (1, "draft", 2)
    stale = await json_of(await admin.put(url, json={**body, "revision": 1}), 409)
    assert stale["code"] == "draft_changed"
    assert stale["detail"] == "草稿已被他人修改（当前为第 2 次修订），请重新加载后再修改"
    blind = await json_of(await admin.put(url, json=body), 409)
    assert blind["detail"] == "检查模板已有草稿（第 1 版），不能不带修订号保存"

    published = await json_of(
        await admin.post(f"{TEMPLATES}/{tid}/publish", json={"revision": 2}), 200
    )
    assert published["status"] == "published" and published["published_at"] is not None
    item = published["sections"][0]["items"][0]
    assert item["required_action"] == "盘点主要原材料和产成品库存"
    assert item["anomaly_rule"]["label"] == "库存与账面不符"
    again = await json_of(await admin.post(f"{TEMPLATES}/{tid}/publish", json={}), 409)
    assert again["detail"] == "检查模板没有草稿（可能已被发布或放弃），不能发布"

    # Editing the published template opens version 2; version 1 never changes.
    changed = {
        "sections": [
            {**SITE, "title": "现场核查（修订）"},
            {"title": "结论", "items": [CONCLUSION]},
        ]
    }
    second = await json_of(await admin.put(url, json=changed), 200)
    assert (second["number"], second["status"], second["revision"]) == (2, "draft", 1)
    v1 = await json_of(await admin.get(f"{TEMPLATES}/{tid}/versions/1"), 200)
    assert v1 == published
    detail = await json_of(await admin.get(f"{TEMPLATES}/{tid}"), 200)
    assert [(v["number"], v["status"]) for v in detail["versions"]] == [
        (1, "published"),
        (2, "draft"),
    ]
    assert (detail["published"]["number"], detail["draft"]["number"]) == (1, 2)

    async with db() as session:  # what an inspection keeps and starts with
        staff = await principal(db, "inspector")
        current = await service.current_version(session, staff, tid)
        assert current.model_dump(mode="json") == published
        kept = await service.get_version(session, published["id"])
        assert kept == current
        answers = {"stock_ok": False, "conclusion": "watch"}
        assert validate_answers(kept, answers) == []
        assert [a.indicator for a in anomalies(kept, answers)] == ["库存与账面不符"]

    await json_of(await admin.post(f"{TEMPLATES}/{tid}/publish", json={"revision": 1}), 200)
    archived = await json_of(await admin.post(f"{TEMPLATES}/{tid}/archive"), 200)
    assert archived["status"] == "archived" and archived["published"]["number"] == 2
    assert (await admin.post(f"{TEMPLATES}/{tid}/archive")).status == 200  # harmless twice
    refused = await json_of(await admin.put(url, json=changed), 409)
    assert refused["detail"] == "检查模板已归档，不能修改"
    assert tid not in [t["id"] for t in await json_of(await admin.get(TEMPLATES), 200)]
    with_archived = await json_of(await admin.get(f"{TEMPLATES}?include_archived=true"), 200)
    assert tid in [t["id"] for t in with_archived]
    async with db() as session:
        with pytest.raises(TemplateStateConflict):
            await service.current_version(session, staff, tid)
        assert (await service.get_version(session, published["id"])).number == 1  # still kept
        with pytest.raises(NotFound):
            await service.get_version(session, 999_999)

    events = await json_of(await admin.get("/api/v1/audit-events"), 200)
    mine = [
        (e["action"], e["detail"].get("number"))
        for e in events
        if e["action"].startswith("checklist_") and e["detail"]["template_id"] == tid
    ]
    assert mine == [
        ("checklist_template_archived", None),
        ("checklist_version_published", 2),
        ("checklist_version_published", 1),
        ("checklist_template_created", None),
    ]


async def test_form_errors_name_the_path_in_chinese_and_english(login_as):
    admin = await login_as("hb_admin")
    tid = (await create(admin))["id"]
    bad_rule = {
        "key": "status",
        "label": "经营状况",
        "type": "single_choice",
        "choices": ["正常", "异常"],
        "anomaly_rule": {"op": "one_of", "values": ["停产"], "label": "停产"},
    }
    body = {"sections": [{"title": "运营", "items": [SITE["items"][0], bad_rule]}], "revision": 1}
    response = await admin.put(f"{TEMPLATES}/{tid}/draft", json=body)
    problem = await json_of(response, 422)
    assert problem["errors"] == [
        {
            "field": "body.sections.0.items.1.anomaly_rule.values.0",
            "message": "「停产」不是此检查项的选项",
        }
    ]
    english = await admin.put(f"{TEMPLATES}/{tid}/draft?lang=en", json=body)
    assert (await json_of(english, 422))["errors"][0]["message"] == (
        '"停产" is not a choice of this item'
    )
    shape = {
        **body,
        "sections": [{"title": "运营", "items": [{**bad_rule, "evidence": {"photo": 99}}]}],
    }
    too_many = await json_of(await admin.put(f"{TEMPLATES}/{tid}/draft", json=shape), 422)
    assert too_many["errors"] == [
        {"field": "body.sections.0.items.0.evidence.photo", "message": "照片张数：应不大于 20"}
    ]

    # A draft may lack its conclusion; publishing names what is missing.
    body = {"sections": [SITE], "revision": 1}
    assert (await admin.put(f"{TEMPLATES}/{tid}/draft", json=body)).status == 200
    incomplete = await json_of(await admin.post(f"{TEMPLATES}/{tid}/publish", json={}), 422)
    assert incomplete["errors"] == [
        {"field": "draft.sections", "message": "缺少初步结论检查项（每个模板须有且只有一个）"}
    ]
    draft = await json_of(await admin.get(f"{TEMPLATES}/{tid}/versions/1"), 200)
    assert draft["revision"] == 2 and draft["sections"][0]["title"] == "现场核查"  # kept

    assert (await admin.delete(f"{TEMPLATES}/{tid}/draft")).status == 204
    detail = await json_of(await admin.get(f"{TEMPLATES}/{tid}"), 200)
    assert detail["versions"] == [] and detail["draft"] is None
    gone = await json_of(await admin.get(f"{TEMPLATES}/{tid}/versions/1"), 404)
    assert gone["detail"] == f"检查模板版本不存在：{tid}/1"


# ---- who may do what ----

# Per user: templates listed (the province's default and 石家庄分行's), read the 石家庄 one,
# create one in their own org, save a draft of the province's, save a draft of 石家庄's.
CHECKLIST_MATRIX: dict[str, tuple[int, int, int, int, int]] = {
    "admin": (2, 200, 201, 200, 200),
    "hb_admin": (2, 200, 201, 200, 200),
    "sjz_admin": (2, 200, 201, 403, 200),
    "reviewer": (2, 200, 403, 403, 403),
    "handler": (2, 200, 403, 403, 403),
    "inspector": (2, 200, 403, 403, 403),
    "inspector_bd": (1, 404, 403, 403, 403),
}


@pytest.mark.parametrize("username", list(CHECKLIST_MATRIX))
async def test_checklist_permission_matrix(username, login_as):
    sjz_admin = await login_as("sjz_admin")
    sjz = await create(sjz_admin, name="石家庄分行补充检查")
    province = await default_template(sjz_admin)
    user = await login_as(username)
    listed = await json_of(await user.get(TEMPLATES), 200)

    async def save(template_id: int) -> int:
        body = {"sections": [SITE, {"title": "结论", "items": [CONCLUSION]}]}
        detail = await user.get(f"{TEMPLATES}/{template_id}")
        draft = (await detail.json()).get("draft") if detail.status == 200 else None
        revision = {"revision": draft["revision"]} if draft else {}
        return (
            await user.put(f"{TEMPLATES}/{template_id}/draft", json={**body, **revision})
        ).status

    got = (
        len(listed),
        (await user.get(f"{TEMPLATES}/{sjz['id']}")).status,
        (await user.post(TEMPLATES, json={"name": "新模板"})).status,
        await save(province["id"]),
        await save(sjz["id"]),
    )
    assert got == CHECKLIST_MATRIX[username]
    manages = {t["name"]: t["can_manage"] for t in listed}
    assert manages.get(DEFAULT_TEMPLATE_NAME) == (username in ("admin", "hb_admin"))


async def test_higher_templates_are_read_only_and_others_branches_invisible(login_as, db):
    sjz_admin = await login_as("sjz_admin")
    province = await default_template(sjz_admin)
    refused = await sjz_admin.post(f"{TEMPLATES}/{province['id']}/archive")
    assert (await json_of(refused, 403))["detail"] == "无权执行此操作：修改上级机构的检查模板"
    renamed = await sjz_admin.patch(f"{TEMPLATES}/{province['id']}", json={"name": "改名"})
    assert renamed.status == 403

    lc = await principal(db, "inspector_bd")
    bd_template = await create(sjz_admin, name="石家庄专用")
    outsider = await login_as("inspector_bd")
    for url in (f"{TEMPLATES}/{bd_template['id']}", f"{TEMPLATES}/{bd_template['id']}/versions/1"):
        assert (await json_of(await outsider.get(url), 404))["detail"] == (
            f"检查模板不存在：{bd_template['id']}"
        )
    async with db() as session:
        with pytest.raises(NotFound):
            await service.current_version(session, lc, bd_template["id"])

    inspector = await login_as("inspector")
    forbidden = await inspector.post(TEMPLATES, json={"name": "x"})
    assert (await json_of(forbidden, 403))["detail"] == "无权执行此操作：管理检查模板"
    elsewhere = await sjz_admin.post(TEMPLATES, json={"name": "x", "org_id": lc.org_id})
    assert (await json_of(elsewhere, 422))["errors"][0]["field"] == "body.org_id"
    hb_admin = await login_as("hb_admin")
    renamed = await json_of(
        await hb_admin.patch(f"{TEMPLATES}/{bd_template['id']}", json={"name": "石家庄分行专用"}),
        200,
    )
    assert renamed["name"] == "石家庄分行专用" and renamed["org_name"] == "石家庄分行"
