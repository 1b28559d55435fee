"""The permission matrix of docs/permissions.md, role by action, over real HTTP.

Demo bank: 河北省分行 (HB) → 石家庄分行 (HB-SJZ) → 长安支行 (HB-SJZ-CA), 桥西支行;
保定分行 (HB-BD) → 莲池支行 (HB-BD-LC), …  Each demo user holds one role in one org.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from inspection_api.anomalies.models import Anomaly
from inspection_api.auth.models import ApiToken
from inspection_api.checkpoints.checkin import label_url
from inspection_api.checkpoints.models import Checkpoint
from inspection_api.db import create_engine, create_sessionmaker, utcnow
from inspection_api.inspections.models import Inspection, InspectionState
from inspection_api.orgs.models import Org
from inspection_api.plans.generator import local_date
from inspection_api.plans.models import PlanRule, Task
from inspection_api.rectifications.models import Rectification
from inspection_api.tokens import digest, new_token
from inspection_api.users.models import User

_counter = itertools.count()

Action = Callable[[TestClient, dict[str, Any]], Awaitable[Any]]


def _new_code() -> str:
    return f"T{next(_counter)}"


def _next_year_plan(rule_id: int, org_id: int) -> dict[str, Any]:
    # Starting next year, so that it replaces none of today's tasks.
    start = local_date(utcnow()) + timedelta(days=400)
    return {"rule_id": rule_id, "org_ids": [org_id], "start_date": str(start)}


ACTIONS: dict[str, Action] = {
    "read org in 长安支行": lambda c, ids: c.get(f"/api/v1/orgs/{ids['HB-SJZ-CA']}"),
    "read org in 莲池支行": lambda c, ids: c.get(f"/api/v1/orgs/{ids['HB-BD-LC']}"),
    "create org under 长安支行": lambda c, ids: c.post(
        "/api/v1/orgs",
        json={
            "name": "测试网点",
            "code": _new_code(),
            "kind": "sub_branch",
            "parent_id": ids["HB-SJZ-CA"],
        },
    ),
    "create org under 莲池支行": lambda c, ids: c.post(
        "/api/v1/orgs",
        json={
            "name": "测试网点",
            "code": _new_code(),
            "kind": "sub_branch",
            "parent_id": ids["HB-BD-LC"],
        },
    ),
    "rename 莲池支行": lambda c, ids: c.patch(
        f"/api/v1/orgs/{ids['HB-BD-LC']}", json={"name": "莲池支行营业部"}
    ),
    "read user of 莲池支行": lambda c, ids: c.get(f"/api/v1/users/{ids['inspector_bd']}"),
    "create inspector in 长安支行": lambda c, ids: c.post(
        "/api/v1/users",
        json={
            "username": f"u{_new_code()}",
            "display_name": "新员工",
            "password": "Initial-pass-1",
            "org_id": ids["HB-SJZ-CA"],
            "roles": ["inspector"],
        },
    ),
    "create inspector in 莲池支行": lambda c, ids: c.post(
        "/api/v1/users",
        json={
            "username": f"u{_new_code()}",
            "display_name": "新员工",
            "password": "Initial-pass-1",
            "org_id": ids["HB-BD-LC"],
            "roles": ["inspector"],
        },
    ),
    "grant system_admin in 石家庄分行": lambda c, ids: c.post(
        "/api/v1/users",
        json={
            "username": f"u{_new_code()}",
            "display_name": "新管理员",
            "password": "Initial-pass-1",
            "org_id": ids["HB-SJZ"],
            "roles": ["system_admin"],
        },
    ),
    "list tokens of user of 长安支行": lambda c, ids: c.get(
        f"/api/v1/users/{ids['inspector']}/tokens"
    ),
    "list tokens of user of 莲池支行": lambda c, ids: c.get(
        f"/api/v1/users/{ids['inspector_bd']}/tokens"
    ),
    "revoke token of user of 长安支行": lambda c, ids: c.delete(
        f"/api/v1/users/{ids['inspector']}/tokens/{ids['token inspector']}"
    ),
    "revoke token of user of 莲池支行": lambda c, ids: c.delete(
        f"/api/v1/users/{ids['inspector_bd']}/tokens/{ids['token inspector_bd']}"
    ),
    "read audit log": lambda c, ids: c.get("/api/v1/audit-events"),
    "read checkpoint in 长安支行": lambda c, ids: c.get(f"/api/v1/checkpoints/{ids['CA-0001']}"),
    "read checkpoint in 莲池支行": lambda c, ids: c.get(f"/api/v1/checkpoints/{ids['LC-0001']}"),
    "create checkpoint in 长安支行": lambda c, ids: c.post(
        "/api/v1/checkpoints",
        json={
            "org_id": ids["HB-SJZ-CA"],
            "name": "测试厂区",
            "code": _new_code(),
            "customer_name": "测试企业",
        },
    ),
    "mark exit in 莲池支行": lambda c, ids: c.post(
        f"/api/v1/checkpoints/{ids['LC-0001']}/exit",
        json={"reason": "settled", "date": "2026-11-29"},
    ),
    "reset GPS in 长安支行": lambda c, ids: c.post(
        f"/api/v1/checkpoints/{ids['CA-0001']}/reset-position"
    ),
    "check in at 长安支行": lambda c, ids: c.post(
        "/api/v1/checkpoints/check-in",
        json={
            "qr": ids["label CA-0002"],
            "fix": {
                "latitude": 38.0441,
                "longitude": 114.5302,
                "accuracy": 10,
                "captured_at": utcnow().isoformat(),
            },
        },
    ),
    "create plan for 长安支行": lambda c, ids: c.post(
        "/api/v1/plans", json=_next_year_plan(ids["rule 支行月度检查"], ids["HB-SJZ-CA"])
    ),
    "create plan for 莲池支行": lambda c, ids: c.post(
        "/api/v1/plans", json=_next_year_plan(ids["rule 支行月度检查"], ids["HB-BD-LC"])
    ),
    "list tasks of 莲池支行": lambda c, ids: c.get(f"/api/v1/tasks?org_id={ids['HB-BD-LC']}"),
    "assign task in 长安支行": lambda c, ids: c.post(
        f"/api/v1/tasks/{ids['task CA-0001']}/assign",
        json={"assignee_user_id": ids["inspector"]},
    ),
    "list inspections": lambda c, ids: c.get("/api/v1/inspections"),
    "read inspection in 长安支行": lambda c, ids: c.get(
        f"/api/v1/inspections/{ids['inspection CA']}"
    ),
    "read inspection in 莲池支行": lambda c, ids: c.get(
        f"/api/v1/inspections/{ids['inspection LC']}"
    ),
    "start on-site at 长安支行": lambda c, ids: c.post(
        "/api/v1/inspections/on-site",
        json={
            "qr": ids["label CA-0001"],
            "fix": {
                "latitude": 38.0503,
                "longitude": 114.5219,
                "accuracy": 10,
                "captured_at": utcnow().isoformat(),
            },
        },
    ),
    "approve inspection in 长安支行": lambda c, ids: c.post(
        f"/api/v1/inspections/{ids['inspection CA']}/approve", json={}
    ),
    "read anomaly in 长安支行": lambda c, ids: c.get(f"/api/v1/anomalies/{ids['anomaly CA-0002']}"),
    "read anomaly in 莲池支行": lambda c, ids: c.get(f"/api/v1/anomalies/{ids['anomaly LC-0001']}"),
    "acknowledge anomaly in 长安支行": lambda c, ids: c.post(
        f"/api/v1/anomalies/{ids['anomaly CA-0002']}/acknowledge", json={}
    ),
    "resolve anomaly in 莲池支行": lambda c, ids: c.post(
        f"/api/v1/anomalies/{ids['anomaly LC-0001']}/resolve", json={"resolution": "已核实"}
    ),
    "issue rectification in 长安支行": lambda c, ids: c.post(
        "/api/v1/rectifications",
        json={
            "checkpoint_id": ids["CA-0001"],
            "text": "请补充水电费凭证",
            "due_date": (utcnow() + timedelta(days=3)).date().isoformat(),
        },
    ),
    "read rectification in 莲池支行": lambda c, ids: c.get(
        f"/api/v1/rectifications/{ids['rectification LC-0001']}"
    ),
    "supervise 长安支行": lambda c, ids: c.get(
        f"/api/v1/supervision/completion?org_id={ids['HB-SJZ-CA']}"
    ),
    "supervise 莲池支行": lambda c, ids: c.get(
        f"/api/v1/supervision/completion?org_id={ids['HB-BD-LC']}"
    ),
    "supervision landing of 莲池支行": lambda c, ids: c.get(
        f"/api/v1/supervision/overview?org_id={ids['HB-BD-LC']}"
    ),
    "export details of 莲池支行": lambda c, ids: c.get(
        f"/api/v1/supervision/export?table=details&org_id={ids['HB-BD-LC']}"
    ),
    # briefing sheets (明白纸)
    "print sheet in 长安支行": lambda c, ids: c.post(
        f"/api/v1/inspections/{ids['inspection CA']}/sheet/print"
    ),
    "write supervisor opinion in 长安支行": lambda c, ids: c.post(
        f"/api/v1/inspections/{ids['inspection CA']}/supervisor-opinions", json={"text": "同意"}
    ),
    "read unlock report": lambda c, ids: c.get("/api/v1/sheet-unlock-report"),
    "approve unlock in 长安支行": lambda c, ids: c.post(
        f"/api/v1/sheet-unlock-requests/{ids['unlock CA']}/approve", json={}
    ),
}

# Expected status per action, for the users of USERS in that order. 404 outside the
# jurisdiction: a user never learns that another sub-branch's record exists; 422 names the
# out-of-reach field.
USERS = ("admin", "hb_admin", "sjz_admin", "reviewer", "handler", "inspector", "inspector_bd")
EXPECTED: dict[str, tuple[int, ...]] = {
    # orgs, users, system settings, audit, checkpoints
    "read org in 长安支行": (200, 200, 200, 200, 200, 200, 404),
    "read org in 莲池支行": (200, 200, 404, 404, 404, 404, 200),
    "create org under 长安支行": (201, 201, 201, 403, 403, 403, 403),
    "create org under 莲池支行": (201, 201, 422, 403, 403, 403, 403),
    "rename 莲池支行": (200, 200, 404, 403, 403, 403, 403),
    "read user of 莲池支行": (200, 200, 404, 404, 404, 404, 200),
    "create inspector in 长安支行": (201, 201, 201, 403, 403, 403, 403),
    "create inspector in 莲池支行": (201, 201, 422, 403, 403, 403, 403),
    "grant system_admin in 石家庄分行": (201, 403, 403, 403, 403, 403, 403),
    "list tokens of user of 长安支行": (200, 200, 200, 403, 403, 403, 403),
    "list tokens of user of 莲池支行": (200, 200, 404, 403, 403, 403, 403),
    "revoke token of user of 长安支行": (204, 204, 204, 403, 403, 403, 403),
    "revoke token of user of 莲池支行": (204, 204, 404, 403, 403, 403, 403),
    "read audit log": (200, 200, 200, 200, 403, 403, 403),
    "read checkpoint in 长安支行": (200, 200, 200, 200, 200, 200, 404),
    "read checkpoint in 莲池支行": (200, 200, 404, 404, 404, 404, 200),
    "create checkpoint in 长安支行": (201, 201, 201, 403, 403, 403, 403),
    "mark exit in 莲池支行": (200, 200, 404, 403, 403, 403, 403),
    "reset GPS in 长安支行": (200, 200, 200, 403, 403, 403, 403),
    "check in at 长安支行": (200, 200, 200, 403, 403, 200, 404),
    # plans and tasks
    "create plan for 长安支行": (201, 201, 201, 403, 403, 403, 403),
    "create plan for 莲池支行": (201, 201, 422, 403, 403, 403, 403),
    "list tasks of 莲池支行": (200, 200, 404, 404, 404, 404, 200),
    "assign task in 长安支行": (200, 200, 200, 403, 403, 403, 403),
    # inspections
    "list inspections": (200, 200, 200, 200, 200, 200, 200),
    "read inspection in 长安支行": (200, 200, 200, 200, 200, 200, 404),
    "read inspection in 莲池支行": (200, 200, 404, 404, 404, 404, 200),
    "start on-site at 长安支行": (201, 201, 201, 403, 403, 201, 404),
    "approve inspection in 长安支行": (200, 200, 200, 200, 403, 403, 403),
    # anomalies and rectifications
    "read anomaly in 长安支行": (200, 200, 200, 200, 200, 200, 404),
    "read anomaly in 莲池支行": (200, 200, 404, 404, 404, 404, 200),
    "acknowledge anomaly in 长安支行": (200, 200, 200, 403, 200, 403, 403),
    "resolve anomaly in 莲池支行": (200, 200, 404, 403, 404, 403, 403),
    "issue rectification in 长安支行": (201, 201, 201, 403, 403, 201, 422),
    "read rectification in 莲池支行": (200, 200, 404, 404, 404, 404, 200),
    # supervision (实时监管): managers only, in their jurisdiction
    "supervise 长安支行": (200, 200, 200, 200, 403, 403, 403),
    "supervise 莲池支行": (200, 200, 404, 404, 403, 403, 403),
    "supervision landing of 莲池支行": (200, 200, 404, 404, 403, 403, 403),
    "export details of 莲池支行": (200, 200, 404, 404, 403, 403, 403),
    # briefing sheets: 长安支行's unlocks are decided at 石家庄分行 (one level up) or above
    "print sheet in 长安支行": (200, 200, 200, 200, 403, 200, 404),
    "write supervisor opinion in 长安支行": (201, 201, 201, 201, 403, 403, 403),
    "read unlock report": (200, 200, 200, 403, 403, 403, 403),
    "approve unlock in 长安支行": (200, 200, 200, 403, 403, 403, 403),
}  # fmt: skip

VISIBLE_ORGS = {
    "admin": 9,
    "hb_admin": 9,
    "sjz_admin": 3,
    "reviewer": 3,
    "handler": 3,
    "inspector": 1,
    "inspector_bd": 1,
}


async def _ids(settings) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Ids of orgs and checkpoints by code, of users by name, "token USERNAME" (one made
    here), "label CODE": the URL a
    checkpoint's QR label carries, "rule NAME" and "task CODE" (a checkpoint's task), and
    "anomaly CODE" / "rectification CODE": the demo's."""
    engine = create_engine(settings.database_url)
    async with create_sessionmaker(engine)() as session:
        ids: dict[str, Any] = dict((await session.execute(select(Org.code, Org.id))).all())
        ids.update(dict((await session.execute(select(User.username, User.id))).all()))
        codes: dict[int, str] = {}
        for checkpoint in (await session.scalars(select(Checkpoint))).all():
            ids[checkpoint.code] = checkpoint.id
            ids[f"label {checkpoint.code}"] = label_url(settings, checkpoint)
            codes[checkpoint.id] = checkpoint.code
        for name, rule_id in (await session.execute(select(PlanRule.name, PlanRule.id))).all():
            ids[f"rule {name}"] = rule_id
        tasks = select(Checkpoint.code, Task.id).join(Task, Task.checkpoint_id == Checkpoint.id)
        for code, task_id in (await session.execute(tasks)).all():
            ids[f"task {code}"] = task_id
        # The demo's anomalies and rectification, by checkpoint code (the first of each).
        for anomaly in (await session.scalars(select(Anomaly).order_by(Anomaly.id))).all():
            ids.setdefault(f"anomaly {codes[anomaly.checkpoint_id]}", anomaly.id)
        for rectification in (await session.scalars(select(Rectification))).all():
            ids.setdefault(f"rectification {codes[rectification.checkpoint_id]}", rectification.id)
        # "token USERNAME": an API token of that user, for its administrators to revoke.
        for username in ("inspector", "inspector_bd"):
            token = ApiToken(
                token_hash=digest(new_token()),
                user_id=ids[username],
                name="矩阵测试",
                expires_at=utcnow() + timedelta(days=1),
            )
            session.add(token)
            await session.flush()
            ids[f"token {username}"] = token.id
        await session.commit()
    await engine.dispose()
    return ids


