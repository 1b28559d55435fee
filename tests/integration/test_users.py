"""Editing users (both backends): what ends a user's sessions and revokes their API tokens,
an administrator's view of a user's tokens, and the changes nobody makes to themselves.

Demo bank: ``admin`` (系统管理员) and ``hb_admin`` at 河北省分行, ``sjz_admin`` at 石家庄分行,
``inspector`` at 长安支行 (under 石家庄分行), ``inspector_bd`` at 莲池支行 (保定分行).
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from inspection_api.db import create_engine, create_sessionmaker
from inspection_api.orgs.models import Org
from inspection_api.users.models import User
from tests.integration.test_auth import TOKENS, bearer_status
from tests.plugins.api import json_of


async def ids_of(settings) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Org ids by code, user ids by username."""
    engine = create_engine(settings.database_url)
    async with create_sessionmaker(engine)() as session:
        ids: dict[str, int] = dict((await session.execute(select(Org.code, Org.id))).all())
        ids.update(dict((await session.execute(select(User.username, User.id))).all()))
    await engine.dispose()
    return ids


async def token_of(user: TestClient, password: str, name: str = "脚本") -> dict[str, Any]:
    body = {"name": name, "password": password}
    return dict(await json_of(await user.post(TOKENS, json=body), 201))


@pytest.mark.parametrize(
    "change",
    [
        {"password": "Reset-by-admin-9"},
        {"roles": ["reviewer"]},
        {"roles": ["inspector", "reviewer"]},  # even a role added: granted at a new login
        {"org_id": "HB-SJZ-QX"},  # moved to 桥西支行
        {"is_active": False},
    ],
    ids=["password-reset", "role-removed", "role-added", "org-moved", "deactivated"],
)
async def test_an_administrators_change_ends_sessions_and_revokes_tokens(
    client, login_as, demo_passwords, settings, change
):
    ids = await ids_of(settings)
    inspector = await login_as("inspector")
    token = await token_of(inspector, demo_passwords["inspector"])
    assert await bearer_status(client, token["token"]) == 200
    admin = await login_as("sjz_admin")
    body = {k: ids[v] if k == "org_id" else v for k, v in change.items()}
    await json_of(await admin.patch(f"/api/v1/users/{ids['inspector']}", json=body), 200)
    assert (await inspector.get("/api/v1/auth/me")).status == 401
    assert await bearer_status(client, token["token"]) == 401
    if change == {"is_active": False}:  # reactivating brings neither back
        reactivate = {"is_active": True}
        await json_of(await admin.patch(f"/api/v1/users/{ids['inspector']}", json=reactivate), 200)
        assert (await inspector.get("/api/v1/auth/me")).status == 401
        assert await bearer_status(client, token["token"]) == 401
    events = await json_of(await admin.get("/api/v1/audit-events"), 200)
    key = "password" if "password" in change else next(iter(change))
    updated = [
        e["detail"]["changes"]
        for e in events
        if e["action"] == "user_updated" and key in e["detail"]["changes"]
    ]
    assert updated[-1]["tokens_revoked"] == 1, updated  # the first such change


@pytest.mark.parametrize(
    "change",
    [
        {"display_name": "张检查（长安）"},
        {"roles": ["inspector"]},  # the roles it has: no change
        {"org_id": "HB-SJZ-CA"},  # the org it is in: no move
        {"is_active": True},
    ],
    ids=["display-name", "same-roles", "same-org", "already-active"],
)
async def test_edits_that_change_no_right_keep_sessions_and_tokens(
    client, login_as, demo_passwords, settings, change
):
    ids = await ids_of(settings)
    inspector = await login_as("inspector")
    token = await token_of(inspector, demo_passwords["inspector"])
    admin = await login_as("sjz_admin")
    body = {k: ids[v] if k == "org_id" else v for k, v in change.items()}
    await json_of(await admin.patch(f"/api/v1/users/{ids['inspector']}", json=body), 200)
    assert (await inspector.get("/api/v1/auth/me")).status == 200
    assert await bearer_status(client, token["token"]) == 200


MOVE = "不能修改自己的所属机构，请由其他管理员操作"
REGRANT = "不能修改自己的角色，请由其他管理员操作"
DEACTIVATE = "不能修改自己的启用状态，请由其他管理员操作"


