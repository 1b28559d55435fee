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


class AuditQuery(Input):
    action: str | None = Field(default=None, max_length=64)
    before_id: int | None = Field(default=None, ge=1, description="page: events older than this id")
    limit: int = Field(default=100, ge=1, le=500)
