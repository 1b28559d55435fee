"""The default template every province bank gets: the SME post-loan briefing sheet
(中小企业贷后管理“明白纸”), as the bank prints it, with its 填表说明 turned into required
actions and evidence requirements, and every "是" that is a warning sign as an anomaly rule."""

from __future__ import annotations

from typing import Any

from inspection_api.checklists.content import Checklist

DEFAULT_TEMPLATE_CODE = "sme_briefing_sheet"
DEFAULT_TEMPLATE_NAME = "中小企业贷后管理“明白纸”"
# 上级管理条线意见 is written by the managers above the inspector, as records of its own
# (inspection_api/sheets), never as an answer. Version 1 of the default template, seeded
# before that, had it as a text item: inspections refuse an answer to it and hide it.
SUPERVISOR_OPINION_KEY = "supervisor_opinion"
DEFAULT_TEMPLATE_DESCRIPTION = (
    "中小企业贷后检查标准检查项：企业运营状况、财务信息、实际控制人信息、其他信息、"
    "检查初步结论（上级管理条线意见由上级管理人员另行填写）。"
)

_MONEY = {"type": "number", "unit": "万元", "decimals": 2}


def _yes_no_warning(
    key: str, label: str, indicator: str, severity: str, action: str, **extra: Any
) -> dict[str, Any]:
    """A 是/否 item where 是 is the warning sign."""
    return {
        "key": key,
        "label": label,
        "type": "yes_no",
        "required_action": action,
        "anomaly_rule": {"op": "equals", "value": True, "label": indicator, "severity": severity},
        **extra,
    }


