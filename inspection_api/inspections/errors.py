"""Errors of inspections: refused evidence, refused submissions, states that forbid an action.

Each says what the person can do about it, in zh-CN and English, naming the item key.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from inspection_api.checklists.content import EVIDENCE_LABELS, EvidenceKind
from inspection_api.checklists.rules import MissingEvidence
from inspection_api.errors import FieldError, InspectionError

INSPECTION = "inspection"  # errors.RESOURCES names them to people
EVIDENCE = "inspection_evidence"


class InspectionStateConflict(InspectionError):
    status = 409
    code = "inspection_state_conflict"
    zh = "检查记录当前为「{state}」，不能{action}"
    en = "The inspection is {state}; cannot {action}"


class NotTheInspector(InspectionError):
    # Only who runs an inspection fills it in: answers and evidence carry their name.
    status = 403
    code = "not_the_inspector"
    zh = "只有本次检查的检查人员可以{action}"
    en = "Only the inspection's inspector may {action}"


class OwnReview(InspectionError):
    status = 403
    code = "own_review"
    zh = "不能审核本人开展的检查"
    en = "You cannot review an inspection you ran yourself"


class CheckpointNotLocated(InspectionError):
    status = 409
    code = "checkpoint_not_located"
    zh = "检查点「{name}」尚未设定GPS位置，{hint}"
    en = "Checkpoint {name} has no GPS position yet; {hint}"


class CallNotStarted(InspectionError):
    status = 409
    code = "call_not_started"
    zh = "远程巡检通话尚未开始，开始通话后才能截图取证"
    en = "The call has not started; snapshots can be taken once it has"


class RemoteAlreadyLinked(InspectionError):
    status = 409
    code = "remote_already_linked"
    zh = "该远程巡检已关联检查记录 {inspection_id}"
    en = "This remote inspection already has inspection {inspection_id}"

    def extra(self, lang: str) -> dict[str, Any]:
        return {"inspection_id": self.params["inspection_id"]}


class EvidenceTampered(InspectionError):
    status = 422
    code = "evidence_tampered"
    zh = (
        "文件校验失败：收到的内容与手机计算的 SHA-256 不一致，"
        "文件可能在传输中被篡改或损坏，请重新拍摄"
    )
    en = "Checksum mismatch: the file received differs from the SHA-256 the phone computed"


class EvidenceTypeRefused(InspectionError):
    status = 415
    code = "evidence_type_refused"
    zh = "{kind}只接受以下格式：{allowed}（收到 {got}）"
    en = "A {kind} must be one of: {allowed} (got {got})"

    def extra(self, lang: str) -> dict[str, Any]:
        return {"allowed": list(self.params["allowed_types"])}


class EvidenceContentMismatch(InspectionError):
    status = 415
    code = "evidence_content_mismatch"
    zh = "文件内容不是声明的 {mime} 格式，请使用本页面的拍摄功能重新采集"
    en = "The file's content is not {mime}"


class EvidenceTooLarge(InspectionError):
    status = 413
    code = "evidence_too_large"
    zh = "文件过大，上限为 {limit_mb} MB"
    en = "The file is too large; the limit is {limit_mb} MB"

    def extra(self, lang: str) -> dict[str, Any]:
        return {"limit_bytes": self.params["limit_bytes"]}


class EvidenceEmpty(InspectionError):
    status = 422
    code = "evidence_empty"
    zh = "文件为空，请重新拍摄"
    en = "The file is empty"


class CaptureOutsideWindow(InspectionError):
    # Evidence must be made during the inspection, live: not an old photo from the gallery.
    status = 422
    code = "capture_outside_window"
    zh = "拍摄时间 {captured} 不在本次检查期间（{start} 至今），须在检查现场实时拍摄"
    en = "Captured at {captured}, outside this inspection ({start} until now); capture it live"


class EvidenceMissing(InspectionError):
    status = 422
    code = "evidence_missing"
    zh = "取证不全，不能提交：{items}"
    en = "Evidence is missing, cannot submit: {items}"

    def __init__(self, missing: list[MissingEvidence]) -> None:
        self.missing = missing
        zh = "；".join(
            f"「{m.item_label}」还缺{_kind(m.kind, 'zh')} {m.missing} "
            f"{'张' if m.kind == EvidenceKind.PHOTO else '段'}"
            for m in missing
        )
        en = "; ".join(
            f"{m.item_key}: {m.missing} more {_kind(m.kind, 'en')}{'s' if m.missing > 1 else ''}"
            for m in missing
        )
        super().__init__(items=(zh, en))

    def extra(self, lang: str) -> dict[str, Any]:
        return {
            "missing": [
                {
                    "item_key": m.item_key,
                    "item_label": m.item_label,
                    "kind": m.kind.value,
                    "required": m.required,
                    "present": m.present,
                    "missing": m.missing,
                }
                for m in self.missing
            ]
        }


def _kind(kind: EvidenceKind, lang: str) -> str:
    zh, en = EVIDENCE_LABELS[kind]
    return zh if lang == "zh" else en


class AnswersRefused(InspectionError):
    # A draft save stores what is valid and refuses the rest item by item: the problem says
    # what was refused (``errors``), what was stored (``saved``) and the inspection as it now
    # is (``inspection``), so a page shows each refusal beside its field and loses nothing.
    status = 422
    code = "answers_refused"
    zh = "答案未保存"
    en = "Answers not saved"

    def __init__(
        self,
        refused: Sequence[FieldError] = (),
        saved: Sequence[str] = (),
        inspection: dict[str, Any] | None = None,
    ) -> None:
        self.refused = list(refused)
        self.saved = list(saved)
        self.inspection = inspection or {}
        super().__init__()

    def message(self, lang: str) -> str:
        """Each refusal by its item's title (「人数」…), then whether the rest was saved."""
        if not self.refused:
            return super().message(lang)
        if lang == "zh":
            rest = "，其余已保存" if self.saved else ""
            return "；".join(e.zh for e in self.refused) + "（未保存）" + rest
        rest = "; the rest was saved" if self.saved else ""
        shown = "; ".join(f"{e.field.removeprefix('body.')}: {e.en}" for e in self.refused)
        return f"Not saved: {shown}{rest}"

    def extra(self, lang: str) -> dict[str, Any]:
        return {
            "errors": [
                {"field": e.field, "item_key": _item_key(e.field), "message": e.message(lang)}
                for e in self.refused
            ],
            "saved": self.saved,
            "inspection": self.inspection,
        }


