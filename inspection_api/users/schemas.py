from __future__ import annotations

from datetime import datetime

from pydantic import Field

from inspection_api.auth.principal import Role
from inspection_api.schemas import Input, Output


class UserOut(Output):
    id: int
    username: str
    display_name: str
    org_id: int
    roles: list[Role]
    is_active: bool
    created_at: datetime


class UserCreate(Input):
    username: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    display_name: str = Field(min_length=1, max_length=64, description="姓名")
    password: str = Field(min_length=1, max_length=256, description="初始密码")
    org_id: int
    roles: list[Role] = Field(min_length=1)


class UserUpdate(Input):
    display_name: str | None = Field(default=None, min_length=1, max_length=64)
    org_id: int | None = Field(
        default=None, strict=True, description="调到另一机构 (ends the user's sessions)"
    )
    roles: list[Role] | None = Field(
        default=None, min_length=1, description="角色 (a change ends the user's sessions)"
    )
    is_active: bool | None = Field(default=None, strict=True)
    password: str | None = Field(
        default=None,
        min_length=1,
        max_length=256,
        description="重置密码 (ends the user's sessions)",
    )


class UserQuery(Input):
    org_id: int | None = Field(default=None, description="only this org and its descendants")
    role: Role | None = None
    q: str | None = Field(default=None, max_length=64, description="username or name contains")
