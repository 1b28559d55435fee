"""What the briefing sheet (明白纸) shows, computed from an inspection (pure, no IO): the
loan's facts from the checkpoint, the answers laid out as the four 检查内容 columns, the
remarks, the conclusion and the supervisors' opinions. ``pdf.py`` draws it.

Choices are written as ``[x]`` (chosen) and ``[ ]`` (not chosen) marks before each option;
the renderer turns them into boxes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from inspection_api.beijing import minute_text
from inspection_api.checklists.content import (
    CONCLUSION_LABELS,
    Checklist,
    ChecklistItem,
    Conclusion,
    ItemType,
)
from inspection_api.checklists.defaults import SUPERVISOR_OPINION_KEY

CHECKED, UNCHECKED = "[x]", "[ ]"
# 填表说明 of the bank's sheet, as printed on it.
INSTRUCTIONS = (
    "1、“水、电、气”数据可任选一项能真实反映企业生产情况的数据进行填写，同时需进行拍照佐证留存，"
    "并至少保存到授信结清后一年以上。",
    "2、“截至上月末企业本年度纳税金额”需留存从税务系统打印出来的纳税申报表，并至少保存到授信结清后"
    "一年以上。",
    "3、结算及存款数据来源包括但不限于“SMES”中资金流向模块、电子报表系统、流向查询系统等。",
)


@dataclass(frozen=True)
class Cell:
    label: str
    value: str


@dataclass(frozen=True)
class Column:
    title: str
    cells: list[Cell]


@dataclass(frozen=True)
class Opinion:
    author: str  # "张处长（石家庄分行）"
    at: datetime
    text: str


@dataclass(frozen=True)
class SheetContent:
    customer_name: str
    amount: str
    loan_date: str
    maturity_date: str
    classification: str
    columns: list[Column]
    remarks: str
    conclusion: str | None  # a Conclusion value
    opinions: list[Opinion]
    # Footer: which record, who, where, when.
    inspection_id: int
    kind_label: str
    checkpoint: str
    org_name: str
    inspector_name: str
    submitted_at: datetime | None
    printed_at: datetime
    instructions: Sequence[str] = field(default=INSTRUCTIONS)


def beijing(moment: datetime | None) -> str:
    """A time on the sheet, to the minute in Beijing; blank where there is none."""
    return minute_text(moment) if moment else ""


def money(amount: Decimal | None) -> str:
    """Yuan as the bank writes a loan amount: 万元 with two decimals."""
    if amount is None:
        return ""
    return f"{amount / 10000:,.2f} 万元"


def day(value: date | None) -> str:
    return value.isoformat() if value else ""


def _number(value: Any, unit: str | None, decimals: int | None = None) -> str:
    if value is None or value == "" or isinstance(value, bool):
        return ""
    shown = f"{value:.{decimals}f}" if decimals and isinstance(value, int | float) else value
    return f"{shown}{' ' + unit if unit else ''}"


def _marks(options: Sequence[str], chosen: Sequence[str]) -> str:
    return "  ".join(f"{CHECKED if o in chosen else UNCHECKED}{o}" for o in options)


def answer_text(item: ChecklistItem, value: Any) -> str:
    """One answer as the sheet prints it (empty choices still show their boxes)."""
    if item.type == ItemType.YES_NO:
        chosen = [] if value is None else ["是" if value else "否"]
        return _marks(["是", "否"], chosen)
    if item.type == ItemType.SINGLE_CHOICE:
        return _marks(item.options(), [value] if isinstance(value, str) else [])
    if item.type == ItemType.MULTI_CHOICE:
        return _marks(item.options(), value if isinstance(value, list) else [])
    if item.type == ItemType.CONCLUSION:
        labels = {c.value: CONCLUSION_LABELS[c][0] for c in Conclusion}
        return _marks(list(labels.values()), [labels[value]] if value in labels else [])
    if item.type == ItemType.NUMBER:
        return _number(value, item.unit, item.decimals)
    if item.type == ItemType.GROUP:
        answers = value if isinstance(value, Mapping) else {}
        parts = []
        for sub in item.fields or []:
            sub_value = answers.get(sub.key)
            if sub.type == "yes_no":
                shown = "" if sub_value is None else ("是" if sub_value else "否")
            else:
                shown = _number(sub_value, sub.unit, sub.decimals)
            parts.append(f"{sub.label}：{shown}")
        return "\n".join(parts)
    return "" if value is None else str(value)


def layout(
    checklist: Checklist, answers: Mapping[str, Any]
) -> tuple[list[Column], str, str | None]:
    """The 检查内容 columns (every section with items other than free text and the
    conclusion), the remarks (the free-text answers, 其他需特殊说明情况) and the conclusion."""
    columns: list[Column] = []
    remarks: list[str] = []
    conclusion = None
    for section in checklist.sections:
        cells = []
        for item in section.items:
            if item.key == SUPERVISOR_OPINION_KEY:
                continue  # written by the managers above: printed from their own records
            value = answers.get(item.key)
            if item.type == ItemType.CONCLUSION:
                conclusion = value if isinstance(value, str) else None
            elif item.type == ItemType.TEXT:
                if isinstance(value, str) and value.strip():
                    remarks.append(value.strip())
            else:
                cells.append(Cell(item.label, answer_text(item, value)))
        if cells:
            columns.append(Column(section.title, cells))
    return columns, "\n".join(remarks), conclusion
