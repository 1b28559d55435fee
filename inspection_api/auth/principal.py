"""Who is calling: an authenticated bank user with roles and a jurisdiction."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    SYSTEM_ADMIN = "system_admin"  # 系统管理员
    ORG_ADMIN = "org_admin"  # 省行/分行管理员
    INSPECTOR = "inspector"  # 客户经理/检查员
    REVIEWER = "reviewer"  # 审核人
    EXCEPTION_HANDLER = "exception_handler"  # 异常处理人
    ENTERPRISE_CONTACT = "enterprise_contact"  # 企业联系人 (external, joins by invite)


ROLE_LABELS: dict[Role, str] = {
    Role.SYSTEM_ADMIN: "系统管理员",
    Role.ORG_ADMIN: "机构管理员",
    Role.INSPECTOR: "客户经理/检查员",
    Role.REVIEWER: "审核人",
    Role.EXCEPTION_HANDLER: "异常处理人",
    Role.ENTERPRISE_CONTACT: "企业联系人",
}


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    org_id: int
    org_path: str  # materialized path of the user's org, e.g. "/1/4/"
    roles: frozenset[Role]
    session_id: int | None = None  # set for browser sessions, None for bearer tokens
    token_id: int | None = None

    def has(self, role: Role) -> bool:
        return role in self.roles

    def governs(self, org_path: str) -> bool:
        """True when ``org_path`` is the user's org or one of its descendants (辖区)."""
        return org_path.startswith(self.org_path)
