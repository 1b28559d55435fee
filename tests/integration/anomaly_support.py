"""Helpers shared by the anomaly, escalation and rectification tests: the demo bank's ids,
principals, extra exception handlers, anomalies and rectifications made through the real
services, reply forms with real images, and what the object store holds.

Demo bank: 河北省分行 (HB) → 石家庄分行 (HB-SJZ, `handler` 赵处理, `reviewer`, `sjz_admin`)
→ 长安支行 (HB-SJZ-CA, `inspector`, checkpoints CA-0001…) and 桥西支行; 保定分行 (HB-BD) →
莲池支行 (HB-BD-LC, `inspector_bd`, LC-0001). Only 石家庄分行 has an exception handler.
``seed-demo`` itself raised one anomaly at CA-0002 and two at LC-0001.
"""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from aiohttp import FormData
from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inspection_api.anomalies.service import Finding, raise_anomalies
from inspection_api.audit.service import Origin
from inspection_api.auth.principal import Principal, Role
from inspection_api.beijing import local_date
from inspection_api.checklists.content import Severity
from inspection_api.checkpoints.models import Checkpoint
from inspection_api.db import utcnow
from inspection_api.notifications.models import Notification
from inspection_api.orgs.models import Org
from inspection_api.rectifications import service as rectifications
from inspection_api.rectifications.schemas import RectificationCreate
from inspection_api.users.models import User
from inspection_api.users.service import add_user
from loancheck.resources import open_store
from loancheck.settings import Settings

Db = async_sessionmaker[AsyncSession]
PASSWORD = "Handler-pass-42"

FINDING = Finding(
    item_key="other_bank_overdue",
    item_label="他行授信是否逾期",
    section="企业财务信息",
    indicator="他行授信逾期",
    severity=Severity.HIGH,
    answer=True,
)


async def run(db: Db, fn: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> Any:
    """One service call in its own committed transaction."""
    async with db() as session:
        result = await fn(session, *args, **kwargs)
        await session.commit()
        return result


async def ids(db: Db) -> dict[str, int]:
    """Ids of orgs and checkpoints by code, of users by username."""
    async with db() as session:
        found: dict[str, int] = dict((await session.execute(select(Org.code, Org.id))).all())
        found.update(dict((await session.execute(select(User.username, User.id))).all()))
        found.update(dict((await session.execute(select(Checkpoint.code, Checkpoint.id))).all()))
        return found


async def principal(db: Db, username: str) -> Principal:
    async with db() as session:
        user, org = (
            await session.execute(
                select(User, Org).join(Org, User.org_id == Org.id).where(User.username == username)
            )
        ).one()
        return Principal(
            user_id=user.id, username=username, org_id=org.id, org_path=org.path, roles=user.roles
        )


async def add_handler(db: Db, org_code: str, username: str, display_name: str = "") -> int:
    """A new exception handler (异常处理人) in ``org_code``; its user id."""
    async with db() as session:
        org = await session.scalar(select(Org).where(Org.code == org_code))
        assert org is not None
        user = await add_user(
            session,
            username=username,
            display_name=display_name or username,
            password=PASSWORD,
            org=org,
            roles=[Role.EXCEPTION_HANDLER],
        )
        await session.commit()
        return user.id


async def raise_at(
    db: Db,
    code: str,
    *findings: Finding,
    now: datetime | None = None,
    hours: int = 24,
    actor: Principal | None = None,
    inspection_id: int | None = None,
) -> list[int]:
    """Raise ``findings`` (default: one 他行授信逾期) at checkpoint ``code``; their ids."""
    async with db() as session:
        checkpoint_id = await session.scalar(select(Checkpoint.id).where(Checkpoint.code == code))
        assert checkpoint_id is not None
        raised = await raise_anomalies(
            session,
            checkpoint_id=checkpoint_id,
            inspection_id=inspection_id,
            findings=list(findings) or [FINDING],
            actor=actor,
            now=now or utcnow(),
            deadline_hours=hours,
        )
        await session.commit()
        return [anomaly.id for anomaly in raised]


async def notifications_of(db: Db, user_id: int, anomaly_id: int | None = None) -> list[Any]:
    """(kind, title) of a user's notifications (about one anomaly), oldest first."""
    async with db() as session:
        query = select(Notification).where(Notification.user_id == user_id)
        if anomaly_id is not None:
            query = query.where(Notification.anomaly_id == anomaly_id)
        rows = (await session.scalars(query.order_by(Notification.id))).all()
        return [(row.kind.value, row.title) for row in rows]


def image(fmt: str, colour: tuple[int, int, int] = (30, 120, 60)) -> bytes:
    """A real 32×24 image in ``fmt`` (JPEG, PNG, WEBP, GIF, …)."""
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), colour).save(buffer, format=fmt)
    return buffer.getvalue()


def reply_form(text: str | None, *photos: tuple[str, bytes, str], **extra: str) -> FormData:
    """A contact's reply as a phone sends it: ``text`` and (name, bytes, declared type)."""
    form = FormData(default_to_multipart=True)
    if text is not None:
        form.add_field("text", text)
    for name, data, content_type in photos:
        form.add_field("photos", data, filename=name, content_type=content_type)
    for name, value in extra.items():
        form.add_field(name, value)
    return form


def in_days(days: int) -> str:
    """The day ``days`` from today in China, as the API writes it."""
    return (local_date(utcnow()) + timedelta(days=days)).isoformat()


async def stored(settings: Settings, rectification_id: int) -> dict[str, bytes]:
    """The objects under ``rectifications/<id>/`` and their bytes."""
    store = await open_store(settings)
    try:
        return {
            info.key: await store.get_bytes(info.key)
            for info in await store.list(f"rectifications/{rectification_id}/")
        }
    finally:
        await store.close()


async def issue(
    db: Db, username: str = "inspector", code: str = "CA-0001", **rest: Any
) -> tuple[str, int]:
    """Issue a rectification through the service: (link token, rectification id)."""
    known = await ids(db)
    async with db() as session:
        token, row = await rectifications.create(
            session,
            await principal(db, username),
            RectificationCreate(
                checkpoint_id=known[code],
                text=rest.pop("text", "请补充近三个月的水电费缴纳凭证"),
                due_date=rest.pop("due_date", local_date(utcnow()) + timedelta(days=7)),
                **rest,
            ),
            now=utcnow(),
            origin=Origin(),
        )
        await session.commit()
        return token, row.rectification.id
