"""Reading a request's input — path ids, the query string, the JSON body — by one rule for
the whole API (docs/api.md):

- a path id is ASCII digits; one outside ``1..INT_MAX`` names no record: 404, as a missing one;
- a query value is read as the JSON value its documented type calls for (``2`` for an
  integer, ``true``/``false`` for a boolean, a JSON number for a number); anything else stays
  a string, which such a field refuses by name;
- a body is JSON whose numbers fit, everywhere, free-form values (checklist answers)
  included: integers in 64 bits, floats finite (no NaN, Infinity or 1e400);
- no text anywhere (path, query, body, keys included) holds U+0000: PostgreSQL stores none;
- both are then validated strictly (``model_validate_json(strict=True)``): a string or a
  boolean is no number, a number no boolean; integer fields hold ``INT_MIN..INT_MAX``
  (``schemas.Input``). Dates, times, enums and decimals are strings in JSON and parse.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Mapping
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from inspection_api.errors import FieldError, NotFound, PayloadTooLarge, ValidationFailed
from inspection_api.i18n import field_errors, labelled
from inspection_api.schemas import INT_MAX

Model = TypeVar("Model", bound=BaseModel)

MAX_JSON_BODY = 256 * 1024
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# Beyond every range; stands in for integers too long to convert (int() stops at 4,300 digits).
_HUGE = 2**64
_INTEGER = re.compile(r"-?[0-9]+")  # int() would also take "+1", " 1", "1_0" and non-ASCII digits
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_BOOLEANS = {"true": True, "false": False}
# Accepted on every operation: the language of messages (problems.request_lang).
_GLOBAL_QUERY = frozenset({"lang"})

# What an id in the path names, for the 404 (errors.RESOURCES).
PATH_RESOURCES = {
    "org_id": "org",
    "user_id": "user",
    "token_id": "token",
    "session_id": "remote_session",
    "invite_id": "invite",
    "checkpoint_id": "checkpoint",
    "template_id": "checklist_template",
    "number": "checklist_version",
    "rule_id": "plan_rule",
    "plan_id": "plan",
    "task_id": "task",
    "inspection_id": "inspection",
    "evidence_id": "inspection_evidence",
    "anomaly_id": "anomaly",
    "notification_id": "notification",
    "rectification_id": "rectification",
    "photo_id": "rectification_photo",
}


def path_params(types: Mapping[str, type], match_info: Mapping[str, str]) -> dict[str, Any]:
    """The path's parameters; ids as ints."""
    values: dict[str, Any] = {}
    for name, kind in types.items():
        raw = match_info[name]
        if "\x00" in raw:
            raise ValidationFailed([_nul("path", (name,))])
        if kind is not int:
            values[name] = kind(raw)
            continue
        if not _INTEGER.fullmatch(raw):
            # The Chinese text does not echo the value: it is the reader's own, and may be
            # anything (a dotted name reads as a field path).
            zh, en = labelled("path", (name,), "应为整数"), f"must be an integer, got {raw!r}"
            raise ValidationFailed([FieldError(f"path.{name}", zh, en)])
        value = _int(raw)
        if not 1 <= value <= INT_MAX:
            shown = raw if len(raw) <= 24 else raw[:20] + "…"
            resource = PATH_RESOURCES.get(name, ("记录", "record"))
            raise NotFound(resource=resource, id=shown)
        values[name] = value
    return values


def validate_json(model: type[Model], raw: str | bytes, location: str) -> Model:
    try:
        return model.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        raise ValidationFailed(field_errors(exc, location)) from None


def read_query(model: type[Model], query: Mapping[str, str]) -> Model:
    """The query string as ``model``, each value read as its field's JSON type."""
    with_nul = [_nul("query", (name,)) for name, raw in query.items() if "\x00" in name + raw]
    if with_nul:
        raise ValidationFailed(with_nul)
    types = _field_types(model)
    values = {
        name: _query_value(raw, types.get(name, frozenset()))
        for name, raw in query.items()
        if name not in _GLOBAL_QUERY
    }
    return validate_json(model, json.dumps(values), "query")


def _query_value(raw: str, types: frozenset[str]) -> Any:
    if "integer" in types and _INTEGER.fullmatch(raw):
        return _int(raw)
    if "number" in types and _NUMBER.fullmatch(raw):
        return float(raw)  # "1e400" is inf, which the field refuses as not finite
    if "boolean" in types and raw in _BOOLEANS:
        return _BOOLEANS[raw]
    return raw


