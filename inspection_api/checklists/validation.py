"""Checks on a template's form before it is saved or published (pure, no IO).

Shapes and ranges are pydantic's (``content``); here is what pydantic cannot see: unique keys
and choices, settings that the item's type does not use, rules that match their item, exactly
one conclusion. Each error names its path below the form, e.g.
``sections.1.items.3.anomaly_rule.value`` (the API prefixes ``body.``).
"""

from __future__ import annotations

from typing import Any

from inspection_api.checklists.content import (
    ITEM_TYPE_LABELS,
    MAX_ITEMS,
    AnomalyRule,
    Checklist,
    ChecklistItem,
    ChecklistSubField,
    Conclusion,
    ItemType,
    RuleOp,
)
from inspection_api.errors import FieldError

# Settings each type uses; any other one set on an item is refused rather than kept unused.
_TYPE_SETTINGS: dict[str, frozenset[str]] = {
    "yes_no": frozenset(),
    "single_choice": frozenset({"choices"}),
    "multi_choice": frozenset({"choices"}),
    "number": frozenset({"unit", "min", "max", "decimals"}),
    "text": frozenset({"max_length"}),
    "group": frozenset({"fields", "min_filled"}),
    "conclusion": frozenset(),
}
_OPTIONAL_SETTINGS = ("choices", "unit", "min", "max", "decimals", "max_length", "fields")

_RULE_OPS: dict[ItemType, frozenset[RuleOp]] = {
    ItemType.YES_NO: frozenset({RuleOp.EQUALS}),
    ItemType.SINGLE_CHOICE: frozenset({RuleOp.EQUALS, RuleOp.ONE_OF}),
    ItemType.CONCLUSION: frozenset({RuleOp.EQUALS, RuleOp.ONE_OF}),
    ItemType.MULTI_CHOICE: frozenset({RuleOp.ONE_OF}),
    ItemType.NUMBER: frozenset({RuleOp.BELOW, RuleOp.ABOVE, RuleOp.OUTSIDE}),
}
_RULE_SETTINGS: dict[RuleOp, frozenset[str]] = {
    RuleOp.EQUALS: frozenset({"value"}),
    RuleOp.ONE_OF: frozenset({"values"}),
    RuleOp.BELOW: frozenset({"value"}),
    RuleOp.ABOVE: frozenset({"value"}),
    RuleOp.OUTSIDE: frozenset({"min", "max"}),
}


