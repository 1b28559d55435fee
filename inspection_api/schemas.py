"""Base classes for request and response bodies, and the paging every list shares."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Generic, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field


class Input(BaseModel):
    """A request body or query: unknown fields are refused by name, strings are stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


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
