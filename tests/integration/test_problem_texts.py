"""Every problem type of the OpenAPI document, read as a zh-CN user reads it (issue #12.5):
no field path, no English, no aiohttp text (problem_text.py); English on request, as before.

Each type is raised in a handler of a real aiohttp app behind the real problem middleware
(aiohttp's own refusals provoked: no route, a method the route lacks); the fuzz test
(test_api_fuzz.py) holds every 4xx the whole API gives to the same rule.
"""

from __future__ import annotations

import ast
import string
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from inspection_api.checklists.content import EvidenceKind
from inspection_api.checklists.rules import MissingEvidence
from inspection_api.errors import (
    FieldError,
    InspectionError,
    InvalidField,
    SelfChangeForbidden,
    ValidationFailed,
)
from inspection_api.field_labels import FIELD_LABELS
from inspection_api.inspections.errors import EvidenceMissing
from inspection_api.web.parsing import read_body
from inspection_api.web.problem_types import ERROR_MODULES, error_classes, problem_types
from inspection_api.web.problems import HTTP_PROBLEMS, problem_middleware
from tests.integration.problem_text import problem_problems, text_problems
from tests.plugins.api import json_of

# What a raise site passes, by parameter name: as the services do ((zh, en) pairs, labels of
# records, values people typed quoted where the template quotes them).
PARAMS: dict[str, Any] = {
    "accuracy": 85,
    "action": ("提交", "submit it"),
    "age": 400,
    "ahead": 120,
    "algorithm": "md5",
    "allowed": ("image/jpeg、image/png", "image/jpeg, image/png"),
    "allowed_types": ("image/jpeg", "image/png"),
    "at": "2026-12-04 09:30",
    "captured": "2026-12-01 08:00:00",
    "closed": ("已于 2026-12-05 18:00:00 过期", "expired at 2026-12-05 18:00:00"),
    "code": "BD-0001",
    "count": 3,
    "current": 4,
    "deadline": "2026-12-10",
    "deadline_iso": "2026-12-10T16:00:00+00:00",
    "distance": 512,
    "got": "0.2.2",
    "hint": ("请先到现场扫码设定", "scan on site first"),
    "id": 42,
    "inspection_id": 7,
    "kind": ("照片", "photo"),
    "label": ("检查点编号", "checkpoint code"),
    "field": "body.code",
    "length": 2048,
    "limit": 30,
    "limit_bytes": 50 * 1024 * 1024,
    "limit_mb": 50,
    "mime": "video/mp4",
    "name": "保定市华达机械有限公司",
    "offset": 1024,
    "org": "保定分行",
    "origin": "https://evil.example.com",
    "other": "2026 年存量检查",
    "other_id": 3,
    "other_start": "2026-01-01",
    "other_end": "2026-12-31",
    "paths": "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "radius": 200,
    "reason": "must not contain a . or .. segment",
    "request_id": 5,
    "requester": "张三",
    "resource": "checkpoint",
    "retry_after": 30,
    "start": "2026-12-04 08:00:00",
    "state": ("已提交", "submitted"),
    "value": "BD-0001",
}


def example(cls: type[InspectionError]) -> InspectionError:
    """An instance of ``cls`` with the parameters its messages name."""
    if cls is ValidationFailed:
        return ValidationFailed(
            [
                FieldError(
                    "body.answers.payroll.headcount", "人数：应为整数", "must be an integer"
                ),
                FieldError("body.name", "名称：必填", "Field required"),
            ]
        )
    if cls is InvalidField:
        return InvalidField("body.parent_id", "上级机构：支行下不能设立支行", "wrong parent kind")
    if cls is SelfChangeForbidden:
        return SelfChangeForbidden(field="body.roles", label=("角色", "roles"))
    if cls is EvidenceMissing:
        return EvidenceMissing(
            [MissingEvidence("site_photo", "厂区现场照片", EvidenceKind.PHOTO, 2, 1)]
        )
    names = {
        name
        for template in (cls.zh, cls.en)
        for _, name, _, _ in string.Formatter().parse(template)
        if name
    }
    params = {name: PARAMS[name] for name in names}
    while True:  # and what its extra members and headers read
        error = cls(**params)
        try:
            error.extra("zh")
            error.headers()
            return error
        except KeyError as missing:
            params[missing.args[0]] = PARAMS[missing.args[0]]


