"""The personal inbox: notifying users (a row each, pushed to their consoles after commit),
listing, counting and marking read. Nobody reads another person's inbox."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from inspection_api.auth.principal import Principal
from inspection_api.errors import NotFound
from inspection_api.notifications import outbox
from inspection_api.notifications.models import Notification, NotificationKind
from inspection_api.notifications.schemas import NotificationOut

# Console events (Socket.IO /console, to the user's room).
CREATED_EVENT = "notification_created"  # data: NotificationOut
CHANGED_EVENT = "notifications_changed"  # data: {} — read elsewhere: refetch the count


async def notify(
    session: AsyncSession,
    user_ids: Iterable[int],
    kind: NotificationKind,
    *,
    title: str,
    body: str = "",
    anomaly_id: int | None = None,
    rectification_id: int | None = None,
    now: datetime,
) -> list[Notification]:
    """One inbox row per user (each user once), pushed to their consoles after commit."""
    rows = [
        Notification(
            user_id=user_id,
            kind=kind,
            title=title[:200],
            body=body[:500],
            anomaly_id=anomaly_id,
            rectification_id=rectification_id,
            created_at=now,
        )
        for user_id in dict.fromkeys(user_ids)
    ]
    if not rows:
        return rows
    session.add_all(rows)
    await session.flush()
    for row in rows:
        payload = NotificationOut.model_validate(row).model_dump(mode="json")
        outbox.add(session, outbox.Push(row.user_id, CREATED_EVENT, payload))
    return rows


async def list_mine(
    session: AsyncSession,
    principal: Principal,
    *,
    unread: bool | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[Notification]:
    """Newest first."""
    query = select(Notification).where(Notification.user_id == principal.user_id)
    if unread is True:
        query = query.where(Notification.read_at.is_(None))
    elif unread is False:
        query = query.where(Notification.read_at.is_not(None))
    if before_id:
        query = query.where(Notification.id < before_id)
    query = query.order_by(Notification.id.desc()).limit(limit)
    return list((await session.scalars(query)).all())


async def unread_counts(session: AsyncSession, principal: Principal) -> dict[str, int]:
    """``{"total", "anomalies", "rectifications"}`` of the caller's unread notifications."""
    rows = await session.execute(
        select(
            Notification.anomaly_id.is_not(None),
            Notification.rectification_id.is_not(None),
            func.count(),
        )
        .where(Notification.user_id == principal.user_id, Notification.read_at.is_(None))
        .group_by(Notification.anomaly_id.is_not(None), Notification.rectification_id.is_not(None))
    )
    counts = {"total": 0, "anomalies": 0, "rectifications": 0}
    for about_anomaly, about_rectification, count in rows.all():
        counts["total"] += count
        if about_anomaly:
            counts["anomalies"] += count
        elif about_rectification:
            counts["rectifications"] += count
    return counts


async def mark_read(
    session: AsyncSession, principal: Principal, notification_id: int, *, now: datetime
) -> Notification:
    """Mark one of the caller's notifications read (again: no change); 404 for anyone else's."""
    row = await session.get(Notification, notification_id)
    if row is None or row.user_id != principal.user_id:
        raise NotFound(resource="notification", id=notification_id)
    if row.read_at is None:
        row.read_at = now
        outbox.add(session, outbox.Push(principal.user_id, CHANGED_EVENT, {}))
    return row


async def mark_all_read(
    session: AsyncSession,
    principal: Principal,
    *,
    now: datetime,
    anomaly_id: int | None = None,
    rectification_id: int | None = None,
) -> int:
    """Mark the caller's unread notifications read (only those about one anomaly or
    rectification, when given); return how many changed."""
    query = update(Notification).where(
        Notification.user_id == principal.user_id, Notification.read_at.is_(None)
    )
    if anomaly_id is not None:
        query = query.where(Notification.anomaly_id == anomaly_id)
    if rectification_id is not None:
        query = query.where(Notification.rectification_id == rectification_id)
    result = await session.execute(
        query.values(read_at=now).execution_options(synchronize_session=False)
    )
    marked = int(result.rowcount)  # type: ignore[attr-defined]
    if marked:
        outbox.add(session, outbox.Push(principal.user_id, CHANGED_EVENT, {}))
    return marked
