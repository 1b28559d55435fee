"""What an audit event's detail says, in the words of the 审计日志 page: the one place that
words it, for the page (``detail_parts`` of ``GET /api/v1/audit-events``) and the CSV's 详情.

A detail is what a service recorded (``record(..., checkpoint_id=5, reason="inactive")``):
each member becomes a part, 「label：text」, the parts joined by 「；」. A member that holds a
record's id says the record's name (``ref`` tells the page which record to link to); a code
says its label; an edit's ``changes`` say each field 「旧 → 新」. A key or a value no table
knows is shown as recorded: a new field reads in English until it is given a label here, it
never goes missing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from inspection_api.anomalies.models import AnomalySource
from inspection_api.auth.principal import ROLE_LABELS
from inspection_api.checklists.content import SEVERITY_LABELS

# What each detail member is, as a person reads it (the keys are the services' audit fields,
# also the fields of an edit's ``changes``, as the API names them).
DETAIL_LABELS: dict[str, str] = {
    "reason": "原因",
    "reason_label": "原因",
    "previous_reason": "原原因",
    "session_id": "会话",  # said by what it is (SESSION_LABELS) where the server knows
    "sessions_ended": "结束会话数",
    "tokens_revoked": "吊销令牌数",
    "token_id": "令牌",
    "name": "名称",
    "code": "编号",
    "title": "标题",
    "text": "内容",
    "comment": "意见",
    "note": "备注",
    "previous_note": "原备注",
    "kind": "类型",
    "template_id": "检查模板",
    "checklist_template_id": "检查模板",
    "version_id": "模板版本",
    "number": "版本号",
    "seeded": "系统预置",
    "checkpoint_id": "检查点",
    "inspection_id": "检查记录",
    "anomaly_id": "异常",
    "rectification_id": "整改意见",
    "opinion_id": "整改意见",
    "unlock_request_id": "解锁申请",
    "plan_id": "检查计划",
    "rule_id": "全局规则",
    "rule_name": "规则名称",
    "task_id": "检查任务",
    "period_start": "检查周期开始",
    "start_date": "开始日期",
    "end_date": "结束日期",
    "date": "日期",
    "previous_date": "原日期",
    "due_date": "期限",
    "expires_at": "有效期至",
    "reopened_until": "重新开放至",
    "print_deadline": "打印截止",
    "print_count": "打印次数",
    "executor_role": "执行角色",
    "auto_join": "自动加入",
    "roles": "角色",
    "user_id": "用户",
    "username": "用户名",
    "previous_user_id": "原负责人",
    "assignee_user_id": "分派给",
    "assignee_username": "分派给",
    "responsible_user_id": "责任人",
    "org_id": "机构",
    "from_org_id": "原机构",
    "to_org_id": "新机构",
    "handler_org_id": "处理机构",
    "approver_org_id": "审批机构",
    "escalation_level": "上报级数",
    "indicator": "预警指标",
    "severity": "严重程度",
    "source": "来源",
    "invite_id": "邀请",
    "participant_id": "参与者",
    "enterprise_name": "企业名称",
    "contact_name": "企业联系人",
    "generation": "标签代次",
    "retired_generation": "作废的标签代次",
    "distance_m": "距离（米）",
    "radius_m": "误差范围（米）",
    "accuracy_m": "定位精度（米）",
    "latitude": "纬度",
    "longitude": "经度",
    "old_latitude": "原纬度",
    "old_longitude": "原经度",
    "old_bound_at": "原定位时间",
    "photos": "照片数",
    "old": "原值",
    "new": "新值",
    "changes": "修改",
    # Fields of a plan rule, a checkpoint, a user (the changes of an edit).
    "org_kind": "机构类型",
    "frequency": "计划频次",
    "interval": "时间间隔",
    "inspection_type": "检查类型",
    "validity": "历史检查有效期",
    "validity_unit": "有效期单位",
    "exit_rule": "退出规则",
    "exit_interval": "退出点检查频率",
    "exit_unit": "退出点频率单位",
    "exit_count": "退出点检查次数",
    "first_rule": "首巡开始规则",
    "customer_name": "企业/借款人名称",
    "loan_amount": "贷款金额",
    "loan_date": "放款日期",
    "maturity_date": "到期日",
    "classification": "五级分类",
    "address": "地址",
    "contact_phone": "联系电话",
    "display_name": "姓名",
    "is_active": "启用",
    "password": "密码",
}
# Why a login failed (auth.service records these).
REASON_LABELS: dict[str, str] = {"bad_credentials": "用户名或密码错误", "inactive": "账号已停用"}
SOURCE_LABELS: dict[str, str] = {
    AnomalySource.RULE: "检查项预警规则",
    AnomalySource.INSPECTOR: "检查员标记",
}
# Values that are codes: said by their member. Roles and severities as the rest of the API
# says them.
VALUE_LABELS: dict[str, Mapping[str, str]] = {
    "reason": REASON_LABELS,
    "severity": {severity.value: zh for severity, (zh, _en) in SEVERITY_LABELS.items()},
    "source": SOURCE_LABELS,
    "executor_role": {role.value: zh for role, zh in ROLE_LABELS.items()},
    "roles": {role.value: zh for role, zh in ROLE_LABELS.items()},
    "password": {"reset": "已重置"},
}
# `session_id` is a login's session or a remote inspection, by the event (its `refs`).
SESSION_LABELS: dict[str, str] = {"login_session": "登录会话", "remote_session": "远程巡检"}
# A record known by its number rather than its name says which kind it is: 检查记录 #12.
NUMBERED: dict[str, str] = {"inspection": "检查记录", "rectification": "整改意见"}
# Between the parts of a detail, and between the fields of an edit.
PART_SEPARATOR = "；"
CHANGE_SEPARATOR = "，"


@dataclass(frozen=True)
class DetailValue:
    """One value as a person reads it; ``ref`` (``kind:id``) when it is a record the caller
    may see (inside the jurisdiction), for the page to link to."""

    text: str
    ref: str | None = None


@dataclass(frozen=True)
class DetailChange:
    """One field of an edit: 「label before → after」, or 「label after」 when only the new
    value was recorded (a user's edit)."""

    field: str
    label: str
    after: DetailValue
    before: DetailValue | None = None

    @property
    def text(self) -> str:
        if self.before is None:
            return f"{self.label} {self.after.text}"
        return f"{self.label} {self.before.text} → {self.after.text}"


@dataclass(frozen=True)
class DetailPart:
    """One member of a detail: 「label：text」. An edit's ``changes`` carry each field."""

    key: str
    label: str
    text: str
    ref: str | None = None
    changes: tuple[DetailChange, ...] | None = None


def record_text(kind: str, record_id: int, names: Mapping[str, str]) -> str:
    """A record as the page says it: its name; a numbered record by its kind and number
    (检查记录 #12); one outside the jurisdiction (no name) by its bare id (#5)."""
    if kind in NUMBERED:
        return f"{NUMBERED[kind]} #{record_id}"
    return names.get(f"{kind}:{record_id}", f"#{record_id}")


def _number(value: int | float) -> str:
    # As the page printed it (JavaScript): a float that is whole without ".0".
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def value_text(key: str, value: Any) -> str:
    """A plain value (not a record's id) as a person reads it: 无, 是/否, a code's label, a
    list's members joined by 、, anything else as recorded."""
    if value is None or value == "":
        return "无"
    if value is True:
        return "是"
    if value is False:
        return "否"
    if isinstance(value, list):
        return "、".join(value_text(key, item) for item in value) or "无"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if isinstance(value, int | float):
        return _number(value)
    text = str(value)
    return VALUE_LABELS.get(key, {}).get(text, text)


def _value(key: str, value: Any, refs: Mapping[str, str], names: Mapping[str, str]) -> DetailValue:
    kind = refs.get(key)
    if kind is None or not isinstance(value, int) or isinstance(value, bool):
        return DetailValue(value_text(key, value))
    ref = f"{kind}:{value}"
    return DetailValue(record_text(kind, value, names), ref if ref in names else None)


def _label(key: str) -> str:
    return DETAIL_LABELS.get(key, key)


def detail_parts(
    action: str, detail: Any, refs: Mapping[str, str], names: Mapping[str, str]
) -> list[DetailPart]:
    """The parts of an event's ``detail``, in its order. ``refs``: the detail keys that hold a
    record's id → its kind; ``names``: ``kind:id`` → name, of the records the caller may see."""
    if not isinstance(detail, dict):
        return []
    # An edit's changes are {field: [before, after]}; a user's are {field: after}.
    pairs = action != "user_updated"
    parts = []
    for key, value in detail.items():
        # `session_id` says what it is where the server knows (a login, a remote inspection).
        session = SESSION_LABELS.get(refs.get(key, "")) if key == "session_id" else None
        label = session or _label(key)
        if key == "changes" and isinstance(value, dict):
            changes = tuple(
                DetailChange(
                    field,
                    _label(field),
                    before=_value(field, change[0], refs, names),
                    after=_value(field, change[1], refs, names),
                )
                if pairs and isinstance(change, list) and len(change) == 2
                else DetailChange(field, _label(field), after=_value(field, change, refs, names))
                for field, change in value.items()
            )
            text = CHANGE_SEPARATOR.join(change.text for change in changes)
            parts.append(DetailPart(key, label, text, changes=changes))
        else:
            one = _value(key, value, refs, names)
            parts.append(DetailPart(key, label, one.text, ref=one.ref))
    return parts


def detail_line(parts: list[DetailPart]) -> str:
    """The parts as one line, as the page shows them: 「原因：账号已停用；登录会话：…」."""
    return PART_SEPARATOR.join(f"{part.label}：{part.text}" for part in parts)
