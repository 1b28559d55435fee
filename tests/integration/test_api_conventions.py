"""API conventions: OpenAPI, problem+json errors naming fields, 401 for anonymous callers,
health and readiness."""

from __future__ import annotations

import re

from openapi_spec_validator import validate

from tests.plugins.api import json_of


async def test_openapi_document_is_valid_and_lists_every_api_route(client):
    document = await json_of(await client.get("/api/openapi.json"), 200)
    validate(document)
    documented = {
        (method.upper(), path) for path, ops in document["paths"].items() for method in ops
    }
    routed = {
        (route.method, route.resource.canonical)
        for route in client.app.router.routes()
        if route.resource is not None and route.resource.canonical.startswith("/api/v1/")
    }
    assert routed == documented
    docs = await client.get("/api/docs")
    assert docs.status == 200 and "swagger" in (await docs.text()).lower()


async def test_anonymous_callers_get_401_on_every_protected_operation(client):
    document = await (await client.get("/api/openapi.json")).json()
    checked = 0
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if operation.get("security") == []:
                continue  # public, e.g. login
            url = re.sub(r"\{\w+\}", "1", path)
            response = await client.request(method.upper(), url, json={})
            if method == "head":  # a HEAD answer has no body (tus offsets)
                assert response.status == 401, path
                continue
            body = await json_of(response, 401)
            assert body["code"] == "unauthenticated", (method, path)
            checked += 1
    assert checked >= 10


async def test_validation_errors_name_each_field_in_chinese_and_english(client):
    response = await client.post("/api/v1/auth/login", json={"username": "", "extra": 1})
    body = await json_of(response, 422)
    assert response.content_type == "application/problem+json"
    fields = {e["field"]: e["message"] for e in body["errors"]}
    assert fields == {
        "body.username": "长度至少为 1",
        "body.password": "必填",
        "body.extra": "不允许的字段",
    }
    english = await client.post("/api/v1/auth/login?lang=en", json={"username": "a", "password": 5})
    body = await json_of(english, 422)
    assert body["errors"] == [
        {"field": "body.password", "message": "Input should be a valid string"}
    ]
    assert body["type"] == "urn:loancheck:problem:validation_failed"
    assert body["instance"] == "/api/v1/auth/login"


async def test_malformed_bodies_and_paths_are_clear_4xx_never_500(client, login_as):
    bad_json = await client.post(
        "/api/v1/auth/login", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    body = await json_of(bad_json, 422)
    assert body["errors"][0]["field"] == "body"
    not_object = await client.post("/api/v1/auth/login", json=[1, 2])
    assert (await json_of(not_object, 422))["errors"][0]["message"] == "应为 JSON 对象"
    huge = await client.post("/api/v1/auth/login", data=b"x" * 300_000)
    assert (await json_of(huge, 413))["code"] == "payload_too_large"
    admin = await login_as("admin")
    bad_id = await admin.get("/api/v1/orgs/abc")
    assert (await json_of(bad_id, 422))["errors"][0]["field"] == "path.org_id"
    missing = await admin.get("/api/v1/orgs/999999")
    assert (await json_of(missing, 404))["detail"] == "机构不存在：999999"
    unknown = await admin.get("/api/v1/no-such-thing")
    assert (await json_of(unknown, 404))["code"] == "not_found"
    wrong_method = await admin.put("/api/v1/orgs")
    assert wrong_method.status == 405
    assert wrong_method.content_type == "application/problem+json"
    bad_query = await admin.get("/api/v1/audit-events?limit=0")
    assert (await json_of(bad_query, 422))["errors"][0]["field"] == "query.limit"


async def test_duplicate_codes_are_conflicts_naming_the_field(login_as, settings):
    admin = await login_as("admin")
    orgs = await (await admin.get("/api/v1/orgs")).json()
    hb = next(o for o in orgs if o["code"] == "HB")
    response = await admin.post(
        "/api/v1/orgs",
        json={"name": "重复", "code": "HB-SJZ", "kind": "branch", "parent_id": hb["id"]},
    )
    body = await json_of(response, 409)
    assert body["errors"] == [{"field": "body.code", "message": "机构编号已存在：HB-SJZ"}]


async def test_org_tree_rules_and_audit_of_changes(login_as):
    admin = await login_as("admin")
    orgs = {o["code"]: o for o in await (await admin.get("/api/v1/orgs")).json()}
    ca = orgs["HB-SJZ-CA"]
    branch_under_sub = await admin.post(
        "/api/v1/orgs",
        json={"name": "错误分行", "code": "BAD1", "kind": "branch", "parent_id": ca["id"]},
    )
    assert (await json_of(branch_under_sub, 422))["errors"][0][
        "message"
    ] == "支行下不能设立二级分行"
    created = await json_of(
        await admin.post(
            "/api/v1/orgs",
            json={
                "name": "长安支行营业部",
                "code": "HB-SJZ-CA-1",
                "kind": "sub_branch",
                "parent_id": ca["id"],
            },
        ),
        201,
    )
    assert created["path"] == f"{ca['path']}{created['id']}/"
    events = await (await admin.get("/api/v1/audit-events?action=org_created")).json()
    assert events[0]["detail"]["code"] == "HB-SJZ-CA-1"


async def test_health_and_readiness(client, backend):
    assert (await json_of(await client.get("/healthz"), 200)) == {"status": "ok"}
    ready = await json_of(await client.get("/readyz"), 200)
    expected = {"database", "object_store"} | ({"redis"} if backend == "services" else set())
    assert ready == {"status": "ok", "checks": dict.fromkeys(expected, "ok")}
