"""Evidence (取证): photos, videos and audio clips captured live for a checklist item.

An upload is accepted only when everything holds, checked cheapest first so a refusal costs
little and never touches what was accepted before: the inspection is editable by this
person; the item exists; the type is allowed for the kind; it was captured during the
inspection; on site, with a fresh GPS fix inside the checkpoint's radius (a remote snapshot
instead gets its offset into the call's recording); the size is within the limit; the bytes
are of the declared type; their SHA-256 is the one the phone computed. Then the file goes
to the object store under ``inspections/<id>/evidence/<uuid>.<ext>`` and its row is added.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from inspection_api.audit.service import Origin
from inspection_api.auth.permissions import Permission
from inspection_api.auth.principal import Principal
from inspection_api.checklists import service as checklists
from inspection_api.checklists.content import EvidenceKind
from inspection_api.checklists.schemas import ChecklistVersionOut
from inspection_api.checkpoints import geo
from inspection_api.db import utcnow
from inspection_api.errors import InvalidField, NotFound
from inspection_api.inspections import media, repository
from inspection_api.inspections.errors import (
    EVIDENCE,
    CallNotStarted,
    EvidenceEmpty,
    EvidenceTampered,
    EvidenceTooLarge,
)
from inspection_api.inspections.models import Evidence, InspectionKind
from inspection_api.inspections.repository import Row
from inspection_api.inspections.rules import check_capture_time, inspector_form, place
from inspection_api.inspections.service import (
    Actor,
    audit_event,
    check_editable,
    get_remote,
    visible,
)
from inspection_api.uploads.errors import UploadIncomplete, UploadInUse
from inspection_api.uploads.models import ResumableUpload
from loancheck.settings import Settings
from storage.base import ObjectStore

# Signed evidence URLs last long enough to watch a video through.
URL_LIFETIME = timedelta(hours=1)

# Reads at most n bytes of the request body (the transport's business, not ours).
Reader = Callable[[int], Awaitable[bytes]]


@dataclass(frozen=True)
class Upload:
    """What the phone says about a file it sends."""

    item_key: str
    kind: EvidenceKind
    content_type: str
    sha256: str
    captured_at: datetime
    device_id: str
    fix: geo.Fix | None  # required on site and for self-checks
    declared_size: int | None  # Content-Length, when sent


def limit_bytes(settings: Settings) -> int:
    return settings.evidence_max_mb * 1024 * 1024


def _too_large(settings: Settings) -> EvidenceTooLarge:
    return EvidenceTooLarge(limit_mb=settings.evidence_max_mb, limit_bytes=limit_bytes(settings))


async def inspection_form(session: AsyncSession, row: Row) -> ChecklistVersionOut:
    """The items an inspector fills in on this inspection."""
    version_id = row.inspection.checklist_version_id
    return inspector_form(await checklists.get_version(session, version_id))


async def _admit(
    session: AsyncSession,
    settings: Settings,
    row: Row,
    actor: Actor,
    upload: Upload,
    window: tuple[datetime, datetime] | None,
    form: ChecklistVersionOut | None = None,
) -> tuple[str, float | None, float | None, geo.Fix | None]:
    """Checks 1–4 of the module docstring: the media type, the capture offset into a call,
    the distance of the capture's fix. ``window`` (start, end) replaces "from the start
    until now" for an offline inspection, whose times are the phone's. ``form`` is the
    inspection's form (``inspector_form``) when the caller already has it."""
    check_editable(row, actor, ("取证", "add evidence"))
    inspection = row.inspection
    version = form or await inspection_form(session, row)
    if upload.item_key not in {item.key for _section, item in version.items()}:
        raise InvalidField(
            "query.item_key",
            f"没有此检查项：{upload.item_key}",
            f"no such checklist item: {upload.item_key}",
        )
    mime = media.check_type(upload.kind, upload.content_type)
    start, end = window or (inspection.started_at, utcnow())
    offset: float | None = None
    if inspection.kind == InspectionKind.REMOTE:
        remote = await get_remote(session, inspection)
        if remote is None or remote.started_at is None:
            raise CallNotStarted()
        start = max(start, remote.started_at)
        check_capture_time(upload.captured_at, start, end)
        offset = round(max(0.0, (upload.captured_at - remote.started_at).total_seconds()), 3)
    else:
        check_capture_time(upload.captured_at, start, end)
    distance, fix = None, upload.fix
    if inspection.kind != InspectionKind.REMOTE:
        if fix is None:
            raise InvalidField(
                "query.latitude",
                "现场取证须附带拍摄时的GPS定位",
                "on-site evidence needs the GPS fix of its capture",
            )
        # The fix is judged at the moment of the capture, the capture against the clock.
        distance = place(settings, row.checkpoint, fix, upload.captured_at)
    else:
        fix = None
    return mime, offset, distance, fix


