"""The enterprise contact's side of a rectification: the tokenized link (256-bit token, only
its SHA-256 stored, with an expiry) and replies with photos.

A reply is checked completely before anything is kept: the text, the number of photos, each
photo's size and type (sniffed from its bytes: JPEG, PNG, WebP, HEIC). Only then are the
photos stored (``rectifications/<id>/<sha256>.<ext>``, content-addressed) and the reply
recorded; a refused reply leaves the rectification and the store as they were. If the
database then fails, the stored photos are orphans under their own digest, never half a
reply.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from inspection_api.audit.service import Origin, record
from inspection_api.errors import InvalidField, NotFound
from inspection_api.notifications.models import NotificationKind
from inspection_api.notifications.service import notify
from inspection_api.rectifications import repository
from inspection_api.rectifications.errors import (
    PhotoStoreUnavailable,
    PhotoTooLarge,
    PhotoTypeRefused,
    RectificationStateConflict,
    RectifyLinkNotFound,
)
from inspection_api.rectifications.models import (
    STATE_LABELS,
    RectificationEvent,
    RectificationEventKind,
    RectificationPhoto,
    RectificationState,
)
from inspection_api.rectifications.repository import RectificationRow
from inspection_api.rectifications.rules import (
    MAX_PHOTOS,
    REPLYABLE,
    TEXT_MAX,
    check_link,
    photo_key,
    sniff_photo,
)
from inspection_api.tokens import digest
from storage.base import ObjectStore
from storage.errors import ObjectNotFound, StorageError

log = logging.getLogger(__name__)

TOKEN_MAX = 128  # longer is not one of ours (and is not worth hashing)


@dataclass(frozen=True)
class PhotoUpload:
    filename: str  # as the phone named it (shown to the bank, never used as a key)
    data: bytes


async def resolve_token(session: AsyncSession, token: str, *, now: datetime) -> RectificationRow:
    """The rectification a link stands for: ``RectifyLinkNotFound`` (404) for a forged or
    replaced link, ``RectifyLinkExpired`` (410) past its expiry."""
    if not token or len(token) > TOKEN_MAX:
        raise RectifyLinkNotFound()
    row = await repository.by_token_hash(session, digest(token))
    if row is None:
        raise RectifyLinkNotFound()
    check_link(row.rectification, now)
    return row


async def public_view(
    session: AsyncSession, token: str, *, now: datetime
) -> tuple[RectificationRow, list[tuple[RectificationEvent, int]]]:
    """What the phone page shows: the rectification and its history (photos counted)."""
    row = await resolve_token(session, token, now=now)
    counts: dict[int, int] = {}
    for photo in await repository.photos_of(session, row.rectification.id):
        counts[photo.event_id] = counts.get(photo.event_id, 0) + 1
    events = await repository.events_of(session, row.rectification.id)
    return row, [(event, counts.get(event.id, 0)) for event in events]


def check_photo(index: int, upload: PhotoUpload, max_bytes: int) -> str:
    """The photo's sniffed type, or the error naming ``body.photos.{index}``."""
    field = f"body.photos.{index}"
    name = upload.filename or f"第 {index + 1} 张照片"
    if len(upload.data) > max_bytes:
        raise PhotoTooLarge(field=field, name=name, limit_mb=max_bytes // (1024 * 1024))
    content_type = sniff_photo(upload.data)
    if content_type is None:
        raise PhotoTypeRefused(field=field, name=name)
    return content_type


def check_reply(text: str, photos: Sequence[PhotoUpload], max_photo_bytes: int) -> list[str]:
    """Everything about a reply that needs no database; the photos' types."""
    if not text.strip():
        raise InvalidField("body.text", "请填写整改情况说明", "describe what was done")
    if len(text) > TEXT_MAX:
        raise InvalidField(
            "body.text", f"不能超过 {TEXT_MAX} 个字", f"at most {TEXT_MAX} characters"
        )
    if len(photos) > MAX_PHOTOS:
        raise InvalidField(
            "body.photos", f"最多上传 {MAX_PHOTOS} 张照片", f"at most {MAX_PHOTOS} photos"
        )
    return [check_photo(i, upload, max_photo_bytes) for i, upload in enumerate(photos)]


async def reply(
    session: AsyncSession,
    store: ObjectStore,
    token: str,
    *,
    text: str,
    photos: Sequence[PhotoUpload],
    now: datetime,
    max_photo_bytes: int,
    origin: Origin,
) -> tuple[RectificationRow, int]:
    """The contact's reply (已反馈): text and up to nine photos; the responsible bank user is
    notified. Refused once closed (409). Returns the row and the number of photos kept."""
    row = await resolve_token(session, token, now=now)
    rectification = row.rectification
    if rectification.state not in REPLYABLE:
        raise RectificationStateConflict(
            state=STATE_LABELS[rectification.state], action=("提交反馈", "reply")
        )
    text = text.strip()
    types = check_reply(text, photos, max_photo_bytes)
    digests = await asyncio.to_thread(
        lambda: [hashlib.sha256(upload.data).hexdigest() for upload in photos]
    )
    keys = [
        photo_key(rectification.id, sha, kind) for sha, kind in zip(digests, types, strict=True)
    ]
    try:
        for key, upload, kind in zip(keys, photos, types, strict=True):
            await store.put_bytes(key, upload.data, kind)
    except StorageError as exc:
        log.warning("storing photos of rectification %s failed: %s", rectification.id, exc)
        raise PhotoStoreUnavailable() from exc
    if not await repository.move(
        session,
        rectification,
        REPLYABLE,
        state=RectificationState.REPLIED,
        replied_at=now,
        updated_at=now,
    ):  # closed meanwhile
        raise RectificationStateConflict(
            state=STATE_LABELS[rectification.state], action=("提交反馈", "reply")
        )
    event = RectificationEvent(
        rectification_id=rectification.id,
        at=now,
        kind=RectificationEventKind.REPLIED,
        actor_name=rectification.contact_name,
        comment=text,
    )
    session.add(event)
    await session.flush()
    for key, upload, kind, sha in zip(keys, photos, types, digests, strict=True):
        session.add(
            RectificationPhoto(
                rectification_id=rectification.id,
                event_id=event.id,
                object_key=key,
                sha256=sha,
                size=len(upload.data),
                content_type=kind,
                filename=upload.filename[:200],
                uploaded_at=now,
            )
        )
    record(
        session,
        "rectification_replied",
        origin=origin,
        actor_username=rectification.contact_name[:64],
        org_path=row.org.path,
        rectification_id=rectification.id,
        photos=len(photos),
    )
    summary = text if len(text) <= 80 else text[:80] + "…"
    await notify(
        session,
        [rectification.responsible_user_id],
        NotificationKind.RECTIFICATION_REPLIED,
        title=f"整改反馈：{row.checkpoint.name}",
        body=f"{rectification.contact_name}提交了整改反馈（{len(photos)} 张照片）：{summary}",
        rectification_id=rectification.id,
        now=now,
    )
    return row, len(photos)


async def photo_bytes(
    session: AsyncSession, store: ObjectStore, row: RectificationRow, photo_id: int
) -> tuple[RectificationPhoto, bytes]:
    """A photo of ``row`` (the caller checked access to the rectification) and its bytes."""
    photo = await session.get(RectificationPhoto, photo_id)
    if photo is None or photo.rectification_id != row.rectification.id:
        raise NotFound(resource="rectification_photo", id=photo_id)
    try:
        return photo, await store.get_bytes(photo.object_key)
    except ObjectNotFound:
        log.error(
            "photo %s of rectification %s is missing from the store",
            photo.id,
            photo.rectification_id,
        )
        raise NotFound(resource="rectification_photo", id=photo_id) from None