def _item_key(field: str) -> str | None:
    """``body.answers.payroll.headcount`` → ``payroll``; None for what is not an answer."""
    parts = field.split(".")
    return parts[2] if parts[:2] == ["body", "answers"] and len(parts) > 2 else None


class SelfCheckLinkClosed(InspectionError):
    # The offline self-check arrives after its link stopped admitting anything: nothing is
    # stored, the phone keeps the record (导出) for the bank to open a new self-check.
    status = 410
    code = "self_check_link_closed"
    zh = (
        "企业自检链接{closed}，本次自检未能上传；数据仍保存在本机，可导出后联系客户经理重新发起自检"
    )
    en = "The self-check link {closed}; nothing was stored, the phone keeps the data"


class SelfCheckSyncedElsewhere(InspectionError):
    status = 409
    code = "self_check_synced_elsewhere"
    zh = (
        "本次企业自检已由另一份记录提交（其他设备或在线提交），本机这份未上传；"
        "数据仍保存在本机，可导出"
    )
    en = "This self-check was already submitted by another record; this one was not stored"


class SelfCheckWrongLabel(InspectionError):
    status = 422
    code = "self_check_wrong_label"
    zh = "扫描的二维码不是本次自检的检查点「{name}」的标签，请扫描该检查点现场张贴的二维码"
    en = "The scanned label is not the label of this self-check's checkpoint {name}"
