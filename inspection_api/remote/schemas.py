from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from inspection_api.remote.models import ParticipantEventKind, ParticipantKind, SessionState
from inspection_api.remote.rules import (
    INVITE_MINUTES_DEFAULT,
    INVITE_MINUTES_MAX,
    INVITE_MINUTES_MIN,
    InviteStatus,
)
from inspection_api.schemas import Input, Output


class RemoteSessionOut(Output):
    id: int
    org_id: int
    title: str
    enterprise_name: str
    checkpoint_id: int | None = Field(description="被检查的检查点, if chosen at creation")
    created_by_user_id: int
    state: SessionState = Field(
        description="pending 待开始 / active 进行中 / ended 已结束 / cancelled 已取消"
    )
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None


class ParticipantEventOut(Output):
    id: int
    at: datetime
    event: ParticipantEventKind
    ip: str
    user_agent: str


class ParticipantOut(Output):
    id: int
    kind: ParticipantKind
    user_id: int | None
    invite_id: int | None
    display_name: str
    generation: int
    connected: bool
    joined_at: datetime
    left_at: datetime | None
    events: list[ParticipantEventOut]


class InviteOut(Output):
    id: int
    contact_name: str
    created_by_user_id: int
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    status: InviteStatus
    device_bound: bool = Field(description="a device has joined with it (the only one it admits)")


class RemoteSessionDetailOut(RemoteSessionOut):
    invites: list[InviteOut]
    participants: list[ParticipantOut]


class RemoteSessionCreate(Input):
    title: str = Field(min_length=1, max_length=100, description="巡检事项")
    checkpoint_id: int | None = Field(
        default=None,
        description="被检查的检查点: the session takes its 支行 and its borrower as enterprise",
    )
    enterprise_name: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="企业名称 (default: the checkpoint's borrower; required without a checkpoint)",
    )
    org_id: int | None = Field(
        default=None, description="所属机构 without a checkpoint (default: my org)"
    )


class RemoteSessionQuery(Input):
    state: SessionState | None = None
    before_id: int | None = Field(default=None, ge=1, description="page: sessions older than this")
    limit: int = Field(default=100, ge=1, le=500)


class InviteCreate(Input):
    contact_name: str = Field(min_length=1, max_length=64, description="企业联系人姓名")
    expires_in_minutes: int = Field(
        default=INVITE_MINUTES_DEFAULT,
        ge=INVITE_MINUTES_MIN,
        le=INVITE_MINUTES_MAX,
        description="链接有效期（分钟）",
    )


class InviteCreatedOut(Output):
    id: int
    contact_name: str
    expires_at: datetime
    url: str = Field(description="the join link; shown once, only its digest is stored")
    token: str
    qr_svg: str = Field(description="the link as a QR code (SVG markup)")


class InvitePublicOut(Output):
    """What the join page shows before the contact taps 加入视频."""

    title: str
    enterprise_name: str
    contact_name: str
    state: SessionState
    expires_at: datetime
    recorded: Literal[True] = Field(default=True, description="the call is recorded (录制)")
