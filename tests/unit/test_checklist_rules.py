"""Checklist forms and answers: template checks, answer validation, anomaly rules and missing
evidence (pure functions; property-based where the input space is large)."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from inspection_api.checklists.content import Checklist, Conclusion, EvidenceKind, Severity
from inspection_api.checklists.defaults import default_checklist, starter_checklist
from inspection_api.checklists.rules import (
    anomalies,
    conclusion_of,
    missing_evidence,
    validate_answers,
)
from inspection_api.checklists.validation import check_checklist


def form(*items: dict[str, Any], conclusion: bool = True) -> Checklist:
    """One section with ``items`` (and the conclusion item, last)."""
    all_items = [*items]
    if conclusion:
        all_items.append({"key": "conclusion", "label": "初步结论", "type": "conclusion"})
    return Checklist.model_validate({"sections": [{"title": "检查", "items": all_items}]})


def fields_of(errors: list[Any]) -> list[str]:
    return [e.field for e in errors]


# ---- the default template ----


def test_default_template_is_complete_and_flags_every_warning_sign():
    checklist = default_checklist()
    assert check_checklist(checklist, publish=True) == []
    assert [s.title for s in checklist.sections] == [
        "企业运营状况",
        "企业财务信息",
        "企业实际控制人信息",
        "其他信息",
        "其他需特殊说明情况",
        "检查初步结论",
    ]
    # 上级管理条线意见 is the managers' own record (inspection_api/sheets), not an answer.
    assert checklist.item("supervisor_opinion") is None
    ruled = {item.key: item.anomaly_rule for _, item in checklist.items() if item.anomaly_rule}
    warnings = [
        "other_bank_overdue",
        "litigation",
        "controller_unreachable",
        "controller_credit_abnormal",
        "controller_adverse_event",
        "collateral_adverse_change",
        "guarantor_overdue",
        "guarantor_litigation",
        "license_invalid",
    ]
    for key in warnings:  # 是 is the warning sign
        rule = ruled[key]
        assert (rule.op.value, rule.value) == ("equals", True), key
        assert rule.label
    assert ruled["operating_status"].values == ["异常"]
    assert set(ruled["conclusion"].values or []) == {"watch", "close_watch", "exit"}
    utilities = checklist.item("utilities")
    assert utilities is not None and utilities.min_filled == 1
    assert [f.label for f in utilities.fields or []] == ["水", "电", "气"]
    assert utilities.evidence.photo >= 1 and utilities.required_action


def test_a_clean_inspection_of_the_default_template_validates_without_anomalies():
    checklist = default_checklist()
    answers = {
        "operating_status": "正常",
        "utilities": {"electricity": 125000.5},
        "tax_paid_ytd": 86.42,
        "payroll": {"headcount": 58, "amount": 41.3},
        "credit_share_change": {"decrease": 20},
        "settlement_inflow": 1520.75,
        "deposits": {"balance": 310.2, "change_ytd": -45.5},
        "other_bank_overdue": False,
        "litigation": False,
        "controller_unreachable": False,
        "controller_credit_abnormal": False,
        "controller_adverse_event": False,
        "collateral_adverse_change": False,
        "guarantor_overdue": False,
        "guarantor_litigation": False,
        "license_invalid": False,
        "conclusion": "normal",
    }
    assert validate_answers(checklist, answers) == []
    assert anomalies(checklist, answers) == []
    assert conclusion_of(checklist, answers) == Conclusion.NORMAL
    missing = missing_evidence(checklist, {"operating_status": {"photo": 1}}, answers)
    assert [(m.item_key, m.kind, m.missing) for m in missing] == [
        ("operating_status", EvidenceKind.PHOTO, 1),
        ("utilities", EvidenceKind.PHOTO, 1),
        ("tax_paid_ytd", EvidenceKind.PHOTO, 1),
        ("collateral_adverse_change", EvidenceKind.PHOTO, 1),
        ("license_invalid", EvidenceKind.PHOTO, 1),
    ]


def test_warning_answers_of_the_default_template_fire_their_indicators():
    checklist = default_checklist()
    fired = anomalies(
        checklist,
        {
            "operating_status": "异常",
            "other_bank_overdue": True,
            "guarantor_litigation": True,
            "license_invalid": False,
            "conclusion": "close_watch",
        },
    )
    assert [(a.item_key, a.indicator, a.severity) for a in fired] == [
        ("operating_status", "企业经营状况异常", Severity.HIGH),
        ("other_bank_overdue", "他行授信逾期", Severity.HIGH),
        ("guarantor_litigation", "保证人涉及法律纠纷", Severity.MEDIUM),
        ("conclusion", "检查结论为关注及以下", Severity.MEDIUM),
    ]
    assert fired[0].section == "企业运营状况" and fired[0].answer == "异常"


# ---- template checks ----


def test_template_errors_name_the_path():
    checklist = Checklist.model_validate(
        {
            "sections": [
                {"title": "一", "items": [{"key": "a", "label": "A", "type": "yes_no"}]},
                {
                    "title": "二",
                    "items": [
                        {"key": "a", "label": "重复", "type": "yes_no"},
                        {"key": "s", "label": "单选", "type": "single_choice", "choices": []},
                        {
                            "key": "m",
                            "label": "多选",
                            "type": "multi_choice",
                            "choices": ["甲", "乙", "甲"],
                            "anomaly_rule": {"op": "one_of", "values": ["丙"], "label": "x"},
                        },
                        {
                            "key": "n",
                            "label": "数值",
                            "type": "number",
                            "min": 5,
                            "max": 1,
                            "choices": ["x", "y"],
                            "anomaly_rule": {"op": "below", "value": "十", "label": "低"},
                        },
                        {
                            "key": "t",
                            "label": "文本",
                            "type": "text",
                            "anomaly_rule": {"op": "equals", "value": "x", "label": "x"},
                        },
                        {
                            "key": "y",
                            "label": "是否",
                            "type": "yes_no",
                            "anomaly_rule": {"op": "equals", "value": "是", "label": "x"},
                        },
                    ],
                },
            ]
        }
    )
    errors = check_checklist(checklist)
    assert {e.field: e.zh for e in errors} == {
        "sections.1.items.0.key": "标识「a」重复（已用于 sections.0.items.0）",
        "sections.1.items.1.choices": "至少需要 2 个选项",
        "sections.1.items.2.choices.2": "选项「甲」重复",
        "sections.1.items.2.anomaly_rule.values.0": "「丙」不是此检查项的选项",
        "sections.1.items.3.choices": "「数值」类型不使用此设置，请删除",
        "sections.1.items.3.max": "最大值不能小于最小值",
        "sections.1.items.3.anomaly_rule.value": "应为数字（阈值）",
        "sections.1.items.4.anomaly_rule": "「文本」类型不支持异常规则",
        "sections.1.items.5.anomaly_rule.value": "应为 true（是）或 false（否）",
    }
    assert errors[0].en == 'key "a" is used twice (also at sections.0.items.0)'


def test_rules_must_fit_their_item():
    def rule_errors(item: dict[str, Any]) -> dict[str, str]:
        return {e.field: e.en for e in check_checklist(form(item))}

    choice = {"key": "c", "label": "经营状况", "type": "single_choice", "choices": ["正常", "异常"]}
    assert rule_errors({**choice, "anomaly_rule": {"op": "below", "value": 1, "label": "x"}}) == {
        "sections.0.items.0.anomaly_rule.op": "for a single_choice item use one of: equals, one_of"
    }
    assert rule_errors(
        {
            **choice,
            "anomaly_rule": {"op": "equals", "value": "异常", "values": ["异常"], "label": "x"},
        }
    ) == {"sections.0.items.0.anomaly_rule.values": "not used by equals"}
    assert rule_errors(
        {**choice, "anomaly_rule": {"op": "one_of", "values": [], "label": "x"}}
    ) == {"sections.0.items.0.anomaly_rule.values": "needs at least one choice"}
    number = {"key": "n", "label": "纳税", "type": "number", "unit": "万元"}
    assert rule_errors({**number, "anomaly_rule": {"op": "outside", "min": 1, "label": "x"}}) == {
        "sections.0.items.0.anomaly_rule.max": "Field required"
    }
    outside = {"op": "outside", "min": 10, "max": 1, "label": "x"}
    assert rule_errors({**number, "anomaly_rule": outside}) == {
        "sections.0.items.0.anomaly_rule.max": "must not be less than min"
    }
    assert rule_errors({**number, "anomaly_rule": {"op": "above", "value": 5, "label": "x"}}) == {}
    conclusion_rule = {"op": "equals", "value": "关注", "label": "x"}
    errors = check_checklist(
        Checklist.model_validate(
            {
                "sections": [
                    {
                        "title": "结论",
                        "items": [
                            {
                                "key": "c",
                                "label": "结论",
                                "type": "conclusion",
                                "anomaly_rule": conclusion_rule,
                            }
                        ],
                    }
                ]
            }
        )
    )
    assert {e.field: e.zh for e in errors} == {
        "sections.0.items.0.anomaly_rule.value": "应为以下之一：normal、watch、close_watch、exit"
    }


def test_groups_conclusions_and_what_publishing_needs():
    group = {
        "key": "g",
        "label": "水电气",
        "type": "group",
        "fields": [
            {"key": "w", "label": "水", "type": "number", "max_length": 3},
            {"key": "w", "label": "电", "type": "number"},
        ],
        "min_filled": 3,
    }
    assert {e.field: e.zh for e in check_checklist(form(group))} == {
        "sections.0.items.0.fields.0.max_length": "「数值」类型不使用此设置，请删除",
        "sections.0.items.0.fields.1.key": "子项标识「w」重复",
        "sections.0.items.0.min_filled": "不能超过子项数量（2）",
    }
    empty_group = {"key": "g", "label": "空", "type": "group", "fields": []}
    assert fields_of(check_checklist(form(empty_group))) == ["sections.0.items.0.fields"]
    misplaced = {"key": "t", "label": "文本", "type": "text", "min_filled": 1}
    assert fields_of(check_checklist(form(misplaced))) == ["sections.0.items.0.min_filled"]

    two = form({"key": "c2", "label": "又一个结论", "type": "conclusion", "required": False})
    assert {e.field: e.en for e in check_checklist(two)} == {
        "sections.0.items.0.required": "the conclusion must be required",
        "sections.0.items.1.type": (
            "a template has exactly one conclusion item (already at sections.0.items.0)"
        ),
    }
    draft = Checklist.model_validate(
        {"sections": [{"title": "空分区", "items": []}, {"title": "二", "items": []}]}
    )
    assert check_checklist(draft) == []  # a draft may be incomplete
    assert {e.field: e.zh for e in check_checklist(draft, publish=True)} == {
        "sections.0.items": "分区「空分区」还没有检查项",
        "sections.1.items": "分区「二」还没有检查项",
        "sections": "缺少初步结论检查项（每个模板须有且只有一个）",
    }
    assert check_checklist(starter_checklist(), publish=True) == []


def test_shapes_and_ranges_are_refused_before_the_checks():
    with pytest.raises(ValidationError) as caught:
        form(
            {"key": "Bad-Key", "label": "x", "type": "yes_no", "evidence": {"photo": 21}},
            {"key": "ok", "label": "", "type": "maybe", "evidence": {"video": -1}},
            {"key": "n", "label": "数", "type": "number", "min": math.nan, "max": math.inf},
        )
    locs = {".".join(str(p) for p in e["loc"]) for e in caught.value.errors()}
    assert locs == {
        "sections.0.items.0.key",
        "sections.0.items.0.evidence.photo",
        "sections.0.items.1.label",
        "sections.0.items.1.type",
        "sections.0.items.1.evidence.video",
        "sections.0.items.2.min",  # NaN and infinity have no JSON form
        "sections.0.items.2.max",
    }


def test_type_defaults_are_filled_and_the_json_shape_is_stable():
    checklist = form(
        {"key": "n", "label": "数", "type": "number"},
        {"key": "t", "label": "文", "type": "text"},
        {
            "key": "g",
            "label": "组",
            "type": "group",
            "fields": [{"key": "a", "label": "甲", "type": "text"}],
        },
    )
    dumped = checklist.model_dump(mode="json")
    n, t, g, _ = dumped["sections"][0]["items"]
    assert (n["decimals"], t["max_length"], g["min_filled"], g["fields"][0]["max_length"]) == (
        0,
        500,
        1,
        500,
    )
    assert list(n) == [
        "key",
        "label",
        "type",
        "unit",
        "min",
        "max",
        "decimals",
        "max_length",
        "required",
        "help",
        "required_action",
        "evidence",
        "choices",
        "fields",
        "min_filled",
        "anomaly_rule",
    ]
    assert n["evidence"] == {"photo": 0, "video": 0, "audio": 0}
    assert Checklist.model_validate(dumped) == checklist  # a saved form reads back the same
    assert check_checklist(Checklist.model_validate(dumped), publish=True) == []


# ---- answers ----

EXAMPLES = form(
    {"key": "yn", "label": "是否逾期", "type": "yes_no"},
    {"key": "one", "label": "经营状况", "type": "single_choice", "choices": ["正常", "异常"]},
    {
        "key": "many",
        "label": "问题",
        "type": "multi_choice",
        "choices": ["甲", "乙"],
        "required": False,
    },
    {"key": "num", "label": "纳税", "type": "number", "min": 0, "max": 1000, "decimals": 2},
    {"key": "txt", "label": "说明", "type": "text", "max_length": 5, "required": False},
    {
        "key": "grp",
        "label": "水电气",
        "type": "group",
        "fields": [
            {"key": "water", "label": "水", "type": "number", "min": 0},
            {"key": "note", "label": "备注", "type": "text", "max_length": 3},
        ],
        "min_filled": 2,
        "required": False,
    },
)
VALID = {"yn": False, "one": "正常", "num": 12.5, "conclusion": "watch"}


@pytest.mark.parametrize(
    ("change", "field", "zh"),
    [
        ({"yn": "否"}, "answers.yn", "是否逾期：应为是（true）或否（false）"),
        ({"yn": None}, "answers.yn", "「是否逾期」为必填项"),
        ({"one": "半正常"}, "answers.one", "经营状况：应为以下之一：正常、异常"),
        ({"one": "   "}, "answers.one", "「经营状况」为必填项"),
        ({"many": "甲"}, "answers.many", "问题：应为选项列表"),
        ({"many": ["甲", "丙"]}, "answers.many", "问题：第 2 项应为以下之一：甲、乙"),
        ({"many": ["乙", "乙"]}, "answers.many", "问题：选项「乙」重复"),
        ({"num": True}, "answers.num", "纳税：应为数字"),
        ({"num": "12"}, "answers.num", "纳税：应为数字"),
        ({"num": math.nan}, "answers.num", "纳税：应为数字"),
        ({"num": -0.5}, "answers.num", "纳税：不能小于 0"),
        ({"num": 1000.01}, "answers.num", "纳税：不能大于 1000"),
        ({"num": 10**400}, "answers.num", "纳税：不能大于 1000"),
        ({"num": 1.005}, "answers.num", "纳税：最多 2 位小数"),
        ({"txt": "一二三四五六"}, "answers.txt", "说明：不能超过 5 个字"),
        ({"txt": 5}, "answers.txt", "说明：应为文本"),
        ({"grp": [1]}, "answers.grp", "水电气：应为对象（按子项填写）"),
        ({"grp": {"water": 1}}, "answers.grp", "「水电气」至少填写 2 项（水、备注）"),
        ({"grp": {"water": 1.5, "note": "x"}}, "answers.grp.water", "水：应为整数"),
        ({"grp": {"gas": 1}}, "answers.grp.gas", "没有此子项"),
        (
            {"conclusion": "关注"},
            "answers.conclusion",
            "初步结论：应为以下之一：normal、watch、close_watch、exit",
        ),
        ({"extra": 1}, "answers.extra", "没有此检查项"),
    ],
)
def test_each_wrong_answer_names_its_key(change, field, zh):
    errors = validate_answers(EXAMPLES, {**VALID, **change})
    assert [(e.field, e.zh) for e in errors] == [(field, zh)]
    assert errors[0].en


def test_optional_items_blank_answers_and_the_prefix():
    assert validate_answers(EXAMPLES, VALID) == []
    blank = {**VALID, "many": [], "txt": "  ", "grp": {"water": None, "note": ""}}
    assert validate_answers(EXAMPLES, blank) == []
    full = {**VALID, "many": ["乙", "甲"], "txt": "五个字正好", "grp": {"water": 3, "note": "抄表"}}
    assert validate_answers(EXAMPLES, full) == []
    assert validate_answers(EXAMPLES, {**VALID, "num": 10**20}) != []  # above max
    errors = validate_answers(EXAMPLES, {}, prefix="body.answers")
    assert fields_of(errors) == [
        "body.answers.yn",
        "body.answers.one",
        "body.answers.num",
        "body.answers.conclusion",
    ]
    assert errors[0].en == '"是否逾期" is required'
    assert fields_of(validate_answers(EXAMPLES, ["not", "an", "object"])) == ["answers"]


def test_rules_fire_only_on_valid_answers():
    checklist = form(
        {
            "key": "low",
            "label": "存款余额",
            "type": "number",
            "anomaly_rule": {"op": "below", "value": 10, "label": "存款过低", "severity": "low"},
        },
        {
            "key": "high",
            "label": "负债率",
            "type": "number",
            "decimals": 1,
            "anomaly_rule": {"op": "above", "value": 80, "label": "负债率过高"},
        },
        {
            "key": "band",
            "label": "开工率",
            "type": "number",
            "anomaly_rule": {"op": "outside", "min": 40, "max": 100, "label": "开工异常"},
        },
        {
            "key": "issues",
            "label": "问题",
            "type": "multi_choice",
            "choices": ["停产", "欠薪", "其他"],
            "anomaly_rule": {"op": "one_of", "values": ["停产", "欠薪"], "label": "经营风险"},
        },
        {
            "key": "status",
            "label": "经营状况",
            "type": "single_choice",
            "choices": ["正常", "异常"],
            "anomaly_rule": {"op": "equals", "value": "异常", "label": "经营异常"},
        },
    )

    def fired(**answers: Any) -> list[str]:
        return [a.item_key for a in anomalies(checklist, answers)]

    assert fired(low=9, high=80.1, band=39, issues=["其他", "欠薪"], status="异常") == [
        "low",
        "high",
        "band",
        "issues",
        "status",
    ]
    assert fired(low=10, high=80, band=40, issues=["其他"], status="正常") == []
    assert fired(band=101) == ["band"]
    # Invalid answers fire nothing: validate_answers reports them instead.
    assert fired(low="1", high=90.55, band=True, issues="停产", status="不存在") == []
    assert anomalies(checklist, "nonsense") == []
    assert conclusion_of(checklist, {"conclusion": "exit"}) == Conclusion.EXIT
    assert conclusion_of(checklist, {"conclusion": "bad"}) is None


def test_missing_evidence_counts_each_kind():
    checklist = form(
        {
            "key": "site",
            "label": "现场",
            "type": "yes_no",
            "evidence": {"photo": 3, "video": 1, "audio": 2},
        },
        {
            "key": "opt",
            "label": "可选",
            "type": "text",
            "required": False,
            "evidence": {"photo": 1},
        },
    )
    missing = missing_evidence(checklist, {"site": {"photo": 1, "audio": 5}})
    assert [(m.item_key, m.kind.value, m.required, m.present, m.missing) for m in missing] == [
        ("site", "photo", 3, 1, 2),
        ("site", "video", 1, 0, 1),
        ("opt", "photo", 1, 0, 1),
    ]
    # With the answers, an optional item left blank needs no evidence; an answered one does.
    assert [m.item_key for m in missing_evidence(checklist, {}, {"site": True})] == ["site"] * 3
    with_opt = missing_evidence(checklist, {}, {"site": True, "opt": "有"})
    assert [m.item_key for m in with_opt] == ["site", "site", "site", "opt"]
    garbage = missing_evidence(checklist, {"site": {"photo": "many", "video": -3}}, None)
    assert [(m.kind.value, m.present) for m in garbage][:2] == [("photo", 0), ("video", 0)]


# ---- properties over random templates ----

LABEL = st.text(alphabet="检查项目水电气甲乙丙丁正常异常", min_size=1, max_size=8)
CHOICES = st.lists(LABEL, min_size=2, max_size=5, unique=True)
BOUNDS = st.tuples(st.integers(-1000, 1000), st.integers(0, 2000)).map(
    lambda t: (t[0], t[0] + t[1])
)


@st.composite
def sub_fields(draw: st.DrawFn, key: str) -> dict[str, Any]:
    kind = draw(st.sampled_from(["yes_no", "number", "text"]))
    field: dict[str, Any] = {"key": key, "label": draw(LABEL), "type": kind}
    if kind == "number":
        if draw(st.booleans()):
            field["min"], field["max"] = draw(BOUNDS)
        field["decimals"] = draw(st.integers(0, 3))
        field["unit"] = draw(st.sampled_from([None, "万元", "吨"]))
    if kind == "text":
        field["max_length"] = draw(st.integers(1, 40))
    return field


@st.composite
def items(draw: st.DrawFn, key: str) -> dict[str, Any]:
    kind = draw(
        st.sampled_from(["yes_no", "single_choice", "multi_choice", "number", "text", "group"])
    )
    item: dict[str, Any] = {
        "key": key,
        "label": draw(LABEL),
        "type": kind,
        "required": draw(st.booleans()),
        "evidence": {k: draw(st.integers(0, 3)) for k in ("photo", "video", "audio")},
    }
    rule: dict[str, Any] | None = None
    severity = draw(st.sampled_from(["low", "medium", "high"]))
    if kind == "yes_no":
        rule = {"op": "equals", "value": draw(st.booleans())}
    elif kind in ("single_choice", "multi_choice"):
        item["choices"] = choices = draw(CHOICES)
        subset = draw(st.lists(st.sampled_from(choices), min_size=1, unique=True))
        if kind == "single_choice" and draw(st.booleans()):
            rule = {"op": "equals", "value": subset[0]}
        else:
            rule = {"op": "one_of", "values": subset}
    elif kind == "number":
        item.update(draw(sub_fields(key)))
        item["type"] = "number"
        item.pop("max_length", None)
        low, high = draw(BOUNDS)
        rule = draw(
            st.sampled_from(
                [
                    {"op": "below", "value": low},
                    {"op": "above", "value": high},
                    {"op": "outside", "min": low, "max": high},
                ]
            )
        )
    elif kind == "text":
        item["max_length"] = draw(st.integers(1, 40))
    else:
        count = draw(st.integers(1, 4))
        item["fields"] = [draw(sub_fields(f"f{n}")) for n in range(count)]
        item["min_filled"] = draw(st.integers(1, count))
    if rule is not None and draw(st.booleans()):
        item["anomaly_rule"] = {**rule, "label": draw(LABEL), "severity": severity}
    return item


@st.composite
def checklists(draw: st.DrawFn) -> Checklist:
    count = draw(st.integers(0, 8))
    body = [draw(items(f"k{n}")) for n in range(count)]
    conclusion: dict[str, Any] = {"key": "conclusion", "label": "初步结论", "type": "conclusion"}
    if draw(st.booleans()):
        values = draw(
            st.lists(st.sampled_from([c.value for c in Conclusion]), min_size=1, unique=True)
        )
        conclusion["anomaly_rule"] = {"op": "one_of", "values": values, "label": "结论预警"}
    body.insert(draw(st.integers(0, len(body))), conclusion)
    cut = draw(st.integers(1, len(body)))
    sections = [{"title": "甲", "items": body[:cut]}]
    if body[cut:]:
        sections.append({"title": "乙", "items": body[cut:]})
    return Checklist.model_validate({"sections": sections})


def answer_for(draw: st.DrawFn, thing: Any) -> Any:
    """A valid, filled answer for an item or sub-field."""
    kind = thing.type.value
    if kind == "yes_no":
        return draw(st.booleans())
    if kind in ("single_choice", "conclusion"):
        return draw(st.sampled_from(thing.options()))
    if kind == "multi_choice":
        return draw(st.lists(st.sampled_from(thing.options()), min_size=1, unique=True))
    if kind == "text":
        return draw(st.text(min_size=1, max_size=thing.max_length).filter(str.strip))
    if kind == "number":
        scale = 10 ** (thing.decimals or 0)
        low = -(10**9) if thing.min is None else int(thing.min)
        high = 10**9 if thing.max is None else int(thing.max)
        n = draw(st.integers(low * scale, high * scale))
        return n // scale if scale == 1 else n / scale
    chosen = draw(
        st.lists(
            st.sampled_from(thing.fields), min_size=thing.min_filled, unique_by=lambda f: f.key
        )
    )
    return {f.key: answer_for(draw, f) for f in chosen}


@st.composite
def answered(draw: st.DrawFn) -> tuple[Checklist, dict[str, Any]]:
    checklist = draw(checklists())
    answers: dict[str, Any] = {}
    for _, item in checklist.items():
        if item.required or draw(st.booleans()):
            answers[item.key] = answer_for(draw, item)
    return checklist, answers


def corrupt(draw: st.DrawFn, item: Any) -> Any:
    """An answer the item must refuse."""
    kind = item.type.value
    if kind == "yes_no":
        options: list[Any] = ["是", 1, [True]]
    elif kind == "single_choice":
        options = ["不是选项", 3, ["x"]]
    elif kind == "conclusion":
        options = ["关注", "exit!", {}]
    elif kind == "multi_choice":
        options = ["not a list", ["不是选项"], [item.options()[0]] * 2]
    elif kind == "number":
        options = ["12", True, math.inf, 0.1234567]
    elif kind == "text":
        options = [12, "x" * ((item.max_length or 0) + 1)]
    else:
        options = ["水", [1], {"no_such_field": 1}]
    if kind == "number" and item.max is not None:
        options.append(item.max + 1)
    if item.required:
        options.append(None)
    return draw(st.sampled_from(options))  # 0.1234567 has more than MAX_DECIMALS places


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(checklists())
def test_generated_templates_pass_the_publish_checks(checklist):
    assert check_checklist(checklist, publish=True) == []
    again = Checklist.model_validate(checklist.model_dump(mode="json"))
    assert again == checklist


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(answered())
def test_valid_answers_validate_and_anomalies_are_deterministic(case):
    checklist, answers = case
    assert validate_answers(checklist, answers) == []
    fired = anomalies(checklist, answers)
    assert fired == anomalies(checklist, dict(reversed(list(answers.items()))))
    ruled = [item.key for _, item in checklist.items() if item.anomaly_rule is not None]
    assert [a.item_key for a in fired] == [k for k in ruled if k in {a.item_key for a in fired}]
    assert all(a.answer == answers[a.item_key] for a in fired)
    assert conclusion_of(checklist, answers) == Conclusion(answers["conclusion"])


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(answered(), st.data())
def test_a_wrong_answer_gives_errors_naming_only_its_key(case, data):
    checklist, answers = case
    _, item = data.draw(st.sampled_from(list(checklist.items())))
    bad = corrupt(data.draw, item)
    broken = {**answers, item.key: bad}
    if bad is None:
        broken.pop(item.key)
    errors = validate_answers(checklist, broken)
    assert errors, (item.type, bad)
    prefix = f"answers.{item.key}"
    assert all(e.field == prefix or e.field.startswith(prefix + ".") for e in errors)
    assert all(e.zh and e.en for e in errors)
    assert item.key not in {a.item_key for a in anomalies(checklist, broken)}


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.just(10**400)
    | st.floats()
    | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(
    checklists(),
    st.dictionaries(st.sampled_from(["k0", "k1", "k2", "conclusion", "zz"]), JSON) | JSON,
    JSON,
)
def test_any_json_never_raises(checklist, answers, counts):
    errors = validate_answers(checklist, answers)
    assert all(e.field == "answers" or e.field.startswith("answers.") for e in errors)
    anomalies(checklist, answers)
    conclusion_of(checklist, answers)
    if isinstance(counts, dict):
        clean = {k: v for k, v in counts.items() if isinstance(v, dict)}
        for m in missing_evidence(checklist, clean, answers if isinstance(answers, dict) else None):
            assert m.missing > 0
