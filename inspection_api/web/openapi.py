"""OpenAPI 3.1 document built from the declared routes, and the browsable docs page."""

from __future__ import annotations

import copy
import weakref
from collections.abc import Iterable
from typing import Any

from aiohttp import web
from pydantic import BaseModel, TypeAdapter
from swagger_ui.core import ApplicationDocument
from swagger_ui.handlers.aiohttp import handler as serve_docs

from inspection_api.web.keys import DOCS_SCRIPT_HASHES
from inspection_api.web.problem_types import openapi_problem_types
from inspection_api.web.routing import ApiRoutes, Operation
from inspection_api.web.security import inline_script_hashes

REF = "#/components/schemas/{model}"

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details; `title`, `detail` and `errors[].message` are "
    "zh-CN unless English is asked for, and name fields by their Chinese names.",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}


def _schema(tp: Any, components: dict[str, Any]) -> dict[str, Any]:
    schema = TypeAdapter(tp).json_schema(ref_template=REF, mode="serialization")
    components.update(schema.pop("$defs", {}))
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        components[tp.__name__] = schema
        return {"$ref": REF.format(model=tp.__name__)}
    return schema


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": REF.format(model="Problem")}}},
    }


def _operation(op: Operation, components: dict[str, Any]) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "integer" if kind is int else "string"},
        }
        for name, kind in op.path_types.items()
    ]
    if op.query is not None:
        query_schema = op.query.model_json_schema(ref_template=REF)
        required = set(query_schema.get("required", []))
        for name, prop in query_schema.get("properties", {}).items():
            parameters.append(
                {"name": name, "in": "query", "required": name in required, "schema": prop}
            )
    responses: dict[str, Any] = {}
    if op.response is not None:
        responses[str(op.status)] = {
            "description": "OK",
            "content": {"application/json": {"schema": _schema(op.response, components)}},
        }
    elif op.media_type is not None:
        responses[str(op.status)] = {
            "description": "A file",
            "content": {op.media_type: {"schema": {"type": "string", "format": "binary"}}},
        }
    else:
        responses["204" if op.status == 200 else str(op.status)] = {"description": "Done"}
    if op.body is not None or op.query is not None or op.path_types:
        responses["422"] = _problem("Invalid input; `errors` names each bad field")
    if not op.public:
        responses["401"] = _problem("Not logged in")
        responses["403"] = _problem("Not allowed for this role")
    if op.path_types:
        responses["404"] = _problem("Not found or outside the caller's jurisdiction")
    for status, description in op.problems.items():
        responses[str(status)] = _problem(description)
    result: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "tags": [op.tag],
        "parameters": parameters,
        "responses": responses,
    }
    if op.handler.__doc__:
        result["description"] = op.handler.__doc__.strip()
    if op.body is not None:
        result["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _schema(op.body, components)}},
        }
    if op.public:
        result["security"] = []
    return result


# Generating the JSON schemas of a table's models is most of what ``create_app`` costs
# (about 0.5 s for the whole API): each table's part is made once per process and reused by
# every app built from it (tests build hundreds), until routes are added to the table.
_TABLE_PARTS: weakref.WeakKeyDictionary[ApiRoutes, tuple[int, dict[str, Any], dict[str, Any]]]
_TABLE_PARTS = weakref.WeakKeyDictionary()


def _table_part(table: ApiRoutes) -> tuple[dict[str, Any], dict[str, Any]]:
    """The table's paths and the component schemas they refer to."""
    cached = _TABLE_PARTS.get(table)
    if cached is None or cached[0] != len(table.operations):
        components: dict[str, Any] = {}
        paths: dict[str, dict[str, Any]] = {}
        for op in table.operations:
            paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, components)
        cached = _TABLE_PARTS[table] = (len(table.operations), paths, components)
    return cached[1], cached[2]


def _problem_schema(problem_types: list[dict[str, Any]]) -> dict[str, Any]:
    """The problem shape, its ``type`` and ``code`` enumerating every problem type."""
    schema = copy.deepcopy(PROBLEM_SCHEMA)
    schema["properties"]["type"]["enum"] = [p["type"] for p in problem_types]
    schema["properties"]["code"]["enum"] = [p["code"] for p in problem_types]
    return schema


def build_openapi(tables: Iterable[ApiRoutes], *, version: str, server_url: str) -> dict[str, Any]:
    problem_types = openapi_problem_types()
    components: dict[str, Any] = {"Problem": _problem_schema(problem_types)}
    paths: dict[str, dict[str, Any]] = {}
    for table in tables:
        table_paths, table_components = _table_part(table)
        for path, methods in table_paths.items():
            paths.setdefault(path, {}).update(methods)
        components.update(table_components)
    # A copy: whoever holds the document (a test, a client generator) may change it.
    paths, components = copy.deepcopy(paths), copy.deepcopy(components)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "LoanCheck 贷后检查远程巡检平台 API",
            "version": version,
            "description": "JSON API. Errors are RFC 9457 problem+json (every problem type "
            "in `components.x-problem-types`), in plain zh-CN: no field paths, no English; "
            "`errors[].field` names each bad field for programs. Send "
            "`Accept-Language: en` (or `?lang=en`) for English messages.",
        },
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "loancheck_session"},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
            "x-problem-types": problem_types,
        },
        "security": [{"session": []}, {"bearer": []}],
    }


def setup_openapi(app: web.Application, document: dict[str, Any]) -> None:
    async def openapi_json(_request: web.Request) -> web.Response:
        return web.json_response(document)

    app.router.add_get("/api/openapi.json", openapi_json, name="openapi")
    docs = ApplicationDocument(
        app, config_rel_url="/api/openapi.json", url_prefix="/api/docs", title="LoanCheck API"
    )
    # swagger-ui-py puts config_rel_url under url_prefix (/api/docs/api/openapi.json, a 404
    # that left the page saying "Failed to load API definition"): point it at the document.
    docs.parameters["url"] = '"/api/openapi.json"'
    serve_docs(docs)
    # swagger-ui starts from one inline script: the CSP admits it by its hash, nothing else.
    app[DOCS_SCRIPT_HASHES] = inline_script_hashes(docs.doc_html)
