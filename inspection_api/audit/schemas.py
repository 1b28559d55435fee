from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from inspection_api.schemas import Input, Output


class AuditOut(Output):
    id: int
    at: datetime
    action: str
    actor_user_id: int | None
    actor_username: str
    ip: str
    user_agent: str
    detail: dict[str, Any]
    actor_name: str | None = Field(
        default=None, description="the actor's 姓名 (null: no account, or outside the jurisdiction)"
    )
    names: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "what the records the detail refers to by id are called, keyed `kind:id` "
            "(checkpoint, inspection, anomaly, rectification, plan, rule, template, user, org); "
            "a record outside the caller's jurisdiction has none"
        ),
    )
    refs: dict[str, str] = Field(
        default_factory=dict,
        description="the detail keys (also inside `changes`) that hold a record's id → its kind",
    )


class AuditQuery(Input):
    action: str | None = Field(default=None, max_length=64)
    before_id: int | None = Field(default=None, ge=1, description="page: events older than this id")
    limit: int = Field(default=100, ge=1, le=500)
