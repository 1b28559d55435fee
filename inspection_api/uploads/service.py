"""Resumable uploads (the tus protocol's core and checksum extension), on the object store.

A phone creates an upload (its length, its SHA-256, its own UUID), then sends chunks, each
with the offset it starts at and its checksum. A chunk is stored whole or not at all, so
after a cut the phone asks the offset (HEAD) and re-sends at most the chunk that was cut.
The last byte assembles the object and hashes it in one pass; attaching it as evidence
(``inspections.evidence.attach_upload``) then checks it like any other capture.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from inspection_api.auth.permissions import Permission, require
from inspection_api.auth.principal import Principal
from inspection_api.db import one_writer, utcnow
from inspection_api.errors import InvalidField, NotFound
from inspection_api.uploads.errors import (
    UPLOAD,
    UploadChanged,
    UploadChecksumMismatch,
    UploadChecksumUnsupported,
    UploadInUse,
    UploadOffsetMismatch,
    UploadPastLength,
    UploadTooLarge,
)
from inspection_api.uploads.models import ResumableUpload
from storage.base import ObjectStore, ResumableStore, Scan, UploadState
from storage.errors import ObjectNotFound

# The chunk the web client sends: S3's smallest multipart part, so on S3 every chunk is a
# part and nothing waits in a tail object. A cut costs at most this much again.
CHUNK_BYTES = 5 * 1024 * 1024
# Largest chunk taken in one PATCH: it is checked whole (its checksum) before it is stored.
MAX_CHUNK_BYTES = 16 * 1024 * 1024
_DIGESTS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256}
_UPLOADS = cast(Table, ResumableUpload.__table__)


@dataclass(frozen=True)
class Owner:
    """Whose an upload is: a staff member's, or an enterprise contact's by the self-check
    invite link (no account). Anyone else is told it does not exist."""

    user_id: int | None = None
    invite_id: int | None = None

    @property
    def folder(self) -> str:
        return str(self.user_id) if self.user_id is not None else f"invite-{self.invite_id}"

    def owns(self, upload: ResumableUpload) -> bool:
        return (upload.user_id, upload.invite_id) == (self.user_id, self.invite_id)


def owner_of(principal: Principal | Owner) -> Owner:
    """A staff member may upload with ``inspection.run``; an ``Owner`` was admitted by its
    link already."""
    if isinstance(principal, Owner):
        return principal
    require(principal, Permission.INSPECTION_RUN)
    return Owner(user_id=principal.user_id)


def resumable(store: ObjectStore) -> ResumableStore:
    assert isinstance(store, ResumableStore), f"{store!r} cannot take resumable uploads"
    return store


def parse_metadata(header: str) -> dict[str, str]:
    """``Upload-Metadata``: comma-separated ``key base64value`` pairs."""
    found: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in header.split(","))):
        key, _, value = pair.partition(" ")
        try:
            found[key] = base64.b64decode(value.strip(), validate=True).decode() if value else ""
        except (ValueError, UnicodeDecodeError):
            raise InvalidField(
                f"header.Upload-Metadata.{key}", "不是有效的 base64", "not valid base64"
            ) from None
    return found


def _client_uuid(metadata: dict[str, str]) -> str:
    try:
        return str(uuid.UUID(metadata.get("client_uuid", "")))
    except ValueError:
        raise InvalidField(
            "header.Upload-Metadata.client_uuid",
            "须提供手机生成的文件编号（UUID）",
            "the phone's UUID of the file is required",
        ) from None


async def create(
    session: AsyncSession,
    store: ObjectStore,
    principal: Principal | Owner,
    *,
    length: int,
    metadata: dict[str, str],
    limit_mb: int,
    first: bytes | None = None,
    checksum: str | None = None,
) -> tuple[ResumableUpload, bool]:
    """A new upload, or the one this phone already created for the same file (false).
    ``first`` is a first chunk sent with the creation (tus creation-with-upload)."""
    owner = owner_of(principal)
    client_uuid = _client_uuid(metadata)
    sha256 = metadata.get("sha256", "").lower()
    if sha256 and (len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256)):
        raise InvalidField(
            "header.Upload-Metadata.sha256", "须为64位十六进制", "must be 64 hex digits"
        )
    if first is None:
        # Without a body, the same file created again is told where it stands at once;
        # with one (a retry whose answer was lost), the insert below finds it instead,
        # saving a query on every first try.
        existing = await _by_client_uuid(session, owner, client_uuid)
        if existing is not None:
            return _same(existing, length), False
    if length > limit_mb * 1024 * 1024:
        raise UploadTooLarge(limit_mb=limit_mb, limit_bytes=limit_mb * 1024 * 1024)
    upload_id = uuid.uuid4().hex
    key = f"uploads/{owner.folder}/{upload_id}"
    content_type = metadata.get("filetype", "")[:100]
    first = first or b""
    if len(first) > length:
        raise UploadPastLength(length=length)
    digest = await _sha256(first) if first else None
    if checksum is not None and first:
        check_checksum(checksum, first, digest)
    # The store's work comes before the row: a database write transaction (SQLite's one
    # writer) is never held open across file or S3 IO.
    target = resumable(store)
    whole = len(first) == length
    if whole:
        # The file came with its creation: stored in one atomic put (one file write, one S3
        # request), not begun, appended to and assembled.
        await store.put_bytes(key, first, content_type)
        state: UploadState = {}
    else:
        state = await target.begin_upload(key, content_type)
        if first:
            state = await target.append_upload(key, state, 0, first)
    now = utcnow()
    values: dict[str, object] = {
        "id": upload_id,
        "user_id": owner.user_id,
        "invite_id": owner.invite_id,
        "client_uuid": client_uuid,
        "length": length,
        "offset": len(first),
        "content_type": content_type,
        "sha256": sha256,
        "object_key": key,
        "store_state": state,
        "stored_sha256": (digest or hashlib.sha256(b"").digest()).hex() if whole else None,
        "head_hex": first[:64].hex() if whole else "",
        "created_at": now,
        "completed_at": now if whole else None,
        "evidence_id": None,
    }
    try:
        # One Core INSERT, not the ORM's unit of work (the row is new and nothing else in
        # this request changes it): less CPU per photo. Committed here, in line
        # for SQLite's one writer (``one_writer``) like the sync's transactions, rather than
        # polling for its lock in the busy handler.
        async with one_writer(session):
            await session.execute(insert(_UPLOADS).values(values))
            await session.commit()
    except IntegrityError:  # the same file created before, or twice at once: one stays
        await session.rollback()
        if whole:
            await store.delete(key)
        else:
            await resumable(store).abort_upload(key, state)
        existing = await _by_client_uuid(session, owner, client_uuid)
        assert existing is not None
        return _same(existing, length), False
    return ResumableUpload(**values), True


def _same(existing: ResumableUpload, length: int) -> ResumableUpload:
    if existing.length != length:
        raise UploadChanged(length=existing.length, got=length)
    return existing


async def _by_client_uuid(
    session: AsyncSession, owner: Owner, client_uuid: str
) -> ResumableUpload | None:
    mine = (
        ResumableUpload.user_id == owner.user_id
        if owner.user_id is not None
        else ResumableUpload.invite_id == owner.invite_id
    )
    return await session.scalar(
        select(ResumableUpload).where(mine, ResumableUpload.client_uuid == client_uuid)
    )


async def get(
    session: AsyncSession, principal: Principal | Owner, upload_id: str
) -> ResumableUpload:
    """One's own upload; anyone else's answers 404 as if it did not exist."""
    upload = await session.get(ResumableUpload, upload_id)
    owner = principal if isinstance(principal, Owner) else Owner(user_id=principal.user_id)
    if upload is None or not owner.owns(upload):
        raise NotFound(resource=UPLOAD, id=upload_id)
    return upload


def check_checksum(header: str, data: bytes, sha256: bytes | None = None) -> None:
    """``Upload-Checksum: sha256 <base64 digest>`` (the tus checksum extension); ``sha256``
    is the chunk's digest when it was already computed."""
    algorithm, _, encoded = header.strip().partition(" ")
    make = _DIGESTS.get(algorithm.lower())
    if make is None:
        raise UploadChecksumUnsupported(algorithm=algorithm or "（无）")
    try:
        expected = base64.b64decode(encoded.strip(), validate=True)
    except ValueError:
        raise UploadChecksumMismatch() from None
    known = sha256 if algorithm.lower() == "sha256" else None
    if (known or make(data).digest()) != expected:
        raise UploadChecksumMismatch()


