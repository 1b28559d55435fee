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
    password: str = Field(
        min_length=1, max_length=256, description="当前密码：创建令牌须再次确认身份"
    )
    expires_in_days: int | None = Field(
        default=None,
        ge=1,
        le=3650,
        strict=True,
        description="有效天数；默认且最多为 LOANCHECK_API_TOKEN_MAX_DAYS（90）天",
    )


class TokenOut(Output):
    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime = Field(
        description="停止生效时间（不超过创建后 LOANCHECK_API_TOKEN_MAX_DAYS 天）"
    )


class TokenCreatedOut(TokenOut):
    token: str = Field(description="Shown once; send as `Authorization: Bearer <token>`")
