"""Answer-time rules of a checklist (pure, deterministic, no IO): are the answers valid, which
anomaly rules fired (预警指标), which evidence (验证方式) is still missing.

Answers are one JSON object keyed by item key (see ``docs/checklists.md``, "Answers"):

- ``yes_no``: ``true`` (是) / ``false`` (否)
- ``single_choice``: one of the item's choices (the string)
- ``multi_choice``: a list of distinct choices
- ``number``: a JSON number within min/max with at most ``decimals`` decimal places
- ``text``: a string of at most ``max_length`` characters
- ``group``: an object keyed by sub-field key, each typed as above (``number``, ``text`` or
  ``yes_no``); at least ``min_filled`` of them filled
- ``conclusion``: ``"normal"`` | ``"watch"`` | ``"close_watch"`` | ``"exit"``

A missing key, ``null``, a blank string, an empty list or a group with nothing filled is
"unanswered". None of these functions raise, whatever the answers are.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from inspection_api.checklists.content import (
    CONCLUSION_LABELS,
    Checklist,
    ChecklistItem,
    ChecklistSubField,
    Conclusion,
    EvidenceKind,
    ItemType,
    RuleOp,
    Severity,
)
from inspection_api.checklists.validation import is_number
from inspection_api.errors import FieldError

_CONCLUSIONS = frozenset(c.value for c in Conclusion)


@dataclass(frozen=True)
class Anomaly:
    """An anomaly rule that fired: the warning indicator (预警指标) and what set it off."""

    item_key: str
    item_label: str
    section: str
    indicator: str  # the rule's label, e.g. 他行授信逾期
    severity: Severity
    answer: Any


@dataclass(frozen=True)
class MissingEvidence:
    item_key: str
    item_label: str
    kind: EvidenceKind
    required: int
    present: int

    @property
    def missing(self) -> int:
        return self.required - self.present


def is_blank(item: ChecklistItem | ChecklistSubField, value: Any) -> bool:
    """True when ``value`` leaves the item unanswered."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if item.type == ItemType.MULTI_CHOICE and isinstance(value, list):
        return not value
    if item.type == ItemType.GROUP and isinstance(value, dict):
        fields = {f.key: f for f in item.fields or []}  # type: ignore[union-attr]
        return all(k not in fields or is_blank(fields[k], v) for k, v in value.items())
    return False


def _decimal_places(value: int | float) -> int:
    if isinstance(value, int):
        return 0
    exponent = Decimal(repr(value)).normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _shown(number: float) -> str:
    """1000000.0 → "1000000", 0.5 → "0.5" (never "1e+06")."""
    return format(Decimal(repr(number)).normalize(), "f")


def _check_number(thing: ChecklistItem | ChecklistSubField, value: Any) -> tuple[str, str] | None:
    if not is_number(value) or (isinstance(value, float) and not math.isfinite(value)):
        return "应为数字", "must be a number"
    if thing.min is not None and value < thing.min:
        return f"不能小于 {_shown(thing.min)}", f"must not be less than {_shown(thing.min)}"
    if thing.max is not None and value > thing.max:
        return f"不能大于 {_shown(thing.max)}", f"must not be greater than {_shown(thing.max)}"
    places = thing.decimals or 0
    if _decimal_places(value) > places:
        if places == 0:
            return "应为整数", "must be a whole number"
        return f"最多 {places} 位小数", f"at most {places} decimal places"
    return None


def _check_value(thing: ChecklistItem | ChecklistSubField, value: Any) -> tuple[str, str] | None:
    """What is wrong with an answered value of an item or sub-field (zh, en), or None."""
    kind = thing.type.value
    if kind == "yes_no":
        return (
            None
            if isinstance(value, bool)
            else ("应为是（true）或否（false）", "must be a boolean")
        )
    if kind == "number":
        return _check_number(thing, value)
    if kind == "text":
        if not isinstance(value, str):
            return "应为文本", "must be a string"
        limit = thing.max_length or 0
        if len(value) > limit:
            return f"不能超过 {limit} 个字", f"at most {limit} characters"
        return None
    assert isinstance(thing, ChecklistItem)
    if kind == "group":
        return None if isinstance(value, dict) else ("应为对象（按子项填写）", "must be an object")
    options = thing.options()
    shown, shown_en = "、".join(options), ", ".join(options)
    if kind in ("single_choice", "conclusion"):
        if isinstance(value, str) and value in options:
            return None
        return f"应为以下之一：{shown}", f"must be one of: {shown_en}"
    # multi_choice
    if not isinstance(value, list):
        return "应为选项列表", "must be a list of choices"
    for index, choice in enumerate(value):
        if not isinstance(choice, str) or choice not in options:
            return (
                f"第 {index + 1} 项应为以下之一：{shown}",
                f"entry {index} must be one of: {shown}",
            )
        if choice in value[:index]:
            return f"选项「{choice}」重复", f'"{choice}" is selected twice'
    return None


