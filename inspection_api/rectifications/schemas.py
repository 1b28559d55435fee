from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from inspection_api.rectifications.models import RectificationEventKind, RectificationState
from inspection_api.rectifications.rules import (
    LINK_DAYS_DEFAULT,
    LINK_DAYS_MAX,
    LINK_DAYS_MIN,
    TEXT_MAX,
    LinkStatus,
)
from inspection_api.schemas import Input, Output, Page, PagedQuery

_STATES = "issued 已下发 / replied 已反馈 / closed 已关闭 / reopened 重新整改"


class RectificationCreate(Input):
    checkpoint_id: int | None = Field(
        default=None, description="检查点 (may be left out when `anomaly_id` is given)"
    )
    anomaly_id: int | None = Field(default=None, description="the anomaly it answers, if any")
    inspection_id: int | None = Field(default=None, description="the inspection it came from")
    text: str = Field(min_length=1, max_length=TEXT_MAX, description="整改意见")
    due_date: date = Field(description="整改期限: the last day (China time), not in the past")
    contact_name: str | None = Field(
        default=None, max_length=64, description="企业联系人 (default: the checkpoint's)"
    )
    contact_phone: str | None = Field(
        default=None, max_length=32, description="联系电话 (default: the checkpoint's)"
    )
    responsible_user_id: int | None = Field(
        default=None, description="责任人: a bank user who sees the checkpoint (default: me)"
    )
    link_days: int = Field(
        default=LINK_DAYS_DEFAULT,
        ge=LINK_DAYS_MIN,
        le=LINK_DAYS_MAX,
        description="how long the contact's reply link works, in days",
    )


class RectificationOut(Output):
    id: int
    org_id: int = Field(description="the checkpoint's 支行")
    org_name: str
    checkpoint_id: int
    checkpoint_code: str
    checkpoint_name: str
    customer_name: str
    anomaly_id: int | None
    anomaly_indicator: str | None = Field(description="预警指标 of the linked anomaly")
    inspection_id: int | None
    text: str
    due_date: date
    contact_name: str
    contact_phone: str
    responsible_user_id: int
    responsible_name: str
    state: RectificationState = Field(description=_STATES)
    overdue: bool = Field(description="逾期: waiting for the enterprise past the due date")
    link_status: LinkStatus = Field(description="the contact's link: valid, expired or none")
    link_expires_at: datetime | None
    replied_at: datetime | None
    closed_at: datetime | None
    closed_by_user_id: int | None
    created_by_user_id: int | None
    created_at: datetime
    updated_at: datetime


class PhotoOut(Output):
    id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: datetime
    url: str = Field(description="GET it here (signed-in staff of the jurisdiction)")


class RectificationEventOut(Output):
    id: int
    at: datetime
    kind: RectificationEventKind = Field(
        description="issued 下发 / replied 企业反馈 / closed 关闭 / reopened 重新整改 / "
        "link_renewed 重新生成链接"
    )
    actor_user_id: int | None = Field(description="null: the enterprise contact")
    actor_name: str
    comment: str
    due_date: date | None
    photos: list[PhotoOut]


class RectificationDetailOut(RectificationOut):
    events: list[RectificationEventOut]
    can_manage: bool


class LinkOut(Output):
    url: str = Field(description="the contact's reply page; shown once, only its digest is kept")
    token: str
    expires_at: datetime
    qr_svg: str = Field(description="the link as a QR code (SVG markup)")


class RectificationCreatedOut(Output):
    rectification: RectificationDetailOut
    link: LinkOut


class RectificationPage(Page[RectificationOut]):
    """A page of rectifications."""


class RectificationQuery(PagedQuery):
    org_id: int | None = Field(default=None, description="only this org and its descendants")
    state: RectificationState | None = None
    checkpoint_id: int | None = None
    anomaly_id: int | None = None
    inspection_id: int | None = None
    responsible_user_id: int | None = None
    overdue: bool = Field(default=False, description="only those overdue (逾期)")


class CloseIn(Input):
    comment: str = Field(default="", max_length=TEXT_MAX, description="验证意见")


class ReopenIn(Input):
    comment: str = Field(min_length=1, max_length=TEXT_MAX, description="仍需整改的内容")
    due_date: date | None = Field(default=None, description="new 整改期限 (default: unchanged)")


class RenewLinkIn(Input):
    link_days: int = Field(default=LINK_DAYS_DEFAULT, ge=LINK_DAYS_MIN, le=LINK_DAYS_MAX)


class PublicEventOut(Output):
    at: datetime
    kind: RectificationEventKind
    actor_name: str
    comment: str
    due_date: date | None
    photos: int = Field(description="number of photos attached")


class RectifyPublicOut(Output):
    """What the contact's phone page shows."""

    checkpoint_name: str
    customer_name: str
    org_name: str
    contact_name: str
    text: str
    due_date: date
    state: RectificationState = Field(description=_STATES)
    overdue: bool
    link_expires_at: datetime
    can_reply: bool = Field(description="false once closed")
    max_photos: int
    max_photo_mb: int
    history: list[PublicEventOut]


class ReplyOut(Output):
    state: RectificationState
    replied_at: datetime
    photos: int