_SECTIONS: list[dict[str, Any]] = [
    {
        "title": "企业运营状况",
        "items": [
            {
                "key": "operating_status",
                "label": "企业经营状况",
                "type": "single_choice",
                "choices": ["正常", "半正常", "异常"],
                "required_action": (
                    "实地查看企业生产经营场所，了解开工、设备运转、库存及员工在岗情况。"
                ),
                "evidence": {"photo": 2},
                "help": "拍摄生产车间、仓库等能反映经营状况的现场照片。",
                "anomaly_rule": {
                    "op": "one_of",
                    "values": ["异常"],
                    "label": "企业经营状况异常",
                    "severity": "high",
                },
            },
            {
                "key": "utilities",
                "label": "截至上月末企业水、电、气数据",
                "type": "group",
                "fields": [
                    {
                        "key": "water",
                        "label": "水",
                        "type": "number",
                        "unit": "吨",
                        "min": 0,
                        "decimals": 2,
                    },
                    {
                        "key": "electricity",
                        "label": "电",
                        "type": "number",
                        "unit": "千瓦时",
                        "min": 0,
                        "decimals": 2,
                    },
                    {
                        "key": "gas",
                        "label": "气",
                        "type": "number",
                        "unit": "立方米",
                        "min": 0,
                        "decimals": 2,
                    },
                ],
                "min_filled": 1,
                "help": "可任选其中一项能真实反映企业生产情况的数据填写。",
                "required_action": (
                    "查看水表、电表、燃气表读数或缴费单据，拍照佐证留存，"
                    "并至少保存到授信结清后一年以上。"
                ),
                "evidence": {"photo": 1},
            },
            {
                "key": "tax_paid_ytd",
                "label": "截至上月末企业本年度纳税金额",
                **_MONEY,
                "min": 0,
                "required_action": (
                    "留存从税务系统打印的纳税申报表，并至少保存到授信结清后一年以上。"
                ),
                "evidence": {"photo": 1},
            },
            {
                "key": "payroll",
                "label": "企业代发工资人数及代发工资金额",
                "type": "group",
                "fields": [
                    {"key": "headcount", "label": "人数", "type": "number", "unit": "人", "min": 0},
                    {"key": "amount", "label": "金额", **_MONEY, "min": 0},
                ],
                "min_filled": 2,
                "required_action": "核对我行代发工资记录。",
            },
        ],
    },
    {
        "title": "企业财务信息",
        "items": [
            {
                "key": "credit_share_change",
                "label": "我行授信占比较年初变化情况",
                "type": "group",
                "fields": [
                    {"key": "increase", "label": "增加金额", **_MONEY, "min": 0},
                    {"key": "decrease", "label": "减少金额", **_MONEY, "min": 0},
                ],
                "min_filled": 1,
                "help": "增加或减少填写其一。",
                "required_action": "比较企业全部金融机构授信中我行授信较年初的变化。",
            },
            {
                "key": "settlement_inflow",
                "label": "截至上月末借款人我行公司结算账户累计入账金额",
                **_MONEY,
                "min": 0,
                "required_action": ("从 SMES 资金流向模块、电子报表系统等查询结算账户入账数据。"),
            },
            {
                "key": "deposits",
                "label": "截至检查日借款人我行结算账户存款余额及较年初增减额",
                "type": "group",
                "fields": [
                    {"key": "balance", "label": "余额", **_MONEY, "min": 0},
                    {"key": "change_ytd", "label": "较年初增减额", **_MONEY},
                ],
                "min_filled": 2,
                "help": "较年初减少填负数。",
                "required_action": "从 SMES 资金流向模块、电子报表系统等查询存款数据。",
            },
            _yes_no_warning(
                "other_bank_overdue",
                "他行授信是否逾期",
                "他行授信逾期",
                "high",
                "查询企业征信报告中他行授信的还款记录。",
            ),
        ],
    },
    {
        "title": "企业实际控制人信息",
        "items": [
            _yes_no_warning(
                "litigation",
                "企业是否涉及法律纠纷、负面信息",
                "企业涉及法律纠纷、负面信息",
                "high",
                "查询中国裁判文书网、中国执行信息公开网、国家企业信用信息公示系统及网络舆情。",
                help="如有，截取相关查询结果作为佐证。",
            ),
            _yes_no_warning(
                "controller_unreachable",
                "企业实际控制人已失联或不配合我行工作",
                "实际控制人失联或不配合",
                "high",
                "与实际控制人当面或电话联系，记录联系情况。",
            ),
            _yes_no_warning(
                "controller_credit_abnormal",
                "企业实际控制人个人征信是否出现异常",
                "实际控制人个人征信异常",
                "medium",
                "经授权查询实际控制人个人征信报告。",
            ),
            _yes_no_warning(
                "controller_adverse_event",
                "企业实际控制人是否有重大不利事件发生（如重大疾病、涉赌、涉诉等）",
                "实际控制人发生重大不利事件",
                "high",
                "向企业及实际控制人了解情况，结合外部信息核实。",
            ),
        ],
    },
    {
        "title": "其他信息",
        "items": [
            _yes_no_warning(
                "collateral_adverse_change",
                "抵（质）押物的品质状态是否发生重大不利变化",
                "抵（质）押物品质重大不利变化",
                "high",
                "实地查看抵（质）押物现状，核对权属证明及保管情况。",
                evidence={"photo": 1},
            ),
            _yes_no_warning(
                "guarantor_overdue",
                "保证人如有授信，是否出现逾期",
                "保证人授信逾期",
                "high",
                "查询保证人征信报告中的授信还款记录。",
            ),
            _yes_no_warning(
                "guarantor_litigation",
                "保证人是否涉及法律纠纷",
                "保证人涉及法律纠纷",
                "medium",
                "查询中国裁判文书网、中国执行信息公开网等。",
            ),
            _yes_no_warning(
                "license_invalid",
                "生产经营相关许可证是否已失效",
                "许可证失效",
                "high",
                "查验营业执照及生产经营许可证原件和有效期。",
                evidence={"photo": 1},
            ),
        ],
    },
    {
        "title": "其他需特殊说明情况",
        "items": [
            {
                "key": "special_remarks",
                "label": "其他需特殊说明情况",
                "type": "text",
                "required": False,
                "max_length": 1000,
            },
        ],
    },
    {
        "title": "检查初步结论",
        "items": [
            {
                "key": "conclusion",
                "label": "检查初步结论",
                "type": "conclusion",
                "required_action": "综合以上检查情况，给出初步结论。",
                "anomaly_rule": {
                    "op": "one_of",
                    "values": ["watch", "close_watch", "exit"],
                    "label": "检查结论为关注及以下",
                    "severity": "medium",
                },
            },
        ],
    },
]


def default_checklist() -> Checklist:
    """A fresh copy of the default form."""
    return Checklist.model_validate({"sections": _SECTIONS})


def starter_checklist() -> Checklist:
    """The form a new template starts with: the one conclusion item every template has."""
    return Checklist.model_validate(
        {"sections": [section for section in _SECTIONS if section["title"] == "检查初步结论"]}
    )