class Sample(BaseModel):
    model_config = ConfigDict(extra="forbid")

    loan_amount: Decimal
    name: str = Field(min_length=1)


def problem_app() -> web.Application:
    """Raises problem ``n`` of the registry at ``/api/v1/problems/{n}``."""
    errors = [example(cls) for cls in error_classes()]

    async def raise_error(request: web.Request) -> web.Response:
        raise errors[int(request.match_info["n"])]

    async def too_large(request: web.Request) -> web.Response:
        raise web.HTTPRequestEntityTooLarge(max_size=1024, actual_size=4096)

    async def unexpected(request: web.Request) -> web.Response:
        raise RuntimeError("a bug")

    async def other_status(request: web.Request) -> web.Response:
        raise web.HTTPRequestRangeNotSatisfiable()

    async def http_error(request: web.Request) -> web.Response:
        # As storage/web.py raises them: with an English text of its own.
        text = "invalid object key: it has two dots.."
        raise {
            "400": web.HTTPBadRequest(text=text),
            "403": web.HTTPForbidden(text=text),
            "404": web.HTTPNotFound(text=text),
            "405": web.HTTPMethodNotAllowed("GET", ["POST"], text=text),
            "409": web.HTTPConflict(text=text),
            "413": web.HTTPRequestEntityTooLarge(1024, 4096, text=text),
        }[request.match_info["status"]]

    async def sample(request: web.Request) -> web.Response:
        await read_body(Sample, request)
        return web.json_response({})

    app = web.Application(middlewares=[problem_middleware])
    app.router.add_get(r"/api/v1/problems/{n:\d+}", raise_error)
    app.router.add_post("/api/v1/too-large", too_large)
    app.router.add_get("/api/v1/unexpected", unexpected)
    app.router.add_get("/api/v1/range", other_status)
    app.router.add_post("/api/v1/sample", sample)
    app.router.add_get(r"/api/v1/http/{status:\d+}", http_error)
    app.router.add_get("/page", other_status)
    return app


async def test_the_openapi_document_lists_every_problem_type(client):
    document = await (await client.get("/api/openapi.json")).json()
    listed = document["components"]["x-problem-types"]
    assert [(p["code"], p["status"]) for p in listed] == [
        (p.code, p.status) for p in problem_types()
    ]
    schema = document["components"]["schemas"]["Problem"]["properties"]
    assert schema["code"]["enum"] == [p["code"] for p in listed]
    assert schema["type"]["enum"] == [f"urn:loancheck:problem:{p['code']}" for p in listed]
    # Every error class of every domain is in the registry: a new one cannot be missed.
    modules = {m.__name__ for m in ERROR_MODULES}
    for module in modules:
        for cls in vars(__import__(module, fromlist=["x"])).values():
            if isinstance(cls, type) and issubclass(cls, InspectionError):
                assert cls in error_classes(), cls


