"""What a zh-CN reader calls each input field and each enum value, for input errors.

An error names its field twice: ``errors[].field`` is the machine path (``body.loan_amount``)
clients match on; the message starts with the field's Chinese name (``贷款金额：应为数字``),
never the path. ``tests/integration/test_problem_texts.py`` fails when a field of the OpenAPI
document has no name here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from inspection_api.anomalies.models import STATE_LABELS as ANOMALY_STATE_LABELS
from inspection_api.audit.actions import OBJECT_TYPE_LABELS
from inspection_api.auth.principal import ROLE_LABELS
from inspection_api.checklists.content import (
    CONCLUSION_LABELS,
    EVIDENCE_LABELS,
    ITEM_TYPE_LABELS,
    SEVERITY_LABELS,
)
from inspection_api.checkpoints.models import CLASSIFICATION_LABELS, EXIT_REASON_LABELS
from inspection_api.orgs.models import KIND_LABELS
from inspection_api.plans.models import STATE_LABELS as TASK_STATE_LABELS

# By the field's own name (the last name of its path). One name, one meaning across the API
# (GLOSSARY.md); where a name is generic (``value``, ``key``) so is its label.
FIELD_LABELS: dict[str, str] = {
    "accuracy": "定位精度",
    "action": "操作类型",
    "actor_user_id": "操作人",
    "address": "地址",
    "anomaly_id": "异常",
    "anomaly_rule": "预警规则",
    "answers": "检查结果",
    "assignee_user_id": "处理人",
    "audio": "录音段数",
    "auto_join": "自动加入",
    "before_id": "翻页位置",
    "bound": "GPS默认位置",
    "candidate": "网络候选地址",
    "captured_at": "拍摄时间",
    "checklist_template_id": "检查模板",
    "checklist_version_id": "检查模板版本",
    "checkpoint_id": "检查点",
    "choices": "选项",
    "classification": "五级分类",
    "client_uuid": "文件编号",
    "code": "编号",
    "comment": "意见",
    "conclusion": "检查结论",
    "contact_name": "企业联系人",
    "contact_phone": "联系电话",
    "current_password": "当前密码",
    "customer_name": "企业/借款人名称",
    "date": "日期",
    "date_from": "开始日期",
    "date_to": "结束日期",
    "decimals": "小数位数",
    "description": "说明",
    "device_id": "设备",
    "display_name": "姓名",
    "due_date": "整改期限",
    "end_date": "结束时间",
    "enterprise_name": "企业名称",
    "escalated": "已升级",
    "evidence": "验证方式",
    "evidence_id": "取证文件",
    "executor_role": "执行角色",
    "exit_count": "退出点检查次数",
    "exit_interval": "退出点检查频率",
    "exit_reason": "退出点类型",
    "exit_rule": "退出规则",
    "exit_unit": "退出点频率单位",
    "expires_in_days": "有效天数",
    "expires_in_minutes": "链接有效期",
    "fields": "子项",
    "first_rule": "首巡开始规则",
    "fix": "定位",
    "fix_captured_at": "定位时间",
    "flags": "标记",
    "frequency": "计划频次",
    "granularity": "统计周期",
    "group": "分组",
    "handler_org_id": "处理机构",
    "help": "填写说明",
    "id": "编号",
    "ids": "编号",
    "include_archived": "包含已归档",
    "include_exited": "包含退出点",
    "inspection_id": "检查记录",
    "inspection_type": "检查类型",
    "inspections": "检查记录",
    "inspector_user_id": "检查人员",
    "interval": "时间间隔",
    "invite_id": "邀请",
    "is_active": "启用",
    "item_key": "检查项",
    "items": "检查项",
    "key": "标识",
    "kind": "类型",
    "label": "名称",
    "latitude": "纬度",
    "limit": "每页条数",
    "link_days": "链接有效天数",
    "loan_amount": "贷款金额",
    "loan_date": "放款日期",
    "longitude": "经度",
    "maturity_date": "到期日",
    "max": "最大值",
    "max_length": "最大长度",
    "min": "最小值",
    "min_filled": "至少填写项数",
    "mine": "只看我的",
    "months": "月数",
    "name": "名称",
    "new_password": "新密码",
    "note": "备注",
    "notification_id": "消息",
    "number": "版本号",
    "object_type": "对象类型",
    "offset": "起始位置",
    "op": "判断方式",
    "open": "未关闭",
    "org_id": "所属机构",
    "org_ids": "机构",
    "org_kind": "机构类型",
    "overdue": "已逾期",
    "parent_id": "上级机构",
    "password": "密码",
    "period": "周期",
    "period_from": "开始周期",
    "period_to": "结束周期",
    "photo": "照片张数",
    "photo_id": "整改照片",
    "photos": "照片",
    "plan_id": "检查计划",
    "q": "搜索词",
    "qr": "二维码",
    "radius_m": "误差范围",
    "reason": "原因",
    "rectification_id": "整改意见",
    "rectification_opinion": "整改意见",
    "remote_session_id": "远程巡检",
    "request_id": "解锁申请",
    "required": "必填",
    "required_action": "规定动作",
    "resolution": "处理结果",
    "responsible_user_id": "责任人",
    "revision": "修订号",
    "role": "角色",
    "roles": "角色",
    "rule": "规则",
    "rule_id": "全局规则",
    "scan_fix": "扫码时的定位",
    "sdp": "媒体协商信息",
    "sections": "检查模板章节",
    "sent_at": "发送时间",
    "session_id": "远程巡检",
    "severity": "严重程度",
    "sha256": "文件校验值",
    "since": "起始时间",
    "source": "来源",
    "start_date": "开始时间",
    "started_at": "开始时间",
    "state": "状态",
    "status": "状态",
    "submit": "提交",
    "submitted_at": "提交时间",
    "table": "报表",
    "task_id": "检查任务",
    "template_id": "检查模板",
    "text": "内容",
    "title": "标题",
    "to": "对方",
    "token": "令牌",
    "token_id": "API 令牌",
    "type": "类型",
    "unit": "单位",
    "unread": "未读",
    "until": "截止时间",
    "upload_id": "上传文件",
    "user_id": "用户",
    "username": "用户名",
    "validity": "历史检查有效期",
    "validity_unit": "有效期单位",
    "value": "值",
    "values": "值",
    "video": "录像段数",
}

# Where a path names no field of ours (a client's own key, a checklist item key): its place.
LOCATION_LABELS = {"body": "请求内容", "query": "查询条件", "path": "地址", "data": "消息内容"}
# Names that mean another thing in a place than in the API's bodies: in a call's Socket.IO
# payload (set_media) audio and video are the microphone and camera, not evidence counts.
PLACE_LABELS = {"data": {"audio": "麦克风", "video": "摄像头"}}


def _pick(label: str | tuple[str, str]) -> str:
    return label if isinstance(label, str) else label[0]


def _enum_index(
    tables: Sequence[Mapping[Any, str] | Mapping[Any, tuple[str, str]]],
) -> dict[frozenset[str], dict[str, str]]:
    """Each enum's value set → its values' Chinese labels; a set two enums share with other
    labels (``this_month`` reads 当月首巡 or 当月停止) is left out: the values are shown."""
    index: dict[frozenset[str], dict[str, str] | None] = {}
    for table in tables:
        values = frozenset(member.value for member in table)
        labels = {member.value: _pick(label) for member, label in table.items()}
        index[values] = labels if index.get(values, labels) == labels else None
    return {values: labels for values, labels in index.items() if labels is not None}


ENUM_LABELS: dict[frozenset[str], dict[str, str]] = _enum_index(
    [
        ANOMALY_STATE_LABELS,
        CLASSIFICATION_LABELS,
        OBJECT_TYPE_LABELS,
        CONCLUSION_LABELS,
        EVIDENCE_LABELS,
        EXIT_REASON_LABELS,
        ITEM_TYPE_LABELS,
        KIND_LABELS,
        ROLE_LABELS,
        SEVERITY_LABELS,
        TASK_STATE_LABELS,
    ]
)


def field_label(location: str, loc: Sequence[str | int]) -> str:
    """The Chinese name of the field at ``loc`` under ``location``: the nearest name of the
    path that has one (``answers.payroll.headcount`` → 检查结果), the place itself failing that;
    a list entry adds its position (``org_ids.2`` → 机构（第 3 项）)."""
    position = ""
    for part in reversed(loc):
        if isinstance(part, int) or (part.isascii() and part.isdigit()):
            position = position or f"（第 {int(part) + 1} 项）"
            continue
        label = PLACE_LABELS.get(location, {}).get(part) or FIELD_LABELS.get(part)
        if label is not None:
            return label + position
        position = ""
    return LOCATION_LABELS.get(location, "请求内容")


def enum_choices(values: Sequence[str]) -> str:
    """The allowed values as a reader knows them: 已退出、已核销… when the set is an enum of
    ours with labels, else the values themselves."""
    labels = ENUM_LABELS.get(frozenset(values), {})
    return "、".join(labels.get(value, value) for value in values)