def _record(
    session: AsyncSession,
    row: Row,
    actor: Actor,
    upload: Upload,
    *,
    mime: str,
    key: str,
    size: int,
    digest: str,
    offset: float | None,
    distance: float | None,
    fix: geo.Fix | None,
    now: datetime,
    captured_at: datetime | None = None,
    client_uuid: str | None = None,
) -> Evidence:
    evidence = Evidence(
        inspection_id=row.inspection.id,
        item_key=upload.item_key,
        kind=upload.kind.value,
        object_key=key,
        mime_type=mime,
        size_bytes=size,
        sha256=digest,
        captured_at=captured_at or upload.captured_at,
        latitude=fix.latitude if fix else None,
        longitude=fix.longitude if fix else None,
        accuracy_m=fix.accuracy_m if fix else None,
        distance_m=round(distance, 1) if distance is not None else None,
        recording_offset_seconds=offset,
        uploaded_by_user_id=actor.principal.user_id if actor.principal else None,
        uploader_name=actor.name[:64],
        device_id=upload.device_id[:64],
        created_at=now,
        client_uuid=client_uuid,
    )
    session.add(evidence)
    return evidence


def _audit_added(
    session: AsyncSession, row: Row, actor: Actor, evidence: Evidence, origin: Origin
) -> None:
    audit_event(
        session,
        "inspection_evidence_added",
        row,
        actor,
        origin,
        evidence_id=evidence.id,
        item_key=evidence.item_key,
        evidence_kind=evidence.kind,
        sha256=evidence.sha256,
        size_bytes=evidence.size_bytes,
        distance_m=evidence.distance_m,
        recording_offset_seconds=evidence.recording_offset_seconds,
    )


async def add_evidence(
    session: AsyncSession,
    store: ObjectStore,
    settings: Settings,
    row: Row,
    actor: Actor,
    upload: Upload,
    read: Reader,
    *,
    origin: Origin,
) -> tuple[Evidence, bool]:
    """Attach a live capture to an item (see the module docstring); the second value is
    false when the same file was already attached (a retried upload changes nothing)."""
    mime, offset, distance, fix = await _admit(session, settings, row, actor, upload, None)
    limit = limit_bytes(settings)
    if upload.declared_size is not None and upload.declared_size > limit:
        raise _too_large(settings)
    data = await read(limit + 1)
    if len(data) > limit:
        raise _too_large(settings)
    if not data:
        raise EvidenceEmpty()
    media.check_content(mime, data)
    digest = media.check_digest(data, upload.sha256)
    inspection = row.inspection
    same = await repository.same_evidence(session, inspection.id, upload.item_key, digest)
    if same is not None:
        return same, False
    key = media.object_key(inspection.id, mime)
    await store.put_bytes(key, data, mime)
    evidence = _record(
        session,
        row,
        actor,
        upload,
        mime=mime,
        key=key,
        size=len(data),
        digest=digest,
        offset=offset,
        distance=distance,
        fix=fix,
        now=utcnow(),
    )
    await session.flush()
    _audit_added(session, row, actor, evidence, origin)
    return evidence, True