def is_number(value: Any) -> bool:
    """A JSON number: int or float, never a boolean (``True`` is an int in Python)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


class _Errors:
    def __init__(self) -> None:
        self.found: list[FieldError] = []

    def add(self, path: str, zh: str, en: str) -> None:
        self.found.append(FieldError(path, zh, en))


def check_checklist(checklist: Checklist, *, publish: bool = False) -> list[FieldError]:
    """Everything wrong with the form, in form order. ``publish`` adds what a draft may still
    lack: an item in every section and the one conclusion item."""
    errors = _Errors()
    seen: dict[str, str] = {}
    conclusions: list[str] = []
    count = 0
    for s, section in enumerate(checklist.sections):
        if publish and not section.items:
            errors.add(
                f"sections.{s}.items",
                f"分区「{section.title}」还没有检查项",
                f'section "{section.title}" has no items',
            )
        for i, item in enumerate(section.items):
            path = f"sections.{s}.items.{i}"
            count += 1
            if item.key in seen:
                errors.add(
                    f"{path}.key",
                    f"标识「{item.key}」重复（已用于 {seen[item.key]}）",
                    f'key "{item.key}" is used twice (also at {seen[item.key]})',
                )
            else:
                seen[item.key] = path
            if item.type == ItemType.CONCLUSION:
                conclusions.append(path)
            _check_item(item, path, errors)
    if count > MAX_ITEMS:
        errors.add(
            "sections", f"检查项不能超过 {MAX_ITEMS} 个", f"at most {MAX_ITEMS} items per template"
        )
    for extra in conclusions[1:]:
        errors.add(
            f"{extra}.type",
            f"每个模板只能有一个初步结论（已有 {conclusions[0]}）",
            f"a template has exactly one conclusion item (already at {conclusions[0]})",
        )
    if publish and not conclusions:
        errors.add(
            "sections",
            "缺少初步结论检查项（每个模板须有且只有一个）",
            "the conclusion item is missing (a template has exactly one)",
        )
    return errors.found


def _check_settings(thing: ChecklistItem | ChecklistSubField, path: str, errors: _Errors) -> None:
    used = _TYPE_SETTINGS[thing.type.value]
    type_zh = ITEM_TYPE_LABELS[ItemType(thing.type.value)][0]
    for name in _OPTIONAL_SETTINGS:
        if name not in used and getattr(thing, name, None) is not None:
            errors.add(
                f"{path}.{name}",
                f"「{type_zh}」类型不使用此设置，请删除",
                f"not used by a {thing.type.value} item; remove it",
            )
    if thing.min is not None and thing.max is not None and thing.min > thing.max:
        errors.add(f"{path}.max", "最大值不能小于最小值", "must not be less than min")


def _check_choices(choices: list[str] | None, least: int, path: str, errors: _Errors) -> None:
    if not choices or len(choices) < least:
        errors.add(
            f"{path}.choices", f"至少需要 {least} 个选项", f"needs at least {least} choice(s)"
        )
        return
    for c, choice in enumerate(choices):
        if choice in choices[:c]:
            errors.add(f"{path}.choices.{c}", f"选项「{choice}」重复", f'"{choice}" is repeated')


def _check_item(item: ChecklistItem, path: str, errors: _Errors) -> None:
    _check_settings(item, path, errors)
    if item.type != ItemType.GROUP and item.min_filled is not None:
        errors.add(f"{path}.min_filled", "仅分组填写使用此设置", "used by group items only")
    if item.type == ItemType.SINGLE_CHOICE:
        _check_choices(item.choices, 2, path, errors)
    elif item.type == ItemType.MULTI_CHOICE:
        _check_choices(item.choices, 1, path, errors)
    elif item.type == ItemType.GROUP:
        _check_group(item, path, errors)
    elif item.type == ItemType.CONCLUSION and not item.required:
        errors.add(f"{path}.required", "初步结论必须为必填", "the conclusion must be required")
    if item.anomaly_rule is not None:
        _check_rule(item, item.anomaly_rule, f"{path}.anomaly_rule", errors)


def _check_group(item: ChecklistItem, path: str, errors: _Errors) -> None:
    fields = item.fields or []
    if not fields:
        errors.add(f"{path}.fields", "分组至少需要 1 个子项", "a group needs at least one field")
        return
    keys: list[str] = []
    for f, sub in enumerate(fields):
        sub_path = f"{path}.fields.{f}"
        if sub.key in keys:
            errors.add(
                f"{sub_path}.key", f"子项标识「{sub.key}」重复", f'key "{sub.key}" is used twice'
            )
        keys.append(sub.key)
        _check_settings(sub, sub_path, errors)
    if item.min_filled is not None and item.min_filled > len(fields):
        errors.add(
            f"{path}.min_filled",
            f"不能超过子项数量（{len(fields)}）",
            f"must not exceed the number of fields ({len(fields)})",
        )


def _check_rule(item: ChecklistItem, rule: AnomalyRule, path: str, errors: _Errors) -> None:
    allowed = _RULE_OPS.get(item.type, frozenset())
    type_zh = ITEM_TYPE_LABELS[item.type][0]
    if not allowed:
        errors.add(
            path,
            f"「{type_zh}」类型不支持异常规则",
            f"a {item.type.value} item has no anomaly rule",
        )
        return
    if rule.op not in allowed:
        names = sorted(op.value for op in allowed)
        errors.add(
            f"{path}.op",
            f"「{type_zh}」类型的异常规则应为：{'、'.join(names)}",
            f"for a {item.type.value} item use one of: {', '.join(names)}",
        )
        return
    for name in ("value", "values", "min", "max"):
        if name not in _RULE_SETTINGS[rule.op] and getattr(rule, name) is not None:
            errors.add(
                f"{path}.{name}",
                f"规则「{rule.op.value}」不使用此设置",
                f"not used by {rule.op.value}",
            )
    options = item.options()
    if rule.op == RuleOp.EQUALS:
        if item.type == ItemType.YES_NO:
            if not isinstance(rule.value, bool):
                errors.add(
                    f"{path}.value", "应为 true（是）或 false（否）", "must be true (yes) or false"
                )
        elif rule.value not in options:
            errors.add(f"{path}.value", *_not_an_option(rule.value, item))
    elif rule.op == RuleOp.ONE_OF:
        if not rule.values:
            errors.add(f"{path}.values", "至少选择一个选项", "needs at least one choice")
        for v, value in enumerate(rule.values or []):
            if value not in options:
                errors.add(f"{path}.values.{v}", *_not_an_option(value, item))
            elif value in (rule.values or [])[:v]:
                errors.add(f"{path}.values.{v}", f"「{value}」重复", f'"{value}" is repeated')
    elif rule.op in (RuleOp.BELOW, RuleOp.ABOVE):
        if not is_number(rule.value):
            errors.add(f"{path}.value", "应为数字（阈值）", "must be a number (the threshold)")
    else:  # OUTSIDE
        for name in ("min", "max"):
            if getattr(rule, name) is None:
                errors.add(f"{path}.{name}", "必填", "Field required")
        if rule.min is not None and rule.max is not None and rule.min > rule.max:
            errors.add(f"{path}.max", "上限不能小于下限", "must not be less than min")


def _not_an_option(value: Any, item: ChecklistItem) -> tuple[str, str]:
    if item.type == ItemType.CONCLUSION:
        names = [c.value for c in Conclusion]
        return f"应为以下之一：{'、'.join(names)}", f"must be one of: {', '.join(names)}"
    return f"「{value}」不是此检查项的选项", f'"{value}" is not a choice of this item'
