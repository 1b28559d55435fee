"""What the audit log records: every action, what kind of record it is about, and what a
person calls it (操作类型, 对象类型). The console's filters and labels come from here
(``GET /api/v1/audit-events/actions``); ``tests/unit/test_audit_actions.py`` fails when a
service records an action this table does not know."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ObjectType(StrEnum):
    """The kind of record an event is about (对象类型)."""

    ACCOUNT = "account"  # 登录与账号: logins, passwords, API tokens
    ORG = "org"
    USER = "user"
    CHECKPOINT = "checkpoint"
    TEMPLATE = "template"
    RULE = "rule"
    PLAN = "plan"
    TASK = "task"
    INSPECTION = "inspection"
    REMOTE_SESSION = "remote_session"
    SHEET = "sheet"
    ANOMALY = "anomaly"
    RECTIFICATION = "rectification"


OBJECT_TYPE_LABELS: dict[ObjectType, tuple[str, str]] = {
    ObjectType.ACCOUNT: ("登录与账号", "login and account"),
    ObjectType.ORG: ("机构", "organisation"),
    ObjectType.USER: ("用户", "user"),
    ObjectType.CHECKPOINT: ("检查点", "checkpoint"),
    ObjectType.TEMPLATE: ("检查模板", "checklist template"),
    ObjectType.RULE: ("全局规则", "global rule"),
    ObjectType.PLAN: ("检查计划", "plan"),
    ObjectType.TASK: ("检查任务", "task"),
    ObjectType.INSPECTION: ("检查记录", "inspection"),
    ObjectType.REMOTE_SESSION: ("远程巡检", "remote inspection"),
    ObjectType.SHEET: ("明白纸", "briefing sheet"),
    ObjectType.ANOMALY: ("异常", "anomaly"),
    ObjectType.RECTIFICATION: ("整改意见", "rectification"),
}


@dataclass(frozen=True)
class Action:
    object_type: ObjectType
    zh: str
    en: str


def _of(object_type: ObjectType, **labels: tuple[str, str]) -> dict[str, Action]:
    return {name: Action(object_type, zh, en) for name, (zh, en) in labels.items()}


# In the order the filter lists them: by object type, then as work happens.
ACTIONS: dict[str, Action] = {
    **_of(
        ObjectType.ACCOUNT,
        login_succeeded=("登录成功", "logged in"),
        login_failed=("登录失败", "login failed"),
        login_rate_limited=("登录受限", "login rate-limited"),
        logout=("退出登录", "logged out"),
        password_changed=("修改密码", "password changed"),
        password_change_failed=("修改密码失败", "password change failed"),
        token_created=("创建 API 令牌", "API token created"),
        token_create_failed=("创建 API 令牌失败", "API token creation failed"),
        token_revoked=("吊销 API 令牌", "API token revoked"),
    ),
    **_of(
        ObjectType.ORG,
        org_created=("新建机构", "organisation created"),
        org_renamed=("修改机构", "organisation renamed"),
    ),
    **_of(
        ObjectType.USER,
        user_created=("新建用户", "user created"),
        user_updated=("修改用户", "user updated"),
    ),
    **_of(
        ObjectType.CHECKPOINT,
        checkpoint_created=("新建检查点", "checkpoint created"),
        checkpoint_updated=("修改检查点", "checkpoint updated"),
        checkpoint_deleted=("删除检查点", "checkpoint deleted"),
        checkpoint_exited=("标记退出点", "marked as exit point"),
        checkpoint_reinstated=("恢复检查", "reinstated"),
        checkpoint_qr_regenerated=("重新生成二维码", "QR code regenerated"),
        checkpoint_position_bound=("GPS定位（首次扫码）", "position bound (first scan)"),
        checkpoint_position_reset=("重置GPS", "position reset"),
        checkpoint_checked_in=("现场扫码签到", "checked in on site"),
    ),
    **_of(
        ObjectType.TEMPLATE,
        checklist_template_created=("新建检查模板", "checklist template created"),
        checklist_version_published=("发布检查模板", "checklist template published"),
        checklist_draft_discarded=("放弃检查模板草稿", "checklist draft discarded"),
        checklist_template_archived=("归档检查模板", "checklist template archived"),
    ),
    **_of(
        ObjectType.RULE,
        plan_rule_created=("添加全局规则", "global rule added"),
        plan_rule_updated=("修改全局规则", "global rule updated"),
        plan_rule_deleted=("删除全局规则", "global rule deleted"),
    ),
    **_of(
        ObjectType.PLAN,
        plan_created=("新建检查计划", "plan created"),
        plan_updated=("修改检查计划", "plan updated"),
        plan_deleted=("删除检查计划", "plan deleted"),
    ),
    **_of(ObjectType.TASK, task_assigned=("分派检查任务", "task assigned")),
    **_of(
        ObjectType.INSPECTION,
        inspection_started=("开始检查", "inspection started"),
        inspection_resumed=("继续检查", "inspection resumed"),
        inspection_evidence_added=("上传取证", "evidence added"),
        inspection_evidence_removed=("删除取证", "evidence removed"),
        inspection_submitted=("提交检查", "inspection submitted"),
        inspection_approved=("审核通过", "inspection approved"),
        inspection_returned=("退回检查", "inspection returned"),
        self_check_invited=("发起企业自检", "self-check invited"),
        self_check_invite_revoked=("撤销自检链接", "self-check link revoked"),
        self_check_synced=("企业自检离线上传", "self-check synced"),
    ),
    **_of(
        ObjectType.REMOTE_SESSION,
        remote_session_created=("新建远程巡检", "remote inspection created"),
        remote_invite_created=("邀请企业联系人", "contact invited"),
        remote_invite_revoked=("撤销邀请链接", "invite revoked"),
        remote_participant_joined=("加入通话", "joined the call"),
        remote_session_ended=("结束远程巡检", "remote inspection ended"),
        remote_session_cancelled=("取消远程巡检", "remote inspection cancelled"),
    ),
    **_of(
        ObjectType.SHEET,
        sheet_printed=("打印明白纸", "briefing sheet printed"),
        supervisor_opinion_added=("填写上级管理条线意见", "supervisor opinion added"),
        sheet_unlock_requested=("申请解锁明白纸", "unlock requested"),
        sheet_unlock_approved=("同意解锁明白纸", "unlock approved"),
        sheet_unlock_refused=("拒绝解锁明白纸", "unlock refused"),
    ),
    **_of(
        ObjectType.ANOMALY,
        anomaly_raised=("发现异常", "anomaly raised"),
        anomaly_acknowledged=("受理异常", "anomaly acknowledged"),
        anomaly_reassigned=("转派异常", "anomaly reassigned"),
        anomaly_resolved=("异常处理完成", "anomaly resolved"),
        anomaly_escalated=("异常超期上报", "anomaly escalated"),
        anomaly_overdue=("异常超期（无上级处理人）", "anomaly overdue (no handler above)"),
    ),
    **_of(
        ObjectType.RECTIFICATION,
        rectification_created=("下发整改意见", "rectification issued"),
        rectification_replied=("企业整改反馈", "enterprise replied"),
        rectification_closed=("关闭整改意见", "rectification closed"),
        rectification_reopened=("退回重新整改", "rectification reopened"),
        rectification_link_renewed=("重新生成整改反馈链接", "reply link renewed"),
    ),
}


def actions_of(object_type: ObjectType) -> list[str]:
    """The actions about records of ``object_type``."""
    return [name for name, action in ACTIONS.items() if action.object_type == object_type]


def label_of(action: str) -> str:
    """操作类型 as a person reads it; an action this table does not know, as recorded."""
    known = ACTIONS.get(action)
    return known.zh if known else action
