"""Base classes for request and response bodies, and the paging every list shares."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Any, Generic, Self, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    WithJsonSchema,
)
from pydantic_core import CoreSchema, PydanticCustomError

# Every integer field of a request holds a PostgreSQL ``integer`` (ids, counts, offsets,
# revisions): beyond it the driver fails (asyncpg from 2^31, SQLite from 2^63), a 500.
INT_MIN = -(2**31)
INT_MAX = 2**31 - 1


def _bound_ints(node: Any) -> None:
    """Give every integer schema in ``node`` (a core schema) the request range, keeping any
    narrower bound a field declares. The bounds also show in the OpenAPI document."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("type") == "int":
                item["ge"] = max(item.get("ge", INT_MIN), INT_MIN)
                item["le"] = min(item.get("le", INT_MAX), INT_MAX)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


class Input(BaseModel):
    """A request body or query: unknown fields are refused by name, strings are stripped,
    every integer is bounded to ``INT_MIN..INT_MAX`` and NaN/infinities are refused.

    Requests are validated strictly (``web/routing.py``): no string, boolean or float is
    coerced into a number, and no number into a boolean. The same models also read stored
    JSON (checklists), so strictness is asked for at validation, not set here.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[BaseModel], handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        schema = handler(source)
        _bound_ints(schema)
        return schema


_ID_LIST = r"^[0-9]+(,[0-9]+)*$"


def _split_ids(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if not re.fullmatch(_ID_LIST, value):
        raise PydanticCustomError(
            "string_pattern_mismatch",
            "String should match pattern '{pattern}'",
            {"pattern": _ID_LIST},
        )
    # Longer than any id: kept out of int(), which refuses past 4,300 digits.
    return [int(part) if len(part) <= 20 else INT_MAX + 1 for part in value.split(",")]


# Ids in one query value, comma-separated (``?ids=1,2,3``); each bounded like a path id.
IdList = Annotated[
    list[Annotated[int, Field(ge=1)]],
    BeforeValidator(_split_ids),
    WithJsonSchema({"type": "string", "pattern": _ID_LIST, "description": "comma-separated ids"}),
]


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PagedQuery(Input):
    """A list query's page: its filters come from the subclass."""

    offset: int = Field(default=0, ge=0, description="how many to skip")
    limit: int = Field(default=50, ge=1, le=200, description="how many at most")


Item = TypeVar("Item")


class Page(Output, Generic[Item]):
    """One page of a list; ``total`` counts every match, across pages."""

    items: list[Item]
    total: int
    offset: int
    limit: int

    @classmethod
    def of(cls, items: Sequence[Any], total: int, query: PagedQuery, **extra: Any) -> Self:
        return cls(items=list(items), total=total, offset=query.offset, limit=query.limit, **extra)