async def attach_upload(
    session: AsyncSession,
    settings: Settings,
    row: Row,
    actor: Actor,
    upload: Upload,
    stored: ResumableUpload,
    *,
    client_uuid: str,
    window: tuple[datetime, datetime] | None,
    received_at: datetime,
    origin: Origin,
    form: ChecklistVersionOut | None = None,
) -> Evidence:
    """Attach a completed resumable upload (``inspection_api.uploads``) as evidence: the
    same checks as ``add_evidence``, on the hash and first bytes taken when it completed.
    The object stays where it was assembled; the capture time is bounded by the receipt."""
    mime, offset, distance, fix = await _admit(session, settings, row, actor, upload, window, form)
    if stored.length > limit_bytes(settings):
        raise _too_large(settings)
    if stored.completed_at is None or stored.stored_sha256 is None:
        raise UploadIncomplete(offset=stored.offset, length=stored.length)
    if stored.evidence_id is not None:
        raise UploadInUse()
    if stored.length == 0:
        raise EvidenceEmpty()
    media.check_content(mime, bytes.fromhex(stored.head_hex))
    if stored.stored_sha256 != upload.sha256.lower():
        raise EvidenceTampered()
    evidence = _record(
        session,
        row,
        actor,
        upload,
        mime=mime,
        key=stored.object_key,
        size=stored.length,
        digest=stored.stored_sha256,
        offset=offset,
        distance=distance,
        fix=fix,
        now=received_at,
        captured_at=min(upload.captured_at, received_at),
        client_uuid=client_uuid,
    )
    await session.flush()
    stored.evidence_id = evidence.id
    _audit_added(session, row, actor, evidence, origin)
    return evidence


async def attach_online(
    session: AsyncSession,
    settings: Settings,
    row: Row,
    actor: Actor,
    upload: Upload,
    stored: ResumableUpload,
    *,
    origin: Origin,
) -> tuple[Evidence, bool]:
    """Attach a capture made online and sent by resumable upload: ``attach_upload`` with
    the inspection's own window and the server's clock. The second value is false when this
    upload was already attached to this item (the answer to an earlier try was lost, or
    the phone's retry raced its first try: the evidence row is unique by the upload's
    ``client_uuid``, the loser of the race answers the winner's row)."""
    done = await _attached(session, row, upload, stored)
    if done is not None:
        check_editable(row, actor, ("取证", "add evidence"))
        return done, False
    try:
        async with session.begin_nested():
            evidence = await attach_upload(
                session,
                settings,
                row,
                actor,
                upload,
                stored,
                client_uuid=stored.client_uuid,
                window=None,
                received_at=utcnow(),
                origin=origin,
            )
    except IntegrityError:  # attached at the same moment by another request
        await session.refresh(stored)
        done = await _attached(session, row, upload, stored)
        if done is None:
            raise UploadInUse() from None
        return done, False
    return evidence, True


async def _attached(
    session: AsyncSession, row: Row, upload: Upload, stored: ResumableUpload
) -> Evidence | None:
    """The evidence this upload already is on this item, if any."""
    if stored.evidence_id is None:
        return None
    done = await session.get(Evidence, stored.evidence_id, populate_existing=True)
    if (
        done is not None
        and done.inspection_id == row.inspection.id
        and done.item_key == upload.item_key
        and done.removed_at is None
    ):
        return done
    return None


async def remove_evidence(
    session: AsyncSession, row: Row, actor: Actor, evidence_id: int, *, origin: Origin
) -> None:
    """Take a piece of evidence off its item while editing; the file and row stay (audit)."""
    check_editable(row, actor, ("删除取证", "remove evidence"))
    for item in await repository.evidence_of(session, row.inspection.id):
        if item.id == evidence_id:
            item.removed_at = utcnow()
            await session.flush()
            audit_event(
                session,
                "inspection_evidence_removed",
                row,
                actor,
                origin,
                evidence_id=item.id,
                item_key=item.item_key,
                sha256=item.sha256,
            )
            return
    raise NotFound(resource=EVIDENCE, id=evidence_id)


async def signed_url(store: ObjectStore, evidence: Evidence) -> str:
    return await store.presign_get(evidence.object_key, URL_LIFETIME)


async def evidence_item(
    session: AsyncSession, principal: Principal, inspection_id: int, evidence_id: int
) -> tuple[Row, Evidence]:
    """One piece of evidence of a visible inspection (404 otherwise, or when removed)."""
    row = await visible(session, principal, inspection_id, Permission.INSPECTION_READ)
    for item in await repository.evidence_of(session, inspection_id):
        if item.id == evidence_id:
            return row, item
    raise NotFound(resource=EVIDENCE, id=evidence_id)
