"""Refusals of the briefing sheet domain (zh-CN first, English available)."""

from __future__ import annotations

from typing import Any

from inspection_api.errors import InspectionError

UNLOCK_REQUEST = "sheet_unlock_request"  # errors.RESOURCES names it to people


class SheetNotAvailable(InspectionError):
    status = 409
    code = "sheet_not_available"
    zh = "检查记录尚未提交，提交后才能{action}"
    en = "The inspection has not been submitted; {action} once it is"


class SheetLocked(InspectionError):
    """Past the print window, unprinted: 423 Locked until an unlock is approved."""

    status = 423
    code = "sheet_locked"
    zh = "明白纸未在打印期限（{deadline}）内打印，已自动锁定，不能{action}；请申请上级解锁"
    en = (
        "The briefing sheet was not printed by its deadline ({deadline}) and is locked; "
        "cannot {action}. Ask for an unlock"
    )

    def extra(self, lang: str) -> dict[str, Any]:
        return {"print_deadline": self.params["deadline_iso"]}


class SheetNotLocked(InspectionError):
    status = 409
    code = "sheet_not_locked"
    zh = "明白纸未锁定，可在 {deadline} 前直接打印，无需申请解锁"
    en = "The briefing sheet is not locked (print it by {deadline}); no unlock is needed"


class UnlockRequestPending(InspectionError):
    status = 409
    code = "unlock_request_pending"
    zh = "已有待审批的解锁申请（{requester}，{at}），请等待上级审批"
    en = "An unlock request is already waiting ({requester}, {at})"

    def extra(self, lang: str) -> dict[str, Any]:
        return {"unlock_request_id": self.params["request_id"]}


class UnlockStateConflict(InspectionError):
    status = 409
    code = "unlock_state_conflict"
    zh = "解锁申请当前为「{state}」，不能{action}"
    en = "The unlock request is {state}; cannot {action}"


class OwnUnlockRequest(InspectionError):
    status = 403
    code = "own_unlock_request"
    zh = "不能审批本人提出的解锁申请"
    en = "You cannot decide your own unlock request"


class OwnInspectionOpinion(InspectionError):
    status = 403
    code = "own_inspection_opinion"
    zh = "上级管理条线意见由上级管理人员填写，检查人员不能为本人的检查填写"
    en = "Supervisor opinions are written by the managers above; not on your own inspection"


class SheetFontMissing(InspectionError):
    status = 503
    code = "sheet_font_missing"
    zh = "服务器未安装打印明白纸所需的中文字体（「{paths}」），请安装 fonts-wqy-microhei"
    en = (
        "The Chinese font for briefing sheets is not installed ({paths}); "
        "install fonts-wqy-microhei"
    )