def _group_errors(item: ChecklistItem, value: dict[Any, Any], path: str) -> list[FieldError]:
    """Unknown and invalid sub-fields, then too few filled (when some are)."""
    fields = {f.key: f for f in item.fields or []}
    errors: list[FieldError] = []
    filled = 0
    for key, sub_value in value.items():
        sub = fields.get(key)
        if sub is None:
            errors.append(FieldError(f"{path}.{key}", "没有此子项", "no such field"))
        elif not is_blank(sub, sub_value):
            problem = _check_value(sub, sub_value)
            if problem is None:
                filled += 1
            else:
                errors.append(FieldError(f"{path}.{key}", f"{sub.label}：{problem[0]}", problem[1]))
    least = item.min_filled or 1
    if not errors and 0 < filled < least:
        names = "、".join(f.label for f in item.fields or [])
        errors.append(
            FieldError(
                path,
                f"「{item.label}」至少填写 {least} 项（{names}）",
                f"fill at least {least} of its fields",
            )
        )
    return errors


def validate_answers(
    checklist: Checklist, answers: Any, *, prefix: str = "answers"
) -> list[FieldError]:
    """Every problem with ``answers``, in form order; each error names ``{prefix}.{key}``
    (``{prefix}.{key}.{sub_key}`` inside a group). Empty when the answers can be accepted."""
    if not isinstance(answers, Mapping):
        return [FieldError(prefix, "应为 JSON 对象（按检查项标识填写）", "must be an object")]
    errors: list[FieldError] = []
    known: set[str] = set()
    for _section, item in checklist.items():
        known.add(item.key)
        path = f"{prefix}.{item.key}"
        value = answers.get(item.key)
        if item.type == ItemType.GROUP and value is not None:
            if not isinstance(value, dict):
                errors.append(
                    FieldError(path, f"{item.label}：应为对象（按子项填写）", "must be an object")
                )
                continue
            group_errors = _group_errors(item, value, path)
            if group_errors:
                errors.extend(group_errors)
                continue
        if is_blank(item, value):
            if item.required:
                if item.type == ItemType.GROUP:
                    least = item.min_filled or 1
                    zh = f"「{item.label}」为必填项，至少填写 {least} 项"
                else:
                    zh = f"「{item.label}」为必填项"
                errors.append(FieldError(path, zh, f'"{item.label}" is required'))
            continue
        if item.type == ItemType.GROUP:
            continue  # checked above
        problem = _check_value(item, value)
        if problem is not None:
            errors.append(FieldError(path, f"{item.label}：{problem[0]}", problem[1]))
    for key in answers:
        if key not in known:
            errors.append(FieldError(f"{prefix}.{key}", "没有此检查项", "no such checklist item"))
    return errors


def _fires(item: ChecklistItem, value: Any) -> bool:
    """Whether the item's rule fires on a valid answer ``value``."""
    rule = item.anomaly_rule
    if rule is None or is_blank(item, value) or _check_value(item, value) is not None:
        return False
    if rule.op == RuleOp.EQUALS:
        return type(value) is type(rule.value) and value == rule.value
    if rule.op == RuleOp.ONE_OF:
        chosen = value if isinstance(value, list) else [value]
        return any(choice in (rule.values or []) for choice in chosen)
    if not is_number(value):
        return False
    if rule.op in (RuleOp.BELOW, RuleOp.ABOVE):
        if not is_number(rule.value):
            return False
        threshold: float = rule.value  # type: ignore[assignment]
        return bool(value < threshold if rule.op == RuleOp.BELOW else value > threshold)
    low = -math.inf if rule.min is None else rule.min
    high = math.inf if rule.max is None else rule.max
    return bool(value < low or value > high)


def anomalies(checklist: Checklist, answers: Any) -> list[Anomaly]:
    """The anomaly rules that fired, in form order. Invalid or missing answers fire nothing
    (``validate_answers`` reports them)."""
    if not isinstance(answers, Mapping):
        return []
    fired: list[Anomaly] = []
    for section, item in checklist.items():
        value = answers.get(item.key)
        if item.anomaly_rule is not None and _fires(item, value):
            fired.append(
                Anomaly(
                    item_key=item.key,
                    item_label=item.label,
                    section=section.title,
                    indicator=item.anomaly_rule.label,
                    severity=item.anomaly_rule.severity,
                    answer=value,
                )
            )
    return fired


def missing_evidence(
    checklist: Checklist,
    evidence_counts: Mapping[str, Mapping[str, int]],
    answers: Mapping[str, Any] | None = None,
) -> list[MissingEvidence]:
    """Per item and kind (photo, video, audio), the evidence still missing: ``evidence_counts``
    is ``{item_key: {"photo": 2, ...}}``. With ``answers``, an optional item left unanswered
    needs no evidence. Form order, then photo, video, audio."""
    missing: list[MissingEvidence] = []
    for _section, item in checklist.items():
        if answers is not None and not item.required and is_blank(item, answers.get(item.key)):
            continue
        counts = evidence_counts.get(item.key) or {}
        for kind in EvidenceKind:
            required = item.evidence.minimum(kind)
            present = counts.get(kind.value, 0)
            present = present if is_number(present) and present > 0 else 0
            if present < required:
                missing.append(MissingEvidence(item.key, item.label, kind, required, int(present)))
    return missing


def conclusion_of(checklist: Checklist, answers: Any) -> Conclusion | None:
    """The answer of the conclusion item (初步结论), when it is one of the four."""
    if not isinstance(answers, Mapping):
        return None
    for _section, item in checklist.items():
        if item.type == ItemType.CONCLUSION:
            value = answers.get(item.key)
            return Conclusion(value) if isinstance(value, str) and value in _CONCLUSIONS else None
    return None


def conclusion_label(conclusion: Conclusion, lang: str = "zh") -> str:
    zh, en = CONCLUSION_LABELS[conclusion]
    return zh if lang == "zh" else en
