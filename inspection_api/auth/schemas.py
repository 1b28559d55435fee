from __future__ import annotations

from datetime import datetime

from pydantic import Field

from inspection_api.auth.principal import Role
from inspection_api.orgs.schemas import OrgOut
from inspection_api.schemas import Input, Output


class LoginIn(Input):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class MeOut(Output):
    id: int
    username: str
    display_name: str
    org: OrgOut
    roles: list[Role]
    permissions: list[str]


class LoginOut(Output):
    user: MeOut
    expires_at: datetime


class PasswordChangeIn(Input):
    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=256)


class TokenCreateIn(Input):
    name: str = Field(min_length=1, max_length=100, description="用途，例如 数据导出脚本")
    expires_in_days: int | None = Field(default=90, ge=1, le=3650)


class TokenOut(Output):
    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None


class TokenCreatedOut(TokenOut):
    token: str = Field(description="Shown once; send as `Authorization: Bearer <token>`")
