"""Language choice (zh-CN first, English available) and pydantic error translation."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from inspection_api.errors import FieldError
from inspection_api.field_labels import enum_choices, field_label

LANGS = ("zh", "en")


def negotiate(accept_language: str | None, override: str | None = None) -> str:
    """``?lang=`` wins; else the best of Accept-Language between zh and en; else zh."""
    if override in LANGS:
        return override
    best, best_q = "zh", -1.0
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGS and q > best_q:
            best, best_q = primary, q
    return best


_ZH: dict[str, str] = {
    "missing": "必填",
    "string_too_short": "长度至少为 {min_length}",
    "string_too_long": "长度不能超过 {max_length}",
    "string_type": "应为文本",
    "string_pattern_mismatch": "格式不正确",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "int_parsing_size": "应为整数（数值过大）",
    "float_parsing": "应为数字",
    "float_type": "应为数字",
    "finite_number": "应为有限的数字",
    "bool_parsing": "应为 true 或 false",
    "bool_type": "应为 true 或 false",
    "greater_than": "应大于 {gt}",
    "greater_than_equal": "应不小于 {ge}",
    "less_than": "应小于 {lt}",
    "less_than_equal": "应不大于 {le}",
    "too_short": "至少应有 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "decimal_type": "应为数字",
    "decimal_parsing": "应为数字",
    "decimal_max_digits": "总位数不能超过 {max_digits}",
    "decimal_max_places": "小数位数不能超过 {decimal_places}",
    "decimal_whole_digits": "整数位数不能超过 {whole_digits}",
    "literal_error": "应为以下之一：{expected}",
    "enum": "应为以下之一：{expected}",
    "extra_forbidden": "多余的字段，此处不接受",
    "json_invalid": "不是有效的 JSON",
    "model_type": "应为 JSON 对象",
    "model_attributes_type": "应为 JSON 对象",
    "dict_type": "应为 JSON 对象",
    "list_type": "应为列表",
    "date_from_datetime_parsing": "应为日期 (YYYY-MM-DD)",
    "date_parsing": "应为日期 (YYYY-MM-DD)",
    "date_type": "应为日期 (YYYY-MM-DD)",
    "datetime_parsing": "应为时间 (ISO 8601)",
    "datetime_type": "应为时间 (ISO 8601)",
    "datetime_from_date_parsing": "应为时间 (ISO 8601)",
    "timezone_aware": "应带时区 (ISO 8601，例如 +08:00)",
}


# What a zh-CN reader sees for an error type pydantic adds later: never its English text.
_ZH_FALLBACK = "格式不正确"


# pydantic's list of allowed values: "'a', 'b' or 'c'".
_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")


def _zh(kind: str, ctx: dict[str, Any]) -> str:
    if kind == "string_too_short" and ctx.get("min_length") == 1:
        return _ZH["missing"]  # an empty text where one is required: 必填, not 长度至少为 1
    if kind in ("enum", "literal_error"):
        # Not pydantic's "'exited', 'settled' or 'discount_only'": the labels, 、-separated.
        ctx = {**ctx, "expected": enum_choices(_QUOTED.findall(str(ctx.get("expected", ""))))}
    if kind == "value_error":
        return _value_error(ctx)
    template = _ZH.get(kind)
    if template is None:
        return _ZH_FALLBACK
    try:
        return template.format(**ctx)
    except (KeyError, IndexError):
        return _ZH_FALLBACK


_CJK = re.compile(r"[\u4e00-\u9fff]")


def _value_error(ctx: dict[str, Any]) -> str:
    """A validator of ours says ``"中文 (English)"`` (a ValueError) or gives its zh text as
    ``msg`` (a PydanticCustomError): the Chinese part; anything else (a library's English)
    is 格式不正确."""
    text = str(ctx["msg"] if "msg" in ctx else ctx.get("error", ""))
    text = text.split(" (", 1)[0].strip()
    return text if _CJK.search(text) else _ZH_FALLBACK


def labelled(location: str, loc: Sequence[str | int], zh: str) -> str:
    """A zh-CN message for the field at ``loc``, led by the field's Chinese name
    (``贷款金额：应为数字``): the reader sees no path; ``errors[].field`` keeps it."""
    return f"{field_label(location, loc)}：{zh}"


def field_errors(
    exc: ValidationError, location: str, *, ignore: frozenset[str] = frozenset()
) -> list[FieldError]:
    """Name each bad field as ``location.path`` with a zh-CN message led by the field's
    Chinese name and pydantic's English one (errors of the types in ``ignore`` left out)."""
    result = []
    for err in exc.errors(include_url=False):
        if err["type"] in ignore:
            continue
        path = ".".join(str(p) for p in err["loc"])
        field = f"{location}.{path}" if path else location
        ctx: dict[str, Any] = dict(err.get("ctx") or {})
        zh = labelled(location, err["loc"], _zh(err["type"], ctx))
        result.append(FieldError(field=field, zh=zh, en=err["msg"]))
    return result
