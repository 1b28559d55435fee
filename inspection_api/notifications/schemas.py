from __future__ import annotations

from datetime import datetime

from pydantic import Field

from inspection_api.notifications.models import NotificationKind
from inspection_api.schemas import Input, Output


class NotificationOut(Output):
    id: int
    kind: NotificationKind = Field(
        description="anomaly_raised 新异常 / anomaly_escalated 异常上报 / anomaly_reassigned "
        "异常转派 / anomaly_overdue 异常超期 / rectification_replied 整改反馈"
    )
    title: str
    body: str
    anomaly_id: int | None
    rectification_id: int | None
    created_at: datetime
    read_at: datetime | None


class NotificationQuery(Input):
    unread: bool | None = Field(default=None, description="only unread (true) or read (false)")
    before_id: int | None = Field(default=None, ge=1, description="page: older than this id")
    limit: int = Field(default=50, ge=1, le=200)


class UnreadCountOut(Output):
    total: int
    anomalies: int = Field(description="unread about anomalies (异常处理)")
    rectifications: int = Field(description="unread about rectifications (整改意见)")


class MarkedOut(Output):
    marked: int = Field(description="how many were unread and are read now")


class MarkAllReadQuery(Input):
    anomaly_id: int | None = Field(
        default=None, ge=1, description="only those about this anomaly (opened in the console)"
    )
    rectification_id: int | None = Field(default=None, ge=1)
