"""The caller's own inbox (消息) over REST. Every user has one; no permission is needed and
nobody sees another's."""

from __future__ import annotations

from inspection_api.db import utcnow
from inspection_api.notifications import service
from inspection_api.notifications.schemas import (
    MarkAllReadQuery,
    MarkedOut,
    NotificationOut,
    NotificationQuery,
    UnreadCountOut,
)
from inspection_api.web.routing import ApiRoutes, Ctx

api = ApiRoutes(tag="notifications")

NOTIFICATIONS = "/api/v1/notifications"


@api.route(
    "GET",
    NOTIFICATIONS,
    summary="我的消息 My notifications",
    query=NotificationQuery,
    response=list[NotificationOut],
)
async def list_notifications(ctx: Ctx, *, query: NotificationQuery) -> list[NotificationOut]:
    """Newest first; `unread=true` for the unread ones; page with `before_id`. New ones are
    also pushed to open consoles as `notification_created` (Socket.IO `/console`)."""
    rows = await service.list_mine(
        ctx.session, ctx.user, unread=query.unread, before_id=query.before_id, limit=query.limit
    )
    return [NotificationOut.model_validate(row) for row in rows]


@api.route(
    "GET",
    NOTIFICATIONS + "/unread-count",
    summary="未读消息数 Unread count",
    response=UnreadCountOut,
)
async def count_unread_notifications(ctx: Ctx) -> UnreadCountOut:
    """The console's badges: all unread, those about anomalies and about rectifications."""
    return UnreadCountOut(**await service.unread_counts(ctx.session, ctx.user))


@api.route(
    "POST",
    NOTIFICATIONS + "/{notification_id}/read",
    summary="标为已读 Mark one read",
    response=NotificationOut,
)
async def mark_notification_read(ctx: Ctx, *, notification_id: int) -> NotificationOut:
    """Marking twice keeps the first time; another user's notification answers 404."""
    row = await service.mark_read(ctx.session, ctx.user, notification_id, now=utcnow())
    return NotificationOut.model_validate(row)


@api.route(
    "POST",
    NOTIFICATIONS + "/read-all",
    summary="全部标为已读 Mark all read",
    query=MarkAllReadQuery,
    response=MarkedOut,
)
async def mark_all_notifications_read(ctx: Ctx, *, query: MarkAllReadQuery) -> MarkedOut:
    """All unread, or only those about `anomaly_id` / `rectification_id`."""
    marked = await service.mark_all_read(
        ctx.session,
        ctx.user,
        now=utcnow(),
        anomaly_id=query.anomaly_id,
        rectification_id=query.rectification_id,
    )
    return MarkedOut(marked=marked)
