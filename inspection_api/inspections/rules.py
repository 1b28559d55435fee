"""Answer-time rules of an inspection (pure, no IO): what a partial save may leave open, the
inspector's own anomaly flags, the findings stored at submission, the capture window.

Built on ``checklists.rules``: ``validate_answers`` (complete answers), ``anomalies``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from inspection_api.beijing import second_text
from inspection_api.checklists.content import Checklist, ItemType
from inspection_api.checklists.defaults import SUPERVISOR_OPINION_KEY
from inspection_api.checklists.rules import anomalies, is_blank, validate_answers
from inspection_api.checklists.schemas import ChecklistVersionOut
from inspection_api.checkpoints import geo
from inspection_api.checkpoints.checkin import effective_radius, fix_limits
from inspection_api.checkpoints.models import Checkpoint
from inspection_api.errors import FieldError, InvalidField
from inspection_api.inspections.errors import CaptureOutsideWindow, CheckpointNotLocated
from loancheck.settings import Settings

# Phone clocks run a little off: evidence up to this much before the start or after the
# server's "now" is still taken as made during the inspection.
CAPTURE_SKEW = timedelta(seconds=60)
FLAG_NOTE_MAX = 500
INSPECTOR_FLAG = ("检查人员标记", "flagged by the inspector")


def inspector_form(version: ChecklistVersionOut) -> ChecklistVersionOut:
    """The form as the inspector fills it in: without 上级管理条线意见, which the managers
    above write as records of their own (version 1 of the default 明白纸 still has it)."""
    sections = []
    for section in version.sections:
        items = [item for item in section.items if item.key != SUPERVISOR_OPINION_KEY]
        if items:
            sections.append(section.model_copy(update={"items": items}))
    return version.model_copy(update={"sections": sections})


def supervisor_opinion_errors(answers: Any, *, prefix: str) -> list[FieldError]:
    """An answer to 上级管理条线意见 is refused by name: it is not the inspector's to give."""
    if isinstance(answers, Mapping) and SUPERVISOR_OPINION_KEY in answers:
        return [
            FieldError(
                f"{prefix}.{SUPERVISOR_OPINION_KEY}",
                "上级管理条线意见由上级管理人员在检查记录中填写，检查人员不能填写",
                "The supervisor opinion is written by the managers above, not by the inspector",
            )
        ]
    return []


def partial_errors(checklist: Checklist, answers: Any, *, prefix: str) -> list[FieldError]:
    """Errors a draft save refuses: invalid values and unknown keys. What is merely not
    answered yet (a blank required item, a group with fewer fields than it needs) may wait
    for the submission, which checks the answers completely."""
    errors = validate_answers(checklist, answers, prefix=prefix)
    if not isinstance(answers, Mapping):
        return errors
    items = {item.key: item for _section, item in checklist.items()}
    kept = []
    for error in errors:
        key = error.field[len(prefix) + 1 :] if error.field.startswith(prefix + ".") else ""
        item = items.get(key)
        if item is not None:
            value = answers.get(key)
            incomplete = (
                value is None or isinstance(value, dict)
                if item.type == ItemType.GROUP
                else is_blank(item, value)
            )
            if incomplete:
                continue
        kept.append(error)
    return kept


@dataclass(frozen=True)
class Merged:
    """A draft save of some answers: the answers as stored after it, the item keys it
    stored or cleared, and what it refused (each naming its item or sub-field)."""

    answers: dict[str, Any]
    saved: list[str]
    refused: list[FieldError]