@pytest.mark.parametrize(
    ("username", "change", "field", "message"),
    [
        ("sjz_admin", {"org_id": "HB-SJZ-CA"}, "body.org_id", MOVE),
        ("admin", {"org_id": "HB-SJZ-CA"}, "body.org_id", MOVE),
        ("hb_admin", {"roles": ["inspector"]}, "body.roles", REGRANT),
        ("admin", {"roles": ["org_admin"]}, "body.roles", REGRANT),
        ("sjz_admin", {"is_active": False}, "body.is_active", DEACTIVATE),
        ("admin", {"password": "Reset-myself-42"}, "body.password",
         "不能修改自己的密码，请在「修改密码」中输入当前密码后修改"),
    ],
    ids=["org-admin-moves-down", "system-admin-moves-down", "drops-role", "system-admin-role",
         "deactivates", "resets-own-password"],
)  # fmt: skip
async def test_nobody_moves_or_regrants_themselves(
    login_as, settings, username, change, field, message
):
    ids = await ids_of(settings)
    me = await login_as(username)
    body = {k: ids[v] if k == "org_id" else v for k, v in change.items()}
    response = await me.patch(f"/api/v1/users/{ids[username]}", json=body)
    problem = await json_of(response, 403)
    assert response.content_type == "application/problem+json"
    assert problem["code"] == "self_change_forbidden"
    assert problem["detail"] == message
    assert problem["errors"] == [{"field": field, "message": problem["detail"]}]
    english = await me.patch(
        f"/api/v1/users/{ids[username]}", json=body, headers={"Accept-Language": "en"}
    )
    assert (await json_of(english, 403))["detail"].startswith("You cannot change your own ")
    # Nothing changed, and the session goes on.
    own = await json_of(await me.get("/api/v1/auth/me"), 200)
    assert (
        own["org"]["id"]
        == (await json_of(await me.get(f"/api/v1/users/{own['id']}"), 200))["org_id"]
    )
    assert sorted(own["roles"]) == sorted(
        (await json_of(await me.get(f"/api/v1/users/{ids[username]}"), 200))["roles"]
    )
    assert own["username"] == username


async def test_editing_ones_own_name_with_ones_own_org_and_roles_is_fine(login_as, settings):
    ids = await ids_of(settings)
    me = await login_as("sjz_admin")
    body = {"display_name": "石家庄管理员", "org_id": ids["HB-SJZ"], "roles": ["org_admin"]}
    user = await json_of(await me.patch(f"/api/v1/users/{ids['sjz_admin']}", json=body), 200)
    assert user["display_name"] == "石家庄管理员"
    assert (await me.get("/api/v1/auth/me")).status == 200


@pytest.mark.parametrize(
    ("field", "value"), [("org_id", "3"), ("org_id", True), ("is_active", "false")]
)
async def test_user_edits_take_strict_types(login_as, settings, field, value):
    ids = await ids_of(settings)
    admin = await login_as("sjz_admin")
    response = await admin.patch(f"/api/v1/users/{ids['inspector']}", json={field: value})
    assert (await json_of(response, 422))["errors"][0]["field"] == f"body.{field}"


async def test_an_administrator_lists_and_revokes_a_users_tokens(
    client, login_as, demo_passwords, settings
):
    ids = await ids_of(settings)
    inspector = await login_as("inspector")
    first = await token_of(inspector, demo_passwords["inspector"], "导出脚本")
    second = await token_of(inspector, demo_passwords["inspector"], "报表同步")
    url = f"/api/v1/users/{ids['inspector']}/tokens"

    admin = await login_as("sjz_admin")
    listed = await json_of(await admin.get(url), 200)
    assert [t["name"] for t in listed] == ["导出脚本", "报表同步"]
    assert all("token" not in t and t["expires_at"] for t in listed)
    assert (await admin.delete(f"{url}/{first['id']}")).status == 204
    assert await bearer_status(client, first["token"]) == 401
    assert await bearer_status(client, second["token"]) == 200
    assert [t["id"] for t in await json_of(await admin.get(url), 200)] == [second["id"]]
    again = await json_of(await admin.delete(f"{url}/{first['id']}"), 404)
    assert again["code"] == "not_found"
    # A token id of another user, through this user's URL: not found.
    own = await token_of(admin, demo_passwords["sjz_admin"])
    assert (await admin.delete(f"{url}/{own['id']}")).status == 404
    events = await json_of(await admin.get("/api/v1/audit-events"), 200)
    revoked = next(e for e in events if e["action"] == "token_revoked")
    assert revoked["actor_username"] == "sjz_admin"
    assert revoked["detail"]["user_id"] == ids["inspector"]

    # Outside the jurisdiction: not found; without user.manage: forbidden.
    other_branch = await login_as("inspector_bd")
    assert (await other_branch.get(url)).status == 403
    bd_url = f"/api/v1/users/{ids['inspector_bd']}/tokens"
    assert (await admin.get(bd_url)).status == 404
    assert (await inspector.get(url)).status == 403  # not even one's own, here: /auth/tokens
    assert (await inspector.delete(f"{url}/{second['id']}")).status == 403
    assert await bearer_status(client, second["token"]) == 200


async def test_an_org_administrator_cannot_revoke_a_system_administrators_token(
    client, login_as, demo_passwords, settings
):
    ids = await ids_of(settings)
    admin = await login_as("admin")
    token = await token_of(admin, demo_passwords["admin"])
    hb_admin = await login_as("hb_admin")
    url = f"/api/v1/users/{ids['admin']}/tokens"
    assert len(await json_of(await hb_admin.get(url), 200)) == 1
    refused = await json_of(await hb_admin.delete(f"{url}/{token['id']}"), 403)
    assert refused["code"] == "forbidden"
    assert await bearer_status(client, token["token"]) == 200


async def test_the_token_endpoints_are_in_the_openapi_document(client):
    document = await json_of(await client.get("/api/openapi.json"), 200)
    paths = document["paths"]
    assert set(paths["/api/v1/users/{user_id}/tokens"]) >= {"get"}
    assert set(paths["/api/v1/users/{user_id}/tokens/{token_id}"]) >= {"delete"}
    create = paths["/api/v1/auth/tokens"]["post"]["requestBody"]["content"]["application/json"]
    schema = create["schema"]
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    assert "password" in schema["required"]
