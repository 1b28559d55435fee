"""API conventions (docs/api.md): OpenAPI, problem+json errors naming fields, 401 for
anonymous callers, strict and bounded input (path ids, integer ranges, JSON types of body
fields and query values), health and readiness. Fuzzing: test_api_fuzz.py."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlencode

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
        "body.username": "用户名：必填",
        "body.password": "密码：必填",
        "body.extra": "请求内容：多余的字段，此处不接受",
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
    assert (await json_of(not_object, 422))["errors"][0]["message"] == "请求内容：应为 JSON 对象"
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


# ---- input ranges and types (docs/api.md "Input") ----

INT_MAX = 2**31 - 1  # PostgreSQL integer: every id and integer column
JSON = {"Content-Type": "application/json"}
OUT_OF_RANGE_IDS = [str(2**63), str(2**31), str(-(2**63) - 1), "0", "-1", "9" * 30]


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, ops in document["paths"].items()
        for method, operation in ops.items()
    ]


def int_path_params(operation: dict[str, Any]) -> list[str]:
    return [
        p["name"]
        for p in operation["parameters"]
        if p["in"] == "path" and p["schema"]["type"] == "integer"
    ]


async def test_path_ids_outside_the_id_range_are_404_on_every_operation(client, login_as):
    document = await (await client.get("/api/openapi.json")).json()
    admin = await login_as("admin")
    checked = 0
    for method, path, operation in operations(document):
        ids = int_path_params(operation)
        if not ids:
            continue
        for raw in OUT_OF_RANGE_IDS:
            url = path
            for name in re.findall(r"\{(\w+)\}", path):
                url = url.replace(f"{{{name}}}", raw if name in ids else "t" * 43)
            response = await admin.request(method, url, json={})
            body = await json_of(response, 404)
            assert body["code"] == "not_found", (method, path, raw)
        checked += 1
    assert checked >= 46
    largest = await admin.get(f"/api/v1/orgs/{INT_MAX}")
    assert (await json_of(largest, 404))["detail"] == f"机构不存在：{INT_MAX}"
    beyond = await json_of(await admin.get(f"/api/v1/checkpoints/{2**63}"), 404)
    assert beyond["detail"] == f"检查点不存在：{2**63}"
    plus = await admin.get("/api/v1/orgs/+1")
    assert (await json_of(plus, 422))["errors"][0]["field"] == "path.org_id"


async def test_numbers_beyond_range_in_queries_and_bodies_are_422_naming_the_field(login_as):
    admin = await login_as("admin")

    async def refused(response: Any) -> dict[str, str]:
        body = await json_of(response, 422)
        return {e["field"]: e["message"] for e in body["errors"]}

    for value, message in [
        (2**63, "应不大于 2147483647"),
        (2**31, "应不大于 2147483647"),
        (-(2**63) - 1, "应不小于 1"),
        ("9" * 5000, "应不大于 2147483647"),
        ("-" + "9" * 5000, "应不小于 1"),
    ]:
        url = f"/api/v1/audit-events?before_id={value}"
        assert await refused(await admin.get(url)) == {"query.before_id": f"翻页位置：{message}"}
    assert await refused(await admin.get(f"/api/v1/checkpoints?org_id={-(2**31) - 1}")) == {
        "query.org_id": "所属机构：应不小于 -2147483648"
    }
    ok = await admin.get(f"/api/v1/checkpoints?offset={INT_MAX}&limit=200")
    assert (await json_of(ok, 200))["items"] == []
    assert await refused(await admin.get(f"/api/v1/checkpoints?offset={INT_MAX + 1}")) == {
        "query.offset": f"起始位置：应不大于 {INT_MAX}"
    }
    assert await refused(await admin.get("/api/v1/checkpoints?limit=201")) == {
        "query.limit": "每页条数：应不大于 200"
    }
    assert await refused(await admin.get("/api/v1/checkpoints?limit=1e400")) == {
        "query.limit": "每页条数：应为整数"
    }
    labels = await admin.get(f"/api/v1/checkpoints/labels.pdf?ids=1,{2**63},0")
    assert await refused(labels) == {
        "query.ids.1": f"编号（第 2 项）：应不大于 {INT_MAX}",
        "query.ids.2": "编号（第 3 项）：应不小于 1",
    }

    orgs = {o["code"]: o for o in await (await admin.get("/api/v1/orgs")).json()}
    org = {"name": "新支行", "code": "NEW-1", "kind": "sub_branch"}
    for parent, message in [
        (str(2**63), f"应不大于 {INT_MAX}"),
        (str(-(2**63) - 1), "应不小于 -2147483648"),
        (str(2**31), f"应不大于 {INT_MAX}"),
        ("1" + "0" * 5000, "数值超出范围"),
        ("NaN", "应为整数"),
        ("-Infinity", "应为整数"),
    ]:
        raw = json.dumps({**org, "parent_id": 0}).replace(": 0}", f": {parent}}}")
        response = await admin.post("/api/v1/orgs", data=raw, headers=JSON)
        assert await refused(response) == {"body.parent_id": f"上级机构：{message}"}, parent
    for number, message in [
        ("1e400", "应为有限的数字"),
        ("-1e400", "应为有限的数字"),
        ("Infinity", "应为有限的数字"),
        ("123456789012345678901234567890", "应不大于 90.0"),
    ]:
        fix = '"longitude": 114.5, "accuracy": 5, "captured_at": "2026-12-04T08:00:00+08:00"'
        raw = f'{{"qr": "x", "fix": {{"latitude": {number}, {fix}}}}}'
        response = await admin.post("/api/v1/checkpoints/check-in", data=raw, headers=JSON)
        assert await refused(response) == {"body.fix.latitude": f"纬度：{message}"}, number
    # Free-form JSON (answers by item key) has no type to bound it; numbers must still fit.
    raw = (
        '{"answers": {"a": 1e400, "b": [NaN], "c": 9223372036854775808, "d": 9223372036854775807}}'
    )
    response = await admin.patch("/api/v1/inspections/1", data=raw, headers=JSON)
    assert await refused(response) == {
        "body.answers.a": "检查结果：应为有限的数字",
        "body.answers.b.0": "检查结果：应为有限的数字",
        "body.answers.c": "检查结果：数值超出范围",
    }
    deep = await admin.post("/api/v1/orgs", data="[" * 100_000, headers=JSON)
    assert await refused(deep) == {"body": "请求内容：JSON 嵌套层数过多"}
    created = await admin.post("/api/v1/orgs", json={**org, "parent_id": orgs["HB-SJZ-CA"]["id"]})
    assert (await json_of(created, 201))["code"] == "NEW-1"


async def test_lang_is_accepted_beside_any_query(login_as):
    admin = await login_as("admin")
    listed = await admin.get("/api/v1/audit-events?limit=1&lang=en")
    assert len(await json_of(listed, 200)) == 1
    refused = await json_of(await admin.get("/api/v1/audit-events?limit=x&lang=en"), 422)
    assert refused["errors"] == [
        {"field": "query.limit", "message": "Input should be a valid integer"}
    ]


# A value of the wrong JSON type for each kind of field, and what the API says.
# The name an error message starts with: Chinese (a list entry adds its position).
CHINESE_LABEL = r"[\u4e00-\u9fffA-Z/ ]+(（第 [0-9]+ 项）)?"
NOT_BOOL = "应为 true 或 false"
WRONG_IN_BODY: dict[str, list[tuple[Any, str]]] = {
    "integer": [("1", "应为整数"), (True, "应为整数"), (1.5, "应为整数"), (1.0, "应为整数")],
    "number": [("38.04", "应为数字"), (True, "应为数字"), (False, "应为数字")],
    "boolean": [(1, NOT_BOOL), (0, NOT_BOOL), ("true", NOT_BOOL)],
}
WRONG_IN_QUERY: dict[str, list[str]] = {
    "integer": ["true", "1.5", "1.0", "+1", "1_0", "", "２"],
    "number": ["true", "38,04", "nan", "inf", ""],
    "boolean": ["1", "0", "yes", "on", "True", ""],
}
RIGHT_IN_QUERY = {"integer": "2", "number": "38.5", "boolean": "true"}


def scalar_kind(schema: dict[str, Any], components: dict[str, Any]) -> str | None:
    """integer / number / boolean when that is the one scalar a field takes (null aside)."""
    kinds: set[str] = set()
    for option in schema.get("anyOf", [schema]):
        option = resolve(option, components)
        if option.get("type") != "null":
            kinds.add(option.get("type", "?"))
    (kind,) = kinds if len(kinds) == 1 else (None,)
    return kind if kind in ("integer", "number", "boolean") else None


def resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def typed_fields(
    schema: dict[str, Any], components: dict[str, Any], path: tuple[str | int, ...] = ()
) -> list[tuple[tuple[str | int, ...], str]]:
    """Every (path, kind) of a number or boolean field, nested objects and lists included."""
    found: list[tuple[tuple[str | int, ...], str]] = []
    if len(path) > 8:
        return found
    options = [resolve(o, components) for o in schema.get("anyOf", [schema])]
    for option in options:
        for name, prop in option.get("properties", {}).items():
            kind = scalar_kind(prop, components)
            if kind:
                found.append(((*path, name), kind))
            else:
                found.extend(typed_fields(prop, components, (*path, name)))
        if option.get("type") == "array" and "items" in option:
            kind = scalar_kind(option["items"], components)
            if kind:
                found.append(((*path, 0), kind))
            else:
                found.extend(typed_fields(option["items"], components, (*path, 0)))
    return found


def nest(path: tuple[str | int, ...], value: Any) -> Any:
    for step in reversed(path):
        value = [value] if isinstance(step, int) else {step: value}
    return value


def concrete(path: str) -> str:
    return re.sub(r"\{\w+\}", "1", path.replace("{token}", "t" * 43))


async def test_a_wrong_json_type_in_any_request_body_is_422_naming_the_field(client, login_as):
    """Every number and boolean field of every request body, nested ones included: a
    string, a boolean or a float where an integer belongs, a string or a boolean where a
    number belongs, a number or a string where a boolean belongs."""
    document = await (await client.get("/api/openapi.json")).json()
    components = document["components"]["schemas"]
    admin = await login_as("admin")
    checked: set[str] = set()
    for method, path, operation in operations(document):
        if "requestBody" not in operation:
            continue
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        for field_path, kind in typed_fields(schema, components):
            field = ".".join(["body", *map(str, field_path)])
            for value, message in WRONG_IN_BODY[kind]:
                response = await admin.request(method, concrete(path), json=nest(field_path, value))
                body = await json_of(response, 422)
                errors = {e["field"]: e["message"] for e in body["errors"]}
                # Led by the field's Chinese name (its label, or the nearest named parent's).
                label, _, said = (errors.get(field) or "").partition("：")
                assert said == message, (method, path, field, value, errors)
                assert re.fullmatch(CHINESE_LABEL, label), (method, path, field, label)
            checked.add(field)
    # A representative sample of what the walk must have found, per domain.
    assert {
        "body.fix.latitude",
        "body.fix.accuracy",
        "body.org_id",
        "body.parent_id",
        "body.org_ids.0",
        "body.auto_join",
        "body.is_active",
        "body.radius_m",
        "body.expires_in_minutes",
        "body.sections.0.items.0.min",
        "body.sections.0.items.0.required",
        "body.sections.0.items.0.evidence.photo",
        "body.rule.interval",
        "body.revision",
        "body.link_days",
        "body.handler_org_id",
    } <= checked, sorted(checked)


async def test_query_values_parse_as_their_documented_type_and_nothing_else(client, login_as):
    document = await (await client.get("/api/openapi.json")).json()
    components = document["components"]["schemas"]
    admin = await login_as("admin")
    checked = 0
    for method, path, operation in operations(document):
        for parameter in operation["parameters"]:
            kind = scalar_kind(parameter["schema"], components)
            if parameter["in"] != "query" or kind is None:
                continue
            field = f"query.{parameter['name']}"
            for raw in WRONG_IN_QUERY[kind]:
                url = f"{concrete(path)}?{urlencode({parameter['name']: raw})}"
                body = await json_of(await admin.request(method, url), 422)
                assert field in {e["field"] for e in body["errors"]}, (method, url, body)
            url = f"{concrete(path)}?{urlencode({parameter['name']: RIGHT_IN_QUERY[kind]})}"
            response = await admin.request(method, url)
            if response.status == 422:
                fields = {e["field"] for e in (await response.json())["errors"]}
                assert field not in fields, (method, url, fields)
            checked += 1
    assert checked >= 40
    page = await json_of(await admin.get("/api/v1/checkpoints?offset=2&limit=1&bound=false"), 200)
    assert (page["offset"], page["limit"]) == (2, 1)
    for query, message in [
        ("offset=true", "起始位置：应为整数"),
        ("offset=1.5", "起始位置：应为整数"),
        ("limit=1.0", "每页条数：应为整数"),
        ("bound=1", "GPS默认位置：应为 true 或 false"),
    ]:
        body = await json_of(await admin.get(f"/api/v1/checkpoints?{query}"), 422)
        name = query.split("=")[0]
        assert body["errors"] == [{"field": f"query.{name}", "message": message}], query


async def test_text_with_nul_is_422_naming_the_field(client, login_as):
    """PostgreSQL stores no U+0000 (it was a 500 there): refused in any text of a request."""

    def nul(label: str) -> str:
        return f"{label}：不能包含空字符 (U+0000)"

    async def refused(response: Any) -> dict[str, str]:
        body = await json_of(response, 422)
        return {e["field"]: e["message"] for e in body["errors"]}

    login = await client.post("/api/v1/auth/login", json={"username": "a\0", "password": "x"})
    assert await refused(login) == {"body.username": nul("用户名")}
    admin = await login_as("admin")
    orgs = {o["code"]: o for o in await (await admin.get("/api/v1/orgs")).json()}
    org = {"name": "新\0支行", "code": "NUL-1", "kind": "sub_branch"}
    created = await admin.post("/api/v1/orgs", json={**org, "parent_id": orgs["HB-SJZ-CA"]["id"]})
    assert await refused(created) == {"body.name": nul("名称")}
    answers = {"answers": {"a\0": 1, "b": ["x", "y\0"]}}
    saved = await admin.patch("/api/v1/inspections/1", json=answers)
    assert await refused(saved) == {
        "body.answers.a\0": nul("检查结果"),
        "body.answers.b.1": nul("检查结果"),
    }
    assert await refused(await admin.get("/api/v1/checkpoints?q=a%00b")) == {
        "query.q": nul("搜索词")
    }
    assert await refused(await admin.get("/api/v1/audit-events?action=%00")) == {
        "query.action": nul("操作类型")
    }
    assert await refused(await client.get("/api/v1/invites/a%00b")) == {"path.token": nul("令牌")}