async def test_every_problem_type_reads_as_plain_chinese_and_english_on_request(aiohttp_client):
    api = await aiohttp_client(problem_app())
    seen: dict[str, list[str]] = {}
    for n, cls in enumerate(error_classes()):
        response = await api.get(f"/api/v1/problems/{n}")
        body = await json_of(response, cls.status)
        assert body["code"] == cls.code
        seen[cls.code] = problem_problems(body)
        english = await json_of(await api.get(f"/api/v1/problems/{n}?lang=en"), cls.status)
        assert english["detail"] == example(cls).message("en")
        assert response.headers["Content-Language"] == "zh-CN"
    provoked = [
        (api.get("/api/v1/nowhere"), 404),
        (api.delete("/api/v1/unexpected"), 405),
        (api.post("/api/v1/too-large", data=b"x"), 413),
        (api.get("/api/v1/range"), 416),
        (api.get("/api/v1/unexpected"), 500),
    ]
    for status in HTTP_PROBLEMS:
        provoked.append((api.get(f"/api/v1/http/{status}"), status))
    for call, status in provoked:
        body = await json_of(await call, status)
        seen[body["code"]] = seen.get(body["code"], []) + problem_problems(body)
    assert [code for code, faults in seen.items() if faults] == [], {
        code: faults for code, faults in seen.items() if faults
    }
    assert sorted(seen) == sorted(p.code for p in problem_types()), "every type rendered"


async def test_aiohttps_own_refusals_are_chinese_problems_and_english_ones_as_before(
    aiohttp_client,
):
    api = await aiohttp_client(problem_app())
    missing = await json_of(await api.get("/api/v1/nowhere"), 404)
    assert (missing["code"], missing["title"]) == ("not_found", "未找到")
    assert missing["detail"] == "请求的地址不存在，请检查链接是否正确"
    wrong = await api.delete("/api/v1/unexpected")
    body = await json_of(wrong, 405)
    assert (body["code"], body["detail"]) == (
        "method_not_allowed",
        "此地址不支持该请求方法（DELETE）",
    )
    assert wrong.headers["Allow"] == "GET,HEAD"
    english = await json_of(await api.get("/api/v1/nowhere?lang=en"), 404)
    assert (english["title"], english["detail"]) == ("Not found", "Not found: GET /api/v1/nowhere")
    large = await json_of(
        await api.post("/api/v1/too-large", headers={"Accept-Language": "en"}), 413
    )
    assert large["detail"] == "Request body too large: POST /api/v1/too-large"
    # A page (not /api/, no JSON asked for): plain text, Chinese, not "416: Range Not Satisfiable".
    page = await api.get("/page", headers={"Accept": "text/html"})
    assert page.status == 416
    assert text_problems(await page.text()) == []
    ranged = await json_of(await api.get("/api/v1/range?lang=en"), 416)
    assert ranged["detail"] == "Requested Range Not Satisfiable: GET /api/v1/range"
    english_page = await api.get("/page", headers={"Accept-Language": "en"})
    assert await english_page.text() == "416: Requested Range Not Satisfiable"


async def test_a_bad_body_names_fields_by_their_chinese_names_and_keeps_the_paths(
    aiohttp_client,
):
    api = await aiohttp_client(problem_app())
    response = await api.post("/api/v1/sample", json={"loan_amount": "十万", "name": ""})
    body = await json_of(response, 422)
    assert body["errors"] == [
        {"field": "body.loan_amount", "message": "贷款金额：应为数字"},
        {"field": "body.name", "message": "名称：必填"},
    ]
    assert body["detail"] == "请求数据有误，贷款金额：应为数字；名称：必填"
    assert problem_problems(body) == []
    english = await json_of(await api.post("/api/v1/sample?lang=en", json={"name": "x"}), 422)
    assert english["detail"] == "Invalid request data: body.loan_amount"
    assert english["errors"] == [{"field": "body.loan_amount", "message": "Field required"}]
    many = await api.post("/api/v1/sample", data=b'{"loan_amount": [], "name": 1, "x": 2, "y": 3}')
    body = await json_of(many, 422)
    assert len(body["errors"]) == 4
    shown = "；".join(e["message"] for e in body["errors"][:3])
    assert body["detail"] == f"请求数据有误，{shown}，共 4 处"