async def _inspections(settings, login_as, ids: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    """ "inspection CA": the demo inspection of 长安支行 waiting for review; "inspection LC":
    one 李检查 starts at 莲池汽配城 (the scan binds its position)."""
    engine = create_engine(settings.database_url)
    async with create_sessionmaker(engine)() as session:
        ids["inspection CA"] = await session.scalar(
            select(Inspection.id).where(Inspection.state == InspectionState.SUBMITTED)
        )
    await engine.dispose()
    inspector_bd = await login_as("inspector_bd")
    fix = {"latitude": 38.87, "longitude": 115.47, "accuracy": 10}
    started = await inspector_bd.post(
        "/api/v1/inspections/on-site",
        json={"qr": ids["label LC-0001"], "fix": {**fix, "captured_at": utcnow().isoformat()}},
    )
    assert started.status == 201, await started.text()
    ids["inspection LC"] = (await started.json())["inspection"]["id"]
    # "unlock CA": 张检查 asks to unlock the demo's month-old 长安支行 inspection, whose sheet
    # was never printed (locked).
    engine = create_engine(settings.database_url)
    async with create_sessionmaker(engine)() as session:
        old = await session.scalar(
            select(Inspection.id).where(Inspection.state == InspectionState.APPROVED)
        )
    await engine.dispose()
    inspector = await login_as("inspector")
    asked = await inspector.post(
        f"/api/v1/inspections/{old}/sheet/unlock-requests", json={"reason": "补打"}
    )
    assert asked.status == 201, await asked.text()
    ids["unlock CA"] = (await asked.json())["id"]


def test_every_action_has_its_expected_statuses():
    assert list(EXPECTED) == list(ACTIONS)
    assert all(len(row) == len(USERS) for row in EXPECTED.values())


@pytest.mark.parametrize("username", USERS)
async def test_permission_matrix(username, settings, login_as):
    user = await login_as(username)
    ids = await _ids(settings)
    await _inspections(settings, login_as, ids)
    got = {}
    for name, action in ACTIONS.items():
        response = await action(user, ids)
        got[name] = response.status
        if response.status >= 400:
            assert response.content_type == "application/problem+json"
    column = USERS.index(username)
    assert got == {name: row[column] for name, row in EXPECTED.items()}


@pytest.mark.parametrize("username", list(VISIBLE_ORGS))
async def test_lists_only_show_the_jurisdiction(username, login_as):
    user = await login_as(username)
    own_path = (await (await user.get("/api/v1/auth/me")).json())["org"]["path"]
    orgs = await (await user.get("/api/v1/orgs")).json()
    assert len(orgs) == VISIBLE_ORGS[username]
    assert all(o["path"].startswith(own_path) for o in orgs)
    users = await (await user.get("/api/v1/users")).json()
    assert username in {u["username"] for u in users}
    visible = {o["id"] for o in orgs}
    assert all(u["org_id"] in visible for u in users)


async def test_sub_branch_user_cannot_see_or_touch_a_sibling_sub_branch(settings, login_as):
    ids = await _ids(settings)
    inspector = await login_as("inspector")  # 长安支行
    sibling = ids["HB-SJZ-QX"]  # 桥西支行, same parent
    assert (await inspector.get(f"/api/v1/orgs/{sibling}")).status == 404
    assert (await inspector.get(f"/api/v1/users?org_id={sibling}")).status == 404
    patch = await inspector.patch(f"/api/v1/orgs/{sibling}", json={"name": "改名"})
    assert patch.status == 403
    assert "桥西支行" not in await (await inspector.get("/api/v1/orgs")).text()


async def test_admins_cannot_escalate_or_lock_themselves_out(settings, login_as):
    ids = await _ids(settings)
    sjz_admin = await login_as("sjz_admin")
    own = await sjz_admin.patch(
        f"/api/v1/users/{ids['sjz_admin']}", json={"roles": ["system_admin"]}
    )
    assert own.status == 403
    hb_admin = await login_as("hb_admin")
    touch_admin = await hb_admin.patch(f"/api/v1/users/{ids['admin']}", json={"display_name": "x"})
    assert touch_admin.status == 403  # an org admin cannot edit a system administrator
