"""Request and response bodies of the briefing sheet (明白纸) API."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, Field

from inspection_api.schemas import Input, Output, Page, PagedQuery
from inspection_api.sheets.models import UnlockState

OPINION_MAX = 1000
REASON_MAX = 500

# ---- requests ----


class OpinionIn(Input):
    text: str = Field(min_length=1, max_length=OPINION_MAX, description="上级管理条线意见")


class UnlockRequestIn(Input):
    reason: str = Field(min_length=1, max_length=REASON_MAX, description="申请解锁的原因")


class ApproveUnlockIn(Input):
    comment: str = Field(default="", max_length=REASON_MAX, description="审批意见（可选）")


class RefuseUnlockIn(Input):
    comment: str = Field(min_length=1, max_length=REASON_MAX, description="拒绝原因（必填）")


class UnlockRequestQuery(PagedQuery):
    state: UnlockState | None = Field(default=None, description="pending / approved / refused")


class UnlockReportQuery(Input):
    org_id: int | None = Field(default=None, description="only this org's subtree")
    since: AwareDatetime | None = Field(default=None, description="requested at or after")
    until: AwareDatetime | None = Field(default=None, description="requested before")


# ---- responses ----


class OpinionOut(Output):
    id: int
    inspection_id: int
    text: str
    author_user_id: int | None
    author_name: str
    author_org_name: str
    created_at: datetime


class UnlockRequestOut(Output):
    id: int
    inspection_id: int
    org_id: int
    org_name: str = ""
    checkpoint_name: str = ""
    approver_org_id: int
    approver_org_name: str = ""
    state: UnlockState
    state_label: str = ""
    reason: str
    requested_by_user_id: int | None
    requester_name: str
    requested_at: datetime
    decided_by_user_id: int | None
    decider_name: str
    decided_at: datetime | None
    comment: str
    reopened_until: datetime | None
    can_decide: bool = False


class UnlockRequestPage(Page[UnlockRequestOut]):
    pass


class SheetOut(Output):
    """The sheet of one inspection: its window, lock, prints, unlocks and opinions."""

    inspection_id: int
    available: bool = Field(description="submitted at least once: the sheet exists")
    print_deadline: datetime | None = Field(description="end of the print window (inclusive)")
    locked: bool
    printed_at: datetime | None = Field(description="printed inside the current window")
    first_printed_at: datetime | None
    print_count: int
    unlock_count: int
    last_unlocked_at: datetime | None
    last_unlocked_by_name: str
    pending_request: UnlockRequestOut | None
    unlock_requests: list[UnlockRequestOut]
    opinions: list[OpinionOut]
    can_print: bool
    can_request_unlock: bool
    can_write_opinion: bool
    pdf_url: str


class ReportLine(Output):
    id: int | None
    name: str
    org_name: str = ""
    requested: int
    approved: int
    refused: int
    pending: int


class UnlockReportOut(Output):
    """Unlock requests of the jurisdiction, counted per org (of the inspection), per person
    who asked and per person who decided (approved = 解锁次数)."""

    by_org: list[ReportLine]
    by_requester: list[ReportLine]
    by_approver: list[ReportLine]
    total_requested: int
    total_approved: int