async def test_every_input_field_of_the_api_has_a_chinese_name(client):
    """A field the list below misses would be named by its parent (or 请求内容) only."""
    document = await (await client.get("/api/openapi.json")).json()
    schemas = document["components"]["schemas"]
    names: set[str] = set()

    def walk(schema: dict[str, Any], seen: set[str]) -> None:
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            if name not in seen:
                walk(schemas[name], seen | {name})
            return
        for sub in (*schema.get("anyOf", ()), *schema.get("allOf", ()), *schema.get("oneOf", ())):
            walk(sub, seen)
        if isinstance(schema.get("items"), dict):
            walk(schema["items"], seen)
        for name, prop in schema.get("properties", {}).items():
            names.add(name)
            walk(prop, seen)

    for operations in document["paths"].values():
        for operation in operations.values():
            names.update(p["name"] for p in operation.get("parameters", []))
            body = operation.get("requestBody")
            if body:
                for content in body["content"].values():
                    walk(content["schema"], set())
    assert len(names) > 100
    assert sorted(names - set(FIELD_LABELS)) == []


ROOT = Path(__file__).resolve().parents[2]


def _literal_texts(node: ast.expr) -> list[str]:
    """The Chinese side of an argument as written: a string, an f-string's literal parts,
    the first of a (zh, en) pair."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        return ["".join(v.value for v in node.values if isinstance(v, ast.Constant))]
    if isinstance(node, ast.Tuple) and node.elts:
        return _literal_texts(node.elts[0])
    return []


@pytest.mark.parametrize("package", ["inspection_api", "loancheck", "web_client"])
def test_no_raise_site_hands_a_chinese_message_english_or_a_path(package):
    """The parameters are the part of a message the registry cannot see: every raise of an
    error class, every FieldError, is read for what it puts in the zh-CN text."""
    classes = {cls.__name__ for cls in error_classes()} | {"FieldError"}
    # Positional Chinese text: FieldError(field, zh, en), InvalidField(field, zh, en).
    zh_position = {"FieldError": 1, "InvalidField": 1}
    faults = []
    for path in sorted((ROOT / package).rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", None))
            if name not in classes:
                continue
            args = [kw.value for kw in node.keywords if kw.arg not in ("field", "en")]
            if name in zh_position and len(node.args) > zh_position[name]:
                args.append(node.args[zh_position[name]])
            for arg in args:
                for text in _literal_texts(arg):
                    # A parameter's text fills a template: it need not be Chinese itself.
                    found = [f for f in text_problems(text) if f not in ("not Chinese", "no text")]
                    if found:
                        faults.append(f"{path.relative_to(ROOT)}:{node.lineno}: {found} {text!r}")
    assert faults == []


async def test_the_real_app_refuses_in_plain_chinese(client, login_as):
    """As a user met them (issue #12.5): the exit reason's English list, aiohttp's 404."""
    admin = await login_as("admin")
    checkpoints = await json_of(await admin.get("/api/v1/checkpoints?limit=1"), 200)
    url = f"/api/v1/checkpoints/{checkpoints['items'][0]['id']}/exit"
    refused = await json_of(
        await admin.post(url, json={"reason": "gone", "date": "2026-01-01"}), 422
    )
    assert refused["errors"] == [
        {
            "field": "body.reason",
            "message": "原因：应为以下之一：已退出、已核销、已结清、纯贴现用户",
        }
    ]
    assert problem_problems(refused) == []
    english = await admin.post(f"{url}?lang=en", json={"reason": "gone", "date": "2026-01-01"})
    assert (await json_of(english, 422))["errors"][0]["message"] == (
        "Input should be 'exited', 'written_off', 'settled' or 'discount_only'"
    )
    missing = await json_of(await admin.get("/api/v1/no-such-thing"), 404)
    assert missing["detail"] == "请求的地址不存在，请检查链接是否正确"
    page = await client.get("/no-such-page", headers={"Accept": "text/html"})
    assert page.status == 404
    assert await page.text() == "未找到：请求的地址不存在，请检查链接是否正确"