def merge_answers(
    checklist: Checklist, stored: Mapping[str, Any], sent: Mapping[str, Any], *, prefix: str
) -> Merged:
    """Merge ``sent`` into ``stored`` item by item: each key sent replaces that item's answer,
    ``null`` clears it, keys not sent stay. An invalid answer is refused on its own and the
    item keeps what it had; in a group (an object of sub-fields) only the invalid sub-fields
    are refused and keep their stored value, the others are saved."""
    items = {item.key: item for _section, item in checklist.items()}
    answers = dict(stored)
    saved: list[str] = []
    refused: list[FieldError] = []
    for key, value in sent.items():
        path = f"{prefix}.{key}"
        item = items.get(key)
        if item is None:
            refused += supervisor_opinion_errors({key: value}, prefix=prefix) or [
                FieldError(path, f"没有此检查项「{key}」", f"no such checklist item: {key}")
            ]
            continue
        if value is None:
            answers.pop(key, None)
            saved.append(key)
            continue
        errors = partial_errors(checklist, {key: value}, prefix=prefix)
        if item.type == ItemType.GROUP and isinstance(value, dict):
            bad = {e.field[len(path) + 1 :] for e in errors if e.field.startswith(path + ".")}
            before = stored.get(key)
            kept = {
                sub: sub_value
                for sub, sub_value in (before.items() if isinstance(before, dict) else ())
                if sub in bad
            }
            accepted = {sub: v for sub, v in value.items() if sub not in bad}
            refused += errors
            if errors and not accepted:
                continue
            merged = {**{sub: v for sub, v in accepted.items() if v is not None}, **kept}
            if merged:
                answers[key] = merged
            else:
                answers.pop(key, None)
            saved.append(key)
        elif errors:
            refused += errors
        else:
            answers[key] = value
            saved.append(key)
    return Merged(answers, saved, refused)


def flag_errors(checklist: Checklist, flags: Sequence[Mapping[str, Any]]) -> list[FieldError]:
    """Each flag names an item of the form, once, with a note."""
    keys = {item.key for _section, item in checklist.items()}
    errors: list[FieldError] = []
    seen: set[str] = set()
    for index, flag in enumerate(flags):
        path = f"body.flags.{index}.item_key"
        key = flag["item_key"]
        if key not in keys:
            errors.append(
                FieldError(path, f"没有此检查项「{key}」", f"no such checklist item: {key}")
            )
        elif key in seen:
            errors.append(FieldError(path, f"检查项 {key} 重复标记", f"{key} is flagged twice"))
        seen.add(key)
    return errors


@dataclass(frozen=True)
class Finding:
    """Something an inspection found: an anomaly rule that fired (``source="rule"``) or an
    item the inspector flagged (``source="inspector"``, with their note)."""

    item_key: str
    item_label: str
    section: str
    source: Literal["rule", "inspector"]
    indicator: str  # the rule's 预警指标, or 检查人员标记
    severity: str | None  # low | medium | high for rules; None for the inspector's flags
    answer: Any
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Finding:
        return cls(**data)


def findings_of(
    checklist: Checklist, answers: Mapping[str, Any], flags: Sequence[Mapping[str, Any]]
) -> list[Finding]:
    """Fired anomaly rules in form order, then the inspector's flags in form order."""
    found = [
        Finding(
            item_key=a.item_key,
            item_label=a.item_label,
            section=a.section,
            source="rule",
            indicator=a.indicator,
            severity=a.severity.value,
            answer=a.answer,
        )
        for a in anomalies(checklist, answers)
    ]
    notes = {flag["item_key"]: flag["note"] for flag in flags}
    for section, item in checklist.items():
        if item.key in notes:
            found.append(
                Finding(
                    item_key=item.key,
                    item_label=item.label,
                    section=section.title,
                    source="inspector",
                    indicator=INSPECTOR_FLAG[0],
                    severity=None,
                    answer=answers.get(item.key),
                    note=notes[item.key],
                )
            )
    return found


def check_capture_time(captured_at: datetime, start: datetime, now: datetime) -> None:
    """Evidence is made during the inspection: from its start until now (each ± the skew)."""
    if start - CAPTURE_SKEW <= captured_at <= now + CAPTURE_SKEW:
        return
    raise CaptureOutsideWindow(captured=second_text(captured_at), start=second_text(start))


_POSITION_RESET = (
    "GPS位置已被重置，请重新扫码定位",
    "its position was reset; scan its label again",
)


def place(settings: Settings, checkpoint: Checkpoint, fix: geo.Fix | None, at: datetime) -> float:
    """The distance of a fix taken at ``at`` from the checkpoint: a usable fix (fresh at
    ``at``, accurate, not mocked) inside the checkpoint's radius, else the refusal."""
    if fix is None:
        raise InvalidField("body.fix", "须附带当前GPS定位", "a current GPS fix is required")
    geo.check_fix(fix, at, fix_limits(settings))
    if checkpoint.latitude is None or checkpoint.longitude is None:
        raise CheckpointNotLocated(name=checkpoint.name, hint=_POSITION_RESET)
    position = geo.Point(checkpoint.latitude, checkpoint.longitude)
    return geo.check_within(fix.point, position, effective_radius(settings, checkpoint))