@functools.cache
def _field_types(model: type[BaseModel]) -> dict[str, frozenset[str]]:
    """Each field's JSON types (``{"integer", "null"}`` for ``int | None``), as documented."""
    schema = model.model_json_schema()
    defs = schema.get("$defs", {})

    def types(prop: dict[str, Any]) -> set[str]:
        if "$ref" in prop:
            return types(defs[prop["$ref"].rsplit("/", 1)[-1]])
        kind = prop.get("type")
        found = {kind} if isinstance(kind, str) else set(kind or ())
        for sub in (*prop.get("anyOf", ()), *prop.get("allOf", ()), *prop.get("oneOf", ())):
            found |= types(sub)
        return found

    return {name: frozenset(types(prop)) for name, prop in schema.get("properties", {}).items()}


async def read_body(model: type[Model], request: web.Request) -> Model:
    """The JSON body as ``model``; an empty body is ``null`` (refused as no object)."""
    raw = await _read_raw(request)
    text = raw if raw.strip() else b"null"
    try:
        data = json.loads(text, parse_int=_int)
    except RecursionError:
        raise ValidationFailed(
            [FieldError("body", "请求内容：JSON 嵌套层数过多", "JSON nested too deeply")]
        ) from None
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
        if isinstance(exc, json.JSONDecodeError):
            where = f"（第 {exc.lineno} 行第 {exc.colno} 列）"
        else:
            where = "（不是 UTF-8 编码的文本）" if isinstance(exc, UnicodeDecodeError) else ""
        zh, en = f"请求内容：不是有效的 JSON{where}", f"Not valid JSON: {exc}"
        raise ValidationFailed([FieldError("body", zh, en)]) from None
    unfit = _unfit_values(data)
    try:
        body = model.model_validate_json(text, strict=True)
    except ValidationError as exc:
        # The model's own message wins where it names the same field (e.g. its bound); the
        # parser's "number out of range" for a number too long for it is unfit's to report.
        named = field_errors(exc, "body", ignore=frozenset({"json_invalid"} if unfit else ()))
        fields = {error.field for error in named}
        raise ValidationFailed(named + [e for e in unfit if e.field not in fields]) from None
    if unfit:
        raise ValidationFailed(unfit)
    return body


async def _read_raw(request: web.Request) -> bytes:
    if request.content_length is not None and request.content_length > MAX_JSON_BODY:
        raise PayloadTooLarge(limit=MAX_JSON_BODY)
    raw = await request.content.read(MAX_JSON_BODY + 1)
    if len(raw) > MAX_JSON_BODY:
        raise PayloadTooLarge(limit=MAX_JSON_BODY)
    return raw


def _int(text: str) -> int:
    """``text`` (an integer literal) as an int; past 20 characters, ±``_HUGE``."""
    if len(text) <= 20:
        return int(text)
    return -_HUGE if text.startswith("-") else _HUGE


def _nul(location: str, loc: tuple[str, ...]) -> FieldError:
    return FieldError(
        ".".join((location, *loc)),
        labelled(location, loc, "不能包含空字符 (U+0000)"),
        "Must not contain NUL (U+0000)",
    )


def _at(location: str, loc: tuple[str, ...], zh: str, en: str) -> FieldError:
    return FieldError(".".join((location, *loc)), labelled(location, loc, zh), en)


def refuse_nul(texts: Mapping[str, str]) -> None:
    """For input read apart from a model (multipart forms): text by field name
    (``body.photos.0``)."""
    with_nul = [
        _nul(location, tuple(rest))
        for field, text in texts.items()
        if "\x00" in text
        for location, *rest in [field.split(".")]
    ]
    if with_nul:
        raise ValidationFailed(with_nul)


def _unfit_values(data: Any) -> list[FieldError]:
    """Values no field can hold, anywhere: integers beyond 64 bits, NaN and infinities
    (Python's reader takes ``NaN``, ``Infinity`` and ``1e400``; RFC 8259 has no such
    values), and text with U+0000, keys included."""
    found: list[FieldError] = []
    stack: list[tuple[Any, tuple[str, ...]]] = [(data, ())]
    while stack:
        value, loc = stack.pop()
        if isinstance(value, bool):
            continue
        if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
            found.append(_at("body", loc, "数值超出范围", "Number out of range"))
        elif isinstance(value, float) and not math.isfinite(value):
            found.append(_at("body", loc, "应为有限的数字", "Input should be a finite number"))
        elif isinstance(value, str) and "\x00" in value:
            found.append(_nul("body", loc))
        elif isinstance(value, dict):
            for key, item in value.items():
                if "\x00" in key:
                    found.append(_nul("body", (*loc, key)))
                else:
                    stack.append((item, (*loc, key)))
        elif isinstance(value, list):
            stack.extend((item, (*loc, str(index))) for index, item in enumerate(value))
    return sorted(found, key=lambda error: error.field)