async def _sha256(data: bytes) -> bytes:
    """The chunk's SHA-256, hashed once (it serves the checksum and, for a file sent in one
    chunk, the file's hash) and in a thread: hashlib lets go of the GIL, the loop does not
    stall for a megabyte."""
    return await asyncio.to_thread(lambda: hashlib.sha256(data).digest())


async def append(
    session: AsyncSession,
    store: ObjectStore,
    upload: ResumableUpload,
    *,
    offset: int,
    data: bytes,
    checksum: str | None,
    now: datetime,
) -> ResumableUpload:
    """Store one chunk at ``offset``; the last one completes the object."""
    if offset != upload.offset or upload.completed_at is not None:
        raise UploadOffsetMismatch(offset=upload.offset, got=offset)
    if offset + len(data) > upload.length:
        raise UploadPastLength(length=upload.length)
    digest = await _sha256(data)
    if checksum is not None:
        check_checksum(checksum, data, digest)
    state = upload.store_state
    if data:
        state = await resumable(store).append_upload(upload.object_key, state, offset, data)
    values: dict[str, object] = {"offset": offset + len(data), "store_state": state}
    if offset + len(data) == upload.length:
        # A file sent in one chunk is hashed here, not read back from the store.
        whole = (data, digest) if offset == 0 else None
        try:
            scan = await _assemble(store, upload.object_key, state, upload.content_type, whole)
        except ObjectNotFound:  # another request with the same last chunk completed it
            await session.refresh(upload)
            raise UploadOffsetMismatch(offset=upload.offset, got=offset) from None
        values.update(stored_sha256=scan.sha256, head_hex=scan.head.hex(), completed_at=now)
    # Two requests sending the same chunk at once: one moves the offset, the other hears
    # where it is now.
    async with one_writer(session):  # see ``create``
        moved = await session.execute(
            update(ResumableUpload)
            .where(ResumableUpload.id == upload.id, ResumableUpload.offset == offset)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        await session.commit()
    await session.refresh(upload)
    if not getattr(moved, "rowcount", 0):
        raise UploadOffsetMismatch(offset=upload.offset, got=offset)
    return upload


async def _assemble(
    store: ObjectStore,
    key: str,
    state: UploadState,
    content_type: str,
    whole: tuple[bytes, bytes] | None,
) -> Scan:
    """Put the object together in the store; its hash and first bytes (from ``whole``, the
    file and its digest, when it came in one chunk, else read back in one pass)."""
    target = resumable(store)
    await target.complete_upload(key, state, content_type)
    if whole is not None:
        data, digest = whole
        return Scan(sha256=digest.hex(), size=len(data), head=data[:64])
    return await target.scan(key)


async def terminate(session: AsyncSession, store: ObjectStore, upload: ResumableUpload) -> None:
    """The tus termination extension: drop an upload not attached to anything."""
    if upload.evidence_id is not None:
        raise UploadInUse()
    if upload.completed_at is None:
        await resumable(store).abort_upload(upload.object_key, upload.store_state)
    else:
        await store.delete(upload.object_key)
    await session.delete(upload)
    await session.flush()
