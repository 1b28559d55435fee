"""The checklist form (检查项): sections of typed items, each with its required action (规定动作),
evidence requirement (验证方式) and anomaly rule (预警指标). This is the stable JSON shape of a
template version: what the editor saves, what an inspection keeps and answers.

One flat ``ChecklistItem`` model for every type (no tagged union): error paths stay plain
(``sections.1.items.3.anomaly_rule.value``) and the editor handles one shape. Which settings a
type uses is checked by ``validation.check_checklist``; the defaults a type needs are filled here.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from inspection_api.schemas import Input

KEY_PATTERN = r"^[a-z][a-z0-9_]*$"
KEY_MAX = 40
MAX_EVIDENCE = 20  # per kind and item: more is a typo, not a standard
MAX_SECTIONS = 30
MAX_ITEMS = 200  # per template
MAX_CHOICES = 50
MAX_FIELDS = 20  # sub-fields of a group
MAX_DECIMALS = 6
TEXT_MAX_LENGTH = 5000
TEXT_DEFAULT_LENGTH = 500


class ItemType(StrEnum):
    YES_NO = "yes_no"  # 是/否
    SINGLE_CHOICE = "single_choice"  # 单选
    MULTI_CHOICE = "multi_choice"  # 多选
    NUMBER = "number"  # 数值
    TEXT = "text"  # 文本
    GROUP = "group"  # 分组填写 (e.g. 水/电/气)
    CONCLUSION = "conclusion"  # 初步结论: exactly one per template


class SubFieldType(StrEnum):
    """Types a sub-field of a group may have."""

    YES_NO = "yes_no"
    NUMBER = "number"
    TEXT = "text"


class Conclusion(StrEnum):
    NORMAL = "normal"  # 正常
    WATCH = "watch"  # 关注
    CLOSE_WATCH = "close_watch"  # 强烈关注
    EXIT = "exit"  # 退出


class RuleOp(StrEnum):
    EQUALS = "equals"  # yes_no, single_choice, conclusion: the answer is `value`
    ONE_OF = "one_of"  # single_choice, conclusion: the answer is in `values`; multi: any is
    BELOW = "below"  # number: answer < value
    ABOVE = "above"  # number: answer > value
    OUTSIDE = "outside"  # number: answer < min or answer > max


class Severity(StrEnum):
    LOW = "low"  # 一般
    MEDIUM = "medium"  # 较重
    HIGH = "high"  # 严重


class EvidenceKind(StrEnum):
    PHOTO = "photo"  # 照片
    VIDEO = "video"  # 视频
    AUDIO = "audio"  # 录音


ITEM_TYPE_LABELS: dict[ItemType, tuple[str, str]] = {
    ItemType.YES_NO: ("是/否", "yes/no"),
    ItemType.SINGLE_CHOICE: ("单选", "single choice"),
    ItemType.MULTI_CHOICE: ("多选", "multiple choice"),
    ItemType.NUMBER: ("数值", "number"),
    ItemType.TEXT: ("文本", "text"),
    ItemType.GROUP: ("分组填写", "group"),
    ItemType.CONCLUSION: ("初步结论", "conclusion"),
}
CONCLUSION_LABELS: dict[Conclusion, tuple[str, str]] = {
    Conclusion.NORMAL: ("正常", "normal"),
    Conclusion.WATCH: ("关注", "watch"),
    Conclusion.CLOSE_WATCH: ("强烈关注", "close watch"),
    Conclusion.EXIT: ("退出", "exit"),
}
SEVERITY_LABELS: dict[Severity, tuple[str, str]] = {
    Severity.LOW: ("一般", "low"),
    Severity.MEDIUM: ("较重", "medium"),
    Severity.HIGH: ("严重", "high"),
}
EVIDENCE_LABELS: dict[EvidenceKind, tuple[str, str]] = {
    EvidenceKind.PHOTO: ("照片", "photo"),
    EvidenceKind.VIDEO: ("视频", "video"),
    EvidenceKind.AUDIO: ("录音", "audio clip"),
}

Key = Annotated[str, StringConstraints(pattern=KEY_PATTERN, min_length=1, max_length=KEY_MAX)]
Choice = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Counted = Annotated[int, Field(ge=0, le=MAX_EVIDENCE)]


class _Form(Input):
    # NaN and infinities have no JSON form (PostgreSQL refuses them) and compare to nothing.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)


class EvidenceRequirement(_Form):
    """验证方式: the least number of each kind of media an inspector must capture."""

    photo: Counted = 0
    video: Counted = 0
    audio: Counted = 0

    def minimum(self, kind: EvidenceKind) -> int:
        return int(getattr(self, kind.value))


class AnomalyRule(_Form):
    """When an answer is a warning sign (预警指标), and how serious it is."""

    op: RuleOp
    value: bool | int | float | str | None = Field(
        default=None, description="equals: the answer; below/above: the threshold"
    )
    values: list[Choice] | None = Field(default=None, max_length=MAX_CHOICES, description="one_of")
    min: float | None = Field(default=None, description="outside: lower bound")
    max: float | None = Field(default=None, description="outside: upper bound")
    label: str = Field(min_length=1, max_length=100, description="预警指标, e.g. 他行授信逾期")
    severity: Severity = Severity.MEDIUM


class _Typed(_Form):
    """Settings shared by items and the sub-fields of a group."""

    key: Key = Field(description="stable key, used in answers")
    label: str = Field(min_length=1, max_length=200)
    type: str  # narrowed by each subclass; declared here to come first in the JSON
    unit: str | None = Field(default=None, max_length=16, description="number: 单位, e.g. 万元")
    min: float | None = Field(default=None, description="number: least allowed value")
    max: float | None = Field(default=None, description="number: greatest allowed value")
    decimals: int | None = Field(
        default=None, ge=0, le=MAX_DECIMALS, description="number: decimal places (default 0)"
    )
    max_length: int | None = Field(
        default=None, ge=1, le=TEXT_MAX_LENGTH, description="text: longest answer (default 500)"
    )

    def _fill_defaults(self, kind: str) -> None:
        if kind == "number" and self.decimals is None:
            self.decimals = 0
        if kind == "text" and self.max_length is None:
            self.max_length = TEXT_DEFAULT_LENGTH


class ChecklistSubField(_Typed):
    """One field of a group item (e.g. 水 of 水/电/气)."""

    type: SubFieldType

    @model_validator(mode="after")
    def _defaults(self) -> ChecklistSubField:
        self._fill_defaults(self.type.value)
        return self


class ChecklistItem(_Typed):
    type: ItemType
    required: bool = True
    help: str = Field(default="", max_length=500, description="填写说明")
    required_action: str = Field(default="", max_length=1000, description="规定动作")
    evidence: EvidenceRequirement = Field(
        default_factory=EvidenceRequirement, description="验证方式"
    )
    choices: list[Choice] | None = Field(
        default=None, max_length=MAX_CHOICES, description="single/multi choice: the options"
    )
    fields: list[ChecklistSubField] | None = Field(
        default=None, max_length=MAX_FIELDS, description="group: its sub-fields"
    )
    min_filled: int | None = Field(
        default=None, ge=1, le=MAX_FIELDS, description="group: least sub-fields to fill (default 1)"
    )
    anomaly_rule: AnomalyRule | None = None

    @model_validator(mode="after")
    def _defaults(self) -> ChecklistItem:
        self._fill_defaults(self.type.value)
        if self.type == ItemType.GROUP and self.min_filled is None:
            self.min_filled = 1
        return self

    def options(self) -> list[str]:
        """The answers a choice or conclusion item accepts."""
        if self.type == ItemType.CONCLUSION:
            return [c.value for c in Conclusion]
        return list(self.choices or [])


class ChecklistSection(_Form):
    title: str = Field(min_length=1, max_length=100, description="e.g. 企业运营状况")
    items: list[ChecklistItem] = Field(default_factory=list, max_length=MAX_ITEMS)


class Checklist(_Form):
    """The form of a template version."""

    sections: list[ChecklistSection] = Field(default_factory=list, max_length=MAX_SECTIONS)

    def items(self) -> Iterator[tuple[ChecklistSection, ChecklistItem]]:
        for section in self.sections:
            for item in section.items:
                yield section, item

    def item(self, key: str) -> ChecklistItem | None:
        return next((item for _, item in self.items() if item.key == key), None)
