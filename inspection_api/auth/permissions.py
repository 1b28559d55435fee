"""The permission matrix: which role may do what, always inside the caller's jurisdiction.

docs/permissions.md shows this table to people; a test keeps the two equal.
"""

from __future__ import annotations

from enum import StrEnum

from inspection_api.auth.principal import Principal, Role
from inspection_api.errors import Forbidden, OutsideJurisdiction


class Permission(StrEnum):
    ORG_READ = "org.read"  # see orgs in jurisdiction
    ORG_MANAGE = "org.manage"  # create/rename orgs below one's own
    USER_READ = "user.read"  # see users in jurisdiction
    USER_MANAGE = "user.manage"  # create/edit users, grant roles, reset passwords
    AUDIT_READ = "audit.read"  # read the audit log of the jurisdiction
    REMOTE_RUN = "remote.run"  # open remote inspections, invite contacts, join and end calls
    REMOTE_READ = "remote.read"  # see remote inspections, their participants and events
    CHECKPOINT_READ = "checkpoint.read"  # see checkpoints, their QR labels and navigation links
    CHECKPOINT_MANAGE = "checkpoint.manage"  # create/edit, exit/reinstate, new QR, reset GPS
    CHECKPOINT_CHECK_IN = "checkpoint.check_in"  # scan a QR label on site (binds/verifies GPS)
    CHECKLIST_READ = "checklist.read"  # see checklist templates and their versions
    CHECKLIST_MANAGE = "checklist.manage"  # create, edit, publish and archive templates
    PLAN_READ = "plan.read"  # see global rules, plans and their progress
    PLAN_MANAGE = "plan.manage"  # create/edit/delete rules and plans, preview their tasks
    TASK_READ = "task.read"  # see the tasks of the jurisdiction
    TASK_ASSIGN = "task.assign"  # assign tasks to a user, or back to the whole 支行
    INSPECTION_READ = "inspection.read"  # see inspections, their answers and evidence
    INSPECTION_RUN = "inspection.run"  # start, fill in and submit inspections; invite self-checks
    INSPECTION_REVIEW = "inspection.review"  # approve or return submitted inspections
    ANOMALY_READ = "anomaly.read"  # see anomalies (异常) and their history
    ANOMALY_HANDLE = "anomaly.handle"  # acknowledge, resolve and reassign anomalies
    RECTIFICATION_READ = "rectification.read"  # see rectifications (整改意见), replies, evidence
    RECTIFICATION_MANAGE = "rectification.manage"  # issue, close, reopen, renew the contact link
    SUPERVISION_READ = "supervision.read"  # 实时监管: completion, coverage and reports, exports
    SHEET_PRINT = "sheet.print"  # print an inspection's briefing sheet, ask to unlock it
    SHEET_OPINION = "sheet.opinion"  # write 上级管理条线意见 (never on one's own inspection)
    SHEET_UNLOCK = "sheet.unlock"  # approve or refuse unlock requests; the unlock report


PERMISSION_LABELS: dict[Permission, tuple[str, str]] = {
    Permission.ORG_READ: ("查看机构", "read organisations"),
    Permission.ORG_MANAGE: ("管理机构", "manage organisations"),
    Permission.USER_READ: ("查看用户", "read users"),
    Permission.USER_MANAGE: ("管理用户", "manage users"),
    Permission.AUDIT_READ: ("查看审计日志", "read the audit log"),
    Permission.REMOTE_RUN: ("创建和主持远程巡检", "open and run remote inspections"),
    Permission.REMOTE_READ: ("查看远程巡检", "read remote inspections"),
    Permission.CHECKPOINT_READ: ("查看检查点", "read checkpoints"),
    Permission.CHECKPOINT_MANAGE: ("管理检查点", "manage checkpoints"),
    Permission.CHECKPOINT_CHECK_IN: ("现场扫码定位", "check in at checkpoints"),
    Permission.CHECKLIST_READ: ("查看检查模板", "read checklist templates"),
    Permission.CHECKLIST_MANAGE: ("管理检查模板", "manage checklist templates"),
    Permission.PLAN_READ: ("查看检查计划", "read inspection plans"),
    Permission.PLAN_MANAGE: ("管理检查计划", "manage inspection plans"),
    Permission.TASK_READ: ("查看检查任务", "read inspection tasks"),
    Permission.TASK_ASSIGN: ("分派检查任务", "assign inspection tasks"),
    Permission.INSPECTION_READ: ("查看检查记录", "read inspections"),
    Permission.INSPECTION_RUN: ("开展检查", "run inspections"),
    Permission.INSPECTION_REVIEW: ("审核检查", "review inspections"),
    Permission.ANOMALY_READ: ("查看异常", "read anomalies"),
    Permission.ANOMALY_HANDLE: ("处理异常", "handle anomalies"),
    Permission.RECTIFICATION_READ: ("查看整改意见", "read rectifications"),
    Permission.RECTIFICATION_MANAGE: ("管理整改意见", "manage rectifications"),
    Permission.SUPERVISION_READ: ("查看实时监管", "read supervision reports"),
    Permission.SHEET_PRINT: ("打印明白纸", "print briefing sheets"),
    Permission.SHEET_OPINION: ("填写上级管理条线意见", "write supervisor opinions"),
    Permission.SHEET_UNLOCK: ("审批明白纸解锁", "approve briefing sheet unlocks"),
}

_STAFF = frozenset(
    {
        Permission.ORG_READ,
        Permission.USER_READ,
        Permission.REMOTE_READ,
        Permission.CHECKPOINT_READ,
        Permission.CHECKLIST_READ,
        Permission.PLAN_READ,
        Permission.TASK_READ,
        Permission.INSPECTION_READ,
        Permission.ANOMALY_READ,
        Permission.RECTIFICATION_READ,
    }
)

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.SYSTEM_ADMIN: frozenset(Permission),
    Role.ORG_ADMIN: frozenset(Permission),
    Role.INSPECTOR: _STAFF
    | {
        Permission.REMOTE_RUN,
        Permission.CHECKPOINT_CHECK_IN,
        Permission.INSPECTION_RUN,
        Permission.RECTIFICATION_MANAGE,
        Permission.SHEET_PRINT,
    },
    Role.REVIEWER: _STAFF
    | {
        Permission.AUDIT_READ,
        Permission.INSPECTION_REVIEW,
        Permission.SUPERVISION_READ,
        Permission.SHEET_PRINT,
        Permission.SHEET_OPINION,
    },
    Role.EXCEPTION_HANDLER: _STAFF | {Permission.ANOMALY_HANDLE},
    Role.ENTERPRISE_CONTACT: frozenset(),
}


def permissions_of(principal: Principal) -> frozenset[Permission]:
    granted: frozenset[Permission] = frozenset()
    for role in principal.roles:
        granted |= ROLE_PERMISSIONS[role]
    return granted


def require(principal: Principal, permission: Permission) -> None:
    if permission not in permissions_of(principal):
        raise Forbidden(action=PERMISSION_LABELS[permission])


def require_governs(principal: Principal, org_path: str, resource: str, ident: object) -> None:
    """Refuse (as not found) anything outside the caller's jurisdiction."""
    if not principal.governs(org_path):
        raise OutsideJurisdiction(resource=resource, id=ident)


def grantable_roles(principal: Principal) -> frozenset[Role]:
    """Roles the caller may hand out: never more than an administrator holds."""
    if principal.has(Role.SYSTEM_ADMIN):
        return frozenset(Role)
    if principal.has(Role.ORG_ADMIN):
        return frozenset(Role) - {Role.SYSTEM_ADMIN}
    return frozenset()
